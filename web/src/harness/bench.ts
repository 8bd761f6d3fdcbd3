/** Throughput of the core in this browser, for bench/ and quick checks: raw WebCrypto AES-256-GCM over 64 KiB
 *  segments vs encryptStream/decryptBlob of the same size (content hashing included), and X-Wing timings. */

import { collect, decryptBlob, encryptStream } from "../core/file";
import { generateIdentity } from "../core/identity";
import { aesKey, aesSeal, randomBytes, sha256 } from "../core/primitives";
import { segmentNonce } from "../core/stream";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";

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
