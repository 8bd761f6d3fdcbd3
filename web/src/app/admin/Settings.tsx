/** Settings: organization policies and domains (crud:config-org), members' signature keys
 *  (crud:signature-keys-org), SCIM tokens (crud:groups-scim-tokens-org). Each part appears only with its
 *  permission; same routes as `c11 org policies`, `c11 org domains`, `c11 org signature-keys`, `c11 org scim`. */
import { useEffect, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { can, when, type OrgInfo, type Policies } from "./common";

function useList<T>(session: Session, path: string): [T[] | null, string | null, () => Promise<void>] {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () => api<T[]>("GET", path, undefined, session).then(setItems).catch((e) => setError(message(e)));
  useEffect(() => { void reload(); }, [session, path]);
  return [items, error, reload];
}

const FLAGS: readonly (readonly [keyof Policies, string])[] = [
  ["allow_cross_org_lookup", "People outside the organization may look up members' keys"],
  ["allow_member_listing", "Members may list other members (recipient picker)"],
  ["allow_device_keys", "Members may use keys kept on their devices (not only cloud-stored keys)"],
  ["require_online", "Every document members protect has an online policy (revocable)"],
];

function PoliciesPart({ session, org, onOrg }: { session: Session; org: OrgInfo; onOrg: (o: OrgInfo) => void }) {
  const [p, setP] = useState<Policies>(org.policies);
  const [days, setDays] = useState(org.policies.default_expiry_days?.toString() ?? "");
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setDone(null);
    setError(null);
    const d = days.trim();
    if (d && !/^\d{1,5}$/.test(d)) { setError("Default expiry: a number of days (1 to 36500), or empty for none."); return; }
    try {
      const o = await api<OrgInfo>("PUT", "/api/v1/org/policies", { ...p, default_expiry_days: d ? Number(d) : null }, session);
      onOrg(o);
      setDone("Policies saved; the server enforces them at once.");
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section aria-labelledby="pol-title">
      <h2 id="pol-title">Organization policies</h2>
      <form onSubmit={save}>
        <fieldset>
          <legend>Policies</legend>
          {FLAGS.map(([k, text]) => (
            <label key={k} for={`pol-${k}`}>
              <input id={`pol-${k}`} type="checkbox" checked={p[k] === true}
                onChange={(e) => setP({ ...p, [k]: (e.target as HTMLInputElement).checked })} />
              <span>{text} (<code>{k}</code>)</span>
            </label>
          ))}
        </fieldset>
        <label for="pol-days">Default expiry of documents (days; empty: none)</label>
        <input id="pol-days" type="number" min={1} max={36500} value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
        <div class="buttons"><button type="submit">Save policies</button></div>
      </form>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

interface DnsRecord { name: string; type: string; value: string }
interface Domain { domain: string; status: string; method: string; mailbox: string | null; dns_record: DnsRecord | null; verified_at: string | null }

/** The TXT record an admin publishes at their DNS host (copy-ready name and value). */
function RecordToPublish({ d }: { d: Domain & { dns_record: DnsRecord } }) {
  return (
    <div class="secret" data-dns-record={d.domain}>
      <p>Publish this DNS record at the host of {d.domain}, then press Check now (a new record may take minutes to an hour to be seen):</p>
      <p>Name: <code data-dns-name>{d.dns_record.name}</code></p>
      <p>Type: <code>{d.dns_record.type}</code></p>
      <p>Value: <code data-dns-value>{d.dns_record.value}</code></p>
    </div>
  );
}

function DomainsPart({ session }: { session: Session }) {
  const [items, listError, reload] = useList<Domain>(session, "/api/v1/org/domains");
  const [domain, setDomain] = useState("");
  const [how, setHow] = useState("dns");
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (work: () => Promise<string>) => {
    setNote(null);
    setError(null);
    try {
      const text = await work();
      await reload();
      setNote(text);
    } catch (err) {
      setError(message(err));
      await reload().catch(() => undefined);
    }
  };
  const claim = (e: Event) => {
    e.preventDefault();
    const name = domain.trim();
    void run(async () => {
      if (how === "dns") {
        const d = await api<Domain>("POST", `/api/v1/org/domains/${encodeURIComponent(name)}/dns`, undefined, session);
        setDomain("");
        return `${d.domain} is pending: publish its DNS record (below), then press Check now.`;
      }
      const d = await api<Domain>("POST", "/api/v1/org/domains", { domain: name, mailbox: how }, session);
      setDomain("");
      return `A confirmation link was mailed to ${d.mailbox ?? `${how}@${d.domain}`}: whoever reads that mailbox opens it to verify the domain.`;
    });
  };
  const check = (name: string) => run(async () => {
    await api<Domain>("POST", `/api/v1/org/domains/${encodeURIComponent(name)}/dns/check`, undefined, session);
    return `${name} is verified: its addresses now join the organization when an admin adds them.`;
  });
  const forget = (name: string) => {
    if (!window.confirm(`Forget ${name}? New addresses of it must accept an invitation again; members already added stay.`)) return;
    void run(async () => {
      await api("DELETE", `/api/v1/org/domains/${encodeURIComponent(name)}`, undefined, session);
      return `${name} was removed.`;
    });
  };
  const dnsFor = async (name: string) => run(async () => {
    await api<Domain>("POST", `/api/v1/org/domains/${encodeURIComponent(name)}/dns`, undefined, session);
    return `Publish the DNS record of ${name} (below), then press Check now.`;
  });
  return (
    <section aria-labelledby="dom-title">
      <h2 id="dom-title">Domains</h2>
      <p class="hint">Addresses of a verified domain join the organization when an admin adds them; others are invited to join.
        Prove a domain with a DNS TXT record, or with a link mailed to its postmaster@ or admin@ mailbox.</p>
      {listError && <p role="alert" class="error">{listError}</p>}
      <ul class="rows" aria-label="Domains">
        {items?.map((d) => (
          <li key={d.domain}>
            <strong>{d.domain}</strong> · {d.status}{d.verified_at ? ` since ${when(d.verified_at)}` : d.mailbox ? ` (link mailed to ${d.mailbox})` : ""} · {d.method}
            {d.status === "pending" && d.dns_record && <RecordToPublish d={d as Domain & { dns_record: DnsRecord }} />}
            <div class="buttons">
              {d.status === "pending" && d.dns_record && <button type="button" aria-label={`Check now the DNS record of ${d.domain}`} onClick={() => check(d.domain)}>Check now</button>}
              {d.status === "pending" && !d.dns_record && <button type="button" aria-label={`Use a DNS record for ${d.domain}`} onClick={() => dnsFor(d.domain)}>Use a DNS record</button>}
              <button type="button" class="danger" aria-label={`Forget ${d.domain}`} onClick={() => forget(d.domain)}>Forget</button>
            </div>
          </li>
        ))}
      </ul>
      {items?.length === 0 && <p>No domains yet.</p>}
      <form onSubmit={claim} class="filters">
        <div><label for="dom-name">Domain</label><input id="dom-name" type="text" required maxLength={253} value={domain} onInput={(e) => setDomain((e.target as HTMLInputElement).value)} /></div>
        <div>
          <label for="dom-box">Prove it by</label>
          <select id="dom-box" value={how} onChange={(e) => setHow((e.target as HTMLSelectElement).value)}>
            <option value="dns">a DNS TXT record</option>
            <option value="postmaster">a link mailed to postmaster@</option>
            <option value="admin">a link mailed to admin@</option>
          </select>
        </div>
        <div class="buttons"><button type="submit">Add domain</button></div>
      </form>
      {note && <p role="status">{note}</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

interface SigKey { email: string; status: string; signing_key_id: string | null; fingerprint: string | null; published_at: string | null }

function SignatureKeysPart({ session }: { session: Session }) {
  const [items, listError, reload] = useList<SigKey>(session, "/api/v1/org/signature-keys");
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const withdraw = async (email: string) => {
    if (!window.confirm(`Withdraw the published key of ${email}? Their key is no longer served; they publish a new one.`)) return;
    setDone(null);
    setError(null);
    try {
      await api("POST", "/api/v1/org/signature-keys/withdraw", { email }, session);
      await reload();
      setDone(`The key of ${email} was withdrawn.`);
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section aria-labelledby="sig-title">
      <h2 id="sig-title">Signature keys</h2>
      {listError && <p role="alert" class="error">{listError}</p>}
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <ul class="rows" aria-label="Signature keys">
        {items?.map((k) => (
          <li key={k.email}>
            <strong>{k.email}</strong> · {k.status}
            <div class="meta">{k.signing_key_id ? <>signing key <code>{k.signing_key_id}</code>, published {when(k.published_at)}</> : "no published key"}</div>
            {k.signing_key_id && <div class="buttons"><button type="button" class="danger" aria-label={`Withdraw the key of ${k.email}`} onClick={() => withdraw(k.email)}>Withdraw</button></div>}
          </li>
        ))}
      </ul>
    </section>
  );
}

interface ScimToken { id: string; name: string; created_by: string; created_at: string; expires_at: string | null; last_used_at: string | null; revoked: boolean }

function ScimPart({ session }: { session: Session }) {
  const [items, listError, reload] = useList<ScimToken>(session, "/api/v1/org/scim-tokens");
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ token: string; scim_url: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      setCreated(await api<{ token: string; scim_url: string }>("POST", "/api/v1/org/scim-tokens", { name: name.trim() }, session));
      setName("");
      await reload();
    } catch (err) {
      setError(message(err));
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await api("DELETE", `/api/v1/org/scim-tokens/${encodeURIComponent(id)}`, undefined, session);
      await reload();
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <section aria-labelledby="scim-title">
      <h2 id="scim-title">SCIM provisioning tokens</h2>
      <p class="hint">Entra ID or Okta provisions members with a token: paste the endpoint URL and the token into its provisioning settings.</p>
      <p>Endpoint URL (Tenant URL in Entra ID, base URL in Okta): <code data-scim-endpoint>{`${window.location.origin}/scim/v2`}</code></p>
      {listError && <p role="alert" class="error">{listError}</p>}
      <ul class="rows" aria-label="SCIM tokens">
        {items?.map((t) => (
          <li key={t.id}>
            <strong>{t.name}</strong> · {t.revoked ? "revoked" : "active"} · made by {t.created_by} {when(t.created_at)} · last used {when(t.last_used_at)}
            {!t.revoked && <div class="buttons"><button type="button" class="danger" aria-label={`Revoke the SCIM token ${t.name}`} onClick={() => revoke(t.id)}>Revoke</button></div>}
          </li>
        ))}
      </ul>
      <form onSubmit={create} class="filters">
        <div><label for="scim-name">Token name</label><input id="scim-name" type="text" required maxLength={100} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></div>
        <div class="buttons"><button type="submit">Create token</button></div>
      </form>
      {created && (
        <div class="secret" role="status">
          <p>Copy the token now: it is shown only once.</p>
          <p>Endpoint URL: <code data-scim-url>{created.scim_url}</code></p>
          <p>Token: <code data-scim-token>{created.token}</code></p>
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

export function SettingsPage({ session, org, onOrg }: { session: Session; org: OrgInfo; onOrg: (o: OrgInfo) => void }) {
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings of {org.name}</h1>
      {can(org, "crud:config-org") && <PoliciesPart session={session} org={org} onOrg={onOrg} />}
      {can(org, "crud:config-org") && <DomainsPart session={session} />}
      {can(org, "crud:signature-keys-org") && <SignatureKeysPart session={session} />}
      {can(org, "crud:groups-scim-tokens-org") && <ScimPart session={session} />}
    </section>
  );
}
