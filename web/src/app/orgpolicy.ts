/** The organization rules applied in the browser as the CLI applies them (src/c11/client/sending.py): your
 *  organization's current recovery keys and policies from `GET /api/v1/org` (recovery keys from
 *  `/api/v1/org/recovery-keys` when that answer lists none), the recipients' organizations from their registry
 *  lookups, then core/orgrules.ts. The browser cannot make online documents: a plan that needs one is refused. */
import { RecipientError } from "../core/errors";
import { applyRules, type OrgPolicy, type RulesPlan } from "../core/orgrules";
import { parsePublicKey, type PublicKey } from "../core/publickey";
import { ApiError, api, type Session } from "./api";

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

/** Your organization's policy, or null when you are not a member (403 `not-a-member`); any other refusal is
 *  an error (taken as "no organization", it would silently drop the recovery keys). */
export async function ownPolicy(session: Session): Promise<OrgPolicy | null> {
  let d: Record<string, unknown>;
  try {
    d = await api<Record<string, unknown>>("GET", "/api/v1/org", undefined, session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403 && e.type.endsWith("not-a-member")) return null;
    throw e;
  }
  const policies = (d.policies ?? {}) as Record<string, unknown>;
  let keys: PublicKey[];
  let name = typeof d.name === "string" ? d.name : "";
  if ("recovery_keys" in d) keys = await _keys(d.recovery_keys);
  else {
    const r = await api<Record<string, unknown>>("GET", "/api/v1/org/recovery-keys", undefined, session);
    keys = await _keys(r.recovery_keys);
    if (!name && typeof r.org === "string") name = r.org;
  }
  return { name, recoveryKeys: keys, requireOnline: policies.require_online === true, defaultExpiryDays: _days(policies.default_expiry_days) };
}

/** The rules' plan for a browser-made item (never online); refuses when an organization requires online. */
export function browserPlan(own: OrgPolicy | null, theirs: (OrgPolicy | null)[], recipients: PublicKey[]): RulesPlan {
  const policies = [own, ...theirs].filter((p): p is OrgPolicy => p !== null);
  const plan = applyRules(policies, recipients, { online: false, expires: null });
  if (plan.online)
    throw new RecipientError(`${plan.onlineRequiredBy.join(", ")} requires online documents (the key server enforces `
      + "access and expiry), which this browser cannot make yet: encrypt with the command line (c11 encrypt)");
  return plan;
}
