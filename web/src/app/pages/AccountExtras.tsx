/** More of the account page: where your keys are (`c11 keys status`), the registry history of your own email with
 *  each entry verified in the log here and keys that are not yours flagged (`c11 registry history`), and machine
 *  tokens (`c11 tokens create/list/revoke`). */
import { useEffect, useRef, useState } from "preact/hooks";
import { parseKeyFile } from "../../core/keyfile";
import type { HistoryItem } from "../../core/registry";
import { ApiError, api, message, type Session } from "../api";
import { keyHistory, newTrust } from "../registry";
import { invite, sentInvitations, type Invitation } from "../invites";

const when = (t: string | null): string => (t ? t.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC") : "never");

interface ShardStatus {
  cloud_key: null | { fingerprint: string; created_at: string };
  archive: null | { fingerprint: string; updated_at: string };
}

/** Key status: the cloud-stored key (if any) and the key archive, as `GET /api/v1/shards` reports them. */
export function KeyStatusSection({ session }: { session: Session }) {
  const [st, setSt] = useState<ShardStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<ShardStatus>("GET", "/api/v1/shards", undefined, session).then(setSt).catch((e) => {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setSt({ cloud_key: null, archive: null });
      else setError(message(e));
    });
  }, [session]);
  return (
    <section aria-labelledby="status-title">
      <h2 id="status-title">Key status</h2>
      {error && <p role="alert" class="error">{error}</p>}
      {st && (
        <dl>
          <dt>Cloud-stored key</dt>
          <dd>{st.cloud_key ? <><code class="fp">{st.cloud_key.fingerprint}</code> (since {when(st.cloud_key.created_at)})</> : "none (your key is a key file on your device)"}</dd>
          <dt>Key archive (earlier and temporary keys, encrypted to your key)</dt>
          <dd>{st.archive ? <>for key <code class="fp">{st.archive.fingerprint}</code>, updated {when(st.archive.updated_at)}</> : "none"}</dd>
        </dl>
      )}
    </section>
  );
}

/** The registry history of your email: every key published, changed or removed, verified in the log in this page.
 *  Keys that are not in the key files you choose here are flagged: if you did not publish them, someone else did. */
export function KeyHistorySection({ session }: { session: Session }) {
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [mine, setMine] = useState<Set<string> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asked, setAsked] = useState(false);
  const trust = useRef(newTrust());
  useEffect(() => {  // on request: the page's other registry checks run first (one log pin at a time)
    if (asked) keyHistory(trust.current, session, session.email).then(setItems).catch((e) => setError(message(e)));
  }, [session, asked]);
  const pick = async (files: FileList | null) => {
    setError(null);
    try {
      const fps = new Set<string>();
      for (const f of Array.from(files ?? [])) fps.add((await parseKeyFile(await f.text(), f.name)).public.fingerprint);
      setMine(fps);
    } catch (e) {
      setError(message(e));
    }
  };
  const flagged = items && mine ? items.filter((i) => i.publicKey && !mine.has(i.publicKey.fingerprint)).length : 0;
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Registry history of your email</h2>
      {error && <p role="alert" class="error">{error}</p>}
      {!asked && <button type="button" onClick={() => setAsked(true)}>Show the registry history</button>}
      {asked && items === null && !error && <p role="status">Loading the history and checking its log proofs…</p>}
      {items !== null && (
        <>
          <p role="status">{items.length} {items.length === 1 ? "entry" : "entries"}, each verified in this browser against the
            transparency log.{mine && (flagged
              ? ` ${flagged} ${flagged === 1 ? "key is" : "keys are"} NOT one of your key files: if you did not publish ${flagged === 1 ? "it" : "them"}, someone else did.`
              : " Every key is one of your key files.")}</p>
          <div>
            <label for="hist-keys">Your key files (to flag keys that are not yours; only their public part is read)</label>
            <input id="hist-keys" type="file" multiple accept=".key,application/json"
              onChange={(e) => void pick((e.currentTarget as HTMLInputElement).files)} />
          </div>
          <ul class="accesses">
            {items.map((i) => {
              const fp = i.publicKey?.fingerprint ?? null;
              const bad = mine !== null && fp !== null && !mine.has(fp);
              return (
                <li key={i.index} class={bad ? "error" : undefined}>
                  {when(i.time)} · {i.action} · {fp ? <code class="fp">{fp}</code> : "-"} · log #{i.index}
                  {mine !== null && fp !== null && (bad ? " · NOT ONE OF YOUR KEY FILES" : " · your key file")}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

interface Token {
  id: string;
  name: string;
  scopes: string[];
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked: boolean;
}

/** Scopes a machine token can hold (src/c11/server/scopes.py); the server refuses any other. */
const SCOPES = ["keys:read", "keys:write", "documents:read", "documents:write", "policies:read", "policies:write", "tokens:manage"];

/** Machine tokens: create (scopes, expiry; the secret shown once), list, revoke. */
export function TokensSection({ session }: { session: Session }) {
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Set<string>>(new Set(["keys:read"]));
  const [days, setDays] = useState("90");
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const reload = () => api<Token[]>("GET", "/api/v1/tokens", undefined, session).then(setTokens);
  useEffect(() => { reload().catch((e) => setError(message(e))); }, [session]);
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await work();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    setSecret(null);
    void run(async () => {
      const n = Number(days);
      if (!name.trim() || scopes.size === 0 || !Number.isInteger(n) || n < 1) throw new Error("Give a name, at least one scope and an expiry in days.");
      const out = await api<Token & { token: string }>("POST", "/api/v1/tokens", { name: name.trim(), scopes: [...scopes], expires_in_days: n }, session);
      setSecret({ name: out.name, token: out.token });
      setName("");
      await reload();
    });
  };
  const toggle = (s: string, on: boolean) => setScopes((old) => {
    const next = new Set(old);
    if (on) next.add(s);
    else next.delete(s);
    return next;
  });
  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Machine tokens</h2>
      <p class="hint">For scripts and CI (<code>C11_TOKEN</code>): a token holds only the scopes you give it and never
        reaches your private key.</p>
      <form class="stack" onSubmit={create}>
        <div>
          <label for="tok-name">Token name</label>
          <input id="tok-name" type="text" value={name} maxLength={100} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <div key={s}>
              <input id={`scope-${s}`} type="checkbox" checked={scopes.has(s)}
                onChange={(e) => toggle(s, (e.currentTarget as HTMLInputElement).checked)} />{" "}
              <label for={`scope-${s}`} class="inline">{s}</label>
            </div>
          ))}
        </fieldset>
        <div>
          <label for="tok-days">Expires in (days)</label>
          <input id="tok-days" type="text" inputMode="numeric" value={days} onInput={(e) => setDays((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div><button type="submit" disabled={busy}>Create token</button></div>
      </form>
      {secret && (
        <div role="status" class="stack">
          <p>Token <span class="label">{secret.name}</span> created. Copy it now: it is shown only this once.</p>
          <label for="tok-secret">The token</label>
          <textarea id="tok-secret" readOnly rows={2} value={secret.token} />
        </div>
      )}
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {tokens && tokens.length === 0 && <p>No machine tokens.</p>}
      {tokens && tokens.length > 0 && (
        <ul class="tokens">
          {tokens.map((t) => (
            <li key={t.id}>
              <span class="label">{t.name}</span> · {t.scopes.join(" ")} · expires {when(t.expires_at)} · last used {when(t.last_used_at)}
              {t.revoked ? " · revoked" : (
                <>{" "}<button type="button" disabled={busy} aria-label={`Revoke token ${t.name}`}
                  onClick={() => run(async () => {
                    await api("DELETE", `/api/v1/tokens/${encodeURIComponent(t.id)}`, undefined, session);
                    await reload();
                    setDone(`Token ${t.name} revoked.`);
                  })}>Revoke</button></>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Invitations you sent (`c11 invite`, `--list`, `--resend`): invite people by email, see their status and the
 *  temporary key each got (not zero-trust), send a pending invitation again (a new expiry). */
export function InvitationsSection({ session }: { session: Session }) {
  const [items, setItems] = useState<Invitation[] | null>(null);
  const [to, setTo] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const reload = () => sentInvitations(session).then(setItems);
  useEffect(() => { reload().catch((e) => setError(message(e))); }, [session]);
  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const said = await work();
      await reload();
      setDone(said);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const send = (e: Event) => {
    e.preventDefault();
    const list = [...new Set(to.split(/[\s,;]+/).map((x) => x.trim().toLowerCase()).filter(Boolean))];
    void run(async () => {
      if (list.length === 0) throw new Error("Enter at least one email address.");
      const out = await invite(session, list);
      setTo("");
      return out.map((i) => (i.status === "registered" ? `${i.email}: already registered (nothing to do)` : `${i.email}: ${i.status}`)).join("; ");
    });
  };
  return (
    <section aria-labelledby="inv-title">
      <h2 id="inv-title">Invitations you sent</h2>
      <form class="stack" onSubmit={send}>
        <div>
          <label for="inv-to">Invite people (email addresses)</label>
          <input id="inv-to" type="text" value={to} aria-describedby="inv-to-hint" onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
          <p id="inv-to-hint" class="hint">Each one not registered gets an email, and a temporary key the key server holds so
            anyone can encrypt for them at once (not zero-trust until they register).</p>
        </div>
        <div><button type="submit" disabled={busy}>Invite</button></div>
      </form>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {items && items.length === 0 && <p>You have not invited anyone.</p>}
      {items && items.length > 0 && (
        <ul class="tokens invitations">
          {items.map((i) => (
            <li key={i.id}>
              <span class="label">{i.email}</span> · {i.status}
              {i.fingerprint && <> · temporary key <code class="fp">{i.fingerprint}</code></>} · expires {when(i.expires_at)} · emails sent: {i.send_count}
              {i.status === "pending" && (
                <>{" "}<button type="button" disabled={busy} aria-label={`Resend the invitation to ${i.email}`}
                  onClick={() => run(async () => {
                    await api("POST", `/api/v1/invitations/${encodeURIComponent(i.id)}/resend`, undefined, session);
                    return `Sent the invitation to ${i.email} again.`;
                  })}>Resend</button></>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
