/** Merkle inclusion and consistency proofs (docs/log.md §1–§3, RFC 9162 §2.1): verification only.
 *  Every failure is one ProofError; lengths are checked before any hashing. */

import { concat, equal, type Bytes } from "./bytes";
import { ProofError } from "./errors";
import { sha256 } from "./primitives";

export const EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export const leafHash = (d: Uint8Array): Promise<Bytes> => sha256(concat(Uint8Array.of(0), d));
const nodeHash = (l: Uint8Array, r: Uint8Array): Promise<Bytes> => sha256(concat(Uint8Array.of(1), l, r));

const bitLen = (x: bigint): number => (x === 0n ? 0 : x.toString(2).length);
const popCount = (x: bigint): number => x.toString(2).replace(/0/g, "").length;
const MAX = (1n << 64n) - 1n;

function big(v: number | bigint, what: string): bigint {
  const b = BigInt(v);
  if (b < 0n || b > MAX) throw new ProofError(`${what} out of range`);
  return b;
}
function is32(...hs: Uint8Array[]) {
  if (hs.some((h) => h.length !== 32)) throw new ProofError("a hash is not 32 bytes");
}

/** Verify that `leaf` (a leaf hash) is entry `index` of the tree of `size` with root `root`. */
export async function verifyInclusion(index: number | bigint, size: number | bigint, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): Promise<void> {
  const m = big(index, "index"), n = big(size, "tree size");
  if (m >= n) throw new ProofError("index beyond the tree size");
  is32(leaf, root, ...proof);
  const inner = bitLen(m ^ (n - 1n));
  if (proof.length !== inner + popCount(m >> BigInt(inner))) throw new ProofError("inclusion proof of the wrong length");
  const r = await rootFromPath(m, n - 1n, leaf, proof);
  if (!r || !equal(r, root)) throw new ProofError("inclusion proof does not lead to the root");
}

async function rootFromPath(fnIn: bigint, snIn: bigint, seed: Uint8Array, proof: Uint8Array[]): Promise<Bytes | null> {
  let fn = fnIn, sn = snIn;
  let r = seed as Bytes;
  for (const p of proof) {
    if (sn === 0n) return null;
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      if (!(fn & 1n)) while (!(fn & 1n) && fn !== 0n) (fn >>= 1n), (sn >>= 1n);
    } else r = await nodeHash(r, p);
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

/** Verify that the tree of `size2` with `root2` extends the tree of `size1` with `root1`. */
export async function verifyConsistency(size1: number | bigint, size2: number | bigint, proof: Uint8Array[], root1: Uint8Array, root2: Uint8Array): Promise<void> {
  const m = big(size1, "size1"), n = big(size2, "size2");
  if (m > n) throw new ProofError("the new tree is smaller than the old one");
  if (m === n) {
    if (proof.length || !equal(root1, root2)) throw new ProofError("equal sizes need an empty proof and equal roots");
    if (m === 0n && !equal(root1, await sha256(new Uint8Array()))) throw new ProofError("wrong empty root");
    return;
  }
  if (m === 0n) {
    if (proof.length || !equal(root1, await sha256(new Uint8Array())) || root2.length !== 32) throw new ProofError("bad proof from the empty tree");
    return;
  }
  is32(root1, root2, ...proof);
  if (!proof.length) throw new ProofError("empty consistency proof");
  const inner = bitLen((m - 1n) ^ (n - 1n));
  const shift = m.toString(2).length - m.toString(2).replace(/0+$/, "").length;
  const pow2 = (m & (m - 1n)) === 0n;
  const want = inner - shift + popCount((m - 1n) >> BigInt(inner)) + (pow2 ? 0 : 1);
  if (proof.length !== want) throw new ProofError("consistency proof of the wrong length");
  const p = pow2 ? [root1, ...proof] : proof;
  let fn = m - 1n, sn = n - 1n;
  while (fn & 1n) (fn >>= 1n), (sn >>= 1n);
  let fr = p[0] as Bytes, sr = p[0] as Bytes;
  for (const c of p.slice(1)) {
    if (sn === 0n) throw new ProofError("consistency proof too long");
    if (fn & 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!(fn & 1n)) while (!(fn & 1n) && fn !== 0n) (fn >>= 1n), (sn >>= 1n);
    } else sr = await nodeHash(sr, c);
    fn >>= 1n;
    sn >>= 1n;
  }
  if (!equal(fr, root1) || !equal(sr, root2) || sn !== 0n) throw new ProofError("consistency proof does not match the roots");
}
