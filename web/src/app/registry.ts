/** Registry lookups verified in the browser (docs/registry.md §4): the checkpoint must verify with the log key
 *  pinned for this page's life and extend the last one seen; the key's log entry must be included in it,
 *  be a `key` entry of the email asked and name exactly the key served. Any failure is a ProofError. */
import { fromB64, utf8 } from "../core/bytes";
import { canonicalJson, type Json } from "../core/canonicaljson";
import { openCheckpoint, verifyCheckpointConsistency, verifyCheckpointInclusion, type Checkpoint } from "../core/checkpoint";
import { emailHash } from "../core/emailhash";
import { ProofError } from "../core/errors";
import { leafHash } from "../core/merkle";
import { parsePublicKey, type PublicKey } from "../core/publickey";
import { ApiError, api, type Session } from "./api";

/** What this page trusts about the log: the key pinned at first use and the last checkpoint accepted. */
export interface LogTrust {
  logKey: string | null;
  last: Checkpoint | null;
}

export const newTrust = (): LogTrust => ({ logKey: null, last: null });

interface KeyAnswer {
  email: string;
  public_key: string;
  entry: string;
  log_index: number;
  tree_size: number;
  checkpoint: string;
  inclusion_proof: string[];
  consistency_proof?: string[] | null;
  known_size?: number | null;
}

function hashes(values: unknown): Uint8Array[] {
  if (!Array.isArray(values)) throw new ProofError("proof is not a list");
  return values.map((v) => {
    if (typeof v !== "string") throw new ProofError("proof hash is not base64");
    try {
      return fromB64(v);
    } catch {
      throw new ProofError("proof hash is not base64");
    }
  });
}

async function pinnedKey(trust: LogTrust): Promise<string> {
  if (trust.logKey === null) {
    const r = await fetch("/api/v1/log/key", { credentials: "omit", cache: "no-store" });
    if (!r.ok) throw new ProofError("the log's key cannot be fetched");
    trust.logKey = (await r.text()).trim();
  }
  return trust.logKey;
}

async function accept(trust: LogTrust, d: KeyAnswer): Promise<Checkpoint> {
  if (typeof d.checkpoint !== "string") throw new ProofError("registry answer has no checkpoint");
  const cp = await openCheckpoint(d.checkpoint, await pinnedKey(trust));
  if (BigInt(d.tree_size) !== cp.size) throw new ProofError("registry answer's tree size differs from its checkpoint");
  const old = trust.last;
  if (old) {
    if (cp.size < old.size) throw new ProofError(`the log shrank from ${old.size} to ${cp.size} entries: it was rolled back or forked`);
    let proof = d.consistency_proof != null && BigInt(d.known_size ?? -1) === old.size ? hashes(d.consistency_proof) : null;
    if (proof === null) {
      proof = old.size === 0n || old.size === cp.size ? [] :
        hashes((await api<{ proof: unknown }>("GET", `/api/v1/log/proof/consistency?from=${old.size}&to=${cp.size}`)).proof);
    }
    await verifyCheckpointConsistency(old, cp, proof);
  }
  if (!old || cp.size > old.size) trust.last = cp;
  return cp;
}

function entryOf(text: unknown): { action: string; email_hash: string; public_key: string | null } {
  if (typeof text !== "string") throw new ProofError("registry answer has no log entry");
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch {
    throw new ProofError("log entry is not JSON");
  }
  if (typeof d !== "object" || d === null || Array.isArray(d) || canonicalJson(d as Json) !== text)
    throw new ProofError("log entry is not canonical JSON");
  const e = d as Record<string, unknown>;
  const keys = Object.keys(e).sort().join(",");
  if (e.kind !== "key" || keys !== "action,email_hash,kind,public_key,time") throw new ProofError("log entry is not a key entry");
  if (typeof e.action !== "string" || typeof e.email_hash !== "string") throw new ProofError("log entry has a bad action or email hash");
  if (e.public_key !== null && typeof e.public_key !== "string") throw new ProofError("log entry has a bad public key");
  return { action: e.action, email_hash: e.email_hash, public_key: e.public_key as string | null };
}

/** The verified current key of `email`; RecipientError-like ApiError 404 when none is published. */
export async function lookup(trust: LogTrust, session: Session, email: string): Promise<PublicKey> {
  const addr = email.trim().toLowerCase();
  const known = trust.last ? `&known_size=${trust.last.size}` : "";
  let d: KeyAnswer;
  try {
    d = await api<KeyAnswer>("GET", `/api/v1/keys?email=${encodeURIComponent(addr)}${known}`, undefined, session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) throw new ApiError(404, "no-key", `${addr} has no published key: they need a c11 account first`);
    throw e;
  }
  try {
    const cp = await accept(trust, d);
    const entry = entryOf(d.entry);
    if (!Number.isSafeInteger(d.log_index)) throw new ProofError("registry answer has no log index");
    await verifyCheckpointInclusion(cp, await leafHash(utf8(d.entry)), d.log_index, hashes(d.inclusion_proof));
    if (entry.email_hash !== (await emailHash(addr)) || entry.action === "remove" || entry.public_key === null)
      throw new ProofError(`the registry served a log entry that is not a key of ${addr}`);
    if (d.public_key !== entry.public_key) throw new ProofError("the registry served a key that differs from its log entry");
    try {
      return await parsePublicKey(entry.public_key);
    } catch (e) {
      throw new ProofError(`the logged key of ${addr} is malformed: ${(e as Error).message}`);
    }
  } catch (e) {
    if (e instanceof ProofError) throw new ProofError(`the registry's answer for ${addr} does not verify: ${e.message}`);
    throw e;
  }
}
