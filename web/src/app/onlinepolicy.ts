/** Encrypting with the online policy in the browser (F6, docs/format.md §2.6, docs/keyserver.md), as
 *  `c11 encrypt --online [--expires …]`: the worker draws A and B, seals B to this server's key server under the
 *  policy (its recipients by email hash and key fingerprint, you as author and recipient, the expiry), then the
 *  document is registered (`POST /api/v1/documents`) before the file is offered: nobody can open it before. */
import { emailHash } from "../core/emailhash";
import { parsePublicKey, type PublicKey } from "../core/publickey";
import { RecipientError } from "../core/errors";
import type { Json } from "../core/canonicaljson";
import type { CoreWorker } from "../worker/client";
import type { Metadata } from "../core/metadata";
import { api, type Session } from "./api";

/** The key server's X-Wing public key, checked against the fingerprint it announces. */
async function serverKey(): Promise<PublicKey> {
  const d = await api<{ public_key: string; fingerprint: string }>("GET", "/api/v1/keyserver/key");
  const key = await parsePublicKey(d.public_key);
  if (key.fingerprint !== d.fingerprint) throw new RecipientError("the key server announced an inconsistent key");
  return key;
}

/** Seconds since the epoch of a `datetime-local` value taken as UTC (as the documents page sets expiries). */
export function expirySeconds(value: string): number | null {
  if (!value) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) throw new RecipientError("choose a date and time for the expiry");
  const t = Math.floor(Date.parse(`${value}:00Z`) / 1000);
  if (!(t > Date.now() / 1000)) throw new RecipientError(`the expiry ${value} UTC is in the past`);
  return t;
}

/** Encrypt `data` with an online policy for `members` ((email or null, key) pairs; you are added) and register it.
 *  `sender` is a worker handle of your key (its public line `senderLine`); answers the file and its document ID. */
export async function encryptOnline(
  worker: CoreWorker, session: Session, data: Blob, metadata: Metadata, recipients: string[], temporary: string[],
  members: { email: string | null; key: PublicKey }[], sender: number, senderLine: string, expires: number | null,
): Promise<{ blob: Blob; docId: string }> {
  const me = await parsePublicKey(senderLine);
  const seen = new Set<string>();
  const policyRecipients: { email: string | null; key: string | null }[] = [];
  for (const m of [...members, { email: session.email, key: me }]) {
    const entry = { email: m.email ? await emailHash(m.email) : null, key: m.key.fingerprint };
    const id = `${entry.email} ${entry.key}`;
    if (!seen.has(id)) policyRecipients.push(entry), seen.add(id);
  }
  const ks = await serverKey();
  const policy: Record<string, Json> = {
    v: 1, server: location.origin, server_key: ks.fingerprint, author: await emailHash(session.email),
    recipients: policyRecipients, expires,
  };
  const blob = await worker.call("encrypt", { data, sender, recipients, temporary, metadata, online: { policy, serverKey: ks.line } });
  const head = await worker.call("inspect", { data: blob, keys: [sender] });
  if (!head.releaseRequest) throw new RecipientError("the online-policy stanza of the new file cannot be read back");
  const emails = [...new Set(members.map((m) => m.email).filter((e): e is string => e !== null && e.includes("@")).concat(session.email))];
  await api("POST", "/api/v1/documents", { stanza: head.releaseRequest.stanza, emails }, session);
  return { blob, docId: head.docId };
}
