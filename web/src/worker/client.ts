/** The page's side of the crypto worker: `call(op, args)` returns a promise of the typed result.
 *  A worker error becomes a WorkerError carrying the core's error class names. */

import type { Op, Progress, Reply, Requests } from "./protocol";

/** The ops whose result is a ReadableStream (what `callHeld` may keep in the worker). */
export type StreamOp = { [O in Op]: Requests[O]["result"] extends ReadableStream ? O : never }[Op];

export class WorkerError extends Error {
  constructor(
    message: string,
    readonly names: string[],
  ) {
    super(message);
    this.name = names[0] ?? "Error";
  }
}

export interface CallOptions {
  transfer?: Transferable[];
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}

export interface CoreWorker {
  /** `transfer`: objects moved to the worker (a ReadableStream of a download, ArrayBuffers); `onProgress` gets the
   *  bytes produced so far; aborting `signal` cancels the request (it then rejects with a CancelledError). */
  call<O extends Op>(op: O, args: Requests[O]["args"], opts?: CallOptions): Promise<Requests[O]["result"]>;
  /** An op whose result is a stream, kept in the worker: answers the stream's number for `saveStream` (the bytes
   *  then go from the worker straight to the file or the download, never through the page). */
  callHeld<O extends StreamOp>(op: O, args: Requests[O]["args"], opts?: CallOptions): Promise<number>;
  terminate(): void;
}

export function startWorker(): CoreWorker {
  const w = new Worker(new URL("./core.worker.ts", import.meta.url), { type: "module" });
  const pending = new Map<number, [(v: unknown) => void, (e: unknown) => void, ((b: number) => void)?]>();
  let id = 0;
  w.onmessage = (ev: MessageEvent<Reply | Progress>) => {
    const r = ev.data;
    const p = pending.get(r.id);
    if (!p) return;
    if ("progress" in r) {
      p[2]?.(r.progress);
      return;
    }
    pending.delete(r.id);
    if (r.ok) p[0](r.result);
    else p[1](new WorkerError(r.error.message, r.error.names));
  };
  const send = <T>(op: Op, args: unknown, opts: CallOptions, hold: boolean): Promise<T> => {
    const n = ++id;
    return new Promise((resolve, reject) => {
      pending.set(n, [resolve as (v: unknown) => void, reject, opts.onProgress]);
      opts.signal?.addEventListener("abort", () => w.postMessage({ cancel: n }), { once: true });
      w.postMessage({ id: n, op, args, ...(hold ? { hold } : {}) }, opts.transfer ?? []);
    });
  };
  return {
    call: (op, args, opts = {}) => send(op, args, opts, false),
    callHeld: (op, args, opts = {}) => send<number>(op, args, opts, true),
    terminate: () => w.terminate(),
  };
}
