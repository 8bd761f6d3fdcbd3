/** The in-document envelope (docs/indoc.md §2, Python `c11.indoc.parts`): parts grouped by recipient set, one signed
 *  version 2 header per group, each part AES-256-GCM under HKDF(file key, header nonce, "c11/v1 part") with the
 *  document ID, location, placeholder hash and note hash as associated data, and the author's content signature
 *  over the group's parts. Used by the Word add-in (web/addin/). */

import { b64, concat, equal, fromB64, fromHex, fromUtf8, hex, utf8, type Bytes } from "./bytes";
import { BadSignatureError, FormatError, IntegrityError, NoMatchingKeyError } from "./errors";
import { contentStatement, openHeader, recipientFingerprints, reshareHeader, sealHeader } from "./envelope";
import { encodeHeader, parseHeader, type Header } from "./header";
import type { Identity } from "./identity";
import { derive } from "./keyschedule";
import { aesKey, aesOpen, aesSeal, ed25519Verify, randomBytes, sha256 } from "./primitives";
import type { PublicKey } from "./publickey";

export const FORMAT_V2 = "c11-parts/v2";
export const FORMAT_V3 = "c11-parts/v3";
export const MEDIA_TYPE = "application/vnd.c11.parts";

export interface Part {
  location: string;
  plaintext: Uint8Array;
  placeholder: Uint8Array;
  /** null: the document's recipients. */
  recipients: PublicKey[] | null;
}

export interface SealedPart {
  location: string;
  group: number;
  nonce: Bytes;
  ciphertext: Bytes;
  placeholderSha256: Bytes;
}

export interface PartsEnvelope {
  docId: Bytes;
  headers: Header[];
  /** The author's content signature per group. */
  content: Bytes[];
  parts: SealedPart[];
  note: string;
  /** Format version 3: some part holds an `ooxml` entry (docs/indoc.md §5.1). */
  ooxml: boolean;
}

const uuid = (b: Uint8Array) => hex(b).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");

export function envelopeToJson(env: PartsEnvelope): string {
  return JSON.stringify({
    format: env.ooxml ? FORMAT_V3 : FORMAT_V2,
    doc_id: uuid(env.docId),
    note: env.note,
    groups: env.headers.map((h) => b64(encodeHeader(h))),
    content: env.content.map(b64),
    parts: env.parts.map((p) => ({ loc: p.location, group: p.group, nonce: b64(p.nonce), ct: b64(p.ciphertext), ph: hex(p.placeholderSha256) })),
  });
}

export function envelopeFromJson(text: string): PartsEnvelope {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new FormatError("malformed protected-parts envelope");
  }
  if (d.format !== FORMAT_V2 && d.format !== FORMAT_V3) {
    throw new FormatError(d.format === "c11-parts/v1" ? "this document was protected by an old c11 (version 1 parts): open it with the c11 command line" : `unsupported protected-parts format ${JSON.stringify(d.format)}: update the add-in`);
  }
  try {
    const docId = fromHex(String(d.doc_id).replace(/-/g, ""));
    const headers = (d.groups as string[]).map((g) => {
      const raw = fromB64(g);
      const { header, length } = parseHeader(raw);
      if (length !== raw.length || header.version !== 2) throw new FormatError("malformed protected-parts envelope (header)");
      return header;
    });
    const content = (d.content as string[]).map(fromB64);
    if (content.length !== headers.length || content.some((c) => c.length !== 64)) throw new FormatError("malformed protected-parts envelope (content signatures)");
    const seen = new Set<string>();
    const parts = (d.parts as Record<string, unknown>[]).map((p) => {
      const sp: SealedPart = { location: String(p.loc), group: Number(p.group), nonce: fromB64(String(p.nonce)), ciphertext: fromB64(String(p.ct)), placeholderSha256: fromHex(String(p.ph)) };
      if (!Number.isInteger(sp.group) || sp.group < 0 || sp.group >= headers.length || sp.nonce.length !== 12 || sp.placeholderSha256.length !== 32) throw new FormatError("malformed protected-parts envelope (part)");
      if (seen.has(sp.location)) throw new IntegrityError(`protected part ${JSON.stringify(sp.location)} appears twice (duplicated part)`);
      seen.add(sp.location);
      return sp;
    });
    if (docId.length !== 16 || headers.some((h) => !equal(h.docId, docId))) throw new IntegrityError("a protected part's header belongs to another document");
    return { docId, headers, content, parts, note: String(d.note ?? ""), ooxml: d.format === FORMAT_V3 };
  } catch (e) {
    if (e instanceof FormatError || e instanceof IntegrityError) throw e;
    throw new FormatError("malformed protected-parts envelope");
  }
}

async function aad(docId: Uint8Array, location: string, ph: Uint8Array, note: string): Promise<Bytes> {
  return concat(utf8("c11/v1 part\x00"), docId, utf8(location), new Uint8Array([0]), ph, await sha256(utf8(note)));
}

async function listDigest(env: PartsEnvelope, group: number): Promise<{ n: number; digest: Bytes }> {
  const hs: Uint8Array[] = [];
  for (const p of env.parts) if (p.group === group) hs.push(await sha256(concat(p.nonce, p.ciphertext)));
  return { n: hs.length, digest: await sha256(concat(...hs)) };
}

/** A fresh random document ID (a version 4 UUID's 16 bytes). */
export function newDocId(): Bytes {
  const docId = randomBytes(16);
  docId[6] = (docId[6]! & 0x0f) | 0x40;
  docId[8] = (docId[8]! & 0x3f) | 0x80;
  return docId;
}

/** Encrypt parts, grouping those with the same recipients (plus the sender) under one signed header. */
export async function sealParts(parts: Part[], recipients: PublicKey[], sender: Identity, note: string, opts: { docId?: Bytes; ooxml?: boolean } = {}): Promise<PartsEnvelope> {
  const docId = opts.docId ?? newDocId();
  const setOf = (p: Part) => {
    const m = new Map<string, PublicKey>();
    for (const r of [...(p.recipients ?? recipients), sender.public]) m.set(r.fingerprint, r);
    return m;
  };
  const keyOf = (m: Map<string, PublicKey>) => [...m.keys()].sort().join(",");
  const counts = new Map<string, number>();
  for (const p of parts) counts.set(keyOf(setOf(p)), (counts.get(keyOf(setOf(p))) ?? 0) + 1);
  const groups = new Map<string, number>();
  const headers: Header[] = [];
  const keys: Bytes[] = [];
  const sealed: SealedPart[] = [];
  for (const p of parts) {
    const set = setOf(p);
    const k = keyOf(set);
    if (!groups.has(k)) {
      const { header, fileKey } = await sealHeader({ recipients: [...set.values()], sender, metadata: { name: null, type: MEDIA_TYPE, size: counts.get(k)!, mtime: null, kind: "parts" }, fixed: { docId } });
      groups.set(k, headers.length);
      headers.push(header);
      keys.push(fileKey);
    }
    const g = groups.get(k)!;
    const ph = await sha256(p.placeholder);
    const nonce = randomBytes(12);
    const key = await aesKey(await derive(keys[g]!, headers[g]!.nonce, "part"));
    sealed.push({ location: p.location, group: g, nonce, ciphertext: await aesSeal(key, nonce, p.plaintext, await aad(docId, p.location, ph, note)), placeholderSha256: ph });
  }
  if (new Set(sealed.map((s) => s.location)).size !== sealed.length) throw new FormatError("two parts share one location");
  const env: PartsEnvelope = { docId, headers, content: [], parts: sealed, note, ooxml: opts.ooxml ?? false };
  for (let g = 0; g < headers.length; g++) {
    const { n, digest } = await listDigest(env, g);
    env.content.push(await sender.signer.sign(await contentStatement(headers[g]!, n, digest)));
  }
  return env;
}

export interface OpenedParts {
  plaintexts: Map<string, Bytes>;
  closed: string[];
  /** Per opened group: the author (content signer) and who last changed the recipients, if someone else. */
  senders: { group: number; author: string; authorKey: string; resharer: string | null }[];
}

/** Open every part the identities can; `placeholders` (the document's current ones, by location) are checked as
 *  `c11.indoc.parts.open_parts` does: each present and unedited, none extra; locations for which `unchecked` is true
 *  are left to a reader that sees them (the add-in cannot see a header's or a comment's placeholders). */
export async function openParts(env: PartsEnvelope, identities: Identity[], placeholders?: Map<string, Uint8Array>, unchecked: (location: string) => boolean = () => false): Promise<OpenedParts> {
  const fileKeys = new Map<number, Bytes>();
  const senders: OpenedParts["senders"] = [];
  for (let i = 0; i < env.headers.length; i++) {
    const h = env.headers[i]!;
    try {
      const o = await openHeader(h, identities, { kinds: ["parts"] });
      if (o.metadata.size !== null && o.metadata.size !== env.parts.filter((p) => p.group === i).length) throw new IntegrityError("protected parts were added to or removed from the document");
      fileKeys.set(i, o.fileKey);
      senders.push({ group: i, author: h.authorLabel, authorKey: hex(h.authorKey), resharer: equal(h.signerKey, h.authorKey) ? null : h.signerLabel });
    } catch (e) {
      if (!(e instanceof NoMatchingKeyError)) throw e;
    }
  }
  if (fileKeys.size === 0) {
    const fps = [...new Set(env.headers.flatMap(recipientFingerprints))].sort();
    throw new NoMatchingKeyError(`none of your keys can open any protected part; they are for: ${fps.join(", ")}`);
  }
  const plaintexts = new Map<string, Bytes>();
  const closed: string[] = [];
  for (const p of env.parts) {
    if (placeholders && !unchecked(p.location)) {
      const cur = placeholders.get(p.location);
      if (!cur) throw new IntegrityError(`protected part ${JSON.stringify(p.location)} is missing from the document (moved or deleted)`);
      if (!equal(await sha256(cur), p.placeholderSha256)) throw new IntegrityError(`the placeholder of protected part ${JSON.stringify(p.location)} was edited`);
    }
    const fk = fileKeys.get(p.group);
    if (!fk) {
      closed.push(p.location);
      continue;
    }
    const key = await aesKey(await derive(fk, env.headers[p.group]!.nonce, "part"));
    const pt = await aesOpen(key, p.nonce, p.ciphertext, await aad(env.docId, p.location, p.placeholderSha256, env.note));
    if (!pt) throw new IntegrityError(`protected part ${JSON.stringify(p.location)} does not authenticate: it was moved, swapped, or the note was edited`);
    plaintexts.set(p.location, pt);
  }
  if (placeholders) {
    const extra = [...placeholders.keys()].filter((l) => !env.parts.some((p) => p.location === l));
    if (extra.length) throw new IntegrityError(`the document has placeholders with no protected part: ${extra.slice(0, 3).join(", ")}`);
  }
  for (const g of fileKeys.keys()) {
    const { n, digest } = await listDigest(env, g);
    const h = env.headers[g]!;
    if (!(await ed25519Verify(h.authorKey, env.content[g]!, await contentStatement(h, n, digest))))
      throw new BadSignatureError("the protected parts are not the ones their author signed: do not trust this document");
  }
  return { plaintexts, closed, senders };
}

/** The envelope left once the groups with an opened part are restored (null: nothing left). */
export function remainingEnvelope(env: PartsEnvelope, opened: OpenedParts): PartsEnvelope | null {
  const openedGroups = new Set(env.parts.filter((p) => opened.plaintexts.has(p.location)).map((p) => p.group));
  const keep = env.headers.map((_, i) => i).filter((i) => !openedGroups.has(i));
  if (!keep.length) return null;
  const remap = new Map(keep.map((old, i) => [old, i]));
  return {
    ...env,
    headers: keep.map((i) => env.headers[i]!),
    content: keep.map((i) => env.content[i]!),
    parts: env.parts.filter((p) => remap.has(p.group)).map((p) => ({ ...p, group: remap.get(p.group)! })),
  };
}

/** Add or remove recipients (fingerprints) in every group `identity` opens; parts and content signatures stay. */
export async function reshareParts(env: PartsEnvelope, identity: Identity, add: PublicKey[], remove: string[] = []): Promise<PartsEnvelope> {
  let changed = false;
  const headers: Header[] = [];
  for (const h of env.headers) {
    let fileKey: Bytes;
    try {
      fileKey = (await openHeader(h, [identity], { kinds: ["parts"] })).fileKey;
    } catch (e) {
      if (!(e instanceof NoMatchingKeyError)) throw e;
      headers.push(h);
      continue;
    }
    headers.push(await reshareHeader(h, fileKey, identity, add, remove));
    changed = true;
  }
  if (!changed) throw new NoMatchingKeyError("you are not a recipient of any protected part of this document");
  return { ...env, headers };
}

/** Who each group is for (key fingerprints), for the Inspect view. */
export function groupRecipients(env: PartsEnvelope): { group: number; author: string; authorKey: string; recipients: string[]; locations: string[] }[] {
  return env.headers.map((h, i) => ({ group: i, author: h.authorLabel, authorKey: hex(h.authorKey), recipients: recipientFingerprints(h), locations: env.parts.filter((p) => p.group === i).map((p) => p.location) }));
}

// ---------------------------------------------------------------- part plaintexts (docs/indoc.md §5.1)

/** Pack named entries: 4-byte big-endian length N, N bytes of JSON [[name, length], ...], then the values. */
export function packEntries(items: [string, Uint8Array][]): Bytes {
  const head = utf8(JSON.stringify(items.map(([k, v]) => [k, v.length])));
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, head.length);
  return concat(n, head, ...items.map(([, v]) => v));
}

export function unpackEntries(data: Uint8Array): [string, Bytes][] {
  try {
    const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    const head = JSON.parse(fromUtf8(data.subarray(4, 4 + n))) as [string, number][];
    let pos = 4 + n;
    const out: [string, Bytes][] = [];
    for (const [k, len] of head) {
      if (typeof k !== "string" || !Number.isInteger(len) || len < 0 || pos + len > data.length) throw new Error();
      out.push([k, data.slice(pos, pos + len)]);
      pos += len;
    }
    if (pos !== data.length) throw new Error();
    return out;
  } catch {
    throw new FormatError("a protected part's content is malformed");
  }
}
