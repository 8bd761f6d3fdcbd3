/** Cloud key shards (docs/shards.md §2): parse, make and rebuild shards and recovery shard files. Shard format 2
 *  shares K with HashiCorp Vault's GF(2^8) Shamir through the npm package shamir-secret-sharing (audited by Cure53
 *  and Zellic; the CLI uses horcrux, a Python port: the same shares, tests/vectors/shares/v2_*.json). Format 1
 *  (GF(2^128) shares) parses but does not rebuild here: no audited browser library does that field. */

import { combine as shamirCombine, split as shamirSplit } from "shamir-secret-sharing";
import { Reader, b64, concat, equal, fromB64, fromUtf8, u16, u64, u8, utf8, type Bytes } from "./bytes";
import { FormatError, IntegrityError, RecipientError } from "./errors";
import { makeIdentity, type Identity } from "./identity";
import { parsePublicKey } from "./publickey";
import { aesKey, aesOpen, aesSeal, hkdf, randomBytes } from "./primitives";

const MAGICS: Record<1 | 2, Bytes> = { 1: utf8("c11-shard/v1\x00"), 2: utf8("c11-shard/v2\x00") };
const KDF_INFOS: Record<1 | 2, string> = { 1: "c11/v1 cloud key", 2: "c11/v2 cloud key" };
const SHARE_SIZES: Record<1 | 2, number> = { 1: 32, 2: 33 };
export const THRESHOLD = 2;
export const COUNT = 3;
/** What the web app says about a key still in shard format 1. */
export const V1_MESSAGE = "your cloud-stored key is in the old shard format (v1), which browsers cannot rebuild: run `c11 keys upgrade` once with the c11 command line, then log in here again";

export interface Shard {
  version: 1 | 2;
  index: number;
  threshold: number;
  count: number;
  splitId: Bytes;
  share: Bytes;
  created: bigint;
  label: string;
  publicLine: string;
  userId: string;
  nonce: Bytes;
  sealed: Bytes;
}

const lp = (b: Uint8Array) => concat(u16(b.length), b);

/** What every shard of one split has in common; the seal's additional data after "c11/v1 cloud key\0". */
export function shardContext(s: Shard): Bytes {
  return concat(u8(s.threshold), u8(s.count), s.splitId, u64(s.created), lp(utf8(s.label)), lp(utf8(s.publicLine)), lp(utf8(s.userId)));
}

export async function parseShard(data: Uint8Array): Promise<Shard> {
  const version = ([1, 2] as const).find((v) => equal(data.subarray(0, MAGICS[v].length), MAGICS[v]));
  if (data.length > 16384 || version === undefined) throw new FormatError("not a c11 shard");
  const magic = MAGICS[version];
  const r = new Reader(data.subarray(magic.length), () => new FormatError("not a c11 shard (truncated or malformed)"));
  const index = r.u8();
  const share = r.take(SHARE_SIZES[version]);
  if (version === 2 && share[32] === 0) throw new FormatError("not a c11 shard (bad field sizes)");
  const threshold = r.u8(), count = r.u8();
  const splitId = r.take(16);
  const created = r.u64();
  let label: string, publicLine: string, userId: string;
  try {
    label = fromUtf8(r.take(r.u16()));
    publicLine = fromUtf8(r.take(r.u16()));
    userId = fromUtf8(r.take(r.u16()));
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError("not a c11 shard (truncated or malformed)");
  }
  if (/[^\x00-\x7f]/.test(publicLine + userId)) throw new FormatError("not a c11 shard (truncated or malformed)");
  const nonce = r.take(12);
  const sealed = data.slice(magic.length + r.pos);
  if (sealed.length !== 80) throw new FormatError("not a c11 shard (bad field sizes)");
  if (!(2 <= threshold && threshold <= count && 1 <= index && index <= count)) throw new FormatError("not a c11 shard (bad index or threshold)");
  try {
    await parsePublicKey(publicLine);
  } catch (e) {
    if (e instanceof RecipientError) throw new FormatError(`a shard holds a malformed public key: ${e.message}`);
    throw e;
  }
  return { version, index, threshold, count, splitId, share, created, label, publicLine, userId, nonce, sealed };
}

/** A shard's bytes (§2.2). */
export function encodeShard(s: Shard): Bytes {
  return concat(MAGICS[s.version], u8(s.index), s.share, shardContext(s), s.nonce, s.sealed);
}

export const shardToB64 = (s: Shard): string => b64(encodeShard(s));

/** The recovery shard file's text (§2.3): base64 between BEGIN/END lines, 64 characters a line. */
export function armorRecoveryShard(s: Shard): string {
  const text = shardToB64(s);
  const lines = ["-----BEGIN C11 RECOVERY SHARD-----"];
  for (let i = 0; i < text.length; i += 64) lines.push(text.slice(i, i + 64));
  return [...lines, "-----END C11 RECOVERY SHARD-----"].join("\n") + "\n";
}

/** Seal `id` for `userId` and split it into COUNT format-2 shards, any THRESHOLD of which rebuild it (§2.2).
 *  `k`, `splitId` and `nonce` are fresh random values unless given (tests). */
export async function makeShards(id: Identity, userId: string, created: bigint,
  fixed: { k?: Bytes; splitId?: Bytes; nonce?: Bytes } = {}): Promise<Shard[]> {
  const k = fixed.k ?? randomBytes(32), splitId = fixed.splitId ?? randomBytes(16), nonce = fixed.nonce ?? randomBytes(12);
  const base: Shard = { version: 2, index: 0, threshold: THRESHOLD, count: COUNT, splitId, share: new Uint8Array(0),
    created, label: id.label, publicLine: id.public.line, userId, nonce, sealed: new Uint8Array(0) };
  const key = await aesKey(await hkdf(k, splitId, utf8(KDF_INFOS[2])));
  const sealed = await aesSeal(key, nonce, concat(id.encSeed, id.sigSeed), concat(utf8(KDF_INFOS[2] + "\x00"), shardContext(base)));
  const shares = await shamirSplit(k, COUNT, THRESHOLD);
  k.fill(0);
  return shares.map((share, i) => ({ ...base, index: i + 1, share: new Uint8Array(share), sealed }));
}

/** K from THRESHOLD distinct shards of one format-2 split; FormatError for too few, repeated or format-1 shards.
 *  Fewer or wrong shares give a wrong K, not an error: `openShards` authenticates it. */
export async function combineShards(found: Shard[]): Promise<Bytes> {
  if (found.some((s) => s.version !== 2)) throw new FormatError(V1_MESSAGE);
  const first = found[0];
  if (!first) throw new FormatError("no shards");
  const distinct = new Map<number, Shard>();
  for (const s of found) if (!distinct.has(s.index)) distinct.set(s.index, s);
  const chosen = [...distinct.values()].sort((a, b) => a.index - b.index).slice(0, first.threshold);
  if (chosen.length < first.threshold) throw new FormatError(`${chosen.length} distinct shard(s) given; ${first.threshold} are needed`);
  if (new Set(chosen.map((s) => s.share[32])).size !== chosen.length) throw new FormatError("two shards carry the same share coordinate");
  return new Uint8Array(await shamirCombine(chosen.map((s) => new Uint8Array(s.share)))) as Bytes;
}

/** The identity from THRESHOLD shards of one split (for `userId` when given): combine, then open the seal. */
export async function rebuildShards(found: Shard[], userId?: string): Promise<Identity> {
  const k = await combineShards(found);
  try {
    return await openShards(found, k, userId);
  } finally {
    k.fill(0);
  }
}

export async function shardFromB64(text: string): Promise<Shard> {
  let raw: Bytes;
  try {
    raw = fromB64(text);
  } catch {
    throw new FormatError("a shard is not base64");
  }
  return parseShard(raw);
}

/** Parse a recovery shard file (`-----BEGIN C11 RECOVERY SHARD-----` …). */
export function dearmorRecoveryShard(text: string): Promise<Shard> {
  const lines = text.trim().split(/\r?\n/).map((l) => l.trim());
  if (lines.length < 3 || lines[0] !== "-----BEGIN C11 RECOVERY SHARD-----" || lines[lines.length - 1] !== "-----END C11 RECOVERY SHARD-----")
    throw new FormatError("not a c11 recovery shard file");
  return shardFromB64(lines.slice(1, -1).join(""));
}

/** The identity sealed in shards of one split, given K (combined from `threshold` shares); IntegrityError if the
 *  shards are mixed, belong to another account, or do not open. */
export async function openShards(found: Shard[], k: Uint8Array, userId?: string): Promise<Identity> {
  const first = found[0];
  if (!first) throw new FormatError("no shards");
  const ctx = shardContext(first);
  if (found.some((s) => s.version !== first.version || !equal(shardContext(s), ctx) || !equal(s.nonce, first.nonce) || !equal(s.sealed, first.sealed)))
    throw new IntegrityError("the shards belong to different keys or splits");
  if (userId !== undefined && first.userId !== userId) throw new IntegrityError("the shards belong to another account");
  const info = KDF_INFOS[first.version];
  const key = await aesKey(await hkdf(k, first.splitId, utf8(info)));
  const seeds = await aesOpen(key, first.nonce, first.sealed, concat(utf8(info + "\x00"), ctx));
  if (!seeds) throw new IntegrityError("the shards do not rebuild the key (a shard is wrong or was modified)");
  const pub = await parsePublicKey(first.publicLine);
  const id = await makeIdentity(first.label, pub.kem, seeds.slice(0, 32), seeds.slice(32));
  if (id.public.line !== pub.line) throw new IntegrityError("the rebuilt key does not match the shards' public key");
  return id;
}
