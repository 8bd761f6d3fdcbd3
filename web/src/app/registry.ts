/** Registry lookups verified in this page with the core's checks (core/registry.ts, docs/registry.md §4): the log
 *  key is pinned per server in this browser at first use and the last accepted checkpoint stored (logtrust.ts), so
 *  every answer must extend what this browser saw before; any failure is a ProofError and no key is used. */
import type { PublicKey } from "../core/publickey";
import { verifyKeyHistory, verifyKeyLookup, type HistoryItem, type LogTrust } from "../core/registry";
import { verifyTemporaryKeyLookup } from "../core/temporarykey";
import { ApiError, api, type Session } from "./api";
import { loadLogTrust, storeCheckpoint } from "./logtrust";
import { policyFromLookup } from "./orgpolicy";
import type { OrgPolicy } from "../core/orgrules";

/** This page's trust in the server's log: null until the first lookup loads (or pins) it from the browser. */
export interface PageTrust {
  log: LogTrust | null;
  /** The size of the checkpoint in `log.storedNote` (asked as `known_size`: the answer then proves consistency). */
  size: bigint | null;
}

export const newTrust = (): PageTrust => ({ log: null, size: null });

async function pinned(trust: PageTrust): Promise<LogTrust> {
  if (trust.log === null) {
    const stored = await loadLogTrust();
    trust.log = stored.log;
    trust.size = stored.size;
  }
  return trust.log;
}

/** The verified current key of `email` (ApiError 404 `no-key` when none is published). */
export async function lookup(trust: PageTrust, session: Session, email: string): Promise<PublicKey> {
  return (await lookupWithOrg(trust, session, email)).key;
}

/** The verified current key of `email`, and its organization as the answer's `org` field gives it (or null). */
export async function lookupWithOrg(trust: PageTrust, session: Session, email: string): Promise<{ key: PublicKey; org: OrgPolicy | null }> {
  const addr = email.trim().toLowerCase();
  const log = await pinned(trust);
  const known = trust.size !== null ? `&known_size=${trust.size}` : "";
  let answer: Record<string, unknown>;
  try {
    answer = await api("GET", `/api/v1/keys?email=${encodeURIComponent(addr)}${known}`, undefined, session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) throw new ApiError(404, "no-key", `${addr} has no published key: they need a c11 account first`);
    throw e;
  }
  const proof = async (from: bigint, to: bigint) =>
    (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`, undefined, session)).proof;
  const verified = await verifyKeyLookup(answer, addr, log, proof);
  await storeCheckpoint(log.logKey, verified.accepted.note);
  log.storedNote = verified.accepted.note;
  trust.size = verified.accepted.current.size;  // never smaller than before: acceptCheckpoint refuses a shrink
  return { key: verified.publicKey, org: await policyFromLookup(answer.org) };
}

const consistency = (session: Session) => async (from: bigint, to: bigint) =>
  (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`, undefined, session)).proof;

/** The verified temporary key of an invited email (docs/keyserver.md): checked in the log like a registry key;
 *  NOT zero-trust (the key server held it). ApiError 404 `no-key` when there is no pending invitation. */
export async function lookupTemporary(trust: PageTrust, session: Session, email: string): Promise<{ key: PublicKey; expiresAt: string }> {
  const addr = email.trim().toLowerCase();
  const log = await pinned(trust);
  const answer = await api<Record<string, unknown>>("GET", `/api/v1/invitations/key?email=${encodeURIComponent(addr)}`, undefined, session);
  const verified = await verifyTemporaryKeyLookup(answer, addr, log, consistency(session));
  await storeCheckpoint(log.logKey, verified.accepted.note);
  log.storedNote = verified.accepted.note;
  trust.size = verified.accepted.current.size;
  return { key: verified.publicKey, expiresAt: verified.expiresAt };
}

/** Every logged key change of `email` (`GET /api/v1/keys/history`), each entry's inclusion verified here. */
export async function keyHistory(trust: PageTrust, session: Session, email: string): Promise<HistoryItem[]> {
  const addr = email.trim().toLowerCase();
  const log = await pinned(trust);
  const known = trust.size !== null ? `&known_size=${trust.size}` : "";
  const answer = await api<Record<string, unknown>>("GET", `/api/v1/keys/history?email=${encodeURIComponent(addr)}${known}`, undefined, session);
  const verified = await verifyKeyHistory(answer, addr, log, consistency(session));
  await storeCheckpoint(log.logKey, verified.accepted.note);
  log.storedNote = verified.accepted.note;
  trust.size = verified.accepted.current.size;
  return verified.items;
}
