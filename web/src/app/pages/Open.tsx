/** Open a .c11 file: pick or drop it, load a key file (+ passphrase), see who signed it, save the content.
 *  Nothing is offered unless both signatures and the signed hash list verified; a file small enough to preview is
 *  also read whole first, any other is checked segment by segment as it is saved (streamed to disk), and a save that
 *  fails leaves no finished file (SaveStream, docs/web.md "Large files"). */
import { useEffect, useRef, useState } from "preact/hooks";
import type { FileInfo } from "../../core/file";
import { parseKeyFile } from "../../core/keyfile";
import { parsePublicKey } from "../../core/publickey";
import { hex } from "../../core/bytes";
import type { CoreWorker } from "../../worker/client";
import { message, type Session } from "../api";
import { archivedKeys, moveFromTemporaryKey, onlineRelease } from "../invites";
import { groupIdentities } from "../groups";
import { newTrust } from "../registry";
import { PREVIEW_MAX, Preview, previewKind } from "./Preview";
import { readAll, safeName } from "../download";
import { SaveStream } from "../SaveStream";
import { Signer } from "../Signer";
import { borrowSessionKey, useUnlocked } from "../unlocked";

interface Result {
  info: FileInfo;
  name: string;
  /** The verified file in the worker (`openFile`): its plaintext is streamed to disk on save (docs/web.md). */
  file: number;
  size: number | null;
  ownKey: boolean;
  /** The whole plaintext of a file that can be previewed (up to PREVIEW_MAX), read at opening: for the preview, and
   *  so such a damaged file is refused before anything is offered. Other files are checked as they are saved. */
  content: Blob | null;
  /** A copy moved from a temporary key to a permanent one (invitations), to save instead. */
  moved: { name: string; url: string; forEmail: string; fingerprint: string; temporary: string } | null;
}

export function OpenPage({ worker, session = null }: { worker: CoreWorker; session?: Session | null }) {
  const [file, setFile] = useState<File | null>(null);
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [needsPass, setNeedsPass] = useState(false);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const trust = useRef(newTrust());
  const { unlocked } = useUnlocked();  // the session's unlocked key, used instead of a key file

  useEffect(() => () => { if (result) { void worker.call("closeFile", { file: result.file }); if (result.moved) URL.revokeObjectURL(result.moved.url); } }, [result]);

  const clearResult = () => {
    setResult(null);
    setError(null);
  };

  const pickKey = async (f: File | null) => {
    clearResult();
    setKeyFile(f);
    setNeedsPass(false);
    if (!f) return;
    try {
      setNeedsPass((await parseKeyFile(await f.text(), f.name)).encrypted);
    } catch (e) {
      setError(message(e));
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer?.files?.[0];
    if (f) {
      clearResult();
      setFile(f);
    }
  };

  const open = async (e: Event) => {
    e.preventDefault();
    clearResult();
    if (!file || (!keyFile && !unlocked)) {
      setError(!file ? "Choose the protected file (.c11) to open." : "Choose your key file.");
      return;
    }
    setBusy(true);
    try {
      const key = unlocked ? (await borrowSessionKey(worker, unlocked))! : await (async (kfile: File) => {
        const text = await kfile.text();
        const kf = await parseKeyFile(text, kfile.name);
        return worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
      })(keyFile!);
      // logged in: also the keys of your key archive (e.g. a temporary key received after an invitation)
      const archived = session ? await archivedKeys(worker, session, key).catch(() => []) : [];
      const keys = [key.handle, ...archived.map((k) => k.handle)];
      // a file for a group you are in: the group key wrapped for you (only when none of your keys opens it)
      if (session) keys.push(...(await groupIdentities(worker, session, trust.current, file, keys).catch(() => [])).map((k) => k.handle));
      try {
        // an online-policy file: the key server's part of the key, asked as `c11 decrypt` does (revoked: refused)
        const release = await onlineRelease(worker, session, file, keys);
        // the worker answers once both signatures and the signed hash list verified; each segment is checked as read
        const { info, file: opened } = await worker.call("openFile", { data: file, keys, release });
        const size = info.metadata.size;
        let plaintext: Blob | null = null;
        try {
          // a small file is read whole now (it errors on the first segment that fails: nothing is offered)
          if (previewKind(safeName(info.metadata.name, "file"), info.metadata.type ?? null) && (size ?? file.size) <= PREVIEW_MAX) plaintext = await readAll(await worker.call("readFile", { file: opened }));
        } catch (err) {
          await worker.call("closeFile", { file: opened });
          throw err;
        }
        const own = (await parsePublicKey(key.publicLine)).sig;
        const fallback = file.name.replace(/\.c11$/i, "") || "decrypted";
        setResult({
          info,
          name: safeName(info.metadata.name, fallback),
          file: opened,
          size: plaintext ? plaintext.size : size,
          ownKey: own !== null && hex(own) === info.authorKey,
          content: plaintext,
          moved: session ? await moveFromTemporaryKey(worker, session, trust.current, file, keys, key, info)
            .then((m) => m && { name: `${safeName(file.name.replace(/\.c11$/i, ""), "file")}.moved.c11`, url: URL.createObjectURL(m.blob), forEmail: m.forEmail, fingerprint: m.fingerprint, temporary: m.temporary })
            .catch(() => null) : null,
        });
      } finally {
        await Promise.all(keys.map((handle) => worker.call("forget", { handle })));
      }
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="open-title">
      <h1 id="open-title">Open a protected file</h1>
      <p>The file is opened in this browser: neither the file nor your key is sent to the server.</p>
      <form onSubmit={open} class="stack">
        <div
          class={dragging ? "dropzone dragging" : "dropzone"}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
          data-testid="dropzone"
        >
          <label for="open-file">Protected file (.c11)</label>
          <input id="open-file" ref={fileInput} type="file" accept=".c11,application/octet-stream"
            onChange={(e) => { clearResult(); setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null); }} />
          <p class="hint">{file ? <>Chosen: <span class="filename">{file.name}</span></> : "Or drop it here."}</p>
        </div>
        {unlocked ? <p class="hint" data-testid="open-unlocked">With your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p> : (
          <div>
            <label for="open-key">Your key file (.key)</label>
            <input id="open-key" type="file" accept=".key,application/json"
              onChange={(e) => void pickKey((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
          </div>
        )}
        {needsPass && !unlocked && (
          <div>
            <label for="open-pass">Passphrase of the key file</label>
            <input id="open-pass" type="password" autocomplete="off" value={passphrase}
              onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)} />
          </div>
        )}
        <div>
          <button type="submit" disabled={busy}>{busy ? "Opening…" : "Open"}</button>
        </div>
      </form>
      {error && <p role="alert" class="error">Not opened: {error}</p>}
      {result && <Opened result={result} worker={worker} />}
    </section>
  );
}

function Opened({ result, worker }: { result: Result; worker: CoreWorker }) {
  const { info } = result;
  return (
    <section aria-labelledby="opened-title" class="result">
      <h2 id="opened-title">Opened</h2>
      <Signer info={info} ownKey={result.ownKey} />
      <SaveStream name={result.name} total={result.size} hint={result.size !== null ? `(${result.size.toLocaleString("en")} bytes)` : undefined} open={async () => ({ worker, stream: await worker.callHeld("readFile", { file: result.file }) })} />
      {result.content && <Preview content={result.content} name={result.name} declared={info.metadata.type ?? null} />}
      {result.moved && (
        <div class="stack" role="status">
          <p class="warning">This file was encrypted to the temporary key <code class="fp">{result.moved.temporary}</code> of an
            invitation (held by the key server: not zero-trust).</p>
          <p>A copy for the permanent key of <span class="label">{result.moved.forEmail}</span> (<code class="fp">{result.moved.fingerprint}</code>,
            verified in the log) is ready, without the temporary key. Send or keep it instead of this one.</p>
          <p><a class="button" href={result.moved.url} download={result.moved.name}>Save re-encrypted {result.moved.name}</a></p>
        </div>
      )}
    </section>
  );
}
