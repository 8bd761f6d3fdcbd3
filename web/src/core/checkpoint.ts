/** C2SP signed notes and checkpoints (docs/log.md §4–§5), verification only, byte-compatible with Go's sumdb/note.
 *  Ed25519 is WebCrypto; every failure is one ProofError. A client pins the log's verifier key string. */

import { concat, fromB64, fromUtf8, utf8, type Bytes } from "./bytes";
import { ProofError } from "./errors";
import { verifyConsistency, verifyInclusion } from "./merkle";
import { ed25519Verify, sha256 } from "./primitives";

const SPACES = /[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const CONTROL = /[\x00-\x09\x0b-\x1f]/;
const PREFIX = "\u2014 ";

export const isValidKeyName = (n: string): boolean => n !== "" && !n.includes("+") && !SPACES.test(n);

async function keyIdOf(name: string, typedKey: Uint8Array): Promise<number> {
  const d = await sha256(concat(utf8(name + "\n"), typedKey));
  return new DataView(d.buffer).getUint32(0);
}
function b64d(s: string): Bytes {
  try {
    return fromB64(s);
  } catch {
    throw new ProofError("malformed base64 in a note");
  }
}

export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Bytes;
}

/** Parse `<name>+<8 hex key ID>+<base64(0x01 ‖ public key)>`, checking the key ID. */
export async function parseVerifierKey(vkey: string): Promise<NoteVerifier> {
  const i = vkey.indexOf("+");
  const name = i < 0 ? vkey : vkey.slice(0, i);
  const rest = i < 0 ? "" : vkey.slice(i + 1);
  const j = rest.indexOf("+");
  const hash = j < 0 ? rest : rest.slice(0, j);
  let key: Bytes;
  try {
    key = fromB64(j < 0 ? "" : rest.slice(j + 1));
  } catch {
    throw new ProofError("malformed note verifier key");
  }
  if (!isValidKeyName(name) || !/^[0-9a-fA-F]{8}$/.test(hash) || key.length === 0) throw new ProofError("malformed note verifier key");
  if (parseInt(hash, 16) !== (await keyIdOf(name, key))) throw new ProofError("note verifier key has a wrong key ID");
  if (key[0] !== 1) throw new ProofError("note verifier key uses an unknown signature algorithm");
  if (key.length !== 33) throw new ProofError("malformed note verifier key");
  return { name, keyId: parseInt(hash, 16), publicKey: key.slice(1) };
}

export interface NoteSignature {
  name: string;
  keyId: number;
}
export interface Note {
  text: string;
  signatures: NoteSignature[];
}

/** Open a signed note: verify the signatures of known keys (unknown ones are ignored); at least one must verify. */
export async function openNote(message: Uint8Array | string, verifiers: NoteVerifier[]): Promise<Note> {
  let msg: string;
  try {
    msg = typeof message === "string" ? message : fromUtf8(message);
  } catch {
    throw new ProofError("malformed note: not valid UTF-8");
  }
  if (CONTROL.test(msg)) throw new ProofError("malformed note: control character");
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) throw new ProofError("malformed note: no blank line before the signatures");
  const text = msg.slice(0, split + 1), block = msg.slice(split + 2);
  if (!block.endsWith("\n")) throw new ProofError("malformed note: signature block must end in a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > 100) throw new ProofError("malformed note: more than 100 signatures");
  const known = new Map(verifiers.map((v) => [`${v.name}\n${v.keyId}`, v]));
  const seen = new Set<string>();
  const verified: NoteSignature[] = [];
  const textBytes = utf8(text);
  for (const line of lines) {
    if (!line.startsWith(PREFIX)) throw new ProofError("malformed note: line in the signature block is not a signature");
    const body = line.slice(PREFIX.length);
    const sp = body.indexOf(" ");
    const name = sp < 0 ? body : body.slice(0, sp);
    const raw = b64d(sp < 0 ? "" : body.slice(sp + 1));
    if (!isValidKeyName(name) || raw.length < 5) throw new ProofError("malformed note: bad signature line");
    const keyId = new DataView(raw.buffer).getUint32(0);
    const k = `${name}\n${keyId}`;
    const v = known.get(k);
    if (!v || seen.has(k)) continue;
    seen.add(k);
    if (!(await ed25519Verify(v.publicKey, raw.subarray(4), textBytes))) throw new ProofError(`invalid signature for key ${name}+${keyId.toString(16).padStart(8, "0")}`);
    verified.push({ name, keyId });
  }
  if (!verified.length) throw new ProofError("note has no signature from a known key");
  return { text, signatures: verified };
}

export interface Checkpoint {
  origin: string;
  size: bigint;
  rootHash: Bytes;
  extensions: string[];
}

export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new ProofError("malformed checkpoint: body must end in a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new ProofError("malformed checkpoint: fewer than three lines");
  if (lines.some((l) => !l)) throw new ProofError("malformed checkpoint: empty line");
  if (lines.some((l) => CONTROL.test(l))) throw new ProofError("malformed checkpoint: control character");
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || BigInt(sizeText) > (1n << 64n) - 1n) throw new ProofError("malformed checkpoint: tree size is not a canonical decimal number");
  const root = b64d(rootText);
  if (root.length !== 32) throw new ProofError("malformed checkpoint: root hash is not 32 bytes");
  return { origin, size: BigInt(sizeText), rootHash: root, extensions };
}

/** Open a signed checkpoint with the pinned log verifier key; its origin must be `origin` (default: the key name). */
export async function openCheckpoint(message: Uint8Array | string, logKey: string, origin?: string, others: string[] = []): Promise<Checkpoint> {
  const v = await parseVerifierKey(logKey);
  const note = await openNote(message, [v, ...(await Promise.all(others.map(parseVerifierKey)))]);
  if (!note.signatures.some((s) => s.name === v.name && s.keyId === v.keyId))
    throw new ProofError(`checkpoint is not signed by the log key ${v.name}+${v.keyId.toString(16).padStart(8, "0")}`);
  const cp = parseCheckpointText(note.text);
  if (cp.origin !== (origin ?? v.name)) throw new ProofError(`checkpoint origin '${cp.origin}' is not '${origin ?? v.name}'`);
  return cp;
}

export async function verifyCheckpointConsistency(old: Checkpoint, next: Checkpoint, proof: Uint8Array[]): Promise<void> {
  if (old.origin !== next.origin) throw new ProofError("checkpoints come from different logs");
  await verifyConsistency(old.size, next.size, proof, old.rootHash, next.rootHash);
}
export async function verifyCheckpointInclusion(cp: Checkpoint, leafHash: Uint8Array, index: number | bigint, proof: Uint8Array[]): Promise<void> {
  await verifyInclusion(index, cp.size, leafHash, proof, cp.rootHash);
}

