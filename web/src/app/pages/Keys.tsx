/** Your key on the account page: make a device key in this browser (the worker), save its key file (the
 *  `c11 keygen` format, passphrase-protected), then publish it to the registry with a proof of possession. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { CoreWorker } from "../../worker/client";
import { ApiError, api, message, type Session } from "../api";
import { lookup, newTrust } from "../registry";
import { receiveTemporaryKey, type Received } from "../invites";

type Stage = { kind: "loading" } | { kind: "none" } | { kind: "published"; fingerprint: string }
  | { kind: "made"; handle: number; fingerprint: string; name: string; url: string };

export function KeySection({ session, worker }: { session: Session; worker: CoreWorker }) {
  const [stage, setStage] = useState<Stage>({ kind: "loading" });
  const [pass, setPass] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [received, setReceived] = useState<Received | null>(null);
  const trust = useRef(newTrust());
  const made = useRef<{ handle: number; url: string } | null>(null);  // released when leaving the page

  useEffect(() => {
    lookup(trust.current, session, session.email)
      .then((k) => setStage({ kind: "published", fingerprint: k.fingerprint }))
      .catch((e) => {
        if (e instanceof ApiError && e.status === 404) setStage({ kind: "none" });
        else setError(message(e));
      });
  }, [session]);
  const release = () => {
    if (made.current) {
      URL.revokeObjectURL(made.current.url);
      void worker.call("forget", { handle: made.current.handle });
      made.current = null;
    }
  };
  useEffect(() => release, []);

  const make = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (pass.length < 8 || pass !== again) {
      setError(pass !== again ? "The two passphrases differ." : "Choose a passphrase of at least 8 characters.");
      return;
    }
    setBusy(true);
    try {
      const key = await worker.call("generateKey", { label: session.email, kem: "mlkem768x25519" });
      const text = await worker.call("exportKeyFile", { handle: key.handle, passphrase: pass });
      const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      made.current = { handle: key.handle, url };
      setSaved(false);
      setStage({ kind: "made", handle: key.handle, fingerprint: key.fingerprint, name: `c11_key_${key.fingerprint.slice(0, 16)}.key`, url });
    } catch (err) {
      setError(message(err));
    } finally {
      setPass("");
      setAgain("");
      setBusy(false);
    }
  };

  const publish = async () => {
    if (stage.kind !== "made") return;
    setError(null);
    setBusy(true);
    try {
      const timestamp = new Date().toISOString();
      const proof = await worker.call("publishProof", { handle: stage.handle, email: session.email, timestamp });
      const out = await api<{ public_key: string }>("POST", "/api/v1/keys", { email: session.email, public_key: proof.publicKey,
        timestamp, signature: proof.signature, storage: "device" }, session);
      if (out.public_key !== proof.publicKey) throw new Error("the registry answered with another key than the one published");
      const verified = await lookup(trust.current, session, session.email);  // in the log now, proofs checked
      if (verified.line !== proof.publicKey) throw new Error("the registry's log does not show the key just published");
      // invited before registering: the temporary key the key server held, into the key archive (as `c11 login`)
      const got = await receiveTemporaryKey(worker, session, { handle: stage.handle, label: session.email, kem: verified.kem,
        fingerprint: verified.fingerprint, publicLine: verified.line });
      if (got) setReceived(got);
      release();
      setStage({ kind: "published", fingerprint: verified.fingerprint });
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="key-title">
      <h2 id="key-title">Your key</h2>
      {stage.kind === "loading" && <p>Checking the registry…</p>}
      {stage.kind === "published" && (
        <p role="status">Your published key: <code class="fp">{stage.fingerprint}</code> (verified in the log).</p>
      )}
      {stage.kind === "none" && (
        <form class="stack" onSubmit={make}>
          <p>You have no published key yet: people cannot encrypt for you. Make one here: it is made in this browser,
            saved as a key file on your device, and only its public part is published.</p>
          <div>
            <label for="key-pass">Passphrase for the key file</label>
            <input id="key-pass" type="password" autocomplete="new-password" value={pass}
              onInput={(e) => setPass((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <div>
            <label for="key-again">The same passphrase again</label>
            <input id="key-again" type="password" autocomplete="new-password" value={again}
              onInput={(e) => setAgain((e.currentTarget as HTMLInputElement).value)} />
          </div>
          <div><button type="submit" disabled={busy}>{busy ? "Making…" : "Make my key"}</button></div>
        </form>
      )}
      {stage.kind === "made" && (
        <div class="stack">
          <p>Your key <code class="fp">{stage.fingerprint}</code> is made. Save the key file: it is the only copy, and
            without it (and its passphrase) nothing encrypted for you can be opened.</p>
          <p>
            <a class="button" href={stage.url} download={stage.name}
              onClick={() => setSaved(true)}>Save {stage.name}</a>
          </p>
          <div>
            <button type="button" disabled={busy || !saved} onClick={publish} aria-describedby="publish-hint">
              {busy ? "Publishing…" : "Publish my key"}
            </button>
            <p id="publish-hint" class="hint">{saved ? "Publishing lets people find your key by your email." : "Save the key file first."}</p>
          </div>
        </div>
      )}
      {received && (
        <div class="stack" role="status">
          <p>You were invited before you registered: received your temporary key <code class="fp">{received.fingerprint}</code>
            {received.archived ? ", kept in your key archive (encrypted to your key). Files sent to it open on the Open page now (log in, then load your key file)."
              : `. It could not be kept in your key archive (${received.error ?? "error"}): save it as a key file and load it with your own on the Open page.`}
          </p>
          {received.fallback && <p><a class="button" href={received.fallback.url} download={received.fallback.name}>Save {received.fallback.name}</a></p>}
          <p class="hint">A temporary key is not zero-trust (the key server held it): after opening a file sent to it, save
            the copy re-encrypted for your own key that the Open page offers.</p>
        </div>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}
