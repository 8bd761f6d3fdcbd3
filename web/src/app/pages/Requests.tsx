/** The requester's pages of Secure Document Request (F25; docs/sharing.md, "Document requests"): make a request
 *  (from a template or an ad hoc form) signed in the worker with your key (the session's unlocked key, else your key
 *  file), list requests with their status, and open one: its answers and files are decrypted here with your key (the server only ever had ciphertext). */
import { useEffect, useState } from "preact/hooks";
import { randomBytes } from "../../core/primitives";
import { checkAnswers, fields, type DocRequest, type Section } from "../../core/docrequest";
import { parseKeyFile } from "../../core/keyfile";
import type { CoreWorker } from "../../worker/client";
import type { KeySummary } from "../../worker/protocol";
import { ApiError, api, message, type Session } from "../api";
import { safeName } from "../download";
import { templateGroupKeys, type Item, type RequestState } from "../docrequests";
import { ownPolicy } from "../orgpolicy";
import { useUnlocked } from "../unlocked";

interface Listed { id: string; name: string; status: string; recipient_email: string; expires_at: string }
interface Template { id: string; name: string; shared: boolean; sections: Section[]; message: string; expires_days: number; max_files: number; max_bytes: number; groups?: string[] }

const EXAMPLE: Section[] = [{ title: "Your details", fields: [
  { id: "full_name", label: "Full name", type: "text", required: true },
  { id: "documents", label: "Documents", type: "file", required: true, max_files: 5, accept: [".pdf"] },
] }];

/** Your key file, or without one a copy of the session's unlocked key (unlocked.ts), for one operation, then forgotten. */
async function withKey<T>(worker: CoreWorker, file: File | null, passphrase: string, work: (k: KeySummary) => Promise<T>): Promise<T> {
  const key = file ? await (async () => {
    const text = await file.text();
    const kf = await parseKeyFile(text, file.name);
    return worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
  })() : await worker.call("sessionKey", {});
  if (!key) throw new Error("your key was locked: unlock it again, or choose your key file");
  try {
    return await work(key);
  } finally {
    await worker.call("forget", { handle: key.handle });
  }
}

function KeyFields({ prefix, setKey, passphrase, setPassphrase }: { prefix: string; setKey: (f: File | null) => void; passphrase: string; setPassphrase: (p: string) => void }) {
  const { unlocked } = useUnlocked();  // the session's unlocked key, used instead of a key file
  if (unlocked) return <p class="hint" data-testid={`${prefix}-unlocked`}>With your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p>;
  return (
    <>
      <div>
        <label for={`${prefix}-key`}>Your key file (.key)</label>
        <input id={`${prefix}-key`} type="file" accept=".key,application/json" onChange={(e) => setKey((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
      </div>
      <div>
        <label for={`${prefix}-pass`}>Passphrase of your key file</label>
        <input id={`${prefix}-pass`} type="password" autocomplete="off" value={passphrase} onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)} />
      </div>
    </>
  );
}

const requestId = (): string => {
  const abc = "abcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(26)].map((b) => abc[b % 36]).join("");
};
const utc = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");

const groupsOf = (templates: Template[], id: string): string[] => templates.find((x) => x.id === id)?.groups ?? [];

function Create({ session, worker, made }: { session: Session; worker: CoreWorker; made: () => void }) {
  const [templates, setTemplates] = useState<Template[]>([]);
  const [template, setTemplate] = useState("");
  const [form, setForm] = useState(JSON.stringify(EXAMPLE, null, 2));
  const [name, setName] = useState("");
  const [to, setTo] = useState("");
  const [recipientName, setRecipientName] = useState("");
  const [msg, setMsg] = useState("");
  const [days, setDays] = useState("14");
  const [key, setKey] = useState<File | null>(null);
  const { unlocked } = useUnlocked();
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => {
    api<{ templates: Template[] }>("GET", "/api/v1/request-templates", undefined, session).then((d) => setTemplates(d.templates), () => null);
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const t = templates.find((x) => x.id === template) ?? null;
    let sections: Section[];
    try {
      sections = t ? t.sections : (JSON.parse(form) as Section[]);
    } catch {
      setError("The form is not valid JSON.");
      return;
    }
    if (!to.includes("@") || !name.trim() || (!key && !unlocked)) {
      setError(!key && !unlocked ? "Choose your key file (it signs the request)." : !name.trim() ? "Give the request a name." : "Enter the recipient's email.");
      return;
    }
    setBusy(true);
    try {
      const now = new Date();
      const expires = new Date(now.getTime() + Number(days || t?.expires_days || 14) * 86400_000);
      // your organization's recovery keys, from its signed policy verified against the log, are signed into the
      // request's keys: the recipient's page encrypts for the signed keys only
      const own = await ownPolicy(session);
      // then the template's groups (as `c11 request create`): each group's current key, verified in the log as the
      // Encrypt page verifies it; one that cannot be verified refuses the request before anything is signed or sent
      const groupKeys = await templateGroupKeys(session, t?.groups ?? []);
      const res = await withKey(worker, unlocked ? null : key, passphrase, async (k) => {
        const keys = [k.publicLine];
        for (const rk of own?.recoveryKeys ?? []) if (!keys.includes(rk.line)) keys.push(rk.line);
        for (const line of groupKeys) if (!keys.includes(line)) keys.push(line);
        const request: DocRequest = { v: 1, id: requestId(), name: name.trim(), requester: session.email.toLowerCase(),
          recipient_name: recipientName.trim() || to.split("@")[0]!, recipient_email: to.trim().toLowerCase(),
          created_at: utc(now), expires_at: utc(expires), message: msg || t?.message || "", sections,
          keys, max_files: t?.max_files ?? 20, max_bytes: t?.max_bytes ?? 1024 ** 3 };
        const { signature } = await worker.call("signDocumentRequest", { handle: k.handle, request });
        return api<{ id: string }>("POST", "/api/v1/requests", { request, signature, template_id: t?.id ?? null }, session);
      });
      setDone(`Request ${res.id} made; the link was emailed to ${to.trim()}.`);
      made();
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="create-title">
      <h2 id="create-title">New request</h2>
      <p class="hint" data-testid="answers-not-authenticated">The answers are encrypted for you (and your organization's
        recovery keys and the template's groups, signed into the request), but they are <strong>not authenticated</strong>: the server made the
        link, so it, or anyone who gets the link, could send answers and files of its own. Check anything that matters
        with the person by another way.</p>
      <form class="stack" onSubmit={submit} noValidate>
        <div>
          <label for="rq-template">Form</label>
          <select id="rq-template" value={template} onChange={(e) => setTemplate((e.currentTarget as HTMLSelectElement).value)}>
            <option value="">Ad hoc (write the form below)</option>
            {templates.map((t) => <option key={t.id} value={t.id}>{t.name}{t.shared ? " (organization)" : ""}</option>)}
          </select>
        </div>
        {groupsOf(templates, template).length > 0 && (
          <p class="hint" data-testid="rq-groups">Also encrypted for the template's groups: {groupsOf(templates, template).join(", ")} (each
            group's current key, checked in the transparency log).</p>
        )}
        {!template && (
          <div>
            <label for="rq-form">Form sections (JSON: sections of typed fields, docs/sharing.md)</label>
            <textarea id="rq-form" rows={8} spellcheck={false} value={form} onInput={(e) => setForm((e.currentTarget as HTMLTextAreaElement).value)} />
          </div>
        )}
        <div><label for="rq-name">Request name (unique)</label><input id="rq-name" type="text" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} /></div>
        <div><label for="rq-to">Recipient's email</label><input id="rq-to" type="email" value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} /></div>
        <div><label for="rq-rname">Recipient's name</label><input id="rq-rname" type="text" value={recipientName} onInput={(e) => setRecipientName((e.currentTarget as HTMLInputElement).value)} /></div>
        <div><label for="rq-msg">Message (signed with the form)</label><textarea id="rq-msg" rows={3} value={msg} onInput={(e) => setMsg((e.currentTarget as HTMLTextAreaElement).value)} /></div>
        <div><label for="rq-days">Days until the link expires</label><input id="rq-days" type="text" inputMode="numeric" value={days} onInput={(e) => setDays((e.currentTarget as HTMLInputElement).value)} /></div>
        <KeyFields prefix="rq" setKey={setKey} passphrase={passphrase} setPassphrase={setPassphrase} />
        <div><button type="submit" disabled={busy}>{busy ? "Signing…" : "Sign and send the request"}</button></div>
      </form>
      {error && <p role="alert" class="error">Not made: {error}</p>}
      {done && <p role="status">{done}</p>}
    </section>
  );
}

interface Opened { answers: [string, string][]; files: { name: string; url: string; field: string }[] }

function View({ id, session, worker }: { id: string; session: Session; worker: CoreWorker }) {
  const [d, setD] = useState<RequestState | null>(null);
  const [key, setKey] = useState<File | null>(null);
  const { unlocked } = useUnlocked();
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [opened, setOpened] = useState<Opened | null>(null);
  useEffect(() => {
    api<RequestState>("GET", `/api/v1/requests/${id}`, undefined, session).then(setD, (e) => setError(message(e)));
  }, [id]);
  const item = async (n: number) => {
    const r = await fetch(`/api/v1/requests/${id}/items/${n}`, { headers: { authorization: `Bearer ${session.token}` }, credentials: "omit", cache: "no-store" });
    if (!r.ok) throw new ApiError(r.status, "about:blank", `The server answered ${r.status} for item ${n}.`);
    return r.blob();
  };
  const open = async (e: Event) => {
    e.preventDefault();
    if (!d || (!key && !unlocked)) return setError("Choose your key file.");
    setBusy(true);
    setError(null);
    try {
      setOpened(await withKey(worker, unlocked ? null : key, passphrase, async (k) => {
        const ans = await worker.call("decrypt", { data: await item(0), keys: [k.handle] });
        const doc = JSON.parse(await ans.plaintext.text()) as Record<string, unknown>;
        await checkAnswers(d.request, doc);
        const answers = doc.answers as Record<string, unknown>;
        const out: Opened = { answers: fields(d.request).filter((f) => f.type !== "file").map((f) => [f.label, String(answers[f.id] ?? "")]), files: [] };
        for (const [field, items] of Object.entries(doc.files as Record<string, { item: number; name: string; size: number }[]>)) {
          for (const it of items) {
            const got = await worker.call("decrypt", { data: await item(it.item), keys: [k.handle] });
            if (got.info.authorKey !== ans.info.authorKey) throw new Error(`${it.name} was not signed by the key that signed the answers`);
            if (got.plaintext.size !== it.size) throw new Error(`${it.name} is not the size the answers give`);
            out.files.push({ name: safeName(it.name, `file-${it.item}`), url: URL.createObjectURL(got.plaintext), field });
          }
        }
        return out;
      }));
      await api("POST", `/api/v1/requests/${id}/downloaded`, undefined, session).catch(() => null);
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };
  if (!d) return error ? <p role="alert" class="error">{error}</p> : <p role="status">Loading…</p>;
  const ready = d.status === "submitted" || d.status === "downloaded";
  return (
    <section aria-labelledby="view-title">
      <h2 id="view-title">{d.name}</h2>
      <p>Status: <strong data-testid="request-status">{d.status}</strong> · to {d.request.recipient_name} &lt;{d.request.recipient_email}&gt; · expires {d.expires_at}</p>
      <p class="hint">{d.items.filter((i: Item) => i.n > 0).length} file(s) uploaded.</p>
      {ready && !opened && (
        <form class="stack" onSubmit={open}>
          <KeyFields prefix="view" setKey={setKey} passphrase={passphrase} setPassphrase={setPassphrase} />
          <div><button type="submit" disabled={busy}>{busy ? "Decrypting…" : "Decrypt the answers"}</button></div>
        </form>
      )}
      {error && <p role="alert" class="error">Not opened: {error}</p>}
      {opened && (
        <div class="result">
          <h3>Answers</h3>
          <p class="hint">Not authenticated: whoever had the link (the server made it) could have sent these.</p>
          <dl data-testid="answers">{opened.answers.map(([k, v]) => <><dt key={k}>{k}</dt><dd>{v}</dd></>)}</dl>
          <h3>Files</h3>
          <ul>{opened.files.map((f) => <li key={f.url}><a href={f.url} download={f.name}>{f.name}</a></li>)}</ul>
        </div>
      )}
    </section>
  );
}

export function RequestsPage({ session, worker }: { session: Session | null; worker: CoreWorker }) {
  const [list, setList] = useState<Listed[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<string | null>(() => new URLSearchParams(location.search).get("id"));
  const load = () => {
    if (session) api<{ requests: Listed[] }>("GET", "/api/v1/requests", undefined, session).then((d) => setList(d.requests), (e) => setError(message(e)));
  };
  useEffect(load, [session]);
  if (!session) return <section aria-labelledby="requests-title"><h1 id="requests-title">Document requests</h1><p>Log in to ask people for documents.</p></section>;
  return (
    <section aria-labelledby="requests-title">
      <h1 id="requests-title">Document requests</h1>
      <p>Ask someone for documents and answers: they need no account, and their browser encrypts everything for you.</p>
      {error && <p role="alert" class="error">{error}</p>}
      {list && list.length === 0 && <p>No requests yet.</p>}
      {list && list.length > 0 && (
        <table class="requests">
          <thead><tr><th scope="col">Request</th><th scope="col">To</th><th scope="col">Status</th></tr></thead>
          <tbody>{list.map((r) => (
            <tr key={r.id}>
              <td><button type="button" class="linkish" onClick={() => setShown(r.id)}>{r.name}</button></td>
              <td class="label">{r.recipient_email}</td>
              <td data-testid={`status-${r.id}`}>{r.status}</td>
            </tr>
          ))}</tbody>
        </table>
      )}
      {shown && <View key={shown} id={shown} session={session} worker={worker} />}
      <Create session={session} worker={worker} made={load} />
    </section>
  );
}
