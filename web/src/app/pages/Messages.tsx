/** Secure messages (F3): write a message for people by email and copy the armored block; paste an armored
 *  block to read it. The message is shown as text, never as HTML. Crypto runs in the worker. */
import { useRef, useState } from "preact/hooks";
import { hex } from "../../core/bytes";
import type { FileInfo } from "../../core/file";
import { parseKeyFile } from "../../core/keyfile";
import { parsePublicKey } from "../../core/publickey";
import type { CoreWorker } from "../../worker/client";
import type { KeySummary } from "../../worker/protocol";
import { message, type Session } from "../api";
import { lookupWithOrg, newTrust } from "../registry";
import { browserPlan, ownPolicy } from "../orgpolicy";
import type { OrgPolicy } from "../../core/orgrules";
import type { PublicKey } from "../../core/publickey";
import { Signer } from "../Signer";
import { useUnlocked } from "../unlocked";

/** Unlock a picked key file (null: borrow the session's unlocked key) into the worker for one operation, then forget it. */
async function withKey<T>(worker: CoreWorker, file: File | null, passphrase: string, work: (k: KeySummary) => Promise<T>): Promise<T> {
  const key = file ? await (async () => {
    const text = await file.text();
    const kf = await parseKeyFile(text, file.name);
    return worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
  })() : await worker.call("sessionKey", {});
  if (!key) throw new Error("your key was locked: choose your key file");
  try {
    return await work(key);
  } finally {
    await worker.call("forget", { handle: key.handle });
  }
}

function KeyFields({ prefix, onKey, passphrase, setPassphrase }: {
  prefix: string; onKey: (f: File | null) => void; passphrase: string; setPassphrase: (p: string) => void;
}) {
  return (
    <>
      <div>
        <label for={`${prefix}-key`}>Your key file (.key)</label>
        <input id={`${prefix}-key`} type="file" accept=".key,application/json"
          onChange={(e) => onKey((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
      </div>
      <div>
        <label for={`${prefix}-pass`}>Passphrase of your key file</label>
        <input id={`${prefix}-pass`} type="password" autocomplete="off" value={passphrase}
          onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)} />
      </div>
    </>
  );
}

function Read({ worker }: { worker: CoreWorker }) {
  const [armored, setArmored] = useState("");
  const [key, setKey] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [read, setRead] = useState<{ info: FileInfo; text: string; ownKey: boolean } | null>(null);
  const { unlocked } = useUnlocked();  // the session's unlocked key, used instead of a key file
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setRead(null);
    if (!armored.trim() || (!key && !unlocked)) {
      setError(!key && !unlocked ? "Choose your key file." : "Paste the message block.");
      return;
    }
    setBusy(true);
    try {
      setRead(await withKey(worker, unlocked ? null : key, passphrase, async (k) => {
        const { info, plaintext } = await worker.call("decrypt", { data: new Blob([armored]), keys: [k.handle] });
        const own = (await parsePublicKey(k.publicLine)).sig;
        return { info, text: new TextDecoder().decode(await plaintext.arrayBuffer()), ownKey: own !== null && hex(own) === info.authorKey };
      }));
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="read-title">
      <h2 id="read-title">Read a message</h2>
      <form class="stack" onSubmit={submit}>
        <div>
          <label for="read-armored">Protected message (paste the whole block)</label>
          <textarea id="read-armored" rows={6} value={armored} spellcheck={false}
            onInput={(e) => setArmored((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        {unlocked ? <p class="hint">With your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p>
          : <KeyFields prefix="read" onKey={setKey} passphrase={passphrase} setPassphrase={setPassphrase} />}
        <div><button type="submit" disabled={busy}>{busy ? "Reading…" : "Read"}</button></div>
      </form>
      {error && <p role="alert" class="error">Not read: {error}</p>}
      {read && (
        <div class="result">
          <Signer info={read.info} ownKey={read.ownKey} />
          <h3>Message</h3>
          <pre class="message" data-testid="message-text">{read.text}</pre>
        </div>
      )}
    </section>
  );
}

function Write({ worker, session }: { worker: CoreWorker; session: Session | null }) {
  const [text, setText] = useState("");
  const [to, setTo] = useState("");
  const [key, setKey] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [armored, setArmored] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const trust = useRef(newTrust());
  const { unlocked } = useUnlocked();  // the session's unlocked key signs instead of a key file
  if (!session) return <section aria-labelledby="write-title"><h2 id="write-title">Write a message</h2><p>Log in to write a message for people by email.</p></section>;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setArmored(null);
    setCopied(false);
    const people = [...new Set(to.split(/[\s,;]+/).map((x) => x.trim().toLowerCase()).filter(Boolean))];
    if (!text || (!key && !unlocked) || people.length === 0) {
      setError(!text ? "Write the message." : !key && !unlocked ? "Choose your key file (it signs the message)." : "Enter at least one email address.");
      return;
    }
    setBusy(true);
    try {
      const found: { key: PublicKey; org: OrgPolicy | null }[] = [];
      for (const p of people) found.push(await lookupWithOrg(trust.current, session, p));
      // the organization rules, as the CLI applies them: recovery keys added, online required refused
      const keys = browserPlan(await ownPolicy(session), found.map((f) => f.org), found.map((f) => f.key)).recipients.map((k) => k.line);
      const blob = await withKey(worker, unlocked ? null : key, passphrase, (k) => worker.call("encrypt", {
        data: new Blob([text]), sender: k.handle, recipients: keys, armor: true,
        metadata: { name: null, type: null, size: null, mtime: null, kind: "message" },
      }));
      setArmored(await blob.text());
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };
  const copy = async () => {
    if (armored === null) return;
    try {
      await navigator.clipboard.writeText(armored);
      setCopied(true);
    } catch {
      setError("Copying was not allowed: select the block and copy it.");
    }
  };
  return (
    <section aria-labelledby="write-title">
      <h2 id="write-title">Write a message</h2>
      <form class="stack" onSubmit={submit}>
        <div>
          <label for="write-text">Message</label>
          <textarea id="write-text" rows={5} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        <div>
          <label for="write-to">People (email addresses)</label>
          <input id="write-to" type="text" value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} />
        </div>
        {unlocked ? <p class="hint">Signed with your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p>
          : <KeyFields prefix="write" onKey={setKey} passphrase={passphrase} setPassphrase={setPassphrase} />}
        <div><button type="submit" disabled={busy}>{busy ? "Encrypting…" : "Encrypt message"}</button></div>
      </form>
      {error && <p role="alert" class="error">Not encrypted: {error}</p>}
      {armored !== null && (
        <div class="result stack">
          <div>
            <label for="write-out">Protected message (send this block)</label>
            <textarea id="write-out" rows={8} readOnly value={armored} spellcheck={false} />
          </div>
          <div>
            <button type="button" onClick={copy}>Copy</button>{" "}
            {copied && <span role="status">Copied.</span>}
          </div>
        </div>
      )}
    </section>
  );
}

export function MessagesPage({ worker, session }: { worker: CoreWorker; session: Session | null }) {
  return (
    <section aria-labelledby="messages-title">
      <h1 id="messages-title">Secure messages</h1>
      <p>Messages are encrypted and read in this browser; paste the protected block into any chat or email.</p>
      <Read worker={worker} />
      <Write worker={worker} session={session} />
    </section>
  );
}
