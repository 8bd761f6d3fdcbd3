/** The two recipient key types (docs/format.md §3–§4): X-Wing (`mlkem768x25519`) and `x25519`, and single-shot HPKE.
 *  HPKE is @hpke/core (WebCrypto AES-256-GCM, HKDF, X25519); X-Wing is @noble/post-quantum behind its KEM interface. */

import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, type KemInterface } from "@hpke/core";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { concat, type Bytes } from "./bytes";
import { IntegrityError, RecipientError } from "./errors";
import { x25519Public, x25519Usable } from "./primitives";

export const HYBRID = "mlkem768x25519";
export const CLASSIC = "x25519";
export type KemName = typeof HYBRID | typeof CLASSIC;
export const PUBLIC_SIZE: Record<KemName, number> = { [HYBRID]: 1216, [CLASSIC]: 32 };
export const ENC_SIZE: Record<KemName, number> = { [HYBRID]: 1120, [CLASSIC]: 32 };

export function isKemName(t: string): t is KemName {
  return t === HYBRID || t === CLASSIC;
}

/** A raw key held for the X-Wing adapter (HPKE passes keys through to the KEM untouched). */
interface RawKey {
  readonly type: "public" | "private";
  readonly algorithm: { name: string };
  readonly extractable: boolean;
  readonly usages: KeyUsage[];
  readonly raw: Uint8Array;
}
const rawKey = (raw: Uint8Array, type: "public" | "private"): CryptoKey =>
  ({ type, algorithm: { name: "X-Wing" }, extractable: true, usages: [], raw }) as RawKey as unknown as CryptoKey;
const rawOf = (k: CryptoKey | CryptoKeyPair): Uint8Array => {
  const key = ("privateKey" in k ? k.privateKey : k) as unknown as RawKey;
  return key.raw;
};
const u = (v: ArrayBufferLike | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v);
const buf = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer;

/** X-Wing (draft-connolly-cfrg-xwing-kem, label last) as an HPKE KEM, id 0x647A (draft-ietf-hpke-pq). */
class XWingKem implements KemInterface {
  readonly id = 0x647a as KemInterface["id"];
  readonly secretSize = 32;
  readonly encSize = 1120;
  readonly publicKeySize = 1216;
  readonly privateKeySize = 32;
  async serializePublicKey(key: CryptoKey) {
    return buf(rawOf(key));
  }
  async deserializePublicKey(key: ArrayBufferLike | ArrayBufferView) {
    return rawKey(u(key).slice(), "public");
  }
  async serializePrivateKey(key: CryptoKey) {
    return buf(rawOf(key));
  }
  async deserializePrivateKey(key: ArrayBufferLike | ArrayBufferView) {
    return rawKey(u(key).slice(), "private");
  }
  async importKey(_f: "raw" | "jwk", key: ArrayBuffer | JsonWebKey, isPublic = true) {
    return rawKey(u(key as ArrayBuffer).slice(), isPublic ? "public" : "private");
  }
  async generateKeyPair(): Promise<CryptoKeyPair> {
    const { secretKey, publicKey } = ml_kem768_x25519.keygen();
    return { privateKey: rawKey(secretKey, "private"), publicKey: rawKey(publicKey, "public") };
  }
  async deriveKeyPair(): Promise<CryptoKeyPair> {
    throw new Error("X-Wing DeriveKeyPair is not used by c11");
  }
  async encap(params: { recipientPublicKey: CryptoKey; ekm?: unknown }) {
    const seed = params.ekm instanceof Uint8Array ? params.ekm : undefined;
    const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(rawOf(params.recipientPublicKey), seed);
    return { sharedSecret: buf(sharedSecret), enc: buf(cipherText) };
  }
  async decap(params: { recipientKey: CryptoKey | CryptoKeyPair; enc: ArrayBufferLike | ArrayBufferView }) {
    return buf(ml_kem768_x25519.decapsulate(u(params.enc), rawOf(params.recipientKey)));
  }
}

function suite(kem: KemName): CipherSuite {
  return new CipherSuite({
    kem: kem === HYBRID ? new XWingKem() : new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes256Gcm(),
  });
}

/** The encoded public key of a 32-byte seed: X25519 32 bytes; X-Wing ML-KEM ek (1,184) ‖ X25519 (32). */
export async function kemPublic(kem: KemName, seed: Uint8Array): Promise<Bytes> {
  if (seed.length !== 32) throw new RecipientError(`a ${kem} private seed must be 32 bytes`);
  if (kem === CLASSIC) return x25519Public(seed);
  return ml_kem768_x25519.keygen(seed).publicKey as Bytes;
}

/** Refuse a public key that cannot make a shared secret (docs/format.md §3). */
export async function validatePublic(kem: KemName, pk: Uint8Array): Promise<void> {
  if (pk.length !== PUBLIC_SIZE[kem]) throw new RecipientError(`a ${kem} public key must be ${PUBLIC_SIZE[kem]} bytes`);
  if (!(await x25519Usable(pk.subarray(pk.length - 32))))
    throw new RecipientError(`invalid ${kem} public key (a low-order X25519 point)`);
  if (kem === HYBRID) {
    try {
      ml_kem768_x25519.encapsulate(pk);
    } catch {
      throw new RecipientError(`invalid ${kem} public key (ML-KEM modulus check)`);
    }
  }
}

/** HPKE base-mode single-shot Seal: enc ‖ ciphertext. `ekm` (tests only) fixes the encapsulation randomness. */
export async function hpkeSeal(kem: KemName, pk: Uint8Array, info: Uint8Array, pt: Uint8Array, ekm?: Uint8Array): Promise<Bytes> {
  const s = suite(kem);
  try {
    const recipientPublicKey = await s.kem.deserializePublicKey(pk);
    const params = { recipientPublicKey, info, ...(ekm ? { ekm } : {}) };
    const { ct, enc } = await s.seal(params, pt);
    return concat(new Uint8Array(enc), new Uint8Array(ct));
  } catch (e) {
    throw new RecipientError(`invalid ${kem} public key (it cannot make a shared secret)`);
  }
}

/** HPKE base-mode single-shot Open of enc ‖ ciphertext with the recipient's 32-byte seed; IntegrityError on failure. */
export async function hpkeOpen(kem: KemName, seed: Uint8Array, sealed: Uint8Array, info: Uint8Array): Promise<Bytes> {
  const s = suite(kem);
  const n = ENC_SIZE[kem];
  try {
    const recipientKey =
      kem === HYBRID ? rawKey(seed, "private") : await s.kem.importKey("raw", seed.slice().buffer as ArrayBuffer, false);
    const pt = await s.open({ recipientKey, enc: sealed.subarray(0, n), info }, sealed.subarray(n));
    return new Uint8Array(pt);
  } catch {
    throw new IntegrityError("a recipient stanza does not decrypt: the header was modified");
  }
}
