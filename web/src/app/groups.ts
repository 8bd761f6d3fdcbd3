/** Groups and recent policies in the browser, as the CLI uses them (docs/organizations.md "Groups", F21):
 *  `group:NAME` recipients (the group's current key), opening a file sent to a group you are in with the group key
 *  wrapped for you (only when none of your keys opens it; the wrap must be signed by a key its wrapper published in
 *  the verified log), and the recent recipient sets (`/api/v1/policies`). */
import { hex } from "../core/bytes";
import { verifyGroupKey } from "../core/groupkeylog";
import { keyId, type PublicKey } from "../core/publickey";
import type { KeySummary } from "../worker/protocol";
import type { CoreWorker } from "../worker/client";
import { ApiError, api, type Session } from "./api";
import { loadLogTrust, storeCheckpoint } from "./logtrust";
import { keyHistory, lookup, type PageTrust } from "./registry";

export const GROUP_PREFIX = "group:";

/** Key of the highest key version (and its fingerprint) this browser saw for a group of this server (public). */
const seenKey = (groupId: string): string => `c11-group-key-version ${location.origin} ${groupId}`;

function seenGroupKey(groupId: string): [number, string] | null {
  try {
    const v = JSON.parse(localStorage.getItem(seenKey(groupId)) ?? "null") as unknown;
    return Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string" ? [v[0] as number, v[1]] : null;
  } catch {
    return null;
  }
}

/** The current public key of a group of your organization (`c11 encrypt -r group:NAME`), used only when the log
 *  commits to it (core/groupkeylog.ts, as the CLI does): proven against this browser's pinned log key and stored
 *  checkpoint, and no older version than this browser saw for the group. Anything else is a ProofError. */
export async function groupKey(session: Session, name: string): Promise<PublicKey> {
  const stored = await loadLogTrust();
  const known = stored.size !== null ? `?known_size=${stored.size}` : "";
  const d = await api<Record<string, unknown>>("GET", `/api/v1/org/groups/${encodeURIComponent(name.trim())}/key${known}`, undefined, session);
  const proof = async (from: bigint, to: bigint) =>
    (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`, undefined, session)).proof;
  const verified = await verifyGroupKey(d.proof, name, stored.log, seenGroupKey, proof);
  await storeCheckpoint(stored.log.logKey, verified.accepted.note);
  const { group, version, publicKey } = verified.record;
  const was = seenGroupKey(group);
  if (was === null || version > was[0]) localStorage.setItem(seenKey(group), JSON.stringify([version, publicKey.fingerprint]));
  return publicKey;
}

/** Ed25519 key IDs (hex) `email` has published: current and earlier, from the verified log. */
async function signerIds(trust: PageTrust, session: Session, email: string): Promise<string[]> {
  const found = new Set<string>();
  const add = async (k: PublicKey | null) => { if (k?.sig) found.add(hex(await keyId("ed25519", k.sig))); };
  if (!email) return [];
  await lookup(trust, session, email).then(add).catch(() => undefined);
  for (const item of await keyHistory(trust, session, email).catch(() => [])) await add(item.publicKey);
  return [...found];
}

interface Wrap {
  group: string;
  version: number;
  fingerprint: string;
  public_key: string;
  wrapped: string;
  wrapped_by: string | null;
}

/** The group identities (worker handles; the caller forgets them) that open `data` when none of `keys` does:
 *  your wraps of the groups whose keys are among its recipients, each opened only if signed by its wrapper's key. */
export async function groupIdentities(worker: CoreWorker, session: Session, trust: PageTrust, data: Blob, keys: number[]): Promise<KeySummary[]> {
  const head = await worker.call("inspect", { data, keys });
  if (head.openingKey) return [];
  let d: { org_id: string; wraps: Wrap[] };
  try {
    d = await api("GET", "/api/v1/org/group-wraps", undefined, session);
  } catch (e) {
    if (e instanceof ApiError && [401, 403, 404].includes(e.status)) return [];  // not a member of an organization
    throw e;
  }
  const out: KeySummary[] = [];
  for (const w of d.wraps) {
    if (!head.recipients.includes(w.fingerprint)) continue;
    try {
      const signers = await signerIds(trust, session, w.wrapped_by ?? "");
      out.push(await worker.call("unwrapGroupKey", { wrapped: w.wrapped, ref: { org: d.org_id, group: w.group, version: w.version }, keys, expected: w.public_key, signers }));
    } catch {
      continue;  // wrapped to a key you replaced, or not signed by its wrapper: never used
    }
  }
  return out;
}

export interface Policy {
  id: string;
  name: string | null;
  members: { email: string | null; fingerprint: string | null; public_key: string | null }[];
  created_at: string;
}

/** Your recent recipient sets, most recently used first (none without the scope or service). */
export async function recentPolicies(session: Session): Promise<Policy[]> {
  return api<Policy[]>("GET", "/api/v1/policies?limit=10", undefined, session);
}

/** Save what was just encrypted as a recipient set (`c11 encrypt` records it when logged in): the members as named
 *  (emails, key lines; a group as its key line) and you. */
export async function recordPolicy(session: Session, members: ({ email: string } | { public_key: string })[], me: string): Promise<void> {
  await api("POST", "/api/v1/policies", { recipients: [...members, { email: session.email, public_key: me }] }, session);
}
