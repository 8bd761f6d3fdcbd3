/** Key files (docs/format.md §6): read and write the `c11 keygen` JSON, seeds sealed with scrypt + AES-256-GCM.
 *  scrypt is @noble/hashes; AES-GCM is WebCrypto. The public part is readable without the passphrase. */

import { scryptAsync } from "@noble/hashes/scrypt.js";
import { b64, concat, equal, fromB64, fromUtf8, utf8, type Bytes } from "./bytes";
import { KeyFileError, RecipientError, WrongPassphraseError } from "./errors";
import { makeIdentity, type Identity } from "./identity";
import { labelProblem } from "./labels";
import { parsePublicKey, type PublicKey } from "./publickey";
import { aesKey, aesOpen, aesSeal, randomBytes } from "./primitives";

export const FORMAT = "c11-key/v1";
const NOT_INT = Symbol("not an integer");

/** JSON.parse where a number written with a fraction or exponent becomes a marker (16.0 is not an integer). */
function parseStrict(text: string): unknown {
  const rev = (_k: string, v: unknown, ctx?: { source?: string }) =>
    typeof v === "number" && ctx?.source !== undefined && !/^-?(0|[1-9][0-9]*)$/.test(ctx.source) ? NOT_INT : v;
  return JSON.parse(text, rev as (k: string, v: unknown) => unknown);
}

export function scryptParamsOk(logN: number, r: number, p: number): boolean {
  return 10 <= logN && logN <= 20 && 1 <= r && r <= 32 && 1 <= p && p <= 16 && logN < 16 * r && 128 * r * 2 ** logN <= 256 * 2 ** 20;
}

async function kek(pass: Uint8Array, salt: Uint8Array, logN: number, r: number, p: number): Promise<Bytes> {
  return (await scryptAsync(pass, salt, { N: 2 ** logN, r, p, dkLen: 32, maxmem: 257 * 2 ** 20 })) as Bytes;
}
const aad = (line: string) => concat(utf8("c11/v1 key file\x00"), utf8(line));

/** A parsed key file whose public part is known; `unlock` gives the identity. */
export interface KeyFile {
  label: string;
  public: PublicKey;
  created: string | null;
  encrypted: boolean;
  unlock(passphrase?: string): Promise<Identity>;
}

const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

export async function parseKeyFile(text: string | Uint8Array, source = "key file"): Promise<KeyFile> {
  let doc: unknown;
  try {
    doc = parseStrict(typeof text === "string" ? text : fromUtf8(text));
  } catch {
    throw new KeyFileError(`${source}: not a c11 key file`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || (doc as { format?: unknown }).format !== FORMAT)
    throw new KeyFileError(`${source}: not a c11 key file`);
  const d = doc as Record<string, unknown>;
  const bad = (why: string) => new KeyFileError(`${source}: malformed key file (${why})`);
  const label = Object.hasOwn(d, "label") ? d.label : "";
  const { public: line, created, fingerprint: fp, secret } = d;
  if (typeof label !== "string" || typeof line !== "string" || typeof secret !== "object" || secret === null || Array.isArray(secret))
    throw bad("label, public and secret must be a string, a string and an object");
  const lp = labelProblem(label);
  if (lp) throw bad(`the label ${lp}`);
  let pub: PublicKey;
  try {
    pub = await parsePublicKey(line);
  } catch (e) {
    throw bad(e instanceof RecipientError ? e.message : "public key");
  }
  if (!pub.sig) throw bad("the public line of a key file must include the signing key");
  if (fp !== undefined && fp !== null && (typeof fp !== "string" || !/^[0-9a-f]{32}$/.test(fp) || fp !== pub.fingerprint))
    throw bad("fingerprint is not the public key's (32 lowercase hex digits)");
  if (created !== undefined && created !== null && (typeof created !== "string" || !CREATED.test(created)))
    throw bad("created is not YYYY-MM-DDTHH:MM:SSZ");
  const s = secret as Record<string, unknown>;
  if (typeof s.protection !== "string") throw bad("protection is not a string");
  if (s.protection !== "none" && s.protection !== "scrypt") throw new KeyFileError(`${source}: unknown key protection '${s.protection}'`);
  const b64field = (v: unknown): Bytes => {
    if (typeof v !== "string") throw bad("base64 value is not a string");
    try {
      return fromB64(v);
    } catch {
      throw bad("non-canonical base64");
    }
  };
  const unlock = async (passphrase?: string): Promise<Identity> => {
    let seeds: Bytes | null;
    if (s.protection === "none") seeds = b64field(s.seeds);
    else {
      if (passphrase === undefined) throw new WrongPassphraseError(`${source}: a passphrase is needed`);
      const { log_n: logN, r, p } = s;
      if (!isInt(logN) || !isInt(r) || !isInt(p)) throw bad("scrypt parameters are not integers");
      if (!scryptParamsOk(logN, r, p))
        throw new KeyFileError(`${source}: scrypt parameters out of range (10 <= log_n <= 20, 1 <= r <= 32, 1 <= p <= 16, log_n < 16 r, at most 256 MiB)`);
      const salt = b64field(s.salt), nonce = b64field(s.nonce), ct = b64field(s.ciphertext);
      if (salt.length !== 16 || nonce.length !== 12) throw bad("salt or nonce length");
      const tries = [utf8(passphrase.normalize("NFC"))];
      if (!equal(tries[0]!, utf8(passphrase))) tries.push(utf8(passphrase));
      seeds = null;
      for (const raw of tries) {
        seeds = await aesOpen(await aesKey(await kek(raw, salt, logN, r, p)), nonce, ct, aad(pub.line));
        if (seeds) break;
      }
      if (!seeds) throw new WrongPassphraseError(`${source}: wrong passphrase (or the key file was modified)`);
    }
    if (seeds.length !== 64) throw bad("seed length");
    const id = await makeIdentity(label, pub.kem, seeds.slice(0, 32), seeds.slice(32));
    if (id.public.line !== pub.line) throw new KeyFileError(`${source}: the private key does not match the public key`);
    return id;
  };
  return { label, public: pub, created: typeof created === "string" ? created : null, encrypted: s.protection === "scrypt", unlock };
}

/** The key file text for an identity (as `c11 keygen` writes it); with a passphrase, scrypt log_n 16, r 8, p 2. */
export async function writeKeyFile(id: Identity, passphrase: string | null, created = new Date()): Promise<string> {
  const lp = labelProblem(id.label);
  if (lp) throw new KeyFileError("the label may not hold control or formatting characters or exceed 256 bytes");
  const seeds = concat(id.encSeed, id.sigSeed);
  let secret: Record<string, unknown>;
  if (passphrase === null) secret = { protection: "none", seeds: b64(seeds) };
  else {
    if (!passphrase) throw new KeyFileError("the passphrase is empty");
    const salt = randomBytes(16), nonce = randomBytes(12);
    const k = await aesKey(await kek(utf8(passphrase.normalize("NFC")), salt, 16, 8, 2));
    secret = { protection: "scrypt", log_n: 16, r: 8, p: 2, salt: b64(salt), nonce: b64(nonce), ciphertext: b64(await aesSeal(k, nonce, seeds, aad(id.public.line))) };
  }
  const doc = {
    format: FORMAT,
    label: id.label,
    created: created.toISOString().replace(/\.\d{3}Z$/, "Z"),
    fingerprint: id.public.fingerprint,
    public: id.public.line,
    secret,
  };
  return JSON.stringify(doc, null, 2) + "\n";
}
