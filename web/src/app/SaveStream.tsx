/** "Save NAME": writes a stream from the crypto worker to disk (download.ts: a "Save as" picker, else a streamed
 *  download), with progress and Cancel. A save that fails (a segment or signature that does not verify) or is
 *  cancelled leaves no finished file and says so. */
import { useEffect, useRef, useState } from "preact/hooks";
import { message } from "./api";
import { chooseTarget, saveHeld, saveStream, type HeldStream } from "./download";

const mib = (n: number) => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MiB`;

export function SaveStream({ name, label, hint, total, open }: {
  /** The file name offered. */
  name: string;
  /** The link's text (default "Save NAME"). */
  label?: string;
  /** Shown after the link (e.g. the size). */
  hint?: string;
  /** Expected bytes, for the progress bar (null: unknown). */
  total: number | null;
  /** A new stream of the content, asked only once the destination is chosen; best a stream kept in the crypto
   *  worker (`HeldStream`), which the worker then writes itself (no relay through the page). */
  open: () => Promise<ReadableStream<Uint8Array> | HeldStream>;
}) {
  const [done, setDone] = useState<number | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []); // leaving the page cancels a running save

  const save = async (e: Event) => {
    e.preventDefault();
    if (abort.current) return;
    setSaved(null);
    setFailed(null);
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const target = await chooseTarget(name); // first: the picker needs this click's user activation
      if (!target) return;
      setDone(0);
      const opts = { signal: ctl.signal, onProgress: setDone };
      const source = await open();
      const n = source instanceof ReadableStream ? await saveStream(target, source, opts) : await saveHeld(target, source, opts);
      setSaved(`Saved ${target.name} (${n.toLocaleString("en")} bytes).`);
    } catch (err) {
      setFailed(ctl.signal.aborted ? "Cancelled: nothing was kept." : `Not saved: ${message(err)}. Nothing was kept.`);
    } finally {
      abort.current = null;
      setDone(null);
    }
  };

  const saving = done !== null;
  return (
    <div class="stack save">
      <p>
        <a class="button" href="#save" aria-disabled={saving ? "true" : undefined} onClick={save}>{label ?? `Save ${name}`}</a>
        {hint && !saving && <> <span class="hint">{hint}</span></>}
      </p>
      {saving && (
        <div class="progress" data-testid="save-progress">
          <progress max={total ?? undefined} value={total ? Math.min(done, total) : undefined} aria-label={`Saving ${name}`} />{" "}
          <span class="hint" data-bytes={done}>{mib(done)}{total ? ` of ${mib(total)}` : ""}</span>{" "}
          <button type="button" onClick={() => abort.current?.abort()}>Cancel</button>
        </div>
      )}
      {saved && <p role="status">{saved}</p>}
      {failed && <p role="alert" class="error">{failed}</p>}
    </div>
  );
}
