/** Temporary keys of invitations (docs/keyserver.md "Invitations and temporary keys"): a lookup answer verified
 *  in the log like a registry key, and the claimed temporary private key opened with the invitee's own key. */

import { concat, fromB64, utf8 } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { verifyCheckpointInclusion } from "./checkpoint";
import { emailHash } from "./emailhash";
import { IntegrityError, ProofError } from "./errors";
import { makeIdentity, type Identity } from "./identity";
import { leafHash } from "./merkle";
import { parsePublicKey, type PublicKey } from "./publickey";
import { acceptCheckpoint, type Accepted, type ConsistencyFetcher, type LogTrust } from "./registry";

export interface VerifiedTemporaryKey {
  email: string;
  publicKey: PublicKey;
  expiresAt: string;
  logIndex: number;
  accepted: Accepted;
}

/** Verify `GET /api/v1/invitations/key?email=`: checkpoint, inclusion of a `tempkey` `create` entry for the email
 *  naming exactly the key served. The key is not zero-trust: list it in a temporary-keys stanza (format.md §2.7). */
export async function verifyTemporaryKeyLookup(answer: Record<string, unknown>, email: string, trust: LogTrust, fetch?: ConsistencyFetcher): Promise<VerifiedTemporaryKey> {
  const e = email.trim().toLowerCase();
  if (typeof answer.checkpoint !== "string") throw new ProofError("temporary key answer has no checkpoint");
  const accepted = await acceptCheckpoint(answer.checkpoint, trust, answer.consistency_proof, answer.known_size, fetch);
  const text = answer.entry, index = answer.log_index, proof = answer.inclusion_proof;
  if (typeof text !== "string" || typeof index !== "number" || !Number.isInteger(index) || !Array.isArray(proof)) throw new ProofError("malformed temporary key answer");
  let entry: Record<string, Json>;
  try {
    entry = JSON.parse(text);
    if (canonicalJson(entry) !== text) throw new Error();
  } catch {
    throw new ProofError("malformed temporary key answer (entry)");
  }
  let hashes: Uint8Array[];
  try {
    hashes = (proof as string[]).map(fromB64);
  } catch {
    throw new ProofError("malformed temporary key answer (proof)");
  }
  await verifyCheckpointInclusion(accepted.current, await leafHash(utf8(text)), index, hashes);
  if (entry.kind !== "tempkey" || entry.action !== "create" || entry.email_hash !== (await emailHash(e)) || entry.public_key !== answer.public_key)
    throw new ProofError(`the server served a temporary key for ${e} that differs from its log entry`);
  let publicKey: PublicKey;
  try {
    publicKey = await parsePublicKey(answer.public_key as string);
  } catch {
    throw new ProofError("the logged temporary key is malformed");
  }
  return { email: e, publicKey, expiresAt: String(answer.expires_at), logIndex: index, accepted };
}

/** Open the answer of `POST /api/v1/invitations/claim` ({email, sealed, public_key}) with the invitee's published
 *  identity: the temporary key, used to decrypt only (never to sign). */
export async function openTemporaryKeyRelease(answer: { email: string; sealed: string; public_key: string }, me: Identity): Promise<Identity> {
  const info = concat(utf8("c11/v1 temporary key release\x00"), utf8(await emailHash(answer.email)), me.public.keyId);
  const seeds = await me.open(fromB64(answer.sealed), info);
  const pub = await parsePublicKey(answer.public_key);
  if (seeds.length !== 64) throw new IntegrityError("the temporary key released is malformed");
  const temp = await makeIdentity(`${answer.email} (temporary)`, pub.kem, seeds.slice(0, 32), seeds.slice(32));
  if (temp.public.fingerprint !== pub.fingerprint) throw new IntegrityError("the temporary key released does not match its public key");
  return temp;
}

