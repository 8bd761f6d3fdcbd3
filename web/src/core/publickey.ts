/** Public keys (docs/format.md §3): key IDs, fingerprints and the one-line text form `c11:<type>:<base64url>`.
 *  Parsing refuses wrong checksums, lengths, non-canonical base64 and keys that cannot make a shared secret. */

import { b64url, concat, equal, fromB64url, hex, utf8, type Bytes } from "./bytes";
import { RecipientError } from "./errors";
import { PUBLIC_SIZE, isKemName, validatePublic, type KemName } from "./kem";
import { sha256 } from "./primitives";

const PREFIX = "c11:";

/** 16-byte key ID: SHA-256("c11/v1 key id\0" ‖ type ‖ "\0" ‖ pk)[0:16]. */
export async function keyId(type: string, pk: Uint8Array): Promise<Bytes> {
  return (await sha256(concat(utf8("c11/v1 key id\x00" + type + "\x00"), pk))).slice(0, 16);
}
async function checksum(type: string, body: Uint8Array): Promise<Bytes> {
  return (await sha256(concat(utf8("c11/v1 public key\x00" + type + "\x00"), body))).slice(0, 4);
}

/** A recipient's public encryption key, with its Ed25519 signing key when the line carries one. */
export interface PublicKey {
  readonly kem: KemName;
  readonly enc: Bytes;
  readonly sig: Bytes | null;
  readonly keyId: Bytes;
  readonly fingerprint: string;
  readonly line: string;
}

export async function makePublicKey(kem: KemName, enc: Bytes, sig: Bytes | null): Promise<PublicKey> {
  const id = await keyId(kem, enc);
  const body = concat(enc, sig ?? new Uint8Array());
  const line = `${PREFIX}${kem}:${b64url(concat(body, await checksum(kem, body)))}`;
  return { kem, enc, sig, keyId: id, fingerprint: hex(id), line };
}

const short = (t: string) => (t.length <= 40 ? t : t.slice(0, 24) + "…" + t.slice(-8));

/** Parse a public key line (ASCII white space allowed around it, none inside); RecipientError otherwise. */
export async function parsePublicKey(text: string): Promise<PublicKey> {
  const t = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  const parts = t.split(":");
  if (!t.startsWith(PREFIX) || parts.length !== 3)
    throw new RecipientError(`not a c11 public key (expected ${PREFIX}<type>:<key>): ${short(t)}`);
  const kem = parts[1]!;
  if (!isKemName(kem)) throw new RecipientError(`unknown key type '${kem}' (known: mlkem768x25519, x25519)`);
  let data: Bytes;
  try {
    data = fromB64url(parts[2]!);
  } catch {
    throw new RecipientError("non-canonical base64 in public key");
  }
  const body = data.slice(0, Math.max(0, data.length - 4));
  if (data.length < 4 || !equal(await checksum(kem, body), data.slice(data.length - 4)))
    throw new RecipientError(`public key checksum mismatch (copied incompletely?): ${short(t)}`);
  const n = PUBLIC_SIZE[kem];
  if (body.length !== n && body.length !== n + 32) throw new RecipientError(`public key has the wrong length for ${kem}: ${short(t)}`);
  await validatePublic(kem, body.slice(0, n));
  return makePublicKey(kem, body.slice(0, n), body.length > n ? body.slice(n) : null);
}
