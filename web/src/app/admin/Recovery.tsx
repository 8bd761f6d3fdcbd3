/** Recovery keys (crud:recovery-keys-org), as `c11 org recovery create/rotate/remove`: the key pair is made in
 *  this browser's worker (X-Wing, labelled `recovery:NAME`), its private key file (passphrase-protected, the
 *  `c11 keygen` format) is offered once as a download, and only after the admin confirms saving it is the public
 *  key uploaded. The private key never leaves this browser; the worker forgets it afterwards. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { CoreWorker } from "../../worker/client";
import { api, message, type Session } from "../api";
import { when } from "./common";

interface RecoveryKey {
  id: string;
  name: string;
  public_key: string;
  fingerprint: string;
  status: string;
  created_at: string;
  retired_at: string | null;
}

interface Made {
  handle: number;
  url: string;
  file: string;
  publicLine: string;
  fingerprint: string;
  name: string;
  replaces: string | null;
}

export function RecoveryPage({ session, worker }: { session: Session; worker: CoreWorker }) {
  const [keys, setKeys] = useState<RecoveryKey[] | null>(null);
  const [name, setName] = useState("");
  const [replaces, setReplaces] = useState<RecoveryKey | null>(null);
  const [pass, setPass] = useState("");
  const [again, setAgain] = useState("");
  const [made, setMade] = useState<Made | null>(null);
  const [downloaded, setDownloaded] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const held = useRef<Made | null>(null);
  const reload = () => api<{ recovery_keys: RecoveryKey[] }>("GET", "/api/v1/org/recovery-keys", undefined, session)
    .then((d) => setKeys(d.recovery_keys)).catch((e) => setError(message(e)));
  useEffect(() => { void reload(); }, [session]);
  const forget = () => {
    if (held.current) {
      URL.revokeObjectURL(held.current.url);
      void worker.call("forget", { handle: held.current.handle });
      held.current = null;
    }
    setMade(null);
    setDownloaded(false);
    setConfirmed(false);
  };
  useEffect(() => forget, []);

  const make = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const n = name.trim();
    if (!n) { setError("Give the recovery key a name (where its file is kept, for example)."); return; }
    if (pass.length < 8 || pass !== again) {
      setError(pass !== again ? "The two passphrases differ." : "Choose a passphrase of at least 8 characters.");
      return;
    }
    setBusy(true);
    try {
      forget();
      const key = await worker.call("generateKey", { label: `recovery:${n}`, kem: "mlkem768x25519" });
      const text = await worker.call("exportKeyFile", { handle: key.handle, passphrase: pass });
      const m: Made = { handle: key.handle, url: URL.createObjectURL(new Blob([text], { type: "application/json" })),
        file: `c11_recovery_${key.fingerprint.slice(0, 16)}.key`, publicLine: key.publicLine, fingerprint: key.fingerprint,
        name: n, replaces: replaces?.id ?? null };
      held.current = m;
      setMade(m);
    } catch (err) {
      setError(message(err));
    } finally {
      setPass("");
      setAgain("");
      setBusy(false);
    }
  };

  const upload = async () => {
    if (!made || !confirmed) return;
    setBusy(true);
    setError(null);
    try {
      const out = await api<RecoveryKey>("POST", "/api/v1/org/recovery-keys",
        { name: made.name, public_key: made.publicLine, ...(made.replaces ? { replaces: made.replaces } : {}) }, session);
      if (out.public_key !== made.publicLine) throw new Error("the server recorded another recovery key than the one made here");
      const what = `Recovery key ${made.name} uploaded (${made.fingerprint}): members' new files carry it from now on.`;
      forget();
      setName("");
      setReplaces(null);
      await reload();
      setDone(what);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (k: RecoveryKey) => {
    if (!window.confirm(`Remove the recovery key ${k.name}? New files no longer carry it; files that do still open with its file.`)) return;
    setError(null);
    setDone(null);
    try {
      await api("DELETE", `/api/v1/org/recovery-keys/${encodeURIComponent(k.id)}`, undefined, session);
      await reload();
      setDone(`Recovery key ${k.name} removed.`);
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section aria-labelledby="rec-title">
      <h1 id="rec-title">Recovery keys</h1>
      <p class="hint">Every file a member protects is also encrypted to the current recovery keys, so the organization can
        open it if the member's key is lost. Keep each recovery key file offline, in a safe place.</p>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <ul class="rows" aria-label="Recovery keys">
        {keys?.map((k) => (
          <li key={k.id} aria-label={k.name}>
            <strong>{k.name}</strong> · {k.status}{k.retired_at ? ` since ${when(k.retired_at)}` : ""}
            <div class="meta">fingerprint <code class="fp">{k.fingerprint}</code> · made {when(k.created_at)}</div>
            <div class="buttons">
              {k.status === "current" && <button type="button" class="secondary" aria-label={`Rotate ${k.name}`}
                onClick={() => { setReplaces(k); setName(k.name); forget(); }}>Rotate</button>}
              <button type="button" class="danger" aria-label={`Remove ${k.name}`} onClick={() => remove(k)}>Remove</button>
            </div>
          </li>
        ))}
      </ul>
      {keys?.length === 0 && <p>No recovery keys yet.</p>}
      <h2 id="rec-new">{replaces ? `Rotate ${replaces.name}` : "Make a recovery key"}</h2>
      {!made && (
        <form onSubmit={make} class="stack" aria-labelledby="rec-new">
          <div><label for="rec-name">Name</label><input id="rec-name" type="text" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></div>
          <div><label for="rec-pass">Passphrase for the key file</label><input id="rec-pass" type="password" autocomplete="new-password" value={pass} onInput={(e) => setPass((e.target as HTMLInputElement).value)} /></div>
          <div><label for="rec-again">The same passphrase again</label><input id="rec-again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain((e.target as HTMLInputElement).value)} /></div>
          <div class="buttons">
            <button type="submit" disabled={busy}>Make the key in this browser</button>
            {replaces && <button type="button" class="secondary" onClick={() => { setReplaces(null); setName(""); }}>Cancel</button>}
          </div>
        </form>
      )}
      {made && (
        <div class="stack secret">
          <p>The key pair was made in this browser. Save its private key file now: it is offered only once, and the
            server never gets it.</p>
          <p><a class="button" href={made.url} download={made.file} onClick={() => setDownloaded(true)}>Save {made.file}</a></p>
          <label for="rec-saved">
            <input id="rec-saved" type="checkbox" checked={confirmed} disabled={!downloaded}
              onChange={(e) => setConfirmed((e.target as HTMLInputElement).checked)} /> I saved the recovery key file in a safe place
          </label>
          <div class="buttons">
            <button type="button" disabled={busy || !confirmed} onClick={upload}>Upload the public key</button>
            <button type="button" class="secondary" onClick={forget}>Discard</button>
          </div>
        </div>
      )}
    </section>
  );
}
