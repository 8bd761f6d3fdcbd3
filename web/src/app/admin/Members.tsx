/** Members (crud:members-org; resending invitations also needs crud:invitations-org): list with search, status and
 *  key type; add by hand or from a CSV file (preview with per-row errors first, then invitations with temporary
 *  keys); deactivate and reactivate; resend an invitation. Same routes as `c11 org members ...`. */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { can, isEmail, readCsv, type OrgInfo } from "./common";

interface Member {
  email: string;
  status: string;
  is_admin: boolean;
  permissions: string[];
  display_name: string | null;
  consent: string | null;
  key_type: string | null;
}

interface Added {
  email: string;
  result: string;
  status: string | null;
  invitation: { status: string; fingerprint: string | null } | null;
}

const BATCH = 1000;  // as the CLI sends them
const SHOWN = 200;   // rows listed at once (the search narrows)

/** Names of key types (the KEM of a public key line, docs/format.md §3). */
const KEMS: Record<string, string> = { mlkem768x25519: "X-Wing, post-quantum", x25519: "X25519, classic" };

const keyText = (k: string | null): string =>
  k === null ? "no key yet" : k === "temporary" ? "temporary key (invitation pending)" : `published key (${KEMS[k] ?? k})`;

/** The CLI's words for each result of adding (c11 org members add). */
function resultText(r: Added): string {
  switch (r.result) {
    case "in-another-org": return "NOT added: a member of another organization";
    case "already-member": return `already a member (${r.status ?? "?"})`;
    case "invited-to-join": return "invited to join (not a verified domain of the organization): a member once they accept";
    case "domain-not-verified": return "NOT added: pre-loading is for verified domains only";
    default:
      return r.invitation?.status === "pending"
        ? `added, ${r.status ?? "?"}; invitation sent; temporary key ${r.invitation.fingerprint ?? ""}`
        : `added, ${r.status ?? "?"} (has an account)`;
  }
}

interface Preview {
  emails: string[];
  errors: string[];
}

function AddMembers({ session, onAdded }: { session: Session; onAdded: () => void }) {
  const [typed, setTyped] = useState("");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [results, setResults] = useState<Added[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const build = async (file: File | null) => {
    setResults(null);
    setError(null);
    const emails: string[] = [];
    const errors: string[] = [];
    typed.split(/[\s,;]+/).filter((x) => x).forEach((e) => {
      if (isEmail(e)) emails.push(e.toLowerCase());
      else errors.push(`typed ${JSON.stringify(e.slice(0, 80))} is not an email address`);
    });
    if (file) {
      if (file.size > 4 * 1024 * 1024) {
        setError("The CSV file is larger than 4 MiB: split it.");
        return;
      }
      const csv = readCsv(await file.text());
      emails.push(...csv.emails);
      errors.push(...csv.errors.map((x) => `${file.name}, line ${x.line}: ${JSON.stringify(x.text)} is not an email address`));
    }
    setPreview({ emails: [...new Set(emails)], errors });
  };
  const add = async () => {
    if (!preview) return;
    setBusy(true);
    setError(null);
    try {
      const out: Added[] = [];
      for (let i = 0; i < preview.emails.length; i += BATCH)
        out.push(...await api<Added[]>("POST", "/api/v1/org/members", { emails: preview.emails.slice(i, i + BATCH) }, session));
      setResults(out);
      setPreview(null);
      setTyped("");
      onAdded();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="add-title">
      <h2 id="add-title">Add members</h2>
      <form class="stack" onSubmit={(e) => {
        e.preventDefault();
        const f = (e.currentTarget as HTMLFormElement).elements.namedItem("csv") as HTMLInputElement;
        void build(f.files?.[0] ?? null);
      }}>
        <div>
          <label for="add-emails">Email addresses</label>
          <textarea id="add-emails" rows={3} value={typed} aria-describedby="add-emails-hint"
            onInput={(e) => setTyped((e.target as HTMLTextAreaElement).value)} />
          <p class="hint" id="add-emails-hint">Separated by spaces, commas or new lines.</p>
        </div>
        <div>
          <label for="add-csv">CSV file</label>
          <input id="add-csv" name="csv" type="file" accept=".csv,.txt,text/csv,text/plain" aria-describedby="add-csv-hint" />
          <p class="hint" id="add-csv-hint">One email a line (the first column counts; an <code>email</code> header line
            and <code>#</code> comments are skipped), as <code>c11 org members add --csv</code> reads it.</p>
        </div>
        <div class="buttons"><button type="submit">Preview</button></div>
      </form>
      {preview && (
        <div class="stack" aria-live="polite">
          <h3>Preview</h3>
          <p role="status">{preview.emails.length} to add, {preview.errors.length} bad {preview.errors.length === 1 ? "row" : "rows"}.</p>
          {preview.errors.length > 0 && (
            <ul class="error" aria-label="Bad rows">{preview.errors.map((x, i) => <li key={i}>{x}</li>)}</ul>
          )}
          {preview.emails.length > 0 && (
            <>
              <ul aria-label="To add" class="rows">{preview.emails.slice(0, SHOWN).map((x) => <li key={x}>{x}</li>)}</ul>
              {preview.emails.length > SHOWN && <p class="hint">and {preview.emails.length - SHOWN} more.</p>}
              <p class="hint">Bad rows are left out. Each new member without an account gets an invitation email and a temporary key.</p>
              <div class="buttons">
                <button type="button" disabled={busy} onClick={add}>Add {preview.emails.length} {preview.emails.length === 1 ? "member" : "members"} and send invitations</button>
              </div>
            </>
          )}
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
      {results && (
        <div>
          <p role="status">{results.filter((r) => r.result === "added").length} added, {results.filter((r) => r.result !== "added").length} not added.</p>
          <ul class="rows" aria-label="Results">{results.map((r) => <li key={r.email}>{r.email}: {resultText(r)}</li>)}</ul>
        </div>
      )}
    </section>
  );
}

export function MembersPage({ session, org }: { session: Session; org: OrgInfo }) {
  const [members, setMembers] = useState<Member[] | null>(null);
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reload = () =>
    api<Member[]>("GET", "/api/v1/org/members", undefined, session).then(setMembers).catch((e) => setError(message(e)));
  useEffect(() => { void reload(); }, [session]);
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return (members ?? []).filter((m) => (!status || m.status === status)
      && (!q || m.email.includes(q) || (m.display_name ?? "").toLowerCase().includes(q)));
  }, [members, search, status]);
  const act = async (what: string, path: string, email: string) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await api("POST", path, { email }, session);
      await reload();
      setDone(`${email}: ${what}.`);
    } catch (e) {
      setError(`${email}: ${message(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const resend = can(org, "crud:invitations-org");
  return (
    <section aria-labelledby="members-title">
      <h1 id="members-title">Members of {org.name}</h1>
      <div class="filters">
        <div>
          <label for="m-search">Search</label>
          <input id="m-search" type="search" value={search} placeholder="email or name"
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </div>
        <div>
          <label for="m-status">Status</label>
          <select id="m-status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="invited">invited</option>
            <option value="active">active</option>
            <option value="deactivated">deactivated</option>
          </select>
        </div>
      </div>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {members === null && !error && <p role="status">Loading the members…</p>}
      {members !== null && <p class="hint">{shown.length} of {members.length} members{shown.length > SHOWN ? `; the first ${SHOWN} are listed` : ""}.</p>}
      <ul class="rows" aria-label="Members">
        {shown.slice(0, SHOWN).map((m) => (
          <li key={m.email} aria-label={m.email}>
            <strong>{m.email}</strong>{m.display_name ? ` (${m.display_name})` : ""}
            <div class="meta">
              {m.consent === null ? "invited to join (not accepted yet)" : m.status} · {keyText(m.key_type)}
              {m.is_admin ? ` · admin (${m.permissions.length} ${m.permissions.length === 1 ? "permission" : "permissions"})` : ""}
            </div>
            <div class="buttons">
              {m.status === "deactivated"
                ? <button type="button" class="secondary" disabled={busy} aria-label={`Reactivate ${m.email}`}
                    onClick={() => act("reactivated", "/api/v1/org/members/reactivate", m.email)}>Reactivate</button>
                : <button type="button" class="secondary" disabled={busy} aria-label={`Deactivate ${m.email}`}
                    onClick={() => act("deactivated", "/api/v1/org/members/deactivate", m.email)}>Deactivate</button>}
              {resend && m.key_type === "temporary" && m.status !== "deactivated" && (
                <button type="button" class="secondary" disabled={busy} aria-label={`Resend invitation to ${m.email}`}
                  onClick={() => act("invitation sent again", "/api/v1/org/invitations/resend", m.email)}>Resend invitation</button>
              )}
            </div>
          </li>
        ))}
      </ul>
      <AddMembers session={session} onAdded={() => void reload()} />
    </section>
  );
}
