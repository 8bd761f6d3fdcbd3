/** Invitations, temporary keys, the key archive and online releases in the browser (docs/keyserver.md
 *  "Invitations and temporary keys", docs/shards.md §2.4), as `c11 invite`, `c11 login` (claim) and `c11 decrypt` do
 *  them. Private keys stay in the worker: these functions pass handles. */
import type { KeySummary } from "../worker/protocol";
import type { CoreWorker } from "../worker/client";
import { ApiError, api, type Session } from "./api";
import { lookup, type PageTrust } from "./registry";

export interface Invitation {
  id: string;
  email: string;
  status: string;
  fingerprint: string | null;
  expires_at: string | null;
  send_count: number;
}

/** Invite people (`POST /api/v1/invitations`): each one not registered gets an email and a temporary key. */
export const invite = (session: Session, emails: string[]): Promise<Invitation[]> =>
  api<Invitation[]>("POST", "/api/v1/invitations", { emails }, session);

/** The invitations this account sent. */
export const sentInvitations = (session: Session): Promise<Invitation[]> =>
  api<Invitation[]>("GET", "/api/v1/invitations", undefined, session);

/** The keys of this account's key archive, opened in the worker with `me` (handles; the caller forgets them).
 *  None when there is no archive or it is encrypted to another key than `me`. */
export async function archivedKeys(worker: CoreWorker, session: Session, me: KeySummary): Promise<KeySummary[]> {
  let found: { archive: string; fingerprint: string };
  try {
    found = await api("GET", "/api/v1/shards/archive", undefined, session);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return [];
    throw e;
  }
  if (found.fingerprint !== me.fingerprint) return [];
  return worker.call("openKeyArchive", { archive: found.archive, current: me.handle });
}

export interface Received {
  fingerprint: string;
  /** Kept in the key archive (encrypted to `me`, on the server); else `fallback` is its key file to save. */
  archived: boolean;
  fallback: { name: string; url: string } | null;
  error: string | null;
}

/** After publishing `me`: receive the temporary key the key server held for this account (once: it is then
 *  destroyed there), and keep it in the key archive with `me` as the CLI keeps it with a cloud-stored key. If the
 *  archive cannot be written, the temporary key is offered as a key file to save (as the CLI writes it into
 *  `keys/temporary/`). Null: nothing was held. */
export async function receiveTemporaryKey(worker: CoreWorker, session: Session, me: KeySummary): Promise<Received | null> {
  let answer: { email: string; sealed: string; public_key: string };
  try {
    answer = await api("POST", "/api/v1/invitations/claim", { public_key: me.publicLine }, session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
  const temp = await worker.call("claimTemporaryKey", { answer, me: me.handle });
  try {
    const old = await archivedKeys(worker, session, me);
    try {
      const archive = await worker.call("makeKeyArchive", { keys: [...old.map((k) => k.handle), temp.handle], to: me.handle });
      await api("PUT", "/api/v1/shards/archive", { archive, fingerprint: me.fingerprint }, session);
    } finally {
      await Promise.all(old.map((k) => worker.call("forget", { handle: k.handle })));
    }
    return { fingerprint: temp.fingerprint, archived: true, fallback: null, error: null };
  } catch (e) {
    const text = await worker.call("exportKeyFile", { handle: temp.handle, passphrase: null });
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    return { fingerprint: temp.fingerprint, archived: false, fallback: { name: `c11_key_${temp.fingerprint.slice(0, 16)}.key`, url }, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await worker.call("forget", { handle: temp.handle });
  }
}

/** For an online-policy file: the key server's release (B sealed to the opening key), asked under the session as
 *  `c11 decrypt` asks it; a refusal (revoked, expired, not allowed) is the server's one-line answer. Undefined for
 *  a file without an online policy. */
export async function onlineRelease(worker: CoreWorker, session: Session | null, data: Blob, keys: number[]): Promise<string | undefined> {
  const head = await worker.call("inspect", { data, keys });
  if (!head.online) return undefined;
  if (!head.releaseRequest) return undefined;  // none of the keys opens it: decrypt says so
  if (!session) throw new ApiError(401, "login", "this file has an online policy: log in to open it (the key server releases its part of the key)");
  const out = await api<{ sealed: string }>("POST", "/api/v1/keyserver/release", head.releaseRequest, session);
  return out.sealed;
}

export interface Reencrypted {
  /** Who the new copy is for instead of the temporary key. */
  forEmail: string;
  fingerprint: string;
  temporary: string;
  blob: Blob;
}

/** A file opened with `keys` that lists temporary keys (format.md §2.7): a copy moved from the temporary key to the
 *  person's permanent key, as `c11 reencrypt -r EMAIL --remove TEMP` does (the payload is not re-encrypted; `me`
 *  signs the new header). The invitee (opened with their temporary key) gets it for their own key; the sender for
 *  the key the invited person published since (looked up and verified in the log). Null: nothing to move yet. */
export async function moveFromTemporaryKey(
  worker: CoreWorker, session: Session, trust: PageTrust, data: Blob, keys: number[], me: KeySummary,
  info: { temporaryKeyIds: string[]; recipientKeyId: string },
): Promise<Reencrypted | null> {
  if (info.temporaryKeyIds.length === 0) return null;
  let temporary: string, forEmail: string, line: string, fingerprint: string;
  if (info.temporaryKeyIds.includes(info.recipientKeyId)) {  // the invitee: opened with their temporary key
    temporary = info.recipientKeyId;
    forEmail = session.email;
    const own = await lookup(trust, session, session.email);  // the published key, verified
    if (own.fingerprint !== me.fingerprint) return null;  // the key loaded is not the published one
    line = own.line;
    fingerprint = own.fingerprint;
  } else {  // the sender: an invitation of theirs that was accepted since
    const accepted = (await sentInvitations(session)).find((i) => i.status === "accepted" && i.fingerprint !== null && info.temporaryKeyIds.includes(i.fingerprint));
    if (!accepted?.fingerprint) return null;
    temporary = accepted.fingerprint;
    forEmail = accepted.email;
    const theirs = await lookup(trust, session, accepted.email);
    line = theirs.line;
    fingerprint = theirs.fingerprint;
  }
  const blob = await worker.call("reshare", { data, keys, signer: me.handle, add: [line], remove: [temporary] });
  return { forEmail, fingerprint, temporary, blob };
}
