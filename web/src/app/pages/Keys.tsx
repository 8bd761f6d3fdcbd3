/** Your key on the account page. A first key is made in this browser (the worker): cloud-stored in shards (the
 *  default, as `c11 login`: shard 1 at the c11 server, shard 2 at a shard store registered with your password by
 *  OPAQUE, shard 3 at a second store or saved by you as a recovery shard file, which you must confirm saving), or a
 *  device key file (the `c11 keygen` format, passphrase-protected). Then it is published with a proof of
 *  possession. A published cloud key can be rebuilt here from its shards (docs/shards.md, docs/web.md). */
import { useEffect, useRef, useState } from "preact/hooks";
import type { CoreWorker } from "../../worker/client";
import { ApiError, api, message, type Session } from "../api";
import { lookup, newTrust } from "../registry";
import { receiveTemporaryKey, type Received } from "../invites";
import { rebuildKey, shardStatus, splitKey, storeSplit, type ShardStatus, type Split } from "../cloudkey";
import { parseKeyFile } from "../../core/keyfile";
import { useUnlocked } from "../unlocked";

type Kind = "cloud" | "device";
type Stage = { kind: "loading" } | { kind: "none"; stores: number }
  | { kind: "published"; fingerprint: string; status: ShardStatus | null }
  | { kind: "made"; handle: number; fingerprint: string; name: string; url: string }
  | { kind: "split"; handle: number; fingerprint: string; split: Split; name: string; url: string | null };

export function KeySection({ session, worker }: { session: Session; worker: CoreWorker }) {
  const [stage, setStage] = useState<Stage>({ kind: "loading" });
  const [kind, setKind] = useState<Kind>("cloud");
  const [pass, setPass] = useState("");
  const [again, setAgain] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  const [rebuilt, setRebuilt] = useState<string | null>(null);
  const [received, setReceived] = useState<Received | null>(null);
  const recoveryFile = useRef<HTMLInputElement>(null);
  const keyFile = useRef<HTMLInputElement>(null);
  const [keyPass, setKeyPass] = useState("");
  const { unlocked, unlock } = useUnlocked();
  const trust = useRef(newTrust());
  const made = useRef<{ handle: number; url: string | null } | null>(null);  // released when leaving the page

  useEffect(() => {
    (async () => {
      const st = await shardStatus(session).catch(() => null);
      try {
        const k = await lookup(trust.current, session, session.email);
        setStage({ kind: "published", fingerprint: k.fingerprint, status: st?.cloud_key?.fingerprint === k.fingerprint ? st : null });
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          const stores = st?.stores.length ?? 0;
          setKind(stores > 0 ? "cloud" : "device");
          setStage({ kind: "none", stores });
        } else setError(message(e));
      }
    })();
  }, [session]);
  const release = () => {
    if (made.current) {
      if (made.current.url) URL.revokeObjectURL(made.current.url);
      void worker.call("forget", { handle: made.current.handle });
      made.current = null;
    }
  };
  useEffect(() => release, []);

  const make = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (kind === "device" && (pass.length < 8 || pass !== again)) {
      setError(pass !== again ? "The two passphrases differ." : "Choose a passphrase of at least 8 characters.");
      return;
    }
    setBusy(true);
    try {
      const key = await worker.call("generateKey", { label: session.email, kem: "mlkem768x25519" });
      if (kind === "cloud") {
        const split = await splitKey(worker, session, key.handle);
        if (!split) throw new Error("This server announces no shard store: make a device key file instead.");
        const url = split.recovery ? URL.createObjectURL(new Blob([split.recovery], { type: "text/plain" })) : null;
        made.current = { handle: key.handle, url };
        setConfirmed(false);
        setStage({ kind: "split", handle: key.handle, fingerprint: key.fingerprint, split, url,
          name: `c11_recovery_${key.fingerprint.slice(0, 16)}.shard` });
        return;
      }
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

  /** Publish key `handle` (a proof of possession), check the log shows it, and receive an invitation's temporary key. */
  const publish = async (handle: number, storage: Kind) => {
    const timestamp = new Date().toISOString();
    const proof = await worker.call("publishProof", { handle, email: session.email, timestamp });
    const out = await api<{ public_key: string }>("POST", "/api/v1/keys", { email: session.email, public_key: proof.publicKey,
      timestamp, signature: proof.signature, storage }, session);
    if (out.public_key !== proof.publicKey) throw new Error("the registry answered with another key than the one published");
    const verified = await lookup(trust.current, session, session.email);  // in the log now, proofs checked
    if (verified.line !== proof.publicKey) throw new Error("the registry's log does not show the key just published");
    // invited before registering: the temporary key the key server held, into the key archive (as `c11 login`)
    const got = await receiveTemporaryKey(worker, session, { handle, label: session.email, kem: verified.kem,
      fingerprint: verified.fingerprint, publicLine: verified.line });
    if (got) setReceived(got);
    release();
    setStage({ kind: "published", fingerprint: verified.fingerprint, status: storage === "cloud" ? await shardStatus(session) : null });
  };

  const publishDevice = async () => {
    if (stage.kind !== "made") return;
    setError(null);
    setBusy(true);
    try {
      await publish(stage.handle, "device");
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  const storeCloud = async (e: Event) => {
    e.preventDefault();
    if (stage.kind !== "split") return;
    setError(null);
    if (!password) {
      setError("Type your c11 password: it registers you at your shard store.");
      return;
    }
    setBusy(true);
    try {
      await storeSplit(session, stage.split, password);
      await publish(stage.handle, "cloud");
    } catch (err) {
      setError(message(err));
    } finally {
      setPassword("");
      setBusy(false);
    }
  };

  const rebuild = async (e: Event) => {
    e.preventDefault();
    if (stage.kind !== "published" || !stage.status) return;
    setError(null);
    setRebuilt(null);
    setBusy(true);
    try {
      const file = recoveryFile.current?.files?.[0];
      const recovery = file ? (file.size > 65536 ? "" : await file.text()) : undefined;
      const key = await rebuildKey(worker, session, stage.status, password, recovery);
      if (key.fingerprint !== stage.fingerprint) {
        void worker.call("forget", { handle: key.handle });
        throw new Error("the shards rebuild another key than your published one");
      }
      await unlock(key, "cloud");  // kept in the worker for this session (memory only; idle lock)
      setRebuilt(key.fingerprint);
    } catch (err) {
      setError(message(err));
    } finally {
      setPassword("");
      setBusy(false);
    }
  };

  /** A device key file unlocked for this session (the same worker-held key as a rebuilt cloud key). */
  const unlockFile = async (e: Event) => {
    e.preventDefault();
    if (stage.kind !== "published") return;
    setError(null);
    const f = keyFile.current?.files?.[0];
    if (!f || f.size > 65536) {
      setError(f ? "That is not a c11 key file (too large)." : "Choose your key file.");
      return;
    }
    setBusy(true);
    try {
      const text = await f.text();
      const kf = await parseKeyFile(text, f.name);
      const key = await worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? keyPass : undefined });
      if (key.fingerprint !== stage.fingerprint) {
        void worker.call("forget", { handle: key.handle });
        throw new Error("this key file holds another key than your published one");
      }
      await unlock(key, "device");
    } catch (err) {
      setError(message(err));
    } finally {
      setKeyPass("");
      setBusy(false);
    }
  };

  const passwordField = (id: string) => (
    <div>
      <label for={id}>Your c11 password</label>
      <input id={id} type="password" autocomplete="current-password" value={password} aria-describedby={`${id}-hint`}
        onInput={(e) => setPassword((e.currentTarget as HTMLInputElement).value)} />
      <p id={`${id}-hint`} class="hint">It logs you in at your shard store with OPAQUE; it never leaves this browser.</p>
    </div>
  );

  return (
    <section aria-labelledby="key-title">
      <h2 id="key-title">Your key</h2>
      {stage.kind === "loading" && <p>Checking the registry…</p>}
      {stage.kind === "published" && (
        <div class="stack">
          <p role="status">Your published key: <code class="fp">{stage.fingerprint}</code> (verified in the log
            {stage.status ? "; cloud-stored in shards" : ""}).</p>
          {stage.status && (
            <form class="stack" onSubmit={rebuild}>
              <p>Rebuild it in this browser from two of its shards (the c11 server's and your shard store's), in memory only.</p>
              {passwordField("rebuild-password")}
              <div>
                <label for="rebuild-recovery">Recovery shard file (only if a shard store is unreachable)</label>
                <input id="rebuild-recovery" type="file" ref={recoveryFile} accept=".shard,text/plain" />
              </div>
              <div><button type="submit" disabled={busy}>{busy ? "Rebuilding…" : "Rebuild my key"}</button></div>
              {rebuilt && <p role="status">Rebuilt from its shards: <code class="fp">{rebuilt}</code>, your published key,
                unlocked for this session.</p>}
            </form>
          )}
          {!stage.status && unlocked?.fingerprint !== stage.fingerprint && (
            <form class="stack" onSubmit={unlockFile}>
              <p>Unlock your key file for this session: Open, Encrypt and the other pages then use it without asking
                (kept in memory only; it locks after a while without input).</p>
              <div>
                <label for="unlock-key">Your key file (.key)</label>
                <input id="unlock-key" type="file" ref={keyFile} accept=".key,application/json" />
              </div>
              <div>
                <label for="unlock-pass">Passphrase of the key file</label>
                <input id="unlock-pass" type="password" autocomplete="off" value={keyPass}
                  onInput={(e) => setKeyPass((e.currentTarget as HTMLInputElement).value)} />
              </div>
              <div><button type="submit" disabled={busy}>{busy ? "Unlocking…" : "Unlock my key"}</button></div>
            </form>
          )}
        </div>
      )}
      {stage.kind === "none" && (
        <form class="stack" onSubmit={make}>
          <p>You have no published key yet: people cannot encrypt for you. Make one here: it is made in this browser,
            and only its public part is published.</p>
          <fieldset class="section">
            <legend>Where your key is kept</legend>
            <div>
              <input id="key-kind-cloud" type="radio" name="key-kind" checked={kind === "cloud"} disabled={stage.stores === 0}
                aria-describedby="key-kind-cloud-hint" onChange={() => setKind("cloud")} />{" "}
              <label for="key-kind-cloud" class="inline">Cloud-stored key (recommended)</label>
              <p id="key-kind-cloud-hint" class="hint">{stage.stores === 0 ? "This server announces no shard store."
                : "Split in shards: any two of the c11 server, your shard store and a recovery shard file rebuild it, on any device, with your password."}</p>
            </div>
            <div>
              <input id="key-kind-device" type="radio" name="key-kind" checked={kind === "device"}
                aria-describedby="key-kind-device-hint" onChange={() => setKind("device")} />{" "}
              <label for="key-kind-device" class="inline">Device key file</label>
              <p id="key-kind-device-hint" class="hint">A passphrase-protected file you keep: the only copy.</p>
            </div>
          </fieldset>
          {kind === "device" && (
            <>
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
            </>
          )}
          <div><button type="submit" disabled={busy}>{busy ? "Making…" : "Make my key"}</button></div>
        </form>
      )}
      {stage.kind === "split" && (
        <form class="stack" onSubmit={storeCloud}>
          <p>Your key <code class="fp">{stage.fingerprint}</code> is made and split in three shards; nothing is stored yet.</p>
          {stage.url && (
            <>
              <p>Save your recovery shard and keep it offline (a USB stick, a printout). With it and one other shard your
                key rebuilds if a shard store is gone or you forget your password; alone it is useless.</p>
              <p><a class="button" href={stage.url} download={stage.name} onClick={() => setSaved(true)}>Save {stage.name}</a></p>
              <div>
                <input id="recovery-saved" type="checkbox" checked={confirmed} disabled={!saved}
                  aria-describedby="recovery-saved-hint" onChange={(e) => setConfirmed((e.currentTarget as HTMLInputElement).checked)} />{" "}
                <label for="recovery-saved" class="inline">I have saved my recovery shard file</label>
                <p id="recovery-saved-hint" class="hint">{saved ? "Check it is in your downloads, then confirm." : "Save the file first."}</p>
              </div>
            </>
          )}
          {passwordField("store-password")}
          <div>
            <button type="submit" disabled={busy || (stage.url !== null && !confirmed)}>
              {busy ? "Storing…" : "Store and publish my key"}
            </button>
          </div>
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
            <button type="button" disabled={busy || !saved} onClick={publishDevice} aria-describedby="publish-hint">
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
