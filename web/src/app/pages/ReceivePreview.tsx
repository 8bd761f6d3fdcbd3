/** A file's preview on a send's or share link's page (`/r/<id>`, docs/sharing.md "Preview"): offered only for a
 *  kind the Open page's Preview shows and a size up to PREVIEW_MAX. A click downloads the file (size and SHA-256
 *  checked), opens it in the worker (both signatures and the signed hash list verified, signed by the send's signer)
 *  and reads it whole: the same rule as the Open page, nothing is shown before the last segment authenticated. A
 *  file that fails any check shows the error and no preview. The page offers it only for a verified sender. */
import { useState } from "preact/hooks";
import { message } from "../api";
import { safeName } from "../download";
import type { EnvelopeFile } from "../sharing";
import { PREVIEW_MAX, Preview, previewKind } from "./Preview";

type State = { kind: "idle" } | { kind: "busy" } | { kind: "shown"; content: Blob } | { kind: "failed"; error: string };

/** The whole plaintext of `file`, refused when it is not exactly the envelope's size (read at most size + 1 bytes). */
async function readWhole(stream: ReadableStream<Uint8Array>, file: EnvelopeFile): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let got = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got += value.length;
    if (got > file.size) {
      await reader.cancel().catch(() => {});
      break;
    }
    parts.push(value as Uint8Array<ArrayBuffer>);
  }
  if (got !== file.size) throw new Error(`${file.path}: the decrypted file does not have the size the envelope lists`);
  return new Blob(parts);
}

export function ReceivePreview({ file, open }: { file: EnvelopeFile; open: (f: EnvelopeFile) => Promise<ReadableStream<Uint8Array>> }) {
  const [state, setState] = useState<State>({ kind: "idle" });
  const name = safeName(file.path.split("/").pop() ?? file.path, "file");
  if (!previewKind(name, null) || file.size > PREVIEW_MAX) return null;
  const show = async () => {
    setState({ kind: "busy" });
    try {
      setState({ kind: "shown", content: await readWhole(await open(file), file) });
    } catch (e) {
      setState({ kind: "failed", error: message(e) });
    }
  };
  if (state.kind === "shown") return <Preview content={state.content} name={name} declared={null} start />;
  return (
    <>
      <button type="button" class="preview-button" aria-label={`Preview ${file.path}`} disabled={state.kind === "busy"} onClick={show}>
        {state.kind === "busy" ? "Checking…" : "Preview"}</button>
      {state.kind === "busy" && <span role="status" class="hint"> Downloading and checking {file.path}…</span>}
      {state.kind === "failed" && <p role="alert" class="error">No preview: {state.error}</p>}
    </>
  );
}
