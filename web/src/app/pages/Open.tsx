/** Open a .c11 file: pick or drop it, load a key file (+ passphrase), see who signed it, save the content.
 *  Nothing is offered for download unless the whole file authenticated and every signature verified. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { FileInfo } from "../../core/file";
import { parseKeyFile } from "../../core/keyfile";
import { parsePublicKey } from "../../core/publickey";
import { hex } from "../../core/bytes";
import type { CoreWorker } from "../../worker/client";
import { message } from "../api";
import { safeName } from "../download";
import { Signer } from "../Signer";

interface Result {
  info: FileInfo;
  name: string;
  url: string;
  size: number;
  ownKey: boolean;
}

export function OpenPage({ worker }: { worker: CoreWorker }) {
  const [file, setFile] = useState<File | null>(null);
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [needsPass, setNeedsPass] = useState(false);
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => () => { if (result) URL.revokeObjectURL(result.url); }, [result]);

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
    if (!file || !keyFile) {
      setError(!file ? "Choose the protected file (.c11) to open." : "Choose your key file.");
      return;
    }
    setBusy(true);
    try {
      const text = await keyFile.text();
      const kf = await parseKeyFile(text, keyFile.name);
      const key = await worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
      try {
        // the worker answers only once every signature verified and every segment authenticated
        const { info, plaintext } = await worker.call("decrypt", { data: file, keys: [key.handle] });
        const own = (await parsePublicKey(key.publicLine)).sig;
        const fallback = file.name.replace(/\.c11$/i, "") || "decrypted";
        setResult({
          info,
          name: safeName(info.metadata.name, fallback),
          url: URL.createObjectURL(plaintext),
          size: plaintext.size,
          ownKey: own !== null && hex(own) === info.authorKey,
        });
      } finally {
        await worker.call("forget", { handle: key.handle });
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
        <div>
          <label for="open-key">Your key file (.key)</label>
          <input id="open-key" type="file" accept=".key,application/json"
            onChange={(e) => void pickKey((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
        </div>
        {needsPass && (
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
      {result && <Opened result={result} />}
    </section>
  );
}

function Opened({ result }: { result: Result }) {
  const { info } = result;
  return (
    <section aria-labelledby="opened-title" class="result">
      <h2 id="opened-title">Opened</h2>
      <Signer info={info} ownKey={result.ownKey} />
      <p>
        <a class="button" href={result.url} download={result.name}>Save {result.name}</a>{" "}
        <span class="hint">({result.size.toLocaleString("en")} bytes)</span>
      </p>
    </section>
  );
}
