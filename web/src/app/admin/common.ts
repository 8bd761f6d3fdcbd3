/** What the admin console's pages share: the organization and your permissions (GET /api/v1/org), the
 *  permission names, and small helpers. The pages only hide what you may not do; the server refuses it anyway. */
import { api, type Session } from "../api";

export interface OrgInfo {
  id: string;
  name: string;
  policies: Policies;
  recovery_keys: string[];
  you: { email: string; is_admin: boolean; permissions: string[] };
}

export interface Policies {
  allow_cross_org_lookup: boolean;
  allow_member_listing: boolean;
  allow_device_keys: boolean;
  require_online: boolean;
  default_expiry_days: number | null;
}

/** The nine organization permissions (src/c11/server/orgs/permissions.py), with what each allows. */
export const PERMISSIONS: readonly (readonly [string, string])[] = [
  ["crud:config-org", "Organization settings and policies, notification configuration."],
  ["crud:members-org", "Add, list, deactivate and reactivate members; designate and demote admins."],
  ["crud:invitations-org", "Invite people on behalf of the organization; list and resend invitations."],
  ["crud:recovery-keys-org", "Upload, rotate and remove the organization's recovery keys."],
  ["read:events-org", "Read usage events of the organization (who protected, opened, shared, revoked)."],
  ["crud:encryption-keys-org", "Generate keys for members (pre-load) and manage members' encryption keys."],
  ["crud:signature-keys-org", "Manage members' signature keys."],
  ["crud:groups-org", "Create, change and delete groups and their membership."],
  ["crud:groups-scim-tokens-org", "Create, list and revoke SCIM provisioning tokens."],
];

export const loadOrg = (session: Session): Promise<OrgInfo> => api<OrgInfo>("GET", "/api/v1/org", undefined, session);

export const can = (org: OrgInfo, permission: string): boolean => org.you.is_admin && org.you.permissions.includes(permission);

/** A time of the API (RFC 3339) as "YYYY-MM-DD HH:MM:SS UTC". */
export const when = (t: string | null): string => (t ? t.replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC") : "—");

/** The CLI's email check (c11 org members add: `^[^@\s]+@[^@\s]+\.[^@\s]+$`, at most 320 characters). */
export const isEmail = (e: string): boolean => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e) && e.length <= 320;

/** Emails of a CSV file as `c11 org members add --csv` reads it (one a line, the first column counts; blank
 *  lines, `#` comments and an `email` header line are skipped), and the errors of bad lines. */
export function readCsv(text: string): { emails: string[]; errors: { line: number; text: string }[] } {
  const emails: string[] = [];
  const errors: { line: number; text: string }[] = [];
  text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/).forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const first = (line.split(",")[0] ?? "").split(";")[0]!.trim().replace(/^"+|"+$/g, "").trim();
    if (n === 1 && ["email", "e-mail", "mail", "email address"].includes(first.toLowerCase())) return;
    if (!isEmail(first)) {
      errors.push({ line: n, text: first.slice(0, 80) });
      return;
    }
    emails.push(first.toLowerCase());
  });
  return { emails, errors };
}
