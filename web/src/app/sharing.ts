/** Secure Document Send and share links in the browser (docs/sharing.md), as the SDK (c11.client.sharing) does
 *  them: each file encrypted in the worker into its own `.c11` for the recipients (keys from the verified registry,
 *  invitations and organization rules as the Encrypt page applies them), uploaded with the resumable upload of
 *  docrequests.ts (tus), then an *envelope* (a c11 file for the same recipients) naming the files and carrying the
 *  message. Receiving checks each file's SHA-256 against the envelope and that the envelope's signer signed it. */
import { sha256 } from "@noble/hashes/sha2.js";
import { hex } from "../core/bytes";
import type { FileInfo } from "../core/file";
import type { OrgPolicy } from "../core/orgrules";
import type { PublicKey } from "../core/publickey";
import type { CoreWorker } from "../worker/client";
import { ApiError, api, type Session } from "./api";
import { blobSha256, uploadBlob } from "./docrequests";
import { invite } from "./invites";
import { encryptOnline } from "./onlinepolicy";
import { browserPlan, ownPolicy } from "./orgpolicy";
import { lookup, lookupTemporary, lookupWithOrg, type PageTrust } from "./registry";
import { readAll } from "./download";

export const ENVELOPE_TYPE = "application/vnd.c11.send-envelope+json";
export const ENVELOPE_VERSION = "c11-send/2";
const MAX_ENVELOPE = 1 << 20;
/** The header of a download's ID: answered on a download's first file, sent back for its other files. */
const DOWNLOAD_HEADER = "X-C11-Download";

export interface EnvelopeFile {
  path: string;
  size: number;
  blob: string;
  sha256: string;
}

/** The signed content of a send's version (as the SDK's Envelope): the send's ID (chosen by the sender), kind,
 *  version (1 for a send), when it was made (the sender's clock), the message and the files. */
export interface Envelope {
  files: EnvelopeFile[];
  message: string | null;
  send: string;
  kind: "send" | "link";
  version: number;
  created: string;
}

/** The envelope's JSON as the SDK writes it (sorted keys, no spaces). */
export function encodeEnvelope(env: Envelope): Uint8Array {
  const files = env.files.map((f) => ({ blob: f.blob, path: f.path, sha256: f.sha256, size: f.size }));
  return new TextEncoder().encode(JSON.stringify({
    created: env.created, files, kind: env.kind, message: env.message, send: env.send, v: ENVELOPE_VERSION, version: env.version,
  }));
}

/** A decrypted envelope, checked: its version, every member's type, and every path (safePath). */
export function decodeEnvelope(data: Uint8Array): Envelope {
  let d: unknown;
  try {
    d = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    throw new Error("the send's envelope is damaged");
  }
  const o = d as { v?: unknown; message?: unknown; files?: unknown; send?: unknown; kind?: unknown; version?: unknown; created?: unknown };
  if (typeof o !== "object" || o === null) throw new Error("the send's envelope is damaged");
  if (o.v === "c11-send/1") throw new Error("the send's envelope is of an older c11 that did not sign the link and version: ask the sender to send it again");
  if (o.v !== ENVELOPE_VERSION) throw new Error("unknown send envelope");
  if (!Array.isArray(o.files) || typeof o.send !== "string" || (o.kind !== "send" && o.kind !== "link")
    || typeof o.version !== "number" || !Number.isSafeInteger(o.version) || o.version < 1 || typeof o.created !== "string")
    throw new Error("the send's envelope is damaged");
  const files = o.files.map((f: unknown) => {
    const x = f as Record<string, unknown>;
    if (typeof x !== "object" || x === null || typeof x.path !== "string" || typeof x.blob !== "string"
      || typeof x.sha256 !== "string" || typeof x.size !== "number" || !Number.isSafeInteger(x.size) || x.size < 0)
      throw new Error("the send's envelope is damaged");
    safePath(x.path);
    return { path: x.path, size: x.size, blob: x.blob, sha256: x.sha256.toLowerCase() };
  });
  return { files, message: typeof o.message === "string" ? o.message : null, send: o.send, kind: o.kind, version: o.version, created: o.created };
}

/** A path from an envelope as its parts: relative, no empty/`.`/`..` part, no backslash or control character
 *  (as the SDK's safe_relative refuses them). */
export function safePath(path: string): string[] {
  const parts = path.split("/");
  // eslint-disable-next-line no-control-regex
  if (!path || path.startsWith("/") || path.includes("\\") || /[\u0000-\u001f]/.test(path) || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new Error(`refused a file name in the send: ${JSON.stringify(path)}`);
  return parts;
}

// -- the API --------------------------------------------------------------------------------------------------

export interface SendSummary {
  id: string;
  kind: "send" | "link";
  state: string;
  created_at: string;
  expires_at: string | null;
  max_downloads: number | null;
  downloads: number;
  version: number;
  revoked_at: string | null;
  revoked_log_index: number | null;
  log_index: number | null;
}

export interface SendDetail extends SendSummary {
  link: string;
  files: number;
  size: number;
  recipients: { email: string; status: string; emailed_at: string | null; opened_at: string | null; downloaded_at: string | null; downloads: number }[];
}

export interface ReceivedSend {
  id: string;
  kind: "send" | "link";
  sender: string;
  version: number;
  envelope: string;
  blobs: { id: string; size: number; sha256: string }[];
  expires_at: string | null;
  max_downloads: number | null;
  downloads: number;
}

const idOf = (id: string): string => {
  if (!/^[0-9a-f]{32}$/.test(id)) throw new Error("not a c11 link");
  return id;
};

export const listSends = (session: Session) => api<SendSummary[]>("GET", "/api/v1/sends", undefined, session);
export const showSend = (session: Session, id: string) => api<SendDetail>("GET", `/api/v1/sends/${idOf(id)}`, undefined, session);
export const revokeSend = (session: Session, id: string) =>
  api<SendSummary>("POST", `/api/v1/sends/${idOf(id)}/revoke`, undefined, session);
export const receivedSend = (session: Session, id: string) =>
  api<ReceivedSend>("GET", `/api/v1/received/${idOf(id)}`, undefined, session);

const b64 = (data: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(s);
};

/** A file's ciphertext from the server, hashed as it arrives: refused unless it has the envelope's size and SHA-256
 *  (a server swapping blobs is caught here; the signature check follows when it is opened). */
export async function downloadBlob(session: Session, id: string, file: EnvelopeFile, size: number, download: { id: string | null }): Promise<Blob> {
  let r: Response;
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}` };
  if (download.id) headers[DOWNLOAD_HEADER] = download.id;  // the other files of this download are not a new one
  try {
    r = await fetch(`/api/v1/received/${idOf(id)}/blobs/${idOf(file.blob)}`, { headers, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  if (!r.ok || !r.body) {
    const p = (await r.json().catch(() => ({}))) as { title?: string; detail?: string; type?: string };
    if (r.status === 409 && download.id && p.type?.endsWith("download-unknown")) {
      // the download's byte budget is spent (files saved again) or a newer download replaced it: start a new one
      download.id = null;
      return downloadBlob(session, id, file, size, download);
    }
    throw new ApiError(r.status, p.type ?? "about:blank", [p.title, p.detail].filter(Boolean).join(": ") || `The server answered ${r.status}.`);
  }
  download.id = r.headers.get(DOWNLOAD_HEADER) ?? download.id;
  const h = sha256.create();
  let got = 0;
  const parts: BlobPart[] = [];
  const reader = r.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got += value.length;
    if (got > size) throw new Error(`${file.path}: the server sent more than the file's size`);
    h.update(value);
    parts.push(value as Uint8Array<ArrayBuffer>);
  }
  if (got !== size || hex(h.digest()) !== file.sha256) throw new Error(`${file.path}: the downloaded file is not the one the sender listed`);
  return new Blob(parts);
}

// -- receiving ------------------------------------------------------------------------------------------------

export interface Opened {
  send: ReceivedSend;
  envelope: Envelope;
  info: FileInfo;
  /** The sender's registry key (verified in the log) signed the envelope. */
  verified: boolean;
  /** The sender's verified key when it is not the envelope's signer (shown as a warning). */
  senderKey: string | null;
  /** This download's ID (the server's answer to its first file). */
  download: { id: string | null };
}

/** The highest version of each link this browser opened (per server and ID; not secret): a lower one is a
 *  rollback and refused, as the SDK's SeenVersions does. */
const seenKey = (id: string) => `c11.sharing.seen.${location.origin}/r/${id}`;
const seenVersion = (id: string): number => Number(localStorage.getItem(seenKey(id)) ?? "0") || 0;

/** Fetch and decrypt the envelope with `keys` (worker handles); the signer is verified when the sending account's
 *  registry key (its log proofs checked here) is the key that signed it. */
export async function openSend(worker: CoreWorker, session: Session, trust: PageTrust, id: string, keys: number[]): Promise<Opened> {
  const send = await receivedSend(session, id);
  const raw = Uint8Array.from(atob(send.envelope), (c) => c.charCodeAt(0));
  if (raw.length > MAX_ENVELOPE) throw new Error("the send's envelope is too large");
  const { info, plaintext } = await worker.call("decrypt", { data: new Blob([raw]), keys });
  if (info.metadata.type !== ENVELOPE_TYPE) throw new Error("this is not a send's envelope");
  if (plaintext.size > MAX_ENVELOPE) throw new Error("the send's envelope is too large");
  const envelope = decodeEnvelope(new Uint8Array(await plaintext.arrayBuffer()));
  if (envelope.send !== id || envelope.kind !== send.kind) throw new Error("the server answered with another send's envelope than the link's: refused");
  if (envelope.version !== send.version) throw new Error(`the server says version ${send.version}, the signed envelope is version ${envelope.version}: refused`);
  const highest = seenVersion(id);
  if (envelope.version < highest) throw new Error(`the server served version ${envelope.version} of this link, older than version ${highest} this browser already opened: refused (a rollback)`);
  let verified = false;
  let senderKey: string | null = null;
  try {
    const key = await lookup(trust, session, send.sender);
    verified = key.sig !== null && hex(key.sig) === info.authorKey;
    if (!verified) senderKey = key.fingerprint;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;  // a proof that fails is a refusal
  }
  if (verified && envelope.version > highest) localStorage.setItem(seenKey(id), String(envelope.version));
  return { send, envelope, info, verified, senderKey, download: { id: null } };
}

/** One file of an opened send as a plaintext stream: downloaded (size and SHA-256 checked), opened in the worker
 *  (both signatures and the hash list verified), refused unless the envelope's signer signed it. */
export async function fileStream(worker: CoreWorker, session: Session, opened: Opened, file: EnvelopeFile, keys: number[]): Promise<ReadableStream<Uint8Array>> {
  const blob = opened.send.blobs.find((b) => b.id === file.blob);
  if (!blob) throw new Error(`the send does not hold the file ${file.path} any more`);
  const data = await downloadBlob(session, opened.send.id, file, blob.size, opened.download);
  const { info, file: handle } = await worker.call("openFile", { data, keys });
  if (info.authorKey !== opened.info.authorKey) {
    await worker.call("closeFile", { file: handle });
    throw new Error(`${file.path}: signed by another key than the send`);
  }
  const stream = await worker.call("readFile", { file: handle });
  // the worker's file is closed once the stream ends
  return stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ flush: () => void worker.call("closeFile", { file: handle }).catch(() => {}) }));
}

// -- sending --------------------------------------------------------------------------------------------------

export interface Recipient {
  email: string;
  key: PublicKey;
  org: OrgPolicy | null;
  temporary: boolean;
}

/** Emails as typed (commas, spaces, new lines), lower-cased, each once. */
export const emailList = (text: string): string[] =>
  [...new Set(text.split(/[\s,;]+/).map((e) => e.trim().toLowerCase()).filter(Boolean))];

/** Each recipient's key as the Encrypt page finds it: the registry key with its log proofs, else (not registered)
 *  the pending invitation's temporary key, inviting them first when `inviteNew`. */
export async function resolveRecipients(trust: PageTrust, session: Session, people: string[], inviteNew: boolean): Promise<{ found: Recipient[]; invited: string[] }> {
  const found: Recipient[] = [];
  const invited: string[] = [];
  for (const person of people) {
    if (!/^[^@\s]+@[^@\s]+$/.test(person)) throw new Error(`${person} is not an email address`);
    try {
      found.push({ email: person, ...(await lookupWithOrg(trust, session, person)), temporary: false });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      const temp = await lookupTemporary(trust, session, person).catch(async (e2) => {
        if (!(e2 instanceof ApiError && e2.status === 404)) throw e2;
        if (!inviteNew) throw new ApiError(404, "no-key", `${person} has no c11 key yet: tick "Invite people who are not registered yet"`);
        await invite(session, [person]);
        invited.push(person);
        return lookupTemporary(trust, session, person);
      });
      found.push({ email: person, key: temp.key, org: null, temporary: true });
    }
  }
  return { found, invited };
}

export interface Outgoing {
  /** The files with their paths in the send (a folder's files: `folder/sub/name`). */
  files: { path: string; file: File }[];
  message: string | null;
  online: boolean;
  /** The online policy's expiry (seconds since the epoch), or null. */
  onlineExpires: number | null;
}

export interface Prepared {
  send: string;
  version: number;
  envelope: Uint8Array;
  blobs: string[];
  added: { org: string; fingerprint: string }[];
}

/** Encrypt every file (streamed from the file through the worker) for the recipients and the organization rules'
 *  keys, upload each resumably, and seal the envelope. `sender` is the worker handle of your key. */
export async function encryptAndUpload(
  worker: CoreWorker, session: Session, found: Recipient[], sender: { handle: number; publicLine: string }, out: Outgoing,
  target: { send: string; kind: "send" | "link"; version: number }, progress: (text: string) => void,
): Promise<Prepared> {
  if (out.files.length === 0) throw new Error("Choose the files to send.");
  const paths = out.files.map((f) => f.path);
  if (new Set(paths).size !== paths.length) throw new Error("two files would have the same name in the send");
  paths.forEach(safePath);
  const plan = browserPlan(await ownPolicy(session), found.map((f) => f.org), found.map((f) => f.key), out.online);
  const recipients = plan.recipients.map((k) => k.line);
  const temporary = found.filter((f) => f.temporary).map((f) => f.key.fingerprint);
  const files: EnvelopeFile[] = [];
  for (const [n, { path, file }] of out.files.entries()) {
    progress(`Encrypting ${n + 1} of ${out.files.length}: ${path}`);
    const metadata = { name: path.split("/").pop() ?? path, type: file.type || null, size: file.size, mtime: Math.floor(file.lastModified / 1000), kind: "file" as const };
    let sealed: Blob;
    if (out.online) {
      const members = [...found.map((f) => ({ email: f.email, key: f.key })), ...plan.added.map((a) => ({ email: null, key: a.key }))];
      sealed = (await encryptOnline(worker, session, file, metadata, recipients, temporary, members, sender.handle, sender.publicLine, out.onlineExpires)).blob;
    } else {
      // read segment by segment as the stream is read; the Blob holding the ciphertext may live on disk
      sealed = await readAll(await worker.call("sealStream", { data: file, sender: sender.handle, recipients, temporary, metadata }));
    }
    progress(`Uploading ${n + 1} of ${out.files.length}: ${path}`);
    const digest = await blobSha256(sealed);
    const blob = await uploadBlob(sealed, session, (b) => progress(`Uploading ${n + 1} of ${out.files.length}: ${path} (${Math.round((100 * b) / Math.max(sealed.size, 1))} %)`), digest);
    files.push({ path, size: file.size, blob, sha256: digest });
  }
  const created = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const data = encodeEnvelope({ files, message: out.message, ...target, created });
  if (data.length > MAX_ENVELOPE / 2) throw new Error("too many files for one send (their list is over 512 KiB)");
  const env = await worker.call("encrypt", {
    data: new Blob([data as Uint8Array<ArrayBuffer>]), sender: sender.handle, recipients, temporary,
    metadata: { name: null, type: ENVELOPE_TYPE, size: data.length, mtime: null, kind: "file" },
  });
  return {
    send: target.send,
    version: target.version,
    envelope: new Uint8Array(await env.arrayBuffer()),
    blobs: files.map((f) => f.blob),
    added: plan.added.map((a) => ({ org: a.org, fingerprint: a.key.fingerprint })),
  };
}

export async function createSend(session: Session, kind: "send" | "link", recipients: string[], prepared: Prepared,
  expiresAt: string | null, maxDownloads: number | null): Promise<{ id: string; link: string; log_index: number | null }> {
  const body: Record<string, unknown> = { id: prepared.send, kind, recipients, envelope: b64(prepared.envelope), blobs: prepared.blobs };
  if (expiresAt) body.expires_at = expiresAt;
  if (maxDownloads !== null) body.max_downloads = maxDownloads;
  const made = await api<{ id: string; link: string; log_index: number | null }>("POST", "/api/v1/sends", body, session);
  if (made.id !== prepared.send) throw new Error("the server gave the send another ID than the one signed");
  return made;
}

/** A new send's ID, chosen here and signed in its envelope. */
export const newSendId = (): string => hex(crypto.getRandomValues(new Uint8Array(16)));

export const addVersion = (session: Session, id: string, prepared: Prepared) =>
  api<{ id: string; version: number; link: string }>("POST", `/api/v1/sends/${idOf(id)}/versions`,
    { envelope: b64(prepared.envelope), blobs: prepared.blobs, version: prepared.version }, session);

/** The ID in a link `…/r/<id>` (or a bare ID), or null. */
export function linkId(text: string): string | null {
  const m = /(?:^|\/r\/)([0-9a-f]{32})\/?$/.exec(text.trim());
  return m ? m[1]! : null;
}
