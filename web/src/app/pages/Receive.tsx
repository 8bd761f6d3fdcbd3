/** A send's or share link's page (`/r/<id>`, the link of the `document_shared` email; docs/sharing.md): log in here
 *  with the address the link was sent to, load your key file, and the envelope is decrypted in this browser: the
 *  sender (verified when the sending account's registry key signed it), the message and the files, each saved as a
 *  stream once its size, SHA-256 and signer are checked. Names and the message are shown as text, never as HTML. */
import { useEffect, useRef, useState } from "preact/hooks";
import { parseKeyFile } from "../../core/keyfile";
import type { CoreWorker } from "../../worker/client";
import { ApiError, message, type Session } from "../api";
import { logIn } from "../auth";
import { archivedKeys } from "../invites";
import { newTrust } from "../registry";
import { navigate } from "../router";
import { safeName } from "../download";
import { SaveStream } from "../SaveStream";
import { ReceivePreview } from "./ReceivePreview";
import { NewerVersionError, checkLatest, fileStream, linkId, openSend, receivedSend, zipStream, ZIP_MAX_BYTES, type EnvelopeFile, type Opened } from "../sharing";
import { borrowSessionKey, useUnlocked } from "../unlocked";
import type { ComponentChildren } from "preact";

/** A closed link's clear page: revoked, expired, used up, or not for this account. */
function closedText(e: ApiError): { title: string; text: string } | null {
  if (e.type.endsWith("send-revoked")) return { title: "This link was revoked", text: "The sender revoked it: its files are deleted from the server. Ask the sender to send them again." };
  if (e.type.endsWith("send-expired")) return { title: "This link has expired", text: "The files are no longer available. Ask the sender to send them again." };
  if (e.type.endsWith("send-used-up")) return { title: "Download limit reached", text: "This send was downloaded as many times as the sender allowed." };
  if (e.status === 404) return { title: "Nothing here for this account", text: "Log in with the email address the link was sent to (it is for its recipients only)." };
  return null;
}

/** The envelope's files as a folder tree (paths are checked by decodeEnvelope: no empty, `.` or `..` part). */
interface Node { folders: Map<string, Node>; files: { name: string; file: EnvelopeFile }[] }
function tree(files: EnvelopeFile[]): Node {
  const root: Node = { folders: new Map(), files: [] };
  for (const f of files) {
    const parts = f.path.split("/");
    let at = root;
    for (const part of parts.slice(0, -1)) {
      if (!at.folders.has(part)) at.folders.set(part, { folders: new Map(), files: [] });
      at = at.folders.get(part)!;
    }
    at.files.push({ name: parts[parts.length - 1]!, file: f });
  }
  return root;
}

function Tree({ node, render }: { node: Node; render: (f: EnvelopeFile) => ComponentChildren }) {
  return (
    <ul class="files">
      {[...node.folders.entries()].map(([name, sub]) => (
        <li key={`d:${name}`}><span class="label filename">{name}/</span><Tree node={sub} render={render} /></li>
      ))}
      {node.files.map(({ name, file }) => (
        <li key={file.blob}><span class="label filename">{name}</span>{render(file)}</li>
      ))}
    </ul>
  );
}

const when = (t: string | null) => (t ? t.replace("T", " ").replace("Z", " UTC") : "never");
/** How often an open share link's page asks for a newer version. */
const LINK_POLL_MS = 10_000;
/** The "save all" ZIP's name: the folder all the files are in, else "files". */
function zipName(files: EnvelopeFile[]): string {
  const tops = new Set(files.map((f) => f.path.split("/")[0]!));
  const only = tops.size === 1 && files.every((f) => f.path.includes("/")) ? [...tops][0]! : "files";
  return `${safeName(only, "files")}.zip`;
}

export function ReceivePage({ worker, session, setSession }: { worker: CoreWorker; session: Session | null; setSession: (s: Session) => void }) {
  const id = linkId(location.pathname) ?? "";
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [needsPass, setNeedsPass] = useState(false);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [closed, setClosed] = useState<{ title: string; text: string } | null>(null);
  const [opened, setOpened] = useState<Opened | null>(null);
  const [checked, setChecked] = useState(false);
  const keys = useRef<number[]>([]);
  const trust = useRef(newTrust());
  const { unlocked } = useUnlocked();  // the session's unlocked key, used instead of a key file

  const forget = () => {
    const held = keys.current;
    keys.current = [];
    return Promise.all(held.map((handle) => worker.call("forget", { handle }).catch(() => null)));
  };
  useEffect(() => () => void forget(), []);  // leaving the page forgets the keys
  useEffect(() => {  // logged in: a revoked, expired, used-up or foreign link says so before any key is asked
    if (!session || !id) return;
    receivedSend(session, id).catch((err) => {
      const c = err instanceof ApiError ? closedText(err) : null;
      if (c) setClosed(c);
    }).finally(() => setChecked(true));
  }, [session]);

  const login = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const s = await logIn(email, password);
      setPassword("");
      setSession(s);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const load = async (s: Session) => {
    setError(null);
    setClosed(null);
    try {
      setOpened(await openSend(worker, s, trust.current, id, keys.current));
    } catch (err) {
      setOpened(null);
      const c = err instanceof ApiError ? closedText(err) : null;
      if (c) setClosed(c);
      else setError(message(err));
    }
  };

  const open = async (e: Event) => {
    e.preventDefault();
    if (!session) return;
    if (!keyFile && !unlocked) {
      setError("Choose your key file.");
      return;
    }
    setBusy(true);
    try {
      await forget();
      const key = unlocked ? (await borrowSessionKey(worker, unlocked))! : await (async (kfile: File) => {
        const text = await kfile.text();
        const kf = await parseKeyFile(text, kfile.name);
        return worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
      })(keyFile!);
      // your key archive too (a temporary key of an invitation, after you registered)
      const archived = await archivedKeys(worker, session, key).catch(() => []);
      keys.current = [key.handle, ...archived.map((k) => k.handle)];
      await load(session);
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };

  if (!id) return <section aria-labelledby="recv-title"><h1 id="recv-title">Not a c11 link</h1><p>Check the link in the email.</p></section>;
  if (closed) {
    return (
      <section aria-labelledby="recv-title">
        <h1 id="recv-title" data-testid="closed">{closed.title}</h1>
        <p>{closed.text}</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="recv-title">
      <h1 id="recv-title">Documents sent to you</h1>
      <p>They are encrypted for you: they are decrypted in this browser with your key, which never leaves it. The
        server cannot read them, their names or the message.</p>
      {!session ? (
        <>
          <p>Log in with the email address this link was sent to.</p>
          <form class="stack" onSubmit={login}>
            <div><label for="recv-email">Email</label>
              <input id="recv-email" type="email" autocomplete="username" value={email} onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)} /></div>
            <div><label for="recv-password">Password</label>
              <input id="recv-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} /></div>
            <div><button type="submit" disabled={busy}>{busy ? "Logging in…" : "Log in"}</button></div>
          </form>
          <p class="hint">Invited and no account yet? Open the invitation email's link first and create your account
            (<a href="/signup" onClick={(e) => { e.preventDefault(); navigate("/signup"); }}>sign up</a>), then open this link again.</p>
        </>
      ) : !checked ? (
        <p role="status">Checking the link…</p>
      ) : !opened ? (
        <form class="stack" onSubmit={open}>
          <p>Logged in as <span class="label">{session.email}</span>.</p>
          {unlocked ? <p class="hint" data-testid="recv-unlocked">With your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p> : <div>
            <label for="recv-key">Your key file (.key)</label>
            <input id="recv-key" type="file" accept=".key,application/json" onChange={async (e) => {
              const f = (e.currentTarget as HTMLInputElement).files?.[0] ?? null;
              setKeyFile(f);
              setNeedsPass(false);
              if (f) setNeedsPass((await parseKeyFile(await f.text(), f.name).catch(() => ({ encrypted: true }))).encrypted);
            }} />
          </div>}
          {needsPass && !unlocked && (
            <div>
              <label for="recv-pass">Passphrase of the key file</label>
              <input id="recv-pass" type="password" autocomplete="off" value={passphrase} onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)} />
            </div>
          )}
          <div><button type="submit" disabled={busy}>{busy ? "Opening…" : "Open"}</button></div>
        </form>
      ) : (
        <Received opened={opened} worker={worker} session={session} keys={keys.current} reload={() => load(session)} />
      )}
      {error && <p role="alert" class="error">Not opened: {error}</p>}
    </section>
  );
}

function Received({ opened, worker, session, keys, reload }: { opened: Opened; worker: CoreWorker; session: Session; keys: number[]; reload: () => Promise<void> }) {
  const { send, envelope, info } = opened;
  const [checking, setChecking] = useState(false);
  const [anyway, setAnyway] = useState(false);  // unverified: the files only after you say so (as c11 receive --allow-unverified)
  const total = envelope.files.reduce((n, f) => n + f.size, 0);
  useEffect(() => {  // a share link: a newer version (or a revocation) shows here without a click
    if (send.kind !== "link") return;
    const look = () => {
      if (document.visibilityState !== "visible") return;
      checkLatest(session, opened).catch((e) => { if (e instanceof NewerVersionError || (e instanceof ApiError && (e.status === 410 || e.status === 404))) void reload(); });
    };
    const timer = setInterval(look, LINK_POLL_MS);
    document.addEventListener("visibilitychange", look);
    return () => { clearInterval(timer); document.removeEventListener("visibilitychange", look); };
  }, [opened]);
  /** A file's stream; a link updated since it was opened shows its new version instead of saving the old one. */
  const stream = async (f: EnvelopeFile) => {
    try {
      return await fileStream(worker, session, opened, f, keys);
    } catch (e) {
      if (e instanceof NewerVersionError || (e instanceof ApiError && e.status === 410)) void reload();
      throw e;
    }
  };
  const folder = envelope.files.length > 1 ? zipName(envelope.files) : null;
  return (
    <section aria-labelledby="recv-files" class="result">
      <div class={opened.verified ? "signer verified" : "signer unverified"} role="status">
        {opened.verified ? (
          <p><strong>From <span class="label" data-testid="sender">{send.sender}</span></strong>: verified — signed by
            the key this address has in the registry (checked in the public log here).</p>
        ) : (
          <p><strong>UNVERIFIED:</strong> sent by the account <span class="label" data-testid="sender">{send.sender}</span>, but
            signed by the key of <span class="label">'{info.author}'</span>, which is not that address's registry key
            {opened.senderKey && <> (<code class="fp">{opened.senderKey}</code>)</>}. Do not trust it more than the label.</p>
        )}
        <p class="fingerprint">Signing key: <code>{info.authorKey}</code></p>
      </div>
      {envelope.message !== null && (
        <>
          <h2 id="recv-message">Message</h2>
          <pre class="message" data-testid="send-message" aria-labelledby="recv-message">{envelope.message}</pre>
        </>
      )}
      <h2 id="recv-files">{send.kind === "link" ? `Files (version ${send.version})` : "Files"}</h2>
      <p class="hint" data-testid="send-facts">{envelope.files.length} file{envelope.files.length === 1 ? "" : "s"}, {total.toLocaleString("en")} bytes;
        expires: {when(send.expires_at)}{send.max_downloads !== null && <>; downloads {send.downloads} of {send.max_downloads}</>}.</p>
      {!opened.verified && (
        <p><input id="recv-anyway" type="checkbox" checked={anyway} onChange={(e) => setAnyway((e.currentTarget as HTMLInputElement).checked)} />{" "}
          <label for="recv-anyway" class="inline">I checked the signing key myself: offer the files anyway</label></p>
      )}
      {(opened.verified || anyway) && (
        <div data-testid="send-files">
          <Tree node={tree(envelope.files)} render={(f) => (<>
            <SaveStream name={safeName(f.path, "file")} label={`Save ${f.path}`} total={f.size} hint={`(${f.size.toLocaleString("en")} bytes)`}
              open={() => stream(f)} />
            {opened.verified && <ReceivePreview file={f} open={stream} />}{/* never for an unverified sender */}
          </>)} />
          {folder && total <= ZIP_MAX_BYTES && (
            <SaveStream name={folder} label={`Save all ${envelope.files.length} files (${folder})`} total={null}
              hint={`(${total.toLocaleString("en")} bytes, decrypted into one ZIP)`}
              open={async () => { if (send.kind === "link") await checkLatest(session, opened).catch((e) => { void reload(); throw e; }); return zipStream(stream, envelope.files); }} />
          )}
        </div>
      )}
      <p><button type="button" disabled={checking} onClick={async () => { setChecking(true); await reload(); setChecking(false); }}>
        {send.kind === "link" ? "Check for a newer version" : "Reload"}</button></p>
    </section>
  );
}
