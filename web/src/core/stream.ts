/** The STREAM payload (docs/format.md §5): AES-256-GCM segments with nonce = i (11 bytes) ‖ last flag.
 *  Segment sealing/opening and a re-chunker that turns any byte stream into fixed-size segments with one look-ahead. */

import { concat, type Bytes } from "./bytes";
import { aesOpen, aesSeal } from "./primitives";

export const TAG = 16;
export const DEFAULT_SEGMENT = 65536;

export function segmentNonce(i: number, last: boolean): Bytes {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(3, BigInt(i));
  n[11] = last ? 1 : 0;
  return n;
}
export function sealSegment(key: CryptoKey, i: number, last: boolean, pt: Uint8Array): Promise<Bytes> {
  return aesSeal(key, segmentNonce(i, last), pt);
}
export function openSegment(key: CryptoKey, i: number, last: boolean, ct: Uint8Array): Promise<Bytes | null> {
  return aesOpen(key, segmentNonce(i, last), ct);
}

/** Cut a byte stream into pieces of `size` bytes; yields [piece, isLast]. An empty input yields one empty last piece. */
export async function* segments(input: ReadableStream<Uint8Array>, size: number): AsyncGenerator<[Bytes, boolean]> {
  const reader = input.getReader();
  let chunks: Uint8Array[] = [];
  let have = 0;
  const take = (n: number): Bytes => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const c = chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.length) chunks.shift();
      else chunks[0] = c.subarray(k);
    }
    have -= n;
    return out;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!value?.length) continue;
      chunks.push(value);
      have += value.length;
      while (have > size) yield [take(size), false];
    }
    yield [take(have), true];
  } finally {
    chunks = [];
    reader.releaseLock();
  }
}

/** How many bytes a generator's stream produces ahead of its reader (`fromGenerator`): the worker seals or opens
 *  the next ~4 MiB batches while the previous ones cross to the page and to disk, instead of waiting for each read. */
export const LOOKAHEAD = 12 << 20;

/** A ReadableStream pulling from an async generator (cancel stops the generator); it keeps up to `ahead` bytes
 *  queued before its reader asks (default 0: one chunk at a time, pulled on demand). */
export function fromGenerator(gen: AsyncGenerator<Uint8Array>, ahead = 0): ReadableStream<Uint8Array> {
  const strategy = ahead > 0 ? new ByteLengthQueuingStrategy({ highWaterMark: ahead }) : undefined;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { value, done } = await gen.next();
        if (done) c.close();
        else c.enqueue(value);
      } catch (e) {
        c.error(e);
      }
    },
    async cancel(reason) {
      await gen.return(reason);
    },
  }, strategy);
}

export { concat };

/** Exact-size reads over a ReadableStream (a network download, a pipe): `read(n)` gives n bytes, fewer only at the end. */
export class ByteReader {
  private chunks: Uint8Array[] = [];
  private have = 0;
  private done = false;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }
  private async fill(n: number): Promise<void> {
    while (this.have < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else if (value.length) {
        this.chunks.push(value);
        this.have += value.length;
      }
    }
  }
  async read(n: number): Promise<Bytes> {
    await this.fill(n);
    const k = Math.min(n, this.have);
    const out = new Uint8Array(k);
    let o = 0;
    while (o < k) {
      const c = this.chunks[0]!;
      const m = Math.min(c.length, k - o);
      out.set(c.subarray(0, m), o);
      o += m;
      if (m === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(m);
    }
    this.have -= k;
    return out;
  }
  /** Whether the input has ended with nothing left to read. */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.have === 0;
  }
  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }
}
