/** Cloud key shards (docs/shards.md §2.2–§2.3): parse shards and recovery shard files, and open the sealed seeds
 *  with K. Combining the shares into K (§2.1, Shamir over GF(2^128)) needs a library the browser does not have yet. */

import { Reader, concat, equal, fromB64, fromUtf8, u16, u64, u8, utf8, type Bytes } from "./bytes";
import { FormatError, IntegrityError, RecipientError } from "./errors";
import { makeIdentity, type Identity } from "./identity";
import { parsePublicKey } from "./publickey";
import { aesKey, aesOpen, hkdf } from "./primitives";

const MAGIC = utf8("c11-shard/v1\x00");
const KDF_INFO = "c11/v1 cloud key";

export interface Shard {
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
  if (data.length > 16384 || !equal(data.subarray(0, MAGIC.length), MAGIC)) throw new FormatError("not a c11 shard");
  const r = new Reader(data.subarray(MAGIC.length), () => new FormatError("not a c11 shard (truncated or malformed)"));
  const index = r.u8();
  const share = r.take(32);
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
  const sealed = data.slice(MAGIC.length + r.pos);
  if (sealed.length !== 80) throw new FormatError("not a c11 shard (bad field sizes)");
  if (!(2 <= threshold && threshold <= count && 1 <= index && index <= count)) throw new FormatError("not a c11 shard (bad index or threshold)");
  try {
    await parsePublicKey(publicLine);
  } catch (e) {
    if (e instanceof RecipientError) throw new FormatError(`a shard holds a malformed public key: ${e.message}`);
    throw e;
  }
  return { index, threshold, count, splitId, share, created, label, publicLine, userId, nonce, sealed };
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
  if (found.some((s) => !equal(shardContext(s), ctx) || !equal(s.nonce, first.nonce) || !equal(s.sealed, first.sealed)))
    throw new IntegrityError("the shards belong to different keys or splits");
  if (userId !== undefined && first.userId !== userId) throw new IntegrityError("the shards belong to another account");
  const key = await aesKey(await hkdf(k, first.splitId, utf8(KDF_INFO)));
  const seeds = await aesOpen(key, first.nonce, first.sealed, concat(utf8(KDF_INFO + "\x00"), ctx));
  if (!seeds) throw new IntegrityError("the shards do not rebuild the key (a shard is wrong or was modified)");
  const pub = await parsePublicKey(first.publicLine);
  const id = await makeIdentity(first.label, pub.kem, seeds.slice(0, 32), seeds.slice(32));
  if (id.public.line !== pub.line) throw new IntegrityError("the rebuilt key does not match the shards' public key");
  return id;
}
