/** Organization rules: what organizations add to a protected item, as one pure function (no I/O) — the port of
 *  src/c11/orgrules.py (docs/organizations.md "Organization rules"; vectors tests/vectors/orgrules/). */
import { C11Error, FormatError } from "./errors";
import { parsePublicKey, type PublicKey } from "./publickey";

/** Bounds of `default_expiry_days` (the server refuses other values). */
export const MAX_EXPIRY_DAYS = 36500;

/** A request the rules refuse (an expiry without online), named as Python's c11.errors.UsageError. */
export class UsageError extends C11Error {
  static override readonly c11name: string = "UsageError";
}

/** What one organization asks of clients: its current recovery keys, `require_online`, a default expiry. */
export interface OrgPolicy {
  name: string;
  recoveryKeys: PublicKey[];
  requireOnline: boolean;
  defaultExpiryDays: number | null;
}

/** What the sender asked for: an online policy, and an expiry as given (a time or a duration). */
export interface SendOptions {
  online: boolean;
  expires: string | null;
}

export interface AddedKey {
  org: string;
  key: PublicKey;
}

/** The outcome: every recipient (given ones first, then added recovery keys), online, expiry. */
export interface RulesPlan {
  recipients: PublicKey[];
  added: AddedKey[];
  online: boolean;
  onlineRequiredBy: string[];
  expires: string | null;
  defaultExpiryDays: number | null;
}

/** Strictly from `{"name", "recovery_keys": [lines], "require_online", "default_expiry_days"}`. */
export async function policyFromJson(d: unknown): Promise<OrgPolicy> {
  const want = ["default_expiry_days", "name", "recovery_keys", "require_online"];
  if (typeof d !== "object" || d === null || Array.isArray(d) || Object.keys(d).sort().join() !== want.join())
    throw new FormatError("an organization policy needs exactly name, recovery_keys, require_online and default_expiry_days");
  const o = d as Record<string, unknown>;
  const { name, recovery_keys: keys, require_online: online, default_expiry_days: days } = o;
  if (typeof name !== "string" || !Array.isArray(keys) || typeof online !== "boolean") throw new FormatError("malformed organization policy");
  if (days !== null && (typeof days !== "number" || !Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS))
    throw new FormatError(`default_expiry_days must be null or 1 to ${MAX_EXPIRY_DAYS}`);
  if (!keys.every((k) => typeof k === "string")) throw new FormatError("recovery_keys must be public key lines");
  return { name, recoveryKeys: await Promise.all((keys as string[]).map(parsePublicKey)), requireOnline: online, defaultExpiryDays: days as number | null };
}

/** The plan for `recipients` under `policies` (the sender's organization first, then the recipients' in the
 *  order they were looked up); throws UsageError when an expiry is asked for without online. */
export function applyRules(policies: OrgPolicy[], recipients: PublicKey[], options: SendOptions): RulesPlan {
  const ordered: OrgPolicy[] = [];
  for (const p of policies) if (!ordered.some((o) => o.name === p.name)) ordered.push(p);
  const out: PublicKey[] = [];
  const have = new Set<string>();
  for (const k of recipients) {
    if (!have.has(k.fingerprint)) {
      have.add(k.fingerprint);
      out.push(k);
    }
  }
  const added: AddedKey[] = [];
  for (const p of ordered) {
    for (const k of p.recoveryKeys) {
      if (!have.has(k.fingerprint)) {
        have.add(k.fingerprint);
        out.push(k);
        added.push({ org: p.name, key: k });
      }
    }
  }
  const onlineRequiredBy = ordered.filter((p) => p.requireOnline).map((p) => p.name);
  const online = options.online || onlineRequiredBy.length > 0;
  let expires = options.expires;
  let defaultExpiryDays: number | null = null;
  if (expires !== null && !online) throw new UsageError("an expiry needs an online policy (the key server enforces it)");
  const days = ordered.map((p) => p.defaultExpiryDays).filter((x): x is number => !!x);
  if (online && expires === null && days.length) {
    defaultExpiryDays = Math.min(...days);
    expires = `${defaultExpiryDays}d`;
  }
  return { recipients: out, added, online, onlineRequiredBy, expires, defaultExpiryDays };
}

/** The form the vectors compare (fingerprints, in order). */
export function planToJson(plan: RulesPlan): Record<string, unknown> {
  return {
    recipients: plan.recipients.map((k) => k.fingerprint),
    added_recovery_keys: plan.added.map((a) => ({ org: a.org, fingerprint: a.key.fingerprint })),
    online: plan.online,
    online_required_by: plan.onlineRequiredBy,
    expires: plan.expires,
    default_expiry_days: plan.defaultExpiryDays,
  };
}
