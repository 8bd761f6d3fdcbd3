/** The organization rules applied in the browser as the CLI applies them (src/c11/client/sending.py): your
 *  organization's signed policy from `GET /api/v1/org`, verified against the log (core/orgpolicy.ts), the
 *  recipients' organizations from their registry lookups (the server's word), then core/orgrules.ts. The browser
 *  cannot make online documents: a plan that needs one is refused. */
import { ProofError, RecipientError } from "../core/errors";
import { verifyOrgPolicy } from "../core/orgpolicy";
import { applyRules, type OrgPolicy, type RulesPlan } from "../core/orgrules";
import { parsePublicKey, type PublicKey } from "../core/publickey";
import { ApiError, api, type Session } from "./api";
import { loadLogTrust, storeCheckpoint } from "./logtrust";

async function _keys(items: unknown): Promise<PublicKey[]> {
  const out: PublicKey[] = [];
  for (const item of Array.isArray(items) ? items : []) {
    const obj = typeof item === "object" && item !== null ? (item as Record<string, unknown>) : null;
    if (obj && (obj.status ?? "current") !== "current") continue;
    const line = typeof item === "string" ? item : obj?.public_key;
    if (typeof line !== "string") throw new RecipientError("the server sent a malformed organization recovery key");
    out.push(await parsePublicKey(line));
  }
  return out;
}

const _days = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : null);

/** An organization as a registry lookup's `org` field describes it, or null when absent or malformed. */
export async function policyFromLookup(d: unknown): Promise<OrgPolicy | null> {
  if (typeof d !== "object" || d === null || typeof (d as { name?: unknown }).name !== "string") return null;
  const o = d as Record<string, unknown>;
  return { name: o.name as string, recoveryKeys: await _keys(o.recovery_keys), requireOnline: o.require_online === true,
    defaultExpiryDays: _days(o.default_expiry_days) };
}

/** Key of the highest policy number this browser saw for an organization of this server (localStorage: public). */
const seenKey = (orgId: string): string => `c11-org-policy-seq ${location.origin} ${orgId}`;

function seenSeq(orgId: string): number | null {
  const v = Number(localStorage.getItem(seenKey(orgId)) ?? "NaN");
  return Number.isSafeInteger(v) && v >= 1 ? v : null;
}

/** Key of the organization this browser last saw the account in (localStorage: `{id, name}`, public). */
const memberKey = (session: Session): string => `c11-org-member ${location.origin} ${session.email.trim().toLowerCase()}`;

function seenMember(session: Session): { id: string; name: string } | null {
  try {
    const v = JSON.parse(localStorage.getItem(memberKey(session)) ?? "null") as unknown;
    const o = typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
    return o && typeof o.id === "string" && typeof o.name === "string" ? { id: o.id, name: o.name } : null;
  } catch {
    return null;
  }
}

/** Your organization's policy and, when the server says you are not a member although this browser saw you in an
 *  organization (docs/security.md: the server's word, it cannot be proven), that organization's name in `left`
 *  (as the CLI's warning). The caller shows it and asks for confirmation; `confirmLeft` forgets it. */
export interface OwnPolicyStatus {
  policy: OrgPolicy | null;
  left: string | null;
}

/** The user confirmed that they left the organization: later "not a member" answers are taken as they are. */
export function confirmLeft(session: Session): void {
  localStorage.removeItem(memberKey(session));
}

/** Your organization's policy, or null when you are not a member (403 `not-a-member`); any other refusal is
 *  an error (taken as "no organization", it would silently drop the recovery keys). When this browser saw you
 *  in an organization and the server now says "not a member", this refuses (RecipientError) until the user
 *  confirms it on the Encrypt page (`ownPolicyStatus`, `confirmLeft`). */
export async function ownPolicy(session: Session): Promise<OrgPolicy | null> {
  const got = await ownPolicyStatus(session);
  if (got.left !== null)
    throw new RecipientError(`the server says you are no longer a member of ${got.left}, so its recovery keys and `
      + "policy would be left out: if you left it, confirm that on the Encrypt page; otherwise tell your administrator");
  return got.policy;
}

/** As `ownPolicy`, with the "left" case returned instead of refused. The policy is the signed document of
 *  `GET /api/v1/org`, verified against the log with this browser's pinned key and stored checkpoint
 *  (core/orgpolicy.ts, as the CLI does); an older number than this browser saw for the organization is refused. */
export async function ownPolicyStatus(session: Session): Promise<OwnPolicyStatus> {
  const stored = await loadLogTrust();
  const known = stored.size !== null ? `?known_size=${stored.size}` : "";
  let d: Record<string, unknown>;
  try {
    d = await api<Record<string, unknown>>("GET", `/api/v1/org${known}`, undefined, session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403 && e.type.endsWith("not-a-member"))
      return { policy: null, left: seenMember(session)?.name ?? null };
    throw e;
  }
  if (typeof d.id !== "string") throw new ProofError("the server's organization answer has no organization ID");
  const proof = async (from: bigint, to: bigint) =>
    (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`, undefined, session)).proof;
  const verified = await verifyOrgPolicy(d.policy, d.id, stored.log, seenSeq(d.id), proof);
  await storeCheckpoint(stored.log.logKey, verified.accepted.note);
  const seen = seenSeq(d.id);
  if (seen === null || verified.document.seq > seen) localStorage.setItem(seenKey(d.id), String(verified.document.seq));
  localStorage.setItem(memberKey(session), JSON.stringify({ id: d.id, name: verified.document.policy.name }));
  return { policy: verified.document.policy, left: null };
}

/** The rules' plan for a browser-made item (`online`: with the online policy); refuses an offline item when an
 *  organization requires online. */
export function browserPlan(own: OrgPolicy | null, theirs: (OrgPolicy | null)[], recipients: PublicKey[], online = false): RulesPlan {
  const policies = [own, ...theirs].filter((p): p is OrgPolicy => p !== null);
  const plan = applyRules(policies, recipients, { online, expires: null });
  if (plan.online && !online)
    throw new RecipientError(`${plan.onlineRequiredBy.join(", ")} requires online documents (the key server enforces `
      + "access and expiry), which this browser cannot make yet: encrypt with the command line (c11 encrypt)");
  return plan;
}
