/** Saving content to disk as a stream (docs/web.md "Large files"): the worker's output (a file being encrypted or
 *  decrypted segment by segment) goes straight to a file, never whole into memory.
 *
 *  - Where the File System Access API exists (Chromium): a "Save as" picker (`showSaveFilePicker`), then the stream
 *    is piped into the file's writable. The browser writes to a temporary file and moves it into place only on
 *    `close()`; when the stream fails or is cancelled the writable is aborted, which discards what was written, and
 *    the empty file the picker created is removed.
 *  - Elsewhere: the download service worker (`web/src/worker/download.sw.ts`) answers a hidden frame's request with
 *    the stream; a stream that errors makes the browser's download fail, so no finished file is left.
 *
 *  Either way the stream's errors (a segment or a signature that does not verify) reach the caller, and nothing that
 *  failed ends as a finished file. A stream produced in the crypto worker is best saved with `saveHeld`: the worker
 *  writes it itself, and the page relays no byte (docs/web.md §7.1). */
import type { CoreWorker } from "../worker/client";

/** A file name safe to offer: the last path part of `name`, without control or reserved characters. */
export function safeName(name: string | null | undefined, fallback: string): string {
  const base = (name ?? "").split(/[\\/]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_").replace(/^\.+/, "").trim().slice(0, 200);
  return clean || fallback;
}

/** A stream read whole into a Blob, only when it closes cleanly (its error, with its message, otherwise). */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Blob> {
  const parts: BlobPart[] = [];
  const r = stream.getReader();
  for (;;) {
    const { value, done } = await r.read();
    if (done) return new Blob(parts);
    parts.push(value as Uint8Array<ArrayBuffer>);
  }
}

/** Where a save goes: a file the person picked (File System Access API), or a streamed download. */
export type SaveTarget = { kind: "file"; handle: FileSystemFileHandle; name: string } | { kind: "download"; name: string };

interface SavePickerWindow {
  showSaveFilePicker?: (options: { suggestedName?: string }) => Promise<FileSystemFileHandle>;
}

/** Whether this browser saves through a "Save as" picker (else a streamed download). */
export function hasSavePicker(): boolean {
  return typeof (window as unknown as SavePickerWindow).showSaveFilePicker === "function";
}

/** Ask where to save `name`. Call it first thing in a click handler (the picker needs the click's user activation).
 *  Returns null when the person closed the picker. */
export async function chooseTarget(name: string): Promise<SaveTarget | null> {
  const picker = (window as unknown as SavePickerWindow).showSaveFilePicker;
  if (typeof picker !== "function") return { kind: "download", name };
  try {
    const handle = await picker.call(window, { suggestedName: name });
    return { kind: "file", handle, name: handle.name };
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") return null;
    throw e;
  }
}

export interface SaveOptions {
  /** Aborting it cancels the save: the source stream is cancelled and nothing is kept. */
  signal?: AbortSignal;
  /** Bytes written so far (called about every MiB and at the end). */
  onProgress?: (bytes: number) => void;
}

/** Write `stream` to `target`; resolves with the number of bytes once the whole stream closed cleanly, rejects with
 *  the stream's error (or an AbortError) and leaves no finished file otherwise. */
export async function saveStream(target: SaveTarget, stream: ReadableStream<Uint8Array>, opts: SaveOptions = {}): Promise<number> {
  let total = 0, reported = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      total += chunk.length;
      if (total - reported >= 1 << 20) {
        reported = total;
        opts.onProgress?.(total);
      }
      c.enqueue(chunk);
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 8 << 20 })); // a couple of 4 MiB chunks waiting for the disk while the worker works on
  // the next ones (the worker's stream itself keeps ~12 MiB ahead: core/stream.ts LOOKAHEAD)
  if (target.kind === "file") await toFile(target.handle, stream, counter, opts.signal);
  else await toDownload(target.name, stream, counter, opts.signal);
  opts.onProgress?.(total);
  return total;
}

/** A stream kept in the crypto worker (`CoreWorker.callHeld`), to be written by the worker itself. */
export interface HeldStream {
  worker: CoreWorker;
  stream: number;
}

/** As `saveStream`, for a stream held in the crypto worker: the worker writes it to the picked file or hands it to
 *  the download service worker over a MessageChannel, so no byte is relayed (cloned) through the page. */
export async function saveHeld(target: SaveTarget, held: HeldStream, opts: SaveOptions = {}): Promise<number> {
  let total = 0;
  const onProgress = (n: number) => {
    total = n;
    opts.onProgress?.(n);
  };
  if (target.kind === "file" && !(target.handle instanceof FileSystemFileHandle)) {
    // a picker polyfill's handle (not a browser's) cannot be sent to the worker: the page writes it as before
    return saveStream(target, await held.worker.call("takeStream", { stream: held.stream }), opts);
  }
  if (target.kind === "file") {
    try {
      total = await held.worker.call("saveStream", { stream: held.stream, sink: { kind: "file", handle: target.handle } }, { signal: opts.signal, onProgress });
    } catch (e) {
      await removeIfEmpty(target.handle);
      throw e;
    }
  } else {
    await heldToDownload(target.name, held, onProgress, opts.signal);
  }
  opts.onProgress?.(total);
  return total;
}

async function toFile(handle: FileSystemFileHandle, stream: ReadableStream<Uint8Array>, counter: TransformStream<Uint8Array, Uint8Array>, signal?: AbortSignal): Promise<void> {
  let writable: FileSystemWritableFileStream;
  try {
    writable = await handle.createWritable();
  } catch (e) {
    await stream.cancel("the file could not be written");
    throw e;
  }
  try {
    // pipeTo aborts the writable when the source errors or `signal` aborts: the browser discards what was written
    await stream.pipeThrough(counter, { signal }).pipeTo(writable, { signal });
  } catch (e) {
    await writable.abort().catch(() => {});
    await removeIfEmpty(handle);
    throw e;
  }
}

/** The picker creates the (empty) file when it is chosen: remove it after a failed save, but never a file with content
 *  (one that existed before is left as it was: the aborted writable did not touch it). */
async function removeIfEmpty(handle: FileSystemFileHandle): Promise<void> {
  try {
    const removable = handle as FileSystemFileHandle & { remove?: () => Promise<void> };
    if ((await handle.getFile()).size === 0 && typeof removable.remove === "function") await removable.remove();
  } catch {
    // nothing more can be done: the file is empty
  }
}

const SW_URL = "/assets/c11-sw.js";
const SW_SCOPE = "/assets/c11-download/";
/** How long the browser may take to request an offered download before the save fails. */
const START_TIMEOUT_MS = 30_000;

let registration: Promise<ServiceWorker> | null = null;

/** The download service worker, registered once per page (scope: the download URLs only) and active. */
function downloadWorker(): Promise<ServiceWorker> {
  registration ??= (async () => {
    if (!("serviceWorker" in navigator)) throw new Error("this browser can save large files neither with a save dialog nor with a service worker");
    const reg = await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE });
    const sw = reg.active ?? reg.waiting ?? reg.installing;
    if (!sw) throw new Error("the download service worker did not start");
    if (sw.state !== "activated") {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (sw.state === "activated") resolve();
          else if (sw.state === "redundant") reject(new Error("the download service worker did not start"));
        };
        sw.addEventListener("statechange", check);
        check();
      });
    }
    return sw;
  })();
  registration.catch(() => {
    registration = null;
  });
  return registration;
}

const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/** The download service worker offer and its hidden frame (see toDownload), the stream coming from the crypto
 *  worker on a MessagePort. */
async function heldToDownload(name: string, held: HeldStream, onProgress: (n: number) => void, signal?: AbortSignal): Promise<void> {
  let sw: ServiceWorker;
  try {
    sw = await downloadWorker();
  } catch (e) {
    await held.worker.call("dropStream", { stream: held.stream });
    throw e;
  }
  const id = randomId();
  const channel = new MessageChannel();
  const pipe = new MessageChannel();  // crypto worker -> download service worker: the stream itself
  let started: () => void = () => {};
  const requested = new Promise<void>((resolve) => (started = resolve));
  const offered = new Promise<void>((resolve) => {
    channel.port1.onmessage = (e: MessageEvent<{ offered?: string; started?: boolean }>) => {
      if (e.data.offered === id) resolve();
      if (e.data.started) started();
    };
  });
  const stop = new AbortController();
  if (signal?.aborted) stop.abort(signal.reason);
  signal?.addEventListener("abort", () => stop.abort(signal.reason), { once: true });
  sw.postMessage({ op: "offer", id, name }, [channel.port2, pipe.port2]);
  const piping = held.worker.call("saveStream", { stream: held.stream, sink: { kind: "port", port: pipe.port1 } },
    { transfer: [pipe.port1], signal: stop.signal, onProgress });
  piping.catch(() => {});
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.title = "download";
  frame.setAttribute("aria-hidden", "true");
  const ping = setInterval(() => sw.postMessage({ op: "ping" }), 10_000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([offered, piping]);
    frame.src = SW_SCOPE + id;
    document.body.appendChild(frame);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the download did not start")), START_TIMEOUT_MS);
    });
    await Promise.race([requested, timeout, piping]);
    clearTimeout(timer);
    await piping;
  } catch (e) {
    clearTimeout(timer);
    stop.abort(e);  // cancels the worker's save: the download's body errors (if it had started)
    await piping.catch(() => {});
    throw e;
  } finally {
    clearInterval(ping);
    channel.port1.close();
    setTimeout(() => frame.remove(), 5_000);
  }
}

async function toDownload(name: string, stream: ReadableStream<Uint8Array>, counter: TransformStream<Uint8Array, Uint8Array>, signal?: AbortSignal): Promise<void> {
  let sw: ServiceWorker;
  try {
    sw = await downloadWorker();
  } catch (e) {
    await stream.cancel("no download worker");
    throw e;
  }
  const id = randomId();
  const channel = new MessageChannel();
  let started: () => void = () => {};
  const requested = new Promise<void>((resolve) => (started = resolve));
  const offered = new Promise<void>((resolve) => {
    channel.port1.onmessage = (e: MessageEvent<{ offered?: string; started?: boolean }>) => {
      if (e.data.offered === id) resolve();
      if (e.data.started) started();
    };
  });
  // the source goes through the counter; an error or a cancel errors the counter's readable, and with it the
  // download's body (the browser marks the download failed)
  const stop = new AbortController();
  if (signal?.aborted) stop.abort(signal.reason);
  signal?.addEventListener("abort", () => stop.abort(signal.reason), { once: true });
  const piping = stream.pipeTo(counter.writable, { signal: stop.signal });
  piping.catch(() => {});
  sw.postMessage({ op: "offer", id, name, stream: counter.readable }, [counter.readable, channel.port2]);
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.title = "download";
  frame.setAttribute("aria-hidden", "true");
  const ping = setInterval(() => sw.postMessage({ op: "ping" }), 10_000); // keeps the worker alive meanwhile
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await offered;
    frame.src = SW_SCOPE + id;
    document.body.appendChild(frame);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the download did not start")), START_TIMEOUT_MS);
    });
    await Promise.race([requested, timeout, piping]);
    clearTimeout(timer);
    await piping;
  } catch (e) {
    clearTimeout(timer);
    stop.abort(e); // cancels the source and errors the download's body (if it had started)
    await piping.catch(() => {});
    throw e;
  } finally {
    clearInterval(ping);
    channel.port1.close();
    setTimeout(() => frame.remove(), 5_000);
  }
}
