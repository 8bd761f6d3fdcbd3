/** The organization's signed policy (docs/organizations.md "The signed policy"; port of c11.orgrules.PolicyDocument,
 *  c11.log.entries.OrgPolicyEntry and c11.client.org_policy.verify_signed; vectors tests/vectors/orgpolicy/).
 *  A policy document is applied only when its `orgpolicy` log entry is proven in a checkpoint accepted with the pinned
 *  log key (acceptCheckpoint, shared with registry lookups) and commits to it; any failure is one ProofError. */
import { hex, utf8 } from "./bytes";
import { type Json } from "./canonicaljson";
import { FormatError, ProofError } from "./errors";
import { canonicalObject, entryDigest, entryFields, entryTime, isId as isOrg, isSeq, proveEntry } from "./logbacked";
import { policyFromJson, type OrgPolicy } from "./orgrules";
import { sha256 } from "./primitives";
import { type Accepted, type ConsistencyFetcher, type LogTrust } from "./registry";

export const POLICY_DOCUMENT_TYPE = "c11-org-policy/v1";
const MAX_DOCUMENT = 1 << 20;

/** hex SHA-256("c11/v1 org policy" ‖ 0x00 ‖ document bytes). */
export async function orgPolicyDigest(document: string): Promise<string> {
  return hex(await sha256(utf8("c11/v1 org policy\x00" + document)));
}

export interface OrgPolicyEntry {
  org: string;
  seq: number;
  digest: string;
  time: string;
}

/** An `orgpolicy` entry `{"digest", "kind", "org", "seq", "time"}`, strictly (ProofError otherwise). */
export function parseOrgPolicyEntry(text: string): OrgPolicyEntry {
  const d = entryFields(text, "orgpolicy", "digest,kind,org,seq,time", "an organization policy entry");
  if (!isOrg(d.org)) throw new ProofError("organization policy entry has a bad organization ID");
  if (!isSeq(d.seq)) throw new ProofError("organization policy entry has a bad sequence number");
  const digest = entryDigest(d, "organization policy entry");
  return { org: d.org, seq: d.seq, digest, time: entryTime(d) };
}

export interface PolicyDocument {
  org: string;
  seq: number;
  policy: OrgPolicy;
}

/** A policy document from its canonical text, strictly (FormatError, or the key parser's error, otherwise). */
export async function parsePolicyDocument(text: string): Promise<PolicyDocument> {
  if (typeof text !== "string" || text.length > MAX_DOCUMENT) throw new FormatError("an organization policy document is canonical JSON text of at most 1 MiB");
  const d = canonicalObject(text, "the organization policy document", (m) => new FormatError(m));
  if (d.type !== POLICY_DOCUMENT_TYPE || !("org" in d) || !("seq" in d)) throw new FormatError(`not an organization policy document (${POLICY_DOCUMENT_TYPE})`);
  const { org, seq } = d;
  const rest: Record<string, Json> = { ...d };
  delete rest.org;
  delete rest.seq;
  delete rest.type;
  if (!isOrg(org)) throw new FormatError("the organization policy document has a bad organization ID");
  if (!isSeq(seq)) throw new FormatError("the organization policy document has a bad sequence number");
  return { org, seq, policy: await policyFromJson(rest) };
}

/** A verified organization policy answer: the document and the checkpoint to store. */
export interface VerifiedOrgPolicy {
  document: PolicyDocument;
  logIndex: number;
  accepted: Accepted;
}

/** Verify the `policy` field of `GET /api/v1/org` for organization `orgId`: the checkpoint as every log answer, the
 *  entry included in it, committing to the document, for this organization; `seenSeq` (the highest number this
 *  browser saw for it) refuses an older policy. Any failure is one ProofError. */
export async function verifyOrgPolicy(proof: unknown, orgId: string, trust: LogTrust, seenSeq: number | null, fetch?: ConsistencyFetcher): Promise<VerifiedOrgPolicy> {
  try {
    const p = await proveEntry(
      proof,
      "document",
      {
        noProof: "the answer carries no signed policy",
        answer: "the organization policy answer",
        lacks: "the signed organization policy lacks its document or entry",
        badIndex: "the signed organization policy has a bad log index",
      },
      trust,
      fetch,
    );
    const { accepted, logIndex: index } = p;
    const entry = parseOrgPolicyEntry(p.entry);
    if ((await orgPolicyDigest(p.object)) !== entry.digest) throw new ProofError("the organization policy differs from the one its log entry commits to");
    let document: PolicyDocument;
    try {
      document = await parsePolicyDocument(p.object);
    } catch (e) {
      throw new ProofError(`the logged organization policy is malformed: ${(e as Error).message}`);
    }
    if (document.org !== entry.org || document.seq !== entry.seq) throw new ProofError("the organization policy's ID or number differs from its log entry's");
    if (document.org !== orgId) throw new ProofError("the server served another organization's policy");
    if (seenSeq !== null && document.seq < seenSeq)
      throw new ProofError(`the server served policy number ${document.seq} of ${document.policy.name}, but this browser has seen number ${seenSeq}: the server is hiding the newer policy (rolled back)`);
    return { document, logIndex: index, accepted };
  } catch (err) {
    if (err instanceof ProofError) throw new ProofError(`the server's organization policy does not verify: ${err.message}`);
    throw err;
  }
}
