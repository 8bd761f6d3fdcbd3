/** Whole .c11 files (docs/format.md §2.5, §5, §5.1): streaming encryption, and decryption that releases nothing
 *  before both signatures verified (a Blob is seekable: the signed hash list is read and checked first). */

import { dearmor, isArmored } from "./armor";
import { concat, equal, hex, type Bytes } from "./bytes";
import { BadSignatureError, FormatError, IntegrityError, TruncatedError } from "./errors";
import { PREFIX_SIZE, checkPrefix, encodeHeader, isReshared, parseHeader, readHeader, type Header } from "./header";
import type { Identity } from "./identity";
import { contentStatement, openHeader, reshareHeader, sealHeader, type OpenOptions, type SealOptions } from "./envelope";
import type { PublicKey } from "./publickey";
import { derive } from "./keyschedule";
import type { Metadata } from "./metadata";
import { aesKey, ed25519Verify, sha256 } from "./primitives";
import { ByteReader, LOOKAHEAD, TAG, fromGenerator, openSegment, sealSegment, segments } from "./stream";

/** What a reader shows about an opened file. */
export interface FileInfo {
  version: 1 | 2;
  metadata: Metadata;
  author: string;
  authorKey: string;
  /** The header signer's label when someone else changed the recipients (§9), else null. */
  resharer: string | null;
  rotated: boolean;
  contentSigned: boolean;
  docId: string;
  recipientKeyId: string;
  temporaryKeyIds: string[];
}

function info(h: Header, meta: Metadata, identity: Identity, temporaryKeyIds: string[]): FileInfo {
  const v2 = h.version === 2;
  return {
    version: h.version,
    metadata: meta,
    author: v2 ? h.authorLabel : h.signerLabel,
    authorKey: hex(v2 ? h.authorKey : h.signerKey),
    resharer: isReshared(h) ? h.signerLabel : null,
    rotated: v2 && h.origin === 1,
    contentSigned: v2,
    docId: hex(h.docId),
    recipientKeyId: identity.public.fingerprint,
    temporaryKeyIds,
  };
}

/** Encrypt a byte stream or a Blob to a .c11 file stream: header ‖ STREAM payload ‖ trailer (the author's content
 *  signature). A Blob (a picked File) is read in ~4 MiB slices cut into segments without copying. */
export async function encryptStream(input: ReadableStream<Uint8Array> | Blob, o: SealOptions): Promise<ReadableStream<Uint8Array>> {
  const { header, fileKey } = await sealHeader(o);
  return encryptWithHeader(input, header, fileKey, o.sender);
}

/** The payload and trailer after an already sealed header (bundles seal the manifest header first). */
export async function encryptWithHeader(input: ReadableStream<Uint8Array> | Blob, header: Header, fileKey: Uint8Array, sender: Identity): Promise<ReadableStream<Uint8Array>> {
  const key = await aesKey(await derive(fileKey, header.nonce, "payload"));
  const B = batchOf(header.segmentSize);
  const batches = input instanceof Blob ? blobBatches(input, header.segmentSize, B) : streamBatches(input, header.segmentSize, B);
  return fromGenerator(sealedPieces(batches, header, key, sender), LOOKAHEAD);
}

type Batch = [Uint8Array, boolean][];

/** Batches of up to B plaintext segments ([piece, isLast]) from a stream (re-chunked by `segments`). */
async function* streamBatches(input: ReadableStream<Uint8Array>, s: number, B: number): AsyncGenerator<Batch> {
  const it = segments(input, s)[Symbol.asyncIterator]();
  for (;;) {
    const batch: Batch = [];
    while (batch.length < B) {
      const r = await it.next();
      if (r.done) break;
      batch.push(r.value);
      if (r.value[1]) break;
    }
    if (!batch.length) return;
    yield batch;
    if (batch[batch.length - 1]![1]) return;
  }
}

/** Batches of up to B plaintext segments from a Blob: one `Blob.slice` read per batch, its segments `subarray`s of
 *  it (segment i is bytes [i s, (i + 1) s), the last one whatever is left; an empty Blob is one empty last segment,
 *  as `segments` cuts a stream). */
async function* blobBatches(blob: Blob, s: number, B: number): AsyncGenerator<Batch> {
  const n = Math.max(1, Math.ceil(blob.size / s));
  for (let b = 0; b < n; b += B) {
    const k = Math.min(B, n - b);
    const data = await slice(blob, b * s, Math.min(blob.size, (b + k) * s));
    yield Array.from({ length: k }, (_, j): [Uint8Array, boolean] => [data.subarray(j * s, Math.min(data.length, (j + 1) * s)), b + j === n - 1]);
  }
}

async function* sealedPieces(batches: AsyncGenerator<Batch>, header: Header, key: CryptoKey, sender: Identity): AsyncGenerator<Uint8Array> {
  yield encodeHeader(header);
  const hashes: Uint8Array[] = [];
  // ~4 MiB of segments per batch; the next batch is read while the current one is sealed and hashed.
  const gather = async (): Promise<Batch> => {
    const r = await batches.next();
    return r.done ? [] : r.value;
  };
  let i = 0;
  let batch = await gather();
  while (batch.length) {
    const first = i;
    // each segment is hashed as soon as it is sealed (the digests overlap the rest of the batch's AES calls)
    const sealing = Promise.all(batch.map(([pt, last], j) => sealSegment(key, first + j, last, pt).then(async (ct) => [ct, await sha256(ct)] as const)));
    const next: Promise<Batch> = batch[batch.length - 1]![1] ? Promise.resolve([]) : gather();
    next.catch(() => {});
    const done = await sealing;
    const sealed = done.map((d) => d[0]);
    hashes.push(...done.map((d) => d[1]));
    i += batch.length;
    yield* chunks(sealed, header.segmentSize + TAG);
    batch = await next;
  }
  const list = concat(...hashes);
  const statement = await contentStatement(header, hashes.length, await sha256(list));
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(hashes.length));
  yield concat(list, n, await sender.signer.sign(statement));
}

/** An opened file: what it is, and its plaintext as a stream that errors (nothing more) if a segment fails. */
export interface Decrypted {
  info: FileInfo;
  plaintext: ReadableStream<Uint8Array>;
}

const slice = async (b: Blob, from: number, to: number): Promise<Bytes> => new Uint8Array(await b.slice(from, to).arrayBuffer());

/** Open a .c11 file held as a Blob/File. Both signatures (and the whole signed hash list) are verified before this
 *  returns; each segment is released only after it authenticated and its hash matched the signed list. */
export async function decryptBlob(blob: Blob, identities: Identity[], opts: OpenOptions = {}): Promise<Decrypted> {
  const { info, open } = await openBlob(blob, identities, opts);
  return { info, plaintext: open() };
}

/** A verified file held as a Blob: `open()` makes a new plaintext stream each time (it reads the Blob again,
 *  segment by segment, so a cancelled or failed save can be retried without keeping plaintext anywhere). */
export interface OpenedBlob {
  info: FileInfo;
  open(): ReadableStream<Uint8Array>;
}

/** `decryptBlob`'s checks (both signatures and the whole signed hash list verified before this returns), with the
 *  plaintext left to read later as often as needed. The payload key lives in the returned closure only. */
export async function openBlob(blob: Blob, identities: Identity[], opts: OpenOptions = {}): Promise<OpenedBlob> {
  const { header: h, length: hlen } = await readHeader(blob);
  const opened = await openHeader(h, identities, opts);
  const key = await aesKey(await derive(opened.fileKey, h.nonce, "payload"));
  const fi = info(h, opened.metadata, opened.identity, opened.temporaryKeyIds);
  const s = h.segmentSize;
  if (h.version === 1) return { info: fi, open: () => fromGenerator(v1Segments(blob, hlen, s, key, opened.metadata), LOOKAHEAD) };
  const rest = blob.size - hlen;
  if (rest < 120) throw new TruncatedError("the file is truncated (nothing or too little after the header)");
  const tail = await slice(blob, blob.size - 72, blob.size);
  const n = Number(new DataView(tail.buffer).getBigUint64(0));
  const listAt = blob.size - 72 - 32 * n;
  const p = listAt - hlen;
  if (n < 1 || !Number.isSafeInteger(listAt) || p < (n - 1) * (s + TAG) + TAG || p > n * (s + TAG))
    throw new IntegrityError("the file was modified or damaged (payload and trailer do not fit)");
  const list = await slice(blob, listAt, blob.size - 72);
  const statement = await contentStatement(h, n, await sha256(list));
  if (!(await ed25519Verify(h.authorKey, tail.subarray(8), statement)))
    throw new BadSignatureError("the content signature does not verify: the content is not what the author signed");
  return { info: fi, open: () => fromGenerator(v2Segments(blob, hlen, s, n, list, key, opened.metadata), LOOKAHEAD) };
}

/** Segments per read: about 4 MiB is fetched with one Blob.slice and its segments decrypted and hashed concurrently
 *  (fewer, larger reads and stream chunks: a disk-backed File reads far faster in 4 MiB slices than in 1 MiB ones). */
const batchOf = (s: number) => Math.max(1, Math.floor((4 << 20) / (s + TAG)));

/** The pieces of a batch (sealed or opened segments) as chunks of at most 960 KiB (14 segments of 64 KiB + 16):
 *  Chromium's allocator (PartitionAlloc) serves buffers up to that size from reusable buckets and each larger one
 *  from a fresh mapping that stays until the garbage collector frees it; every hop (the file writer, the download
 *  service worker) copies a chunk into a buffer of its size. Against one 4 MiB chunk per batch this measured about
 *  110 MiB less peak memory opening a file to a picked file, for 5–20 % more CPU (docs/web.md §7.3). */
function* chunks(pieces: Uint8Array[], piece: number): Generator<Uint8Array> {
  const k = Math.max(1, Math.floor((960 << 10) / piece));
  for (let j = 0; j < pieces.length; j += k) {
    const group = pieces.slice(j, j + k);
    yield group.length === 1 ? group[0]! : concat(...group);
  }
}

async function* v2Segments(blob: Blob, start: number, s: number, n: number, list: Uint8Array, key: CryptoKey, meta: Metadata): AsyncGenerator<Uint8Array> {
  const end = blob.size - 72 - 32 * n;
  const B = batchOf(s);
  let total = 0;
  const read = (b: number) => {
    const from = start + b * (s + TAG);
    return slice(blob, from, b + Math.min(B, n - b) === n ? end : from + Math.min(B, n - b) * (s + TAG));
  };
  let next = read(0);
  try {
    for (let b = 0; b < n; b += B) {
      const k = Math.min(B, n - b);
      const data = await next;
      if (b + B < n) {
        next = read(b + B); // the next batch is read while this one is decrypted
        next.catch(() => {}); // awaited in the next round; no unhandled rejection if this one fails first
      }
      const segs = Array.from({ length: k }, (_, j) => data.subarray(j * (s + TAG), Math.min(data.length, (j + 1) * (s + TAG))));
      const done = await Promise.all(segs.map((ct, j) => Promise.all([openSegment(key, b + j, b + j === n - 1, ct), sha256(ct)])));
      for (let j = 0; j < k; j++) {
        const i = b + j, last = i === n - 1, ct = segs[j]!;
        const [pt, h] = done[j]!;
        if (last && n > 1 && ct.length === TAG) throw new IntegrityError("the file was modified or damaged (an empty last segment)");
        if (!pt) throw await segmentError(key, i, last, ct, 2);
        if (!equal(h, list.subarray(32 * i, 32 * i + 32)))
          throw new BadSignatureError("the content is not what the author signed (a segment differs from the signed list)");
        total += pt.length;
      }
      yield* chunks(done.map((d) => d[0]!), s);
    }
  } finally {
    next.catch(() => {}); // a batch read ahead and never used (cancelled, or a segment failed)
  }
  if (meta.size !== null && meta.kind !== "bundle" && total !== meta.size) throw new FormatError("the decrypted size differs from the metadata");
}

async function segmentError(key: CryptoKey, i: number, last: boolean, ct: Uint8Array, version: number): Promise<Error> {
  if (last && (await openSegment(key, i, false, ct))) {
    return version === 1 ? new TruncatedError("the file is truncated") : new IntegrityError("the file was modified or damaged (truncated)");
  }
  if (!last && (await openSegment(key, i, true, ct))) return new IntegrityError("the file was modified or damaged (data after the end)");
  return new IntegrityError("the file was modified or damaged");
}

async function* v1Segments(blob: Blob, start: number, s: number, key: CryptoKey, meta: Metadata): AsyncGenerator<Uint8Array> {
  const p = blob.size - start;
  if (p === 0) throw new TruncatedError("the file is truncated (nothing after the header)");
  const n = Math.ceil(p / (s + TAG));
  if (p - (n - 1) * (s + TAG) < TAG) throw new TruncatedError("the file is truncated (a final piece shorter than a tag)");
  const B = batchOf(s);
  let total = 0;
  for (let b = 0; b < n; b += B) {
    const k = Math.min(B, n - b);
    const from = start + b * (s + TAG);
    const data = await slice(blob, from, b + k === n ? blob.size : from + k * (s + TAG));
    const segs = Array.from({ length: k }, (_, j) => data.subarray(j * (s + TAG), Math.min(data.length, (j + 1) * (s + TAG))));
    const pts = await Promise.all(segs.map((ct, j) => openSegment(key, b + j, b + j === n - 1, ct)));
    for (let j = 0; j < k; j++) {
      const i = b + j, last = i === n - 1, ct = segs[j]!;
      if (last && n > 1 && ct.length === TAG) throw new IntegrityError("the file was modified or damaged (an empty last segment)");
      if (!pts[j]) throw await segmentError(key, i, last, ct, 1);
      total += pts[j]!.length;
    }
    yield* chunks(pts.map((x) => x!), s);
  }
  if (meta.size !== null && meta.kind !== "bundle" && total !== meta.size) throw new FormatError("the decrypted size differs from the metadata");
}

/** Read a whole stream into one Blob (what a page does before publishing a download). */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Bytes> {
  const parts: Uint8Array[] = [];
  const r = stream.getReader();
  for (;;) {
    const { value, done } = await r.read();
    if (done) break;
    parts.push(value);
  }
  return concat(...parts);
}

/** A Blob as a binary .c11 file: armored text (§7, at most 64 MiB) is decoded, anything else returned as it is. */
export async function dearmorBlob(blob: Blob): Promise<Blob> {
  const head = new Uint8Array(await blob.slice(0, 64).arrayBuffer());
  if (!isArmored(head)) return blob;
  if (blob.size > 64 << 20) throw new FormatError("armored message too large");
  return new Blob([dearmor(await blob.text())]);
}

/** Open a .c11 file arriving as a stream (no seeking, docs/format.md §2.5 "non-seekable input"). Segments are released
 *  once they authenticate under the file key; the author's content signature is checked at the end, and the
 *  plaintext stream errors (BadSignatureError) if it fails — a caller publishes its output only after the stream
 *  closed without error. Constant memory apart from 32 bytes of hash per segment. */
export async function decryptStream(input: ReadableStream<Uint8Array>, identities: Identity[], opts: OpenOptions = {}): Promise<Decrypted> {
  const r = new ByteReader(input);
  const prefix = await r.read(PREFIX_SIZE);
  const total = checkPrefix(prefix);
  const rest = await r.read(total - PREFIX_SIZE);
  if (rest.length < total - PREFIX_SIZE) throw new TruncatedError("the file ends inside its header (truncated)");
  const { header: h } = parseHeader(concat(prefix, rest));
  const opened = await openHeader(h, identities, opts);
  const key = await aesKey(await derive(opened.fileKey, h.nonce, "payload"));
  const fi = info(h, opened.metadata, opened.identity, opened.temporaryKeyIds);
  const gen = h.version === 1 ? streamV1(r, h.segmentSize, key, opened.metadata) : streamV2(r, h, key, opened.metadata);
  return { info: fi, plaintext: fromGenerator(gen, LOOKAHEAD) };
}

async function* streamV1(r: ByteReader, s: number, key: CryptoKey, meta: Metadata): AsyncGenerator<Uint8Array> {
  let piece = await r.read(s + TAG);
  if (piece.length === 0) throw new TruncatedError("the file is truncated (nothing after the header)");
  let total = 0;
  for (let i = 0; ; i++) {
    const next = piece.length === s + TAG ? await r.read(s + TAG) : new Uint8Array();
    const last = next.length === 0;
    if (piece.length < TAG) throw new TruncatedError("the file is truncated (a final piece shorter than a tag)");
    if (last && i > 0 && piece.length === TAG) throw new IntegrityError("the file was modified or damaged (an empty last segment)");
    const pt = await openSegment(key, i, last, piece);
    if (!pt) throw await segmentError(key, i, last, piece, 1);
    total += pt.length;
    yield pt;
    if (last) break;
    piece = next;
  }
  if (meta.size !== null && total !== meta.size) throw new FormatError("the decrypted size differs from the metadata");
}

async function* streamV2(r: ByteReader, h: Header, key: CryptoKey, meta: Metadata): AsyncGenerator<Uint8Array> {
  const s = h.segmentSize;
  const hashes: Uint8Array[] = [];
  let total = 0;
  let i = 0;
  let region: Bytes;
  for (;;) {
    const piece = await r.read(s + TAG);
    if (i === 0 && piece.length < 120 && (await r.atEnd())) throw new TruncatedError("the file is truncated (nothing or too little after the header)");
    const pt = piece.length === s + TAG ? await openSegment(key, i, false, piece) : null;
    if (!pt) {
      // The final region: last segment ‖ hash list ‖ n ‖ signature, at most s + 16 + 32 n + 72 bytes.
      const limit = s + TAG + 32 * (i + 1) + 72;
      const more = await r.read(limit - piece.length + 1);
      region = concat(piece, more);
      if (region.length > limit) throw new IntegrityError("the file was modified or damaged (data after the end)");
      break;
    }
    hashes.push(await sha256(piece));
    total += pt.length;
    i++;
    yield pt;
  }
  const n = i + 1;
  const lastLen = region.length - 32 * n - 72;
  if (lastLen < TAG || lastLen > s + TAG || (n > 1 && lastLen === TAG)) throw new IntegrityError("the file was modified or damaged (payload and trailer do not fit)");
  const seg = region.subarray(0, lastLen);
  const tail = region.subarray(region.length - 72);
  if (Number(new DataView(tail.buffer, tail.byteOffset, 8).getBigUint64(0)) !== n) throw new IntegrityError("the file was modified or damaged (segment count)");
  const pt = await openSegment(key, i, true, seg);
  if (!pt) throw await segmentError(key, i, true, seg, 2);
  hashes.push(await sha256(seg));
  total += pt.length;
  const statement = await contentStatement(h, n, await sha256(concat(...hashes)));
  if (!(await ed25519Verify(h.authorKey, tail.subarray(8), statement)))
    throw new BadSignatureError("the content signature does not verify: the content is not what the author signed");
  if (meta.size !== null && meta.kind !== "bundle" && total !== meta.size) throw new FormatError("the decrypted size differs from the metadata");
  yield pt;
}

/** Re-share a file (§9): a new header (recipients added/removed, signed by `signer`) followed by the original
 *  payload and trailer as they are (a Blob slice: nothing is decrypted or held in memory). */
export async function reshareBlob(blob: Blob, identities: Identity[], signer: Identity, add: PublicKey[], remove: string[] = []): Promise<Blob> {
  const { header, length } = await readHeader(blob);
  const opened = await openHeader(header, identities);
  const h = await reshareHeader(header, opened.fileKey, signer, add, remove);
  return new Blob([encodeHeader(h), blob.slice(length)]);
}
