/** Log-backed objects (docs/organizations.md): an object (an organization's policy document, a group key record)
 *  committed to by a log entry that carries the digest of its canonical text, served with the entry's inclusion
 *  proof and the signed checkpoint. The parts shared by core/orgpolicy.ts and core/groupkeylog.ts: strict canonical
 *  JSON objects, the entry fields' checks (port of c11.log.entries) and the proof of an answer, checked against the
 *  pinned log key (acceptCheckpoint, shared with registry lookups). */
import { utf8 } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { verifyCheckpointInclusion } from "./checkpoint";
import { C11Error, ProofError } from "./errors";
import { leafHash } from "./merkle";
import { acceptCheckpoint, hashes, type Accepted, type ConsistencyFetcher, type LogTrust } from "./registry";

/** A sequence or version number: 1 to JavaScript's largest safe integer (c11.log.entries.MAX_SEQ). */
export const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
/** An organization or group ID: 1 to 64 characters. */
export const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 64;

/** The object `text` is the canonical JSON of, or `err` (`what` is not JSON / canonical JSON). */
export function canonicalObject(text: string, what: string, err: (m: string) => C11Error): Record<string, Json> {
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch {
    throw err(`${what} is not JSON`);
  }
  if (typeof d !== "object" || d === null || Array.isArray(d) || canonicalJson(d as Json) !== text) throw err(`${what} is not canonical JSON`);
  return d as Record<string, Json>;
}

/** A log entry of `kind` with exactly the (sorted) `fields`, strictly (ProofError "log entry is not `what`"). */
export function entryFields(text: string, kind: string, fields: string, what: string): Record<string, Json> {
  const d = canonicalObject(text, "log entry", (m) => new ProofError(m));
  if (d.kind !== kind || Object.keys(d).sort().join() !== fields) throw new ProofError(`log entry is not ${what}`);
  return d;
}

/** The entry's `digest`: 64 lowercase hex digits. */
export function entryDigest(d: Record<string, Json>, what: string): string {
  if (typeof d.digest !== "string" || !/^[0-9a-f]{64}$/.test(d.digest)) throw new ProofError(`${what} has a bad digest`);
  return d.digest;
}

/** The entry's `time`: RFC 3339 in UTC. */
export function entryTime(d: Record<string, Json>): string {
  if (typeof d.time !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(d.time)) throw new ProofError("log entry has a bad time");
  return d.time;
}

/** What an answer's ProofErrors say. */
export interface ProofMessages {
  /** The answer is not an object. */
  noProof: string;
  /** "the … answer": `${answer} has no checkpoint`, `${answer}'s tree size differs from its checkpoint`. */
  answer: string;
  /** The entry or the object's text is missing. */
  lacks: string;
  /** The log index is not a non-negative integer. */
  badIndex: string;
}

/** An answer's entry proven in its checkpoint; `object` is the text of the answer's field that the entry should
 *  commit to (the caller checks the digest and the object). */
export interface ProvenEntry {
  accepted: Accepted;
  entry: string;
  object: string;
  logIndex: number;
}

/** Check the proof of a log-backed answer: `{checkpoint, tree_size, entry, [field], log_index, inclusion_proof
 *  [, known_size, consistency_proof]}`: the checkpoint as every log answer (with the pinned log key, refusing a
 *  rolled-back log), its tree size, and the entry included in it. Any failure is a ProofError. */
export async function proveEntry(proof: unknown, field: string, m: ProofMessages, trust: LogTrust, fetch?: ConsistencyFetcher): Promise<ProvenEntry> {
  if (typeof proof !== "object" || proof === null) throw new ProofError(m.noProof);
  const p = proof as Record<string, unknown>;
  if (typeof p.checkpoint !== "string") throw new ProofError(`${m.answer} has no checkpoint`);
  const accepted = await acceptCheckpoint(p.checkpoint, trust, p.consistency_proof, p.known_size, fetch);
  if (p.tree_size === undefined || BigInt(p.tree_size as number) !== accepted.current.size) throw new ProofError(`${m.answer}'s tree size differs from its checkpoint`);
  const entry = p.entry;
  const object = p[field];
  if (typeof entry !== "string" || typeof object !== "string") throw new ProofError(m.lacks);
  const index = p.log_index;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0) throw new ProofError(m.badIndex);
  await verifyCheckpointInclusion(accepted.current, await leafHash(utf8(entry)), index, hashes(p.inclusion_proof));
  return { accepted, entry, object, logIndex: index };
}
