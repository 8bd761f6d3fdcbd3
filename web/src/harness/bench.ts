/** Throughput of the core in this browser, for bench/ and quick checks: raw WebCrypto AES-256-GCM over 64 KiB
 *  segments vs encryptStream/decryptBlob of the same size (content hashing included), and X-Wing timings. */

import { collect, decryptBlob, encryptStream } from "../core/file";
import { concat } from "../core/bytes";
import { generateIdentity } from "../core/identity";
import { aesKey, aesSeal, randomBytes, sha256 } from "../core/primitives";
import { segmentNonce } from "../core/stream";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { createSHA256 } from "hash-wasm";

const mbs = (bytes: number, ms: number) => Math.round((bytes / 2 ** 20 / (ms / 1000)) * 10) / 10;

async function drain(s: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  const r = s.getReader();
  for (;;) {
    const { value, done } = await r.read();
    if (done) return n;
    n += value.length;
  }
}

export async function bench(sizeMiB: number) {
  const size = sizeMiB * 2 ** 20;
  const chunk = randomBytes(2 ** 20);
  const source = new Blob(Array.from({ length: sizeMiB }, () => chunk));
  const key = await aesKey(randomBytes(32));
  let t = performance.now();
  const seg = chunk.subarray(0, 65536);
  for (let i = 0; i < size / 65536; i++) await aesSeal(key, segmentNonce(i, false), seg);
  const raw = mbs(size, performance.now() - t);
  t = performance.now();
  for (let i = 0; i < size / 65536; i += 16)
    await Promise.all(Array.from({ length: 16 }, (_, j) => Promise.all([aesSeal(key, segmentNonce(i + j, false), seg), sha256(seg)])));
  const rawBatched = mbs(size, performance.now() - t);
  t = performance.now();
  for (let off = 0; off < size; off += 1 << 20) await source.slice(off, off + (1 << 20)).arrayBuffer();
  const sliceRead = mbs(size, performance.now() - t);
  const me = await generateIdentity("bench@example.com");
  t = performance.now();
  const sealed = new Blob([await collect(await encryptStream(source.stream(), { recipients: [me.public], sender: me, metadata: { name: null, type: null, size, mtime: null, kind: "file" } }))]);
  const enc = mbs(size, performance.now() - t);
  t = performance.now();
  const { plaintext } = await decryptBlob(sealed, [me]);
  const n = await drain(plaintext);
  const dec = mbs(size, performance.now() - t);
  const kp = ml_kem768_x25519.keygen();
  t = performance.now();
  let ct: Uint8Array = new Uint8Array();
  for (let i = 0; i < 20; i++) ct = ml_kem768_x25519.encapsulate(kp.publicKey).cipherText;
  const encap = (performance.now() - t) / 20;
  t = performance.now();
  for (let i = 0; i < 20; i++) ml_kem768_x25519.decapsulate(ct, kp.secretKey);
  const decap = (performance.now() - t) / 20;
  return { sizeMiB, rawAesGcmMiBs: raw, rawSealAndHashBatchedMiBs: rawBatched, blobSliceReadMiBs: sliceRead, encryptMiBs: enc, decryptMiBs: dec, decryptedBytes: n, xwingEncapMs: encap, xwingDecapMs: decap };
}

/** Where the time of the signed format's per-segment SHA-256 goes, in this browser: N MiB as 64 KiB(+16) segments
 *  hashed by WebCrypto `digest` (one call per segment, a 4 MiB batch in flight, as the core did), by hash-wasm's
 *  SHA-256 (WebAssembly, synchronous, one reused hasher), by @noble/hashes (JavaScript), beside raw AES-GCM over the
 *  same segments (the batch in flight) and AES-GCM then hash-wasm on each sealed segment (what the core does now). */
export async function hashBench(sizeMiB: number) {
  const seg = 65536 + 16;
  const n = Math.floor((sizeMiB * 2 ** 20) / 65536);
  const B = 63;
  const data = randomBytes(B * seg);
  const segs = Array.from({ length: B }, (_, j) => data.subarray(j * seg, (j + 1) * seg));
  const bytes = n * seg;
  const key = await aesKey(randomBytes(32));
  const time = async (f: (k: number, first: number) => Promise<unknown> | unknown) => {
    const t = performance.now();
    for (let i = 0; i < n; i += B) await f(Math.min(B, n - i), i);
    return mbs(bytes, performance.now() - t);
  };
  const wasm = await createSHA256();
  const wasmHash = (x: Uint8Array) => wasm.init().update(x).digest("binary");
  const out: Record<string, number> = { sizeMiB };
  for (let round = 0; round < 2; round++) {
    const r = (k: string, v: number) => (out[k] = Math.max(out[k] ?? 0, v));
    r("webcryptoDigestMiBs", await time((k) => Promise.all(segs.slice(0, k).map((s) => sha256(s)))));
    r("hashWasmMiBs", await time((k) => segs.slice(0, k).forEach(wasmHash)));
    r("nobleSha256MiBs", await time((k) => segs.slice(0, k).forEach((s) => nobleSha256(s))));
    r("aesGcmMiBs", await time((k, i) => Promise.all(segs.slice(0, k).map((s, j) => aesSeal(key, segmentNonce(i + j, false), s.subarray(16))))));
    r("aesGcmAndDigestMiBs", await time((k, i) => Promise.all(segs.slice(0, k).map((s, j) => aesSeal(key, segmentNonce(i + j, false), s.subarray(16)).then(sha256)))));
    r("aesGcmThenHashWasmMiBs", await time(async (k, i) => (await Promise.all(segs.slice(0, k).map((s, j) => aesSeal(key, segmentNonce(i + j, false), s.subarray(16))))).forEach(wasmHash)));
  }
  return out;
}

/** The encrypt pipeline over an in-memory Blob of N MiB, stage by stage (each row adds one stage to the previous):
 *  4 MiB Blob.slice reads; + AES-GCM of each batch's 64 KiB segments (all in flight); + SHA-256 of each sealed
 *  segment; + one concatenated chunk per batch; the core's encryptStream drained (its stream plumbing). MiB/s. */
export async function stageBench(sizeMiB: number) {
  const size = sizeMiB * 2 ** 20;
  const chunk = randomBytes(2 ** 20);
  const source = new Blob(Array.from({ length: sizeMiB }, () => chunk));
  const key = await aesKey(randomBytes(32));
  const s = 65536, B = 63;
  const run = async (aes: boolean, hash: boolean, join: boolean) => {
    const t = performance.now();
    for (let off = 0, i = 0; off < size; off += B * s) {
      const data = new Uint8Array(await source.slice(off, Math.min(size, off + B * s)).arrayBuffer());
      if (!aes) continue;
      const k = Math.ceil(data.length / s);
      const cts = await Promise.all(Array.from({ length: k }, (_, j) => aesSeal(key, segmentNonce(i + j, false), data.subarray(j * s, (j + 1) * s)).then(async (ct) => (hash ? [ct, await sha256(ct)] : [ct]))));
      i += k;
      if (join) concat(...cts.map((c) => c[0]!));
    }
    return mbs(size, performance.now() - t);
  };
  const me = await generateIdentity("bench@example.com");
  const out: Record<string, number> = { sizeMiB };
  for (let round = 0; round < 2; round++) {
    const r = (k: string, v: number) => (out[k] = Math.max(out[k] ?? 0, v));
    r("read", await run(false, false, false));
    r("readAes", await run(true, false, false));
    r("readAesHash", await run(true, true, false));
    r("readAesHashConcat", await run(true, true, true));
    const t = performance.now();
    await drain(await encryptStream(source, { recipients: [me.public], sender: me, metadata: { name: null, type: null, size, mtime: null, kind: "file" } }));
    r("encryptStream", mbs(size, performance.now() - t));
  }
  return out;
}
