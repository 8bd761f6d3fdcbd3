/** What a client checks in a registry answer (docs/registry.md §4): the checkpoint with the pinned log key and
 *  consistent with the stored one, the key entry canonical and included, for the email asked, naming the key served. */

import { fromB64, utf8 } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { openCheckpoint, verifyCheckpointConsistency, verifyCheckpointInclusion, type Checkpoint } from "./checkpoint";
import { emailHash } from "./emailhash";
import { C11Error, ProofError } from "./errors";
import { leafHash } from "./merkle";
import { parsePublicKey, type PublicKey } from "./publickey";

/** The device's trust state for one log: the pinned verifier key and the last checkpoint note accepted. */
export interface LogTrust {
  logKey: string;
  storedNote: string | null;
}
/** Fetches a consistency proof (base64 hashes) from `from` to `to` when the answer carries none for the stored size. */
export type ConsistencyFetcher = (from: bigint, to: bigint) => Promise<string[]>;

export interface Accepted {
  previous: Checkpoint | null;
  current: Checkpoint;
  /** The note to store as the new trust state (the same as before when the tree did not grow). */
  note: string;
}

/** A JSON list of base64 hashes (a proof); ProofError if it is anything else. */
export const hashes = (v: unknown): Uint8Array[] => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new ProofError("malformed proof (not a list of base64 hashes)");
  try {
    return (v as string[]).map(fromB64);
  } catch {
    throw new ProofError("malformed proof (not base64)");
  }
};

/** Accept a signed checkpoint: pinned key and origin, never smaller than the stored one, consistent with it. */
export async function acceptCheckpoint(note: string, trust: LogTrust, proof: unknown, knownSize: unknown, fetch?: ConsistencyFetcher): Promise<Accepted> {
  const current = await openCheckpoint(note, trust.logKey);
  let previous: Checkpoint | null = null;
  if (trust.storedNote !== null) {
    previous = await openCheckpoint(trust.storedNote, trust.logKey);
    if (current.size < previous.size) throw new ProofError(`the log shrank from ${previous.size} to ${current.size} entries: it was rolled back or forked`);
    let p: Uint8Array[];
    if (proof !== null && proof !== undefined && knownSize !== undefined && BigInt(knownSize as number) === previous.size) p = hashes(proof);
    else if (previous.size === 0n || previous.size === current.size) p = [];
    else if (fetch) p = hashes(await fetch(previous.size, current.size));
    else throw new ProofError("no consistency proof from the stored checkpoint");
    await verifyCheckpointConsistency(previous, current, p);
  }
  return { previous, current, note: previous && current.size === previous.size ? trust.storedNote! : note };
}

interface KeyEntry {
  action: "publish" | "change" | "remove";
  email_hash: string;
  public_key: string | null;
  time: string;
  text: string;
}
function keyEntry(text: unknown): KeyEntry {
  if (typeof text !== "string") throw new ProofError("registry answer has no log entry");
  let d: Record<string, Json>;
  try {
    d = JSON.parse(text);
  } catch {
    throw new ProofError("log entry is not JSON");
  }
  if (typeof d !== "object" || d === null || Array.isArray(d) || canonicalJson(d) !== text) throw new ProofError("log entry is not canonical JSON");
  if (d.kind !== "key" || Object.keys(d).sort().join() !== "action,email_hash,kind,public_key,time") throw new ProofError("log entry is not a key entry");
  if (!["publish", "change", "remove"].includes(d.action as string) || typeof d.email_hash !== "string") throw new ProofError("log entry has a bad action or email hash");
  if ((d.public_key === null) !== (d.action === "remove") || !(d.public_key === null || typeof d.public_key === "string")) throw new ProofError("log entry has a bad public key");
  if (typeof d.time !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(d.time)) throw new ProofError("log entry has a bad time");
  return { action: d.action as KeyEntry["action"], email_hash: d.email_hash, public_key: d.public_key as string | null, time: d.time, text };
}

/** A verified answer of `GET /api/v1/keys?email=`: the key, where it is in the log, and the checkpoint to store. */
export interface VerifiedKey {
  email: string;
  publicKey: PublicKey;
  logIndex: number;
  accepted: Accepted;
}

/** Verify a registry lookup answer for `email`; any failure is one ProofError (a loud refusal: no key is used). */
export async function verifyKeyLookup(answer: Record<string, unknown>, email: string, trust: LogTrust, fetch?: ConsistencyFetcher): Promise<VerifiedKey> {
  const e = email.trim().toLowerCase();
  try {
    if (typeof answer.checkpoint !== "string") throw new ProofError("registry answer has no checkpoint");
    const accepted = await acceptCheckpoint(answer.checkpoint, trust, answer.consistency_proof, answer.known_size, fetch);
    if (answer.tree_size === undefined || BigInt(answer.tree_size as number) !== accepted.current.size) throw new ProofError("registry answer's tree size differs from its checkpoint");
    const entry = keyEntry(answer.entry);
    const index = answer.log_index;
    if (typeof index !== "number" || !Number.isInteger(index)) throw new ProofError("registry answer has no log index");
    await verifyCheckpointInclusion(accepted.current, await leafHash(utf8(entry.text)), index, hashes(answer.inclusion_proof));
    if (entry.email_hash !== (await emailHash(e)) || entry.action === "remove" || entry.public_key === null)
      throw new ProofError(`the registry served a log entry that is not a key of ${e}`);
    if (answer.public_key !== entry.public_key) throw new ProofError("the registry served a key that differs from its log entry");
    let publicKey: PublicKey;
    try {
      publicKey = await parsePublicKey(entry.public_key);
    } catch (err) {
      throw new ProofError(`the logged key of ${e} is malformed: ${(err as Error).message}`);
    }
    return { email: e, publicKey, logIndex: index, accepted };
  } catch (err) {
    if (err instanceof ProofError) throw new ProofError(`the registry's answer for ${e} does not verify: ${err.message}`);
    if (err instanceof C11Error) throw err;
    throw new ProofError(`the registry's answer for ${e} does not verify: ${(err as Error).message}`);
  }
}

/** One verified item of an email's key history (`GET /api/v1/keys/history`). */
export interface HistoryItem {
  index: number;
  action: "publish" | "change" | "remove";
  publicKey: PublicKey | null;
  time: string;
}

/** Verify a history answer: the checkpoint as in `verifyKeyLookup`, then every entry in log order, included in it and
 *  about `email`. A page flags items whose key this device did not publish (registry.md §4). */
export async function verifyKeyHistory(answer: Record<string, unknown>, email: string, trust: LogTrust, fetch?: ConsistencyFetcher): Promise<{ items: HistoryItem[]; accepted: Accepted }> {
  const e = email.trim().toLowerCase();
  try {
    if (typeof answer.checkpoint !== "string") throw new ProofError("registry answer has no checkpoint");
    const accepted = await acceptCheckpoint(answer.checkpoint, trust, answer.consistency_proof, answer.known_size, fetch);
    if (answer.tree_size === undefined || BigInt(answer.tree_size as number) !== accepted.current.size) throw new ProofError("registry answer's tree size differs from its checkpoint");
    const want = await emailHash(e);
    const items: HistoryItem[] = [];
    let last = -1;
    for (const raw of (Array.isArray(answer.entries) ? answer.entries : []) as Record<string, unknown>[]) {
      const entry = keyEntry(raw?.entry);
      const index = raw?.index;
      if (typeof index !== "number" || !Number.isInteger(index) || index <= last) throw new ProofError("registry history is not in log order");
      last = index;
      await verifyCheckpointInclusion(accepted.current, await leafHash(utf8(entry.text)), index, hashes(raw.inclusion_proof));
      if (entry.email_hash !== want) throw new ProofError(`the registry history of ${e} holds another person's entry`);
      let publicKey: PublicKey | null = null;
      if (entry.public_key !== null) {
        try {
          publicKey = await parsePublicKey(entry.public_key);
        } catch {
          throw new ProofError(`entry ${index} holds a malformed key`);
        }
      }
      items.push({ index, action: entry.action, publicKey, time: entry.time });
    }
    return { items, accepted };
  } catch (err) {
    if (err instanceof ProofError) throw new ProofError(`the registry's history of ${e} does not verify: ${err.message}`);
    throw err;
  }
}
