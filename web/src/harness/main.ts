/** The harness page: runs every committed vector in this browser and exposes the worker to the interop tests.
 *  Driven by tests/web/test_core_*.py through `window.c11harness`; nothing here is part of the app. */

import { runCheckpoints, runDeterministic, runFiles, runGroups, runLogActor, runLogHandover, runMerkle, runShares, runSharesV2, runSpec, runOrgRules, runOrgPolicy, runGroupKeyLog, runRequests, type Result } from "./vectors";
import { startWorker } from "../worker/client";
import { bench, hashBench, stageBench } from "./bench";
import type { Op, Requests } from "../worker/protocol";
import { b64, fromB64 } from "../core/bytes";
import { randomBytes } from "../core/primitives";

const worker = startWorker();

async function runAll(base: string, merkleFiles: string[]): Promise<Result[]> {
  const results: Result[] = [];
  const status = document.getElementById("status")!;
  for (const [name, run] of [
    ["deterministic", () => runDeterministic(base, results)],
    ["files", () => runFiles(base, results)],
    ["spec", () => runSpec(base, results)],
    ["groups", () => runGroups(base, results)],
    ["merkle", () => runMerkle(base, results, merkleFiles)],
    ["log-actor", () => runLogActor(base, results)],
    ["log-handover", () => runLogHandover(base, results)],
    ["shares", () => runShares(base, results)],
    ["shares-v2", () => runSharesV2(base, results)],
    ["orgrules", () => runOrgRules(base, results)],
    ["orgpolicy", () => runOrgPolicy(base, results)],
    ["groupkeylog", () => runGroupKeyLog(base, results)],
    ["requests", () => runRequests(base, results)],
    ["checkpoints", () => runCheckpoints(base.replace(/vectors\/$/, "logvectors/"), results)],
  ] as const) {
    status.textContent = `running ${name}`;
    await run();
  }
  const failed = results.filter((r) => !r.ok);
  status.textContent = `done: ${results.length - failed.length}/${results.length} passed`;
  document.getElementById("out")!.textContent = failed.map((r) => `FAIL ${r.group} ${r.name}: ${r.detail}`).join("\n");
  return results;
}

/** Worker calls with Blobs as base64 strings, so that Playwright can pass them in and out. */
async function call(op: Op, args: Record<string, unknown>): Promise<unknown> {
  const conv = (v: unknown): unknown =>
    typeof v === "object" && v !== null && "randomMiB" in v
      ? new Blob(Array.from({ length: (v as { randomMiB: number }).randomMiB }, () => randomBytes(1 << 20)))
      : typeof v === "object" && v !== null && "b64" in v ? new Blob([fromB64((v as { b64: string }).b64)]) : Array.isArray(v) ? v.map(conv) : typeof v === "object" && v !== null && !(v instanceof Blob) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, conv(x)])) : v;
  const back = async (v: unknown): Promise<unknown> => {
    if (v instanceof Blob) return { b64: b64(new Uint8Array(await v.arrayBuffer())) };
    if (Array.isArray(v)) return Promise.all(v.map(back));
    if (typeof v === "object" && v !== null) return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await back(x)])));
    return v;
  };
  const converted = conv(args) as Record<string, unknown>;
  const transfer: Transferable[] = [];
  if (converted.stream instanceof Blob) {
    converted.stream = converted.stream.stream();
    transfer.push(converted.stream as ReadableStream);
  }
  try {
    let progress = 0;
    const abort = new AbortController();
    const cancelAt = typeof converted.cancelAfterBytes === "number" ? converted.cancelAfterBytes : Infinity;
    delete converted.cancelAfterBytes;
    const result = await worker.call(op, converted as Requests[typeof op]["args"], {
      transfer,
      signal: abort.signal,
      onProgress: (b) => {
        progress = b;
        if (b >= cancelAt) abort.abort();
      },
    });
    return { ok: true, result: await back(result), progress };
  } catch (e) {
    return { ok: false, error: (e as Error).name, names: (e as { names?: string[] }).names ?? [], message: (e as Error).message, progress: 0 };
  }
}

(window as unknown as { c11harness: object }).c11harness = { runAll, call, bench, hashBench, stageBench, ready: true };
