/** Sealing and opening a header (docs/format.md §2–§4): recipient stanzas, MAC, key commitment, signatures, metadata.
 *  Also the extension stanzas: the online policy (§2.6), temporary keys (§2.7) and recipient keys (§4.3). */

import { Reader, concat, equal, fromUtf8, hex, u32, u64, u16, u8, utf8, type Bytes } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { BadSignatureError, FormatError, IntegrityError, NoMatchingKeyError, OnlinePolicyError, UnsupportedVersionError } from "./errors";
import { headerCore, headerSignedMessage, type Header, type Stanza } from "./header";
import type { Identity } from "./identity";
import { CLASSIC, ENC_SIZE, HYBRID, hpkeSeal, isKemName } from "./kem";
import { derive, onlineFileKey } from "./keyschedule";
import { labelProblem } from "./labels";
import { encodeMetadata, parseMetadata, type Metadata } from "./metadata";
import { parsePublicKey, type PublicKey } from "./publickey";
import { aesKey, aesOpen, aesSeal, ed25519Verify, hmacSha256, randomBytes, sha256 } from "./primitives";
import { DEFAULT_SEGMENT } from "./stream";

export const ONLINE = "c11-online/v1";
export const TEMPORARY = "c11-temporary-keys/v1";
export const RECIPIENT_KEYS = "recipient-keys";
const FLAGS: Record<string, boolean> = { [HYBRID]: false, [CLASSIC]: false, [RECIPIENT_KEYS]: false, [TEMPORARY]: false, [ONLINE]: true };

export function stanzaInfo(type: string, docId: Uint8Array): Bytes {
  return concat(utf8("c11/v1 stanza\x00" + type + "\x00"), docId);
}
export async function wrap(r: PublicKey, key: Uint8Array, docId: Uint8Array, ekm?: Uint8Array): Promise<Stanza> {
  return { type: r.kem, critical: false, body: concat(r.keyId, await hpkeSeal(r.kem, r.enc, stanzaInfo(r.kem, docId), key, ekm)) };
}
export function stanzaKeyId(s: Stanza): Bytes | null {
  return isKemName(s.type) && s.body.length >= 16 ? s.body.slice(0, 16) : null;
}
export function recipientFingerprints(h: Header): string[] {
  return h.stanzas.map(stanzaKeyId).filter((k): k is Bytes => k !== null).map(hex);
}

/** Refuse unknown critical stanzas (UnsupportedVersionError) and known ones with the wrong flag (FormatError). */
export function checkCritical(h: Header): void {
  for (const s of h.stanzas) {
    const expected = FLAGS[s.type];
    if (expected !== undefined && s.critical !== expected)
      throw new FormatError(`malformed header: a '${s.type}' stanza must ${expected ? "" : "not "}be critical`);
    if (s.critical && expected === undefined)
      throw new UnsupportedVersionError(`the file needs a feature this c11 does not know (critical stanza '${s.type}'); upgrade c11`);
  }
}

export async function headerMac(fileKey: Uint8Array, h: Header): Promise<Bytes> {
  return hmacSha256(await derive(fileKey, h.nonce, "header"), headerCore(h));
}

/** The online policy stanza's parts: the policy object, its exact bytes and the sealed B (§2.6). */
export interface OnlineShare {
  policy: Record<string, Json>;
  raw: Bytes;
  sealed: Bytes;
}
export function parseOnline(s: Stanza, docId: Uint8Array): OnlineShare {
  const r = new Reader(s.body, () => new FormatError("malformed online-policy stanza (truncated)"));
  const n = r.u32();
  if (n > 65536 || s.body.length < 4 + n + ENC_SIZE[HYBRID] + 48) throw new FormatError("malformed online-policy stanza (lengths)");
  const raw = r.take(n);
  let policy: Record<string, Json>;
  try {
    policy = JSON.parse(fromUtf8(raw));
    if (canonicalJson(policy) !== fromUtf8(raw)) throw new Error();
  } catch {
    throw new FormatError("malformed online policy (not its canonical JSON)");
  }
  if (!policyShapeOk(policy)) throw new FormatError("malformed online-policy stanza (members)");
  const uuid = hex(docId).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
  if (policy.doc !== uuid) throw new IntegrityError("the online-policy stanza belongs to another document: the file was modified");
  return { policy, raw, sealed: s.body.slice(4 + n) };
}
const hexOf = (v: Json, n: number) => typeof v === "string" && new RegExp(`^[0-9a-f]{${n}}$`).test(v);
/** The members of docs/format.md §2.6, each of its type (canonical order is checked by re-encoding). */
function policyShapeOk(p: Record<string, Json>): boolean {
  if (typeof p !== "object" || p === null || Array.isArray(p)) return false;
  if (Object.keys(p).sort().join() !== "author,doc,expires,recipients,server,server_key,v" || p.v !== 1) return false;
  const e = p.expires;
  if (e !== null && !(typeof e === "number" && Number.isInteger(e) && e >= 0 && e <= 253402300799)) return false;
  if (typeof p.server !== "string" || !/^https?:\/\//.test(p.server) || !hexOf(p.server_key!, 32) || !hexOf(p.author!, 64)) return false;
  const rs = p.recipients;
  if (!Array.isArray(rs) || rs.length === 0) return false;
  const keys = rs.map((r) => {
    if (typeof r !== "object" || r === null || Array.isArray(r) || Object.keys(r).sort().join() !== "email,key") return null;
    if ((r.email !== null && !hexOf(r.email!, 64)) || (r.key !== null && !hexOf(r.key!, 32)) || (r.email === null && r.key === null)) return null;
    return `${r.email ?? ""}\u0000${r.key ?? ""}`;
  });
  return keys.every((k, i) => k !== null && (i === 0 || keys[i - 1]! <= k));
}

/** Sort a policy's recipients as §2.6 requires: by (email, key), null as "". */
export function sortPolicyRecipients(rs: { email: string | null; key: string | null }[]) {
  const k = (r: { email: string | null; key: string | null }) => `${r.email ?? ""}\u0000${r.key ?? ""}`;
  return [...rs].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

export async function onlineSealInfo(docId: Uint8Array, raw: Uint8Array): Promise<Bytes> {
  return concat(utf8("c11/v1 online\x00"), docId, await sha256(raw));
}
export function onlineReleaseInfo(docId: Uint8Array, recipientKeyId: Uint8Array): Bytes {
  return concat(utf8("c11/v1 online release\x00"), docId, recipientKeyId);
}

/** Asks the key server named in an online policy for B (keyserver.md); returns B's 32 bytes. */
export type Releaser = (share: OnlineShare, header: Header, identity: Identity) => Promise<Uint8Array>;

export interface OpenOptions {
  release?: Releaser;
  /** Metadata kinds accepted (default: a protected file or message, as `c11 decrypt`; bundles pass "bundle"). */
  kinds?: Metadata["kind"][];
}

/** The result of opening a header: the file key, the metadata and who signed what. */
export interface Opened {
  fileKey: Bytes;
  metadata: Metadata;
  identity: Identity;
  temporaryKeyIds: string[];
}

/** Steps 1–5 of docs/format.md §2.5: find and open the first stanza for one of `identities`, check MAC,
 *  commitment and header signature, decrypt the metadata. */
export async function openHeader(h: Header, identities: Identity[], opts: OpenOptions = {}): Promise<Opened> {
  checkCritical(h);
  let key: Bytes | null = null;
  let identity: Identity | null = null;
  for (const s of h.stanzas) {
    const kid = stanzaKeyId(s);
    if (!kid) continue;
    const id = identities.find((i) => i.kem === s.type && equal(i.public.keyId, kid));
    if (!id) continue;
    key = await id.open(s.body.subarray(16), stanzaInfo(s.type, h.docId));
    identity = id;
    break;
  }
  if (!key || !identity) {
    const mine = identities.map((i) => i.public.fingerprint).join(", ") || "none";
    throw new NoMatchingKeyError(`none of your keys (${mine}) is a recipient; the file is for: ${recipientFingerprints(h).join(", ") || "no key"}`);
  }
  const online = h.stanzas.find((s) => s.type === ONLINE);
  if (online) {
    const share = parseOnline(online, h.docId);
    if (!opts.release) throw new OnlinePolicyError(`this file has an online policy: its key server ${String(share.policy.server)} must release part of the key, and no release from it was given`);
    key = await onlineFileKey(key, await opts.release(share, h, identity), h.docId);
  }
  if (!equal(await headerMac(key, h), h.mac)) throw new IntegrityError("the header does not authenticate (MAC): the file was modified or the key is wrong");
  if (h.version !== 1 && !equal(await derive(key, h.nonce, "commitment"), h.commitment))
    throw new IntegrityError("the key commitment does not match: the file was modified");
  if (!(await ed25519Verify(h.signerKey, h.signature, headerSignedMessage(h))))
    throw new BadSignatureError("the header signature does not verify: the file was modified or forged");
  const mk = await aesKey(await derive(key, h.nonce, "metadata"));
  const meta = await aesOpen(mk, new Uint8Array(12), h.metadata, h.docId);
  if (!meta) throw new IntegrityError("the metadata does not authenticate: the file was modified");
  const temp = h.stanzas.find((s) => s.type === TEMPORARY);
  const temporaryKeyIds: string[] = [];
  if (temp && temp.body.length % 16 === 0) for (let i = 0; i < temp.body.length; i += 16) temporaryKeyIds.push(hex(temp.body.subarray(i, i + 16)));
  const metadata = parseMetadata(meta);
  if (!(opts.kinds ?? ["file", "message"]).includes(metadata.kind))
    throw new FormatError(`this is the header of a '${metadata.kind}', not of a protected ${(opts.kinds ?? ["file", "message"]).join(" or ")}`);
  return { fileKey: key, metadata, identity, temporaryKeyIds };
}

/** The author's content statement (docs/format.md §5.1) for n segments whose hash list digests to `listDigest`. */
export async function contentStatement(h: Header, n: number, listDigest: Uint8Array): Promise<Bytes> {
  const a = utf8(h.authorLabel);
  return concat(
    utf8("c11/v2 content\x00"), h.docId, u64(h.created), u32(h.segmentSize), h.nonce, h.commitment, u8(h.origin),
    u16(a.length), a, h.authorKey, await sha256(h.metadata), u64(n), listDigest,
  );
}

/** The online policy a writer adds (§2.6): the policy members and the key server's X-Wing public key. */
export interface OnlineSpec {
  policy: Record<string, Json>;
  serverKey: PublicKey;
}

export interface SealOptions {
  recipients: PublicKey[];
  sender: Identity;
  metadata: Metadata;
  segmentSize?: number;
  online?: OnlineSpec;
  temporaryKeyIds?: Uint8Array[];
  /** Tests only: fixed values instead of random ones. */
  fixed?: { fileKey?: Bytes; nonce?: Bytes; docId?: Bytes; created?: bigint; a?: Bytes; b?: Bytes };
}

/** Build and sign a version 2 header; returns it and the file key. The sender is author and signer. */
export async function sealHeader(o: SealOptions): Promise<{ header: Header; fileKey: Bytes }> {
  const p = labelProblem(o.sender.label);
  if (p) throw new FormatError(`the identity label ${o.sender.label.slice(0, 40)} ${p}: choose a plain label (an email address)`);
  const docId = o.fixed?.docId ?? randomBytes(16);
  if (!o.fixed?.docId) {
    docId[6] = (docId[6]! & 0x0f) | 0x40;
    docId[8] = (docId[8]! & 0x3f) | 0x80;
  }
  const nonce = o.fixed?.nonce ?? randomBytes(16);
  const extra: Stanza[] = [];
  let fileKey: Bytes;
  let wrapped: Bytes;
  if (o.online) {
    const rs = o.online.policy.recipients as { email: string | null; key: string | null }[];
    const policy = { ...o.online.policy, recipients: sortPolicyRecipients(rs), doc: hex(docId).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-") };
    const raw = utf8(canonicalJson(policy));
    const a = o.fixed?.a ?? randomBytes(32);
    const b = o.fixed?.b ?? randomBytes(32);
    const sealed = await hpkeSeal(HYBRID, o.online.serverKey.enc, await onlineSealInfo(docId, raw), b);
    extra.push({ type: ONLINE, critical: true, body: concat(u32(raw.length), raw, sealed) });
    wrapped = a;
    fileKey = await onlineFileKey(a, b, docId);
  } else {
    fileKey = o.fixed?.fileKey ?? randomBytes(32);
    wrapped = fileKey;
  }
  const unique = new Map<string, PublicKey>();
  for (const r of o.recipients) if (!unique.has(r.fingerprint)) unique.set(r.fingerprint, r);
  const stanzas: Stanza[] = [];
  for (const r of unique.values()) stanzas.push(await wrap(r, wrapped, docId));
  const lines = [...unique.values()].map((r) => r.line).sort();
  const rn = randomBytes(12);
  const rk = await aesSeal(await aesKey(await derive(fileKey, nonce, "recipient keys")), rn, utf8(lines.join("\n")), docId);
  stanzas.push({ type: RECIPIENT_KEYS, critical: false, body: concat(rn, rk) });
  if (o.temporaryKeyIds?.length) {
    const ids = [...o.temporaryKeyIds].sort((x, y) => (hex(x) < hex(y) ? -1 : 1));
    stanzas.push({ type: TEMPORARY, critical: false, body: concat(...ids) });
  }
  stanzas.push(...extra);
  const mk = await aesKey(await derive(fileKey, nonce, "metadata"));
  const sig = o.sender.public.sig!;
  const header: Header = {
    version: 2, docId, created: o.fixed?.created ?? BigInt(Math.floor(Date.now() / 1000)), segmentSize: o.segmentSize ?? DEFAULT_SEGMENT,
    nonce, commitment: await derive(fileKey, nonce, "commitment"), origin: 0, authorLabel: o.sender.label, authorKey: sig,
    signerLabel: o.sender.label, signerKey: sig, metadata: await aesSeal(mk, new Uint8Array(12), encodeMetadata(o.metadata), docId),
    stanzas, mac: new Uint8Array(), signature: new Uint8Array(),
  };
  header.mac = await headerMac(fileKey, header);
  header.signature = await o.sender.signer.sign(headerSignedMessage(header));
  return { header, fileKey };
}

/** The recipients' public key lines of a `recipient-keys` stanza (§4.3), or [] when there is none. */
export async function recipientKeyLines(h: Header, fileKey: Uint8Array): Promise<string[]> {
  const s = h.stanzas.find((x) => x.type === RECIPIENT_KEYS);
  if (!s || s.body.length < 28) return [];
  const k = await aesKey(await derive(fileKey, h.nonce, "recipient keys"));
  const pt = await aesOpen(k, s.body.subarray(0, 12), s.body.subarray(12), h.docId);
  if (!pt) throw new IntegrityError("the recipient-keys stanza does not authenticate: the file was modified");
  return fromUtf8(pt).split("\n").filter(Boolean);
}

/** Re-share (§9): the same header with recipients added and/or removed (by fingerprint), a fresh recipient-keys
 *  stanza, signed by `signer`; author fields, metadata, payload and trailer stay valid byte for byte. */
export async function reshareHeader(h: Header, fileKey: Uint8Array, signer: Identity, add: PublicKey[], remove: string[] = []): Promise<Header> {
  if (h.stanzas.some((s) => s.type === ONLINE)) throw new FormatError("an online-policy file is re-shared through its key server's policy, not by rewrapping");
  const drop = new Set(remove);
  const stanzas = h.stanzas.filter((s) => s.type !== RECIPIENT_KEYS && !(stanzaKeyId(s) && drop.has(hex(stanzaKeyId(s)!))));
  const have = new Set(stanzas.map(stanzaKeyId).filter((k): k is Bytes => k !== null).map(hex));
  for (const r of add) if (!have.has(r.fingerprint)) stanzas.push(await wrap(r, fileKey, h.docId)), have.add(r.fingerprint);
  if (!stanzas.some((s) => stanzaKeyId(s))) throw new FormatError("no recipients left");
  const old = await recipientKeyLines(h, fileKey);
  const lines = new Set(add.map((r) => r.line));
  for (const l of old) if (!drop.has((await parsePublicKey(l)).fingerprint)) lines.add(l);
  const kept = [...lines];
  if (h.version !== 1) {
    const rn = randomBytes(12);
    const rk = await aesSeal(await aesKey(await derive(fileKey, h.nonce, "recipient keys")), rn, utf8(kept.sort().join("\n")), h.docId);
    stanzas.splice(stanzas.filter((s) => stanzaKeyId(s)).length, 0, { type: RECIPIENT_KEYS, critical: false, body: concat(rn, rk) });
  }
  const out: Header = { ...h, stanzas, signerLabel: signer.label, signerKey: signer.public.sig!, mac: new Uint8Array(), signature: new Uint8Array() };
  out.mac = await headerMac(fileKey, out);
  out.signature = await signer.signer.sign(headerSignedMessage(out));
  return out;
}
