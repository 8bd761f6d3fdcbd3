/** My documents: your files with an online policy (the key server's `/api/v1/documents`, as `c11 access/revoke/
 *  restore/expire` use): state, expiry and access history, each access checked in this browser against the log. */
import { useEffect, useRef, useState } from "preact/hooks";
import { fromB64, hex, utf8 } from "../../core/bytes";
import { emailHash } from "../../core/emailhash";
import { ProofError } from "../../core/errors";
import { checkOpening } from "../../core/logentry";
import { leafHash } from "../../core/merkle";
import { sha256 } from "../../core/primitives";
import { acceptCheckpoint, type LogTrust } from "../../core/registry";
import { loadLogTrust, storeCheckpoint } from "../logtrust";
import { verifyCheckpointInclusion } from "../../core/checkpoint";
import { api, message, type Session } from "../api";
import { navigate } from "../router";

interface Doc {
  doc_id: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  recipients: { email: string | null; email_hash: string | null; key: string | null }[];
}

interface AccessItem {
  index: number;
  time: string;
  email: string | null;
  key: string;
  result: string;
  address: string;
  salt: string;
  entry: string;
  nonce: string | null;
  private: string | null;
  inclusion_proof: string[];
}

interface Access {
  index: number;
  time: string;
  who: string;
  result: string;
  address: string;
  proof: string | null;  // null: verified; otherwise why not
}

const when = (t: string | null): string => (t ? t.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "never");
const expired = (d: Doc): boolean => d.expires_at !== null && Date.parse(d.expires_at) <= Date.now();
const stateOf = (d: Doc): string => (d.revoked_at ? `revoked (since ${when(d.revoked_at)})` : expired(d) ? "expired" : "active");

/** Check one access record against its log entry and inclusion proof in the accepted checkpoint (as the CLI does). */
async function verifyAccess(doc: string, a: AccessItem, cp: Awaited<ReturnType<typeof acceptCheckpoint>>["current"]): Promise<string> {
  const entry = utf8(a.entry);
  await verifyCheckpointInclusion(cp, await leafHash(entry), a.index, a.inclusion_proof.map(fromB64));
  const e = JSON.parse(a.entry) as Record<string, unknown>;
  const from = hex(await sha256(new Uint8Array([...fromHexSafe(a.salt), ...utf8(a.address)])));
  if (e.kind !== "release" || e.doc !== doc || e.result !== a.result || e.from !== from)
    throw new ProofError(`access record ${a.index} does not match its log entry`);
  if (a.nonce === null) {  // a v1 entry: who and key are public
    if (e.who !== (a.email === null ? null : await emailHash(a.email)) || e.key !== a.key)
      throw new ProofError(`access record ${a.index} does not match its log entry`);
    return "account";
  }
  const p = JSON.parse(a.private ?? "null") as Record<string, unknown> | null;
  const by = String(p?.by);
  const person = by === "account" && a.email !== null ? await emailHash(a.email) : null;
  const fits = (by === "account" && a.email !== null) || (by === "key-holder" && a.email === null)
    || (by === "unverified-account" && a.email !== null);
  const opened = await checkOpening(entry, fromB64(a.nonce), a.private ?? "", person);
  if (!fits || opened.key !== a.key) throw new ProofError(`access record ${a.index} does not match its log entry`);
  return by;
}

function fromHexSafe(s: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new ProofError("malformed access record (salt)");
  return new Uint8Array(s.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
}

function History({ session, doc, trust }: { session: Session; doc: string; trust: { current: LogTrust | null } }) {
  const [items, setItems] = useState<Access[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    (async () => {
      if (trust.current === null) trust.current = (await loadLogTrust()).log;  // pinned in this browser (logtrust.ts)
      const out: Access[] = [];
      let after = -1;
      for (;;) {
        const d = await api<{ tree_size: number; checkpoint: string; accesses: AccessItem[]; next_after: number | null }>(
          "GET", `/api/v1/documents/${encodeURIComponent(doc)}/accesses?after=${after}`, undefined, session);
        const log = trust.current;
        const proof = async (from: bigint, to: bigint) =>
          (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`, undefined, session)).proof;
        const accepted = await acceptCheckpoint(d.checkpoint, log, null, undefined, proof);
        if (BigInt(d.tree_size) !== accepted.current.size) throw new ProofError("the access list's tree size differs from its checkpoint");
        await storeCheckpoint(log.logKey, accepted.note);
        log.storedNote = accepted.note;
        for (const a of d.accesses) {
          let proofState: string | null = null;
          let by = "account";
          try {
            by = await verifyAccess(doc, a, accepted.current);
          } catch (e) {
            proofState = message(e);
          }
          const who = a.email === null ? "(key holder)" : by === "unverified-account" ? `${a.email} (unverified)` : a.email;
          out.push({ index: a.index, time: a.time, who, result: a.result, address: a.address, proof: proofState });
        }
        if (d.next_after === null) break;
        after = d.next_after;
      }
      setItems(out);
    })().catch((e) => setError(message(e)));
  }, [doc]);
  if (error) return <p role="alert" class="error">Access history: {error}</p>;
  if (items === null) return <p role="status">Loading the access history and checking its log proofs…</p>;
  if (items.length === 0) return <p>Nobody has asked for this document's key yet.</p>;
  const bad = items.filter((a) => a.proof !== null).length;
  return (
    <>
      <p role="status" class={bad ? "error" : undefined}>
        {bad ? `${bad} of ${items.length} ${items.length === 1 ? "access does" : "accesses do"} NOT verify against the transparency log.`
          : `${items.length} ${items.length === 1 ? "access" : "accesses"}, each verified in this browser against the transparency log.`}
      </p>
      <ul class="accesses">
        {items.map((a) => (
          <li key={a.index}>
            {when(a.time)} · {a.result} · {a.who} · from {a.address} · log #{a.index} ·{" "}
            {a.proof === null ? "log proof verified" : `log proof FAILED: ${a.proof}`}
          </li>
        ))}
      </ul>
    </>
  );
}

function DocumentItem({ session, doc, onChange, trust }: { session: Session; doc: Doc; onChange: (d: Doc) => void; trust: { current: LogTrust | null } }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [expiry, setExpiry] = useState("");
  const [history, setHistory] = useState(false);
  const [people, setPeople] = useState("");
  const id = doc.doc_id;
  const act = async (what: string, method: string, path: string, body?: unknown) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const d = await api<Doc>(method, `/api/v1/documents/${encodeURIComponent(id)}${path}`, body, session);
      onChange(d);
      setDone(what);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const setAt = (e: Event) => {
    e.preventDefault();
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(expiry)) {
      setError("Choose a date and time for the new expiry.");
      return;
    }
    void act("Expiry changed.", "PUT", "/expiry", { expires_at: `${expiry}:00Z` });
  };
  const change = (allow: boolean) => {
    const list = [...new Set(people.split(/[\s,;]+/).map((x) => x.trim().toLowerCase()).filter(Boolean))];
    if (list.length === 0) {
      setError("Enter at least one email address.");
      return;
    }
    const members = list.map((x) => (/^[0-9a-f]{32}$/.test(x) ? { key: x } : { email: x }));
    void act(allow ? `Allowed: ${list.join(", ")}.` : `Denied: ${list.join(", ")}.`, "POST", "/recipients",
      allow ? { add: members } : { remove: members }).then(() => setPeople(""));
  };
  const titleId = `doc-${id}`;
  return (
    <article class="doc" aria-labelledby={titleId}>
      <h2 id={titleId}>Document <code>{id}</code></h2>
      <dl>
        <dt>State</dt><dd>{stateOf(doc)}</dd>
        <dt>Expires</dt><dd>{when(doc.expires_at)}</dd>
        <dt>Protected</dt><dd>{when(doc.created_at)}</dd>
        <dt>Recipients</dt>
        <dd>
          <ul>
            {doc.recipients.map((r, i) => <li key={i}>{r.email ?? `(by key) ${r.key ?? ""}`}</li>)}
          </ul>
        </dd>
      </dl>
      <div class="buttons">
        {doc.revoked_at
          ? <button type="button" disabled={busy} onClick={() => act("Restored: recipients can open it again.", "POST", "/restore")}>Restore</button>
          : <button type="button" disabled={busy} onClick={() => act("Revoked: nobody can open it now.", "POST", "/revoke")}>Revoke</button>}
      </div>
      <form onSubmit={setAt} class="stack">
        <label for={`exp-${id}`}>New expiry (UTC)</label>
        <input id={`exp-${id}`} type="datetime-local" value={expiry} onInput={(e) => setExpiry((e.target as HTMLInputElement).value)} />
        <div class="buttons">
          <button type="submit" disabled={busy}>Set expiry</button>
          <button type="button" disabled={busy} onClick={() => act("It never expires now.", "PUT", "/expiry", { expires_at: null })}>Never expire</button>
        </div>
      </form>
      <div class="stack">
        <div>
          <label for={`ppl-${id}`}>Allow or deny people (emails or key fingerprints)</label>
          <input id={`ppl-${id}`} type="text" value={people} aria-describedby={`ppl-${id}-hint`}
            onInput={(e) => setPeople((e.currentTarget as HTMLInputElement).value)} />
          <p id={`ppl-${id}-hint`} class="hint">Deny stops the key server releasing its part to them, even from copies they
            have. Allowed people also need to be recipients of the file (re-encrypt it for them).</p>
        </div>
        <div class="buttons">
          <button type="button" disabled={busy} onClick={() => change(true)}>Allow</button>
          <button type="button" disabled={busy} onClick={() => change(false)}>Deny</button>
        </div>
      </div>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <h3>Access history</h3>
      {history ? <History session={session} doc={id} trust={trust} />
        : <button type="button" aria-expanded="false" onClick={() => setHistory(true)}>Show access history</button>}
    </article>
  );
}

export function DocumentsPage({ session }: { session: Session | null }) {
  const [docs, setDocs] = useState<Doc[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const trust = useRef<LogTrust | null>(null);  // the log key pinned at first use, the last checkpoint accepted
  useEffect(() => {
    if (!session) return;
    api<{ documents: Doc[] }>("GET", "/api/v1/documents", undefined, session)
      .then((d) => setDocs(d.documents)).catch((e) => setError(message(e)));
  }, [session]);
  if (!session) {
    return (
      <section aria-labelledby="docs-title">
        <h1 id="docs-title">My documents</h1>
        <p>Your documents with an online policy are listed after you <a href="/login" onClick={(e) => { e.preventDefault(); navigate("/login"); }}>log in</a>.</p>
      </section>
    );
  }
  const replace = (d: Doc) => setDocs((all) => (all ?? []).map((x) => (x.doc_id === d.doc_id ? d : x)));
  return (
    <section aria-labelledby="docs-title">
      <h1 id="docs-title">My documents</h1>
      <p class="hint">Files you protected with an online policy (<code>c11 encrypt --online</code>): the key server
        releases its part of each key only while the document is active. Revoking stops every copy from opening.</p>
      {error && <p role="alert" class="error">{error}</p>}
      {docs === null && !error && <p role="status">Loading your documents…</p>}
      {docs !== null && docs.length === 0 && <p>You have no documents with an online policy yet.</p>}
      {docs?.map((d) => <DocumentItem key={d.doc_id} session={session} doc={d} onChange={replace} trust={trust} />)}
    </section>
  );
}
