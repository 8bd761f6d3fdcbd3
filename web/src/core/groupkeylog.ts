/** Group keys proven in the log (docs/organizations.md "Group keys in the log"; port of c11.groupkey.GroupKeyRecord,
 *  c11.log.entries.GroupKeyEntry and c11.client.groups.verify_group_key; vectors tests/vectors/groupkeylog/).
 *  A group's public key is encrypted to only when its `groupkey` log entry is proven in a checkpoint accepted with
 *  the pinned log key (acceptCheckpoint, shared with registry lookups and the org policy) and commits to the record
 *  (organization, group ID and name, version, public key line); any failure is one ProofError. */
import { hex, utf8 } from "./bytes";
import { FormatError, ProofError, RecipientError } from "./errors";
import { canonicalObject, entryDigest, entryFields, entryTime, isId, isSeq as isVersion, proveEntry } from "./logbacked";
import { sha256 } from "./primitives";
import { parsePublicKey, type PublicKey } from "./publickey";
import { type Accepted, type ConsistencyFetcher, type LogTrust } from "./registry";

export const GROUP_KEY_RECORD_TYPE = "c11-group-key-record/v1";
const MAX_RECORD = 64 << 10;

/** hex SHA-256("c11/v1 group key" ‖ 0x00 ‖ record bytes). */
export async function groupKeyDigest(record: string): Promise<string> {
  return hex(await sha256(utf8("c11/v1 group key\x00" + record)));
}

export interface GroupKeyEntry {
  org: string;
  group: string;
  version: number;
  digest: string;
  time: string;
}

/** A `groupkey` entry `{"digest", "group", "kind", "org", "time", "version"}`, strictly (ProofError otherwise). */
export function parseGroupKeyEntry(text: string): GroupKeyEntry {
  const d = entryFields(text, "groupkey", "digest,group,kind,org,time,version", "a group key entry");
  if (!isId(d.org)) throw new ProofError("group key entry has a bad organization ID");
  if (!isId(d.group)) throw new ProofError("group key entry has a bad group ID");
  if (!isVersion(d.version)) throw new ProofError("group key entry has a bad key version");
  const digest = entryDigest(d, "group key entry");
  return { org: d.org, group: d.group, version: d.version, digest, time: entryTime(d) };
}

export interface GroupKeyRecord {
  org: string;
  group: string;
  name: string;
  version: number;
  publicKey: PublicKey;
}

/** A group key record from its canonical text, strictly (FormatError otherwise). */
export async function parseGroupKeyRecord(text: string): Promise<GroupKeyRecord> {
  if (typeof text !== "string" || text.length > MAX_RECORD) throw new FormatError("a group key record is canonical JSON text of at most 64 KiB");
  const d = canonicalObject(text, "the group key record", (m) => new FormatError(m));
  if (d.type !== GROUP_KEY_RECORD_TYPE || Object.keys(d).sort().join() !== "group,name,org,public_key,type,version") throw new FormatError(`not a group key record (${GROUP_KEY_RECORD_TYPE})`);
  if (!isId(d.org) || !isId(d.group)) throw new FormatError("the group key record has a bad organization or group ID");
  if (typeof d.name !== "string" || d.name.length === 0 || d.name.length > 200) throw new FormatError("the group key record has a bad group name");
  if (!isVersion(d.version)) throw new FormatError("the group key record has a bad key version");
  if (typeof d.public_key !== "string") throw new FormatError("the group key record has a bad public key");
  let publicKey: PublicKey;
  try {
    publicKey = await parsePublicKey(d.public_key);
  } catch (e) {
    if (e instanceof RecipientError) throw new FormatError(`the group key record has a bad public key: ${e.message}`);
    throw e;
  }
  if (publicKey.line !== d.public_key) throw new FormatError("the group key record is not canonical JSON");
  return { org: d.org, group: d.group, name: d.name, version: d.version, publicKey };
}

export interface VerifiedGroupKey {
  record: GroupKeyRecord;
  accepted: Accepted;
}

/** Verify the `proof` of `GET /api/v1/org/groups/{name}/key` for the group named `name`: the checkpoint as every log
 *  answer, the entry included in it and committing to the record, the record for that group; `seen` (the highest
 *  version and its fingerprint this browser saw for the group, by ID) refuses an older or another key. Any failure
 *  is one ProofError. */
export async function verifyGroupKey(proof: unknown, name: string, trust: LogTrust, seen: (groupId: string) => [number, string] | null, fetch?: ConsistencyFetcher): Promise<VerifiedGroupKey> {
  try {
    const p = await proveEntry(
      proof,
      "record",
      { noProof: "the answer carries no log proof", answer: "the group key answer", lacks: "the answer lacks the group key record or its log entry", badIndex: "the answer has a bad log index" },
      trust,
      fetch,
    );
    const accepted = p.accepted;
    const entry = parseGroupKeyEntry(p.entry);
    if ((await groupKeyDigest(p.object)) !== entry.digest) throw new ProofError("the group key differs from the one its log entry commits to");
    let record: GroupKeyRecord;
    try {
      record = await parseGroupKeyRecord(p.object);
    } catch (e) {
      throw new ProofError(`the logged group key record is malformed: ${(e as Error).message}`);
    }
    if (record.org !== entry.org || record.group !== entry.group || record.version !== entry.version)
      throw new ProofError("the group key record's organization, group or version differs from its log entry's");
    if (record.name !== name.trim()) throw new ProofError(`the server served the key of group '${record.name}'`);
    const was = seen(record.group);
    if (was !== null && record.version < was[0])
      throw new ProofError(`it is key version ${record.version}, but this browser has seen version ${was[0]}: the server is hiding the newer key (rolled back)`);
    if (was !== null && record.version === was[0] && record.publicKey.fingerprint !== was[1])
      throw new ProofError(`this browser has seen another key as version ${record.version}`);
    return { record, accepted };
  } catch (err) {
    if (err instanceof ProofError) throw new ProofError(`the server's key for group:${name.trim()} does not verify: ${err.message}; nothing was encrypted to it`);
    throw err;
  }
}
