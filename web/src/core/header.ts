/** The binary header of a .c11 file (docs/format.md §2, version 1 in §13): parse and serialize, nothing cryptographic.
 *  Parsing re-encodes and refuses any header whose encoding differs (one encoding per header). */

import { Reader, concat, equal, fromUtf8, u16, u32, u64, u8, utf8, type Bytes } from "./bytes";
import { FormatError, NotC11FileError, TruncatedError, UnsupportedVersionError } from "./errors";
import { labelProblem } from "./labels";

export const MAGIC = Uint8Array.of(0x89, 0x43, 0x31, 0x31, 0x0d, 0x0a, 0x1a, 0x0a);
export const PREFIX_SIZE = 13;
export const MAC_SIZE = 32;
export const SIG_SIZE = 64;
const MAX_BODY = 64 << 20;

export interface Stanza {
  type: string;
  body: Bytes;
  critical: boolean;
}

/** A parsed header. `signer*` is the header signer; `author*` the content signer (empty in version 1). */
export interface Header {
  version: 1 | 2;
  docId: Bytes;
  created: bigint;
  segmentSize: number;
  nonce: Bytes;
  commitment: Bytes;
  origin: number;
  authorLabel: string;
  authorKey: Bytes;
  signerLabel: string;
  signerKey: Bytes;
  metadata: Bytes;
  stanzas: Stanza[];
  mac: Bytes;
  signature: Bytes;
}

function body(h: Header): Bytes {
  const parts: Uint8Array[] = [h.docId, u64(h.created), u32(h.segmentSize), h.nonce];
  if (h.version !== 1) {
    const a = utf8(h.authorLabel);
    parts.push(h.commitment, u8(h.origin), u16(a.length), a, h.authorKey);
  }
  const l = utf8(h.signerLabel);
  parts.push(u16(l.length), l, h.signerKey, u32(h.metadata.length), h.metadata, u16(h.stanzas.length));
  for (const s of h.stanzas) {
    const t = utf8(s.type);
    parts.push(u8(t.length), t, u8(s.critical ? 1 : 0), u32(s.body.length), s.body);
  }
  return concat(...parts);
}

/** Magic, version, length and body: the bytes the MAC covers. */
export function headerCore(h: Header): Bytes {
  const b = body(h);
  return concat(MAGIC, u8(h.version), u32(b.length), b);
}
/** What the header signer signs: a context string, the core and the MAC. */
export function headerSignedMessage(h: Header): Bytes {
  const ctx = h.version === 1 ? "c11/v1 signature\x00" : "c11/v2 header\x00";
  return concat(utf8(ctx), headerCore(h), h.mac);
}
export function encodeHeader(h: Header): Bytes {
  return concat(headerCore(h), h.mac, h.signature);
}
export function isReshared(h: Header): boolean {
  return h.version >= 2 && (!equal(h.signerKey, h.authorKey) || h.signerLabel !== h.authorLabel);
}

const truncated = () => new TruncatedError("the file ends inside its header (truncated)");

/** Check magic and version of the first bytes; return the total header length (prefix, body, MAC, signature). */
export function checkPrefix(prefix: Uint8Array): number {
  const m = prefix.subarray(0, 8);
  if (!equal(m, MAGIC.subarray(0, m.length)) || prefix.length === 0) throw new NotC11FileError("not a c11 file (no c11 header)");
  if (prefix.length < 9) throw truncated();
  const v = prefix[8]!;
  if (v !== 1 && v !== 2)
    throw new UnsupportedVersionError(`unsupported c11 format version ${v} (this c11 reads versions 1 and 2; upgrade c11)`);
  if (prefix.length < PREFIX_SIZE) throw truncated();
  const len = new DataView(prefix.buffer, prefix.byteOffset + 9, 4).getUint32(0);
  if (len > MAX_BODY) throw new FormatError(`malformed header: declared size ${len} exceeds the limit`);
  return PREFIX_SIZE + len + MAC_SIZE + SIG_SIZE;
}

function label(r: Reader, what: string): string {
  let s: string;
  try {
    s = fromUtf8(r.take(r.u16()));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`malformed header: the ${what} label is not UTF-8`);
  }
  const p = labelProblem(s);
  if (p) throw new FormatError(`malformed header: the ${what} label ${p}`);
  return s;
}

/** Parse a complete header from the start of `data`; returns it and its encoded length. */
export function parseHeader(data: Uint8Array): { header: Header; length: number } {
  const total = checkPrefix(data.subarray(0, PREFIX_SIZE));
  if (data.length < total) throw truncated();
  const version = data[8] as 1 | 2;
  const bodyLen = total - PREFIX_SIZE - MAC_SIZE - SIG_SIZE;
  const r = new Reader(data.subarray(PREFIX_SIZE, PREFIX_SIZE + bodyLen), () => new FormatError("malformed header: a field runs past the header's end"));
  const docId = r.take(16);
  const created = r.u64();
  const segmentSize = r.u32();
  if (segmentSize < 1024 || segmentSize > 1 << 24) throw new FormatError(`malformed header: segment size ${segmentSize} out of range`);
  const nonce = r.take(16);
  let commitment = new Uint8Array() as Bytes, origin = 0, authorLabel = "", authorKey = new Uint8Array() as Bytes;
  if (version !== 1) {
    commitment = r.take(32);
    origin = r.u8();
    if (origin !== 0 && origin !== 1) throw new FormatError(`malformed header: unknown origin ${origin}`);
    authorLabel = label(r, "author");
    authorKey = r.take(32);
  }
  const signerLabel = label(r, version !== 1 ? "signer" : "sender");
  const signerKey = r.take(32);
  const metadata = r.take(r.u32());
  const count = r.u16();
  if (count === 0) throw new FormatError("malformed header: no recipient stanzas");
  const stanzas: Stanza[] = [];
  for (let i = 0; i < count; i++) {
    const t = r.take(r.u8());
    if (t.length === 0 || t.some((c) => c < 0x21 || c > 0x7e)) throw new FormatError("malformed header: invalid stanza type");
    const flags = r.u8();
    if (flags & ~1) throw new FormatError("malformed header: unknown stanza flags");
    stanzas.push({ type: fromUtf8(t), critical: (flags & 1) === 1, body: r.take(r.u32()) });
  }
  if (!r.done) throw new FormatError("malformed header: trailing bytes after the stanzas");
  const macAt = PREFIX_SIZE + bodyLen;
  const header: Header = {
    version, docId, created, segmentSize, nonce, commitment, origin, authorLabel, authorKey, signerLabel, signerKey,
    metadata, stanzas, mac: data.slice(macAt, macAt + MAC_SIZE), signature: data.slice(macAt + MAC_SIZE, total),
  };
  if (!equal(headerCore(header), data.subarray(0, macAt))) throw new FormatError("malformed header: non-canonical encoding");
  return { header, length: total };
}

/** Read and parse the header at the start of a Blob (two slices: the prefix, then the rest). */
export async function readHeader(blob: Blob): Promise<{ header: Header; length: number }> {
  const prefix = new Uint8Array(await blob.slice(0, PREFIX_SIZE).arrayBuffer());
  const total = checkPrefix(prefix);
  if (blob.size < total) throw truncated();
  return parseHeader(new Uint8Array(await blob.slice(0, total).arrayBuffer()));
}
