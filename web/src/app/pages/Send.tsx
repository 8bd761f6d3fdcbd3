/** Secure Document Send and share links (docs/sharing.md): pick files or a folder and people by email; each file is
 *  encrypted in this browser for them (keys from the registry, checked in the log; invitations and organization
 *  rules as on the Encrypt page), uploaded resumably, and the send (or share link) created: each recipient gets an
 *  email with the link, never a name or the message. Below: your sends and links, their recipients' status, revoke,
 *  and a new version of a link. */
import { useEffect, useRef, useState } from "preact/hooks";
import { parseKeyFile } from "../../core/keyfile";
import type { CoreWorker } from "../../worker/client";
import { message, type Session } from "../api";
import { expirySeconds } from "../onlinepolicy";
import { newTrust } from "../registry";
import { navigate } from "../router";
import { useUnlocked } from "../unlocked";
import {
  addVersion, createSend, emailList, encryptAndUpload, listSends, newSendId, resolveRecipients, revokeSend, showSend,
  type Outgoing, type SendDetail, type SendSummary,
} from "../sharing";

type Mode = "send" | "link";
const when = (t: string | null) => (t ? t.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "—");

/** The picked files with their paths in the send (a folder's files keep their relative paths). */
const picked = (list: FileList | null): { path: string; file: File }[] =>
  [...(list ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));

/** A key file's worker handle, or a copy of the session's unlocked key (unlocked.ts) without one (forget it after use). */
async function loadKey(worker: CoreWorker, keyFile: File | null, passphrase: string) {
  const session = keyFile ? null : await worker.call("sessionKey", {});
  if (session) return session;
  if (!keyFile) throw new Error("Choose your key file (it signs the files).");
  const text = await keyFile.text();
  const kf = await parseKeyFile(text, keyFile.name);
  return worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
}

function KeyFields({ prefix, setKeyFile, passphrase, setPassphrase }: { prefix: string; setKeyFile: (f: File | null) => void; passphrase: string; setPassphrase: (s: string) => void }) {
  const { unlocked } = useUnlocked();
  if (unlocked) return <p class="hint">Signed with your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p>;
  return (
    <>
      <div>
        <label for={`${prefix}-key`}>Your key file (.key)</label>
        <input id={`${prefix}-key`} type="file" accept=".key,application/json" onChange={(e) => setKeyFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
      </div>
      <div>
        <label for={`${prefix}-pass`}>Passphrase of your key file</label>
        <input id={`${prefix}-pass`} type="password" autocomplete="off" value={passphrase} onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)} />
      </div>
    </>
  );
}

export function SendPage({ session, worker }: { session: Session | null; worker: CoreWorker }) {
  const [mode, setMode] = useState<Mode>("send");
  const [to, setTo] = useState("");
  const [files, setFiles] = useState<{ path: string; file: File }[]>([]);
  const [note, setNote] = useState("");
  const [days, setDays] = useState("7");
  const [maxDownloads, setMaxDownloads] = useState("");
  const [online, setOnline] = useState(false);
  const [onlineExpiry, setOnlineExpiry] = useState("");
  const [inviteNew, setInviteNew] = useState(false);
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<{ link: string; invited: string[]; added: { org: string; fingerprint: string }[]; kind: Mode } | null>(null);
  const [sends, setSends] = useState<SendSummary[] | null>(null);
  const trust = useRef(newTrust());

  const refresh = () => { if (session) listSends(session).then(setSends).catch((e) => setError(message(e))); };
  useEffect(refresh, [session]);

  if (!session) {
    return (
      <section aria-labelledby="send-title">
        <h1 id="send-title">Send documents</h1>
        <p>Sending needs an account. <a href="/login" onClick={(e) => { e.preventDefault(); navigate("/login"); }}>Log in</a> first.</p>
      </section>
    );
  }

  const send = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setMade(null);
    const people = emailList(to);
    if (people.length === 0) return setError("Enter at least one email address.");
    if (files.length === 0) return setError("Choose the files (or a folder) to send.");
    const limit = maxDownloads.trim() ? Number(maxDownloads) : null;
    if (limit !== null && !(Number.isInteger(limit) && limit >= 1)) return setError("The download limit must be a whole number of at least 1.");
    const d = days.trim() ? Number(days) : null;
    if (d !== null && !(Number.isInteger(d) && d >= 1 && d <= 3650)) return setError("The expiry must be 1 to 3650 days.");
    setBusy("Finding the recipients' keys…");
    try {
      const { found, invited } = await resolveRecipients(trust.current, session, people, inviteNew);
      const out: Outgoing = { files, message: note.trim() ? note : null, online, onlineExpires: online ? expirySeconds(onlineExpiry) : null };
      const key = await loadKey(worker, keyFile, passphrase);
      let prepared;
      try {
        prepared = await encryptAndUpload(worker, session, found, key, out, { send: newSendId(), kind: mode, version: 1 }, setBusy);
      } finally {
        await worker.call("forget", { handle: key.handle });
      }
      setBusy("Creating the send…");
      const expires = d !== null ? new Date(Date.now() + d * 86_400_000).toISOString() : null;
      const r = await createSend(session, mode, people, prepared, expires, mode === "send" ? limit : null);
      setMade({ link: r.link, invited, added: prepared.added, kind: mode });
      refresh();
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="send-title">
      <h1 id="send-title">Send documents</h1>
      <p>The files are encrypted in this browser for the people you choose; the server stores only ciphertext and
        emails them a link (never a file name or your message).</p>
      <form class="stack" onSubmit={send}>
        <fieldset>
          <legend>What to make</legend>
          <div><input id="send-mode-send" type="radio" name="send-mode" checked={mode === "send"} onChange={() => setMode("send")} />{" "}
            <label for="send-mode-send" class="inline">A send (once, with an expiry and a download limit)</label></div>
          <div><input id="send-mode-link" type="radio" name="send-mode" checked={mode === "link"} onChange={() => setMode("link")} />{" "}
            <label for="send-mode-link" class="inline">A share link (always the latest version you upload)</label></div>
        </fieldset>
        <div>
          <label for="send-to">People (email addresses)</label>
          <textarea id="send-to" rows={2} value={to} aria-describedby="send-to-hint" onInput={(e) => setTo((e.currentTarget as HTMLTextAreaElement).value)} />
          <p id="send-to-hint" class="hint">Separate addresses with commas or new lines.</p>
        </div>
        <div>
          <input id="send-invite" type="checkbox" checked={inviteNew} aria-describedby="send-invite-hint" onChange={(e) => setInviteNew((e.currentTarget as HTMLInputElement).checked)} />{" "}
          <label for="send-invite" class="inline">Invite people who are not registered yet</label>
          <p id="send-invite-hint" class="hint">They get an invitation email; their files are encrypted to a temporary key
            the key server holds until they register: not zero-trust until then.</p>
        </div>
        <div>
          <label for="send-files">Files</label>
          <input id="send-files" type="file" multiple onChange={(e) => setFiles(picked((e.currentTarget as HTMLInputElement).files))} />
        </div>
        <div>
          <label for="send-folder">Or a folder</label>
          <input id="send-folder" type="file" {...{ webkitdirectory: "" }} onChange={(e) => setFiles(picked((e.currentTarget as HTMLInputElement).files))} />
          {files.length > 0 && <p class="hint" data-testid="send-picked">{files.length} file{files.length === 1 ? "" : "s"}: {files.slice(0, 5).map((f) => f.path).join(", ")}{files.length > 5 ? ", …" : ""}</p>}
        </div>
        <div>
          <label for="send-message">Message (optional, encrypted with the files)</label>
          <textarea id="send-message" rows={3} maxLength={10000} value={note} onInput={(e) => setNote((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        <div class="row">
          <div>
            <label for="send-days">Expires after (days)</label>
            <input id="send-days" type="number" min={1} max={3650} inputMode="numeric" value={days} onInput={(e) => setDays((e.currentTarget as HTMLInputElement).value)} />
          </div>
          {mode === "send" && (
            <div>
              <label for="send-max">Download limit (optional)</label>
              <input id="send-max" type="number" min={1} inputMode="numeric" value={maxDownloads} onInput={(e) => setMaxDownloads((e.currentTarget as HTMLInputElement).value)} />
            </div>
          )}
        </div>
        <div>
          <input id="send-online" type="checkbox" checked={online} onChange={(e) => setOnline((e.currentTarget as HTMLInputElement).checked)} />{" "}
          <label for="send-online" class="inline">Online policy (each file also needs this server's key server, which records every access)</label>
          {online && (
            <div>
              <label for="send-online-expiry">Online policy expires (UTC, optional)</label>
              <input id="send-online-expiry" type="datetime-local" value={onlineExpiry} onInput={(e) => setOnlineExpiry((e.currentTarget as HTMLInputElement).value)} />
            </div>
          )}
        </div>
        <KeyFields prefix="send" setKeyFile={setKeyFile} passphrase={passphrase} setPassphrase={setPassphrase} />
        <div><button type="submit" disabled={busy !== null}>{mode === "send" ? "Encrypt and send" : "Encrypt and create the link"}</button></div>
      </form>
      {busy && <p role="status" data-testid="send-progress">{busy}</p>}
      {error && <p role="alert" class="error">Not sent: {error}</p>}
      {made && (
        <section aria-labelledby="made-title" class="result">
          <h2 id="made-title">{made.kind === "send" ? "Sent" : "Link created"}</h2>
          {made.invited.map((e) => <p key={e} role="status">Invited <span class="label">{e}</span> (invitation email sent).</p>)}
          {made.added.map((a) => <p key={a.fingerprint}>Also for the recovery key of <span class="label">{a.org}</span> (<code class="fp">{a.fingerprint}</code>, organization rule).</p>)}
          <p>The recipients were emailed this link: <code class="label" data-testid="send-link">{made.link}</code></p>
        </section>
      )}
      <History session={session} worker={worker} sends={sends} refresh={refresh} />
    </section>
  );
}

function History({ session, worker, sends, refresh }: { session: Session; worker: CoreWorker; sends: SendSummary[] | null; refresh: () => void }) {
  const [open, setOpen] = useState<SendDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const show = async (id: string) => {
    setError(null);
    try { setOpen(await showSend(session, id)); } catch (e) { setError(message(e)); }
  };
  const revoke = async (s: SendSummary) => {
    if (!confirm(`Revoke this ${s.kind === "link" ? "share link" : "send"}? Its files are deleted from the server at once.`)) return;
    setError(null);
    try {
      const r = await revokeSend(session, s.id);
      setNote(`Revoked: log entry ${r.revoked_log_index ?? "?"} proves it.`);
      refresh();
      if (open?.id === s.id) await show(s.id);
    } catch (e) { setError(message(e)); }
  };
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Your sends and share links</h2>
      {sends === null ? <p>Loading…</p> : sends.length === 0 ? <p>None yet.</p> : (
        <div class="scroll" tabIndex={0} role="region" aria-label="Your sends and share links">
          <table class="requests" data-testid="sends">
            <thead><tr><th scope="col">Made</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Downloads</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {sends.map((s) => (
                <tr key={s.id} data-send={s.id}>
                  <td>{when(s.created_at)}</td>
                  <td>{s.kind === "link" ? `link v${s.version}` : "send"}</td>
                  <td data-testid={`state-${s.id}`}>{s.state}</td>
                  <td>{s.downloads}{s.max_downloads !== null ? ` of ${s.max_downloads}` : ""}</td>
                  <td>
                    <button type="button" onClick={() => void show(s.id)} aria-label={`Details of the ${s.kind} made ${when(s.created_at)}`}>Details</button>{" "}
                    {s.state !== "revoked" && <button type="button" onClick={() => void revoke(s)} aria-label={`Revoke the ${s.kind} made ${when(s.created_at)}`}>Revoke</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {note && <p role="status">{note}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {open && <Details detail={open} session={session} worker={worker} done={() => { refresh(); void show(open.id); }} />}
    </section>
  );
}

function Details({ detail, session, worker, done }: { detail: SendDetail; session: Session; worker: CoreWorker; done: () => void }) {
  const [files, setFiles] = useState<{ path: string; file: File }[]>([]);
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updated, setUpdated] = useState<number | null>(null);
  const trust = useRef(newTrust());

  const update = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setUpdated(null);
    if (files.length === 0) return setError("Choose the new version's files.");
    setBusy("Finding the recipients' keys…");
    try {
      const { found } = await resolveRecipients(trust.current, session, detail.recipients.map((r) => r.email), false);
      const key = await loadKey(worker, keyFile, passphrase);
      let prepared;
      try {
        const next = (await showSend(session, detail.id)).version + 1;  // the server refuses it unless it is the next one
        prepared = await encryptAndUpload(worker, session, found, key, { files, message: null, online: false, onlineExpires: null },
          { send: detail.id, kind: "link", version: next }, setBusy);
      } finally {
        await worker.call("forget", { handle: key.handle });
      }
      setUpdated((await addVersion(session, detail.id, prepared)).version);
      done();
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(null);
    }
  };

  return (
    <section aria-labelledby="detail-title" class="result" data-testid="send-detail">
      <h3 id="detail-title">{detail.kind === "link" ? `Share link, version ${detail.version}` : "Send"} — {detail.state}</h3>
      <p><code class="label">{detail.link}</code></p>
      <p class="hint">{detail.files} file{detail.files === 1 ? "" : "s"}, {detail.size.toLocaleString("en")} bytes of ciphertext; made {when(detail.created_at)};
        expires {when(detail.expires_at)}{detail.revoked_at && <>; revoked {when(detail.revoked_at)} (log entry {detail.revoked_log_index})</>}.</p>
      <div class="scroll" tabIndex={0} role="region" aria-label="Each recipient's status">
        <table class="requests">
          <thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Emailed</th><th scope="col">Delivered</th><th scope="col">Opened</th><th scope="col">Last download</th><th scope="col">Downloads</th></tr></thead>
          <tbody>
            {detail.recipients.map((r) => (
              <tr key={r.email}>
                <td class="label">{r.email}</td>
                <td data-testid={`status-${r.email}`}>{r.status}</td>
                <td>{when(r.emailed_at)}</td>
                <td>{when(r.delivered_at)}</td>
                <td>{when(r.opened_at)}</td>
                <td>{when(r.downloaded_at)}</td>
                <td>{r.downloads}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {detail.kind === "link" && detail.state === "active" && (
        <form class="stack" onSubmit={update}>
          <h4>New version</h4>
          <div>
            <label for="upd-files">Files of the new version</label>
            <input id="upd-files" type="file" multiple onChange={(e) => setFiles(picked((e.currentTarget as HTMLInputElement).files))} />
          </div>
          <KeyFields prefix="upd" setKeyFile={setKeyFile} passphrase={passphrase} setPassphrase={setPassphrase} />
          <div><button type="submit" disabled={busy !== null}>Encrypt and upload the new version</button></div>
          {busy && <p role="status">{busy}</p>}
          {updated !== null && <p role="status">Version {updated} is what the recipients get now.</p>}
          {error && <p role="alert" class="error">Not updated: {error}</p>}
        </form>
      )}
    </section>
  );
}
