/** WebCrypto calls for the standard primitives: SHA-256, HKDF-SHA256, HMAC-SHA256, AES-256-GCM, Ed25519, X25519.
 *  Thin typed wrappers; nothing cryptographic is implemented here. */

import { concat, fromB64url, type Bytes } from "./bytes";

const subtle = () => globalThis.crypto.subtle;

export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle().digest("SHA-256", data as BufferSource));
}

export function randomBytes(n: number): Bytes {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export async function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length = 32): Promise<Bytes> {
  const key = await subtle().importKey("raw", ikm as BufferSource, "HKDF", false, ["deriveBits"]);
  const bits = await subtle().deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: info as BufferSource },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const k = await subtle().importKey("raw", key as BufferSource, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", k, data as BufferSource));
}

export function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle().importKey("raw", raw as BufferSource, "AES-GCM", false, ["encrypt", "decrypt"]);
}
export async function aesSeal(key: CryptoKey, nonce: Uint8Array, pt: Uint8Array, aad?: Uint8Array): Promise<Bytes> {
  const p: AesGcmParams = { name: "AES-GCM", iv: nonce as BufferSource };
  if (aad) p.additionalData = aad as BufferSource;
  return new Uint8Array(await subtle().encrypt(p, key, pt as BufferSource));
}
/** AES-256-GCM open; returns null when the tag does not verify. */
export async function aesOpen(key: CryptoKey, nonce: Uint8Array, ct: Uint8Array, aad?: Uint8Array): Promise<Bytes | null> {
  const p: AesGcmParams = { name: "AES-GCM", iv: nonce as BufferSource };
  if (aad) p.additionalData = aad as BufferSource;
  try {
    return new Uint8Array(await subtle().decrypt(p, key, ct as BufferSource));
  } catch {
    return null;
  }
}

const ED_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
const X_PKCS8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);

/** An Ed25519 signer from its 32-byte RFC 8032 seed. */
export interface Signer {
  readonly publicKey: Bytes;
  sign(message: Uint8Array): Promise<Bytes>;
}
export async function ed25519Signer(seed: Uint8Array): Promise<Signer> {
  const key = await subtle().importKey("pkcs8", concat(ED_PKCS8, seed) as BufferSource, "Ed25519", true, ["sign"]);
  const jwk = await subtle().exportKey("jwk", key);
  const publicKey = fromB64url(jwk.x!);
  return {
    publicKey,
    sign: async (m) => new Uint8Array(await subtle().sign("Ed25519", key, m as BufferSource)),
  };
}
export async function ed25519Verify(publicKey: Uint8Array, sig: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  try {
    const key = await subtle().importKey("raw", publicKey as BufferSource, "Ed25519", false, ["verify"]);
    return await subtle().verify("Ed25519", key, sig as BufferSource, message as BufferSource);
  } catch {
    return false;
  }
}

/** The X25519 public key of a 32-byte private key. */
export async function x25519Public(seed: Uint8Array): Promise<Bytes> {
  const key = await subtle().importKey("pkcs8", concat(X_PKCS8, seed) as BufferSource, "X25519", true, ["deriveBits"]);
  return fromB64url((await subtle().exportKey("jwk", key)).x!);
}
/** Whether an X25519 exchange with `point` gives a non-zero secret (refuses low-order points, docs/format.md §3). */
export async function x25519Usable(point: Uint8Array): Promise<boolean> {
  try {
    const priv = await subtle().importKey("pkcs8", concat(X_PKCS8, new Uint8Array(32).fill(9)) as BufferSource, "X25519", false, ["deriveBits"]);
    const pub = await subtle().importKey("raw", point as BufferSource, "X25519", false, []);
    const s = new Uint8Array(await subtle().deriveBits({ name: "X25519", public: pub } as EcdhKeyDeriveParams, priv, 256));
    return s.some((x) => x !== 0);
  } catch {
    return false;
  }
}
