/** Secure Document Send and share links in the browser (docs/sharing.md), as the SDK (c11.client.sharing) does
 *  them: each file encrypted in the worker into its own `.c11` for the recipients (keys from the verified registry,
 *  invitations and organization rules as the Encrypt page applies them), uploaded with the resumable upload of
 *  docrequests.ts (tus), then an *envelope* (a c11 file for the same recipients) naming the files and carrying the
 *  message. Receiving checks each file's SHA-256 against the envelope and that the envelope's signer signed it. */
import { sha256 } from "@noble/hashes/sha2.js";
import { Zip, ZipPassThrough } from "fflate";
import { hex } from "../core/bytes";
import { fromGenerator } from "../core/stream";
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
  /** Each recipient's latest step (emailed, delivered, undelivered, opened, downloaded, expired, revoked) and its times. */
  recipients: { email: string; status: string; emailed_at: string | null; delivered_at: string | null; opened_at: string | null; downloaded_at: string | null; downloads: number }[];
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
  // every STAGE bytes the pieces become a Blob of their own: the page's memory holds at most one stage, the
  // browser's blob store (which moves large blobs to disk) the rest
  const blobs: Blob[] = [];
  let parts: Uint8Array<ArrayBuffer>[] = [];
  let staged = 0;
  const reader = r.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got += value.length;
    if (got > size) {
      await reader.cancel().catch(() => {});
      throw new Error(`${file.path}: the server sent more than the file's size`);
    }
    h.update(value);
    parts.push(value as Uint8Array<ArrayBuffer>);
    staged += value.length;
    if (staged >= STAGE) {
      blobs.push(new Blob(parts));
      parts = [];
      staged = 0;
    }
  }
  if (got !== size || hex(h.digest()) !== file.sha256) throw new Error(`${file.path}: the downloaded file is not the one the sender listed`);
  return new Blob([...blobs, new Blob(parts)]);
}

/** Bytes of a download kept in the page before they are moved into a Blob. */
const STAGE = 16 << 20;

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
/** The key that signed the first verified version of each link this browser opened (the link's pinned signer, as
 *  the SDK's SeenVersions keeps it): a version signed by another key is refused, whoever the server says sent it. */
const signerKey = (id: string) => `c11.sharing.signer.${location.origin}/r/${id}`;

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
  const pinned = localStorage.getItem(signerKey(id));
  if (pinned !== null && pinned !== info.authorKey)
    throw new Error(`version ${envelope.version} of this link is signed by another key (${info.authorKey}) than the one that signed it when this browser first opened it (${pinned}), whoever the server says sent it (${send.sender}): refused, nothing is offered. If the sender really changed their key, ask them for a new link`);
  let verified = false;
  let senderKey: string | null = null;
  try {
    const key = await lookup(trust, session, send.sender);
    verified = key.sig !== null && hex(key.sig) === info.authorKey;
    if (!verified) senderKey = key.fingerprint;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;  // a proof that fails is a refusal
  }
  if (verified && pinned === null) localStorage.setItem(signerKey(id), info.authorKey);
  if (verified && envelope.version > highest) localStorage.setItem(seenKey(id), String(envelope.version));
  return { send, envelope, info, verified, senderKey, download: { id: null } };
}

/** One file of an opened send as a plaintext stream: downloaded (size and SHA-256 checked), opened in the worker
 *  (both signatures and the hash list verified), refused unless the envelope's signer signed it. */
export async function fileStream(worker: CoreWorker, session: Session, opened: Opened, file: EnvelopeFile, keys: number[]): Promise<ReadableStream<Uint8Array>> {
  if (opened.send.kind === "link") await checkLatest(session, opened);
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

/** A share link was updated since its page opened it: the page shows the new version (`reload`) instead of saving
 *  an old one. */
export class NewerVersionError extends Error {
  constructor(readonly version: number) {
    super(`the sender shared version ${version} since this page opened the link: it shows that version now, save again`);
    this.name = "NewerVersionError";
  }
}

/** Refuse to serve an opened link's files once the server has a newer version (or the link closed: its 410). */
export async function checkLatest(session: Session, opened: Opened): Promise<void> {
  // the light route: no envelope, no log entry (an open page asks every few seconds)
  const now = await api<{ version: number }>("GET", `/api/v1/received/${idOf(opened.send.id)}/latest`, undefined, session);
  if (now.version !== opened.send.version) throw new NewerVersionError(now.version);
}

/** Largest "save all" ZIP: fflate writes no ZIP64, so the classic format's 4 GiB and 65 535 entries (with room for
 *  the headers). */
export const ZIP_MAX_BYTES = 4 * 1024 ** 3 - (64 << 20);
export const ZIP_MAX_FILES = 65_000;

/** All the files of an opened send as one ZIP stream (the browser's counterpart of the folder `c11 receive` writes):
 *  each file in turn downloaded, checked and decrypted as `fileStream` does, and stored (not compressed) under its
 *  path in the envelope. A file that fails errors the stream, so no complete ZIP is ever saved with a bad file. */
export function zipStream(open: (f: EnvelopeFile) => Promise<ReadableStream<Uint8Array>>, files: EnvelopeFile[]): ReadableStream<Uint8Array> {
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > ZIP_MAX_BYTES || files.length > ZIP_MAX_FILES)
    throw new Error("too large for one ZIP (over 4 GiB or 65 000 files): save the files one by one");
  return fromGenerator(zipChunks(open, files));
}

async function* zipChunks(open: (f: EnvelopeFile) => Promise<ReadableStream<Uint8Array>>, files: EnvelopeFile[]): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else out.push(chunk);
  });
  const drain = function* () {
    if (failure) throw new Error(`the ZIP could not be written (${(failure as Error).message})`);
    while (out.length) yield out.shift()!;
  };
  for (const f of files) {
    safePath(f.path);
    const member = new ZipPassThrough(f.path);
    member.os = 3;
    member.attrs = 0o100644 << 16;
    zip.add(member);
    const reader = (await open(f)).getReader();
    let got = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
      member.push(value, false);
      yield* drain();
    }
    if (got !== f.size) throw new Error(`${f.path}: ${got} bytes, the envelope says ${f.size}`);
    member.push(new Uint8Array(0), true);
    yield* drain();
  }
  zip.end();
  yield* drain();
}

// -- uploading ------------------------------------------------------------------------------------------------

/** Bytes per PATCH of a streamed upload: a broken connection resends at most this much, and the page holds at most
 *  two of them (the one being sent, the next one read from the encrypting stream). */
export const PIECE = 8 << 20;
/** Failed PATCHes in a row before an upload gives up (waiting 0.5, 1, 2, 4, 8, 8… s between them: a server
 *  restarting or a connection coming back within about a minute is waited for). */
const RETRIES = 10;

/** The length of a version 2 `.c11` file from its first 41 bytes and its plaintext's size (docs/format.md §2,
 *  §5, §5.1): the header (magic 8, version 1, body length 4, body L, MAC 32, signature 64), n sealed segments
 *  (the plaintext and a 16-byte tag each) and the trailer (32 n + 8 + 64), n = max(1, ⌈size / s⌉) with the
 *  header's segment size s. Tus needs the length before the first byte; the upload checks it at the end. */
export function sealedLength(head: Uint8Array, size: number): number {
  if (head.length < 41 || head[0] !== 0x89 || head[8] !== 2) throw new Error("the encrypted stream is not a version 2 c11 file");
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const body = v.getUint32(9);
  const s = v.getUint32(13 + 24);
  if (s < 1024 || s > 1 << 24) throw new Error("the encrypted stream has a bad segment size");
  const n = Math.max(1, Math.ceil(size / s));
  return 8 + 1 + 4 + body + 32 + 64 + size + 16 * n + 32 * n + 8 + 64;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

async function tusCall(method: string, url: string, session: Session, headers: Record<string, string>, body?: Blob): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url, { method, body, headers: { "tus-resumable": "1.0.0", ...headers, authorization: `Bearer ${session.token}` }, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  if (!r.ok) {
    const p = (await r.json().catch(() => ({}))) as { title?: string; detail?: string; type?: string };
    throw new ApiError(r.status, p.type ?? "about:blank", [p.title, p.detail].filter(Boolean).join(": ") || `The server answered ${r.status}.`);
  }
  return r;
}

/** Worth trying again: no answer (a broken connection, a server restarting), 5xx, 429 (too many PATCHes), 409 (the
 *  offset moved: ask again). */
const retryable = (e: unknown) => e instanceof ApiError && (e.status === 0 || e.status >= 500 || e.status === 429 || e.status === 409);

/** Upload an encrypting stream (the worker's `sealStream` of a file of `size` bytes) as it is produced, in constant
 *  memory: the upload is created with the length its header announces (`sealedLength`), each PIECE is hashed and
 *  PATCHed while the next one is read; after a failure the server's offset (HEAD) says where to go on inside the
 *  piece still held. Completed with the SHA-256 of all the bytes. Returns the upload's ID and that SHA-256. */
export async function uploadSealed(stream: ReadableStream<Uint8Array>, size: number, session: Session,
  onProgress?: (sent: number, total: number) => void): Promise<{ id: string; sha256: string; length: number }> {
  const reader = stream.getReader();
  const h = sha256.create();
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  let ended = false;
  /** The next piece of up to PIECE bytes (hashed), or null at the end. */
  const nextPiece = async (): Promise<Blob | null> => {
    while (!ended && heldBytes < PIECE) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else if (value.length) {
        held.push(value);
        heldBytes += value.length;
      }
    }
    if (heldBytes === 0) return null;
    const parts: Uint8Array<ArrayBuffer>[] = [];
    let taken = 0;
    while (taken < PIECE && held.length) {
      const c = held[0]!;
      const want = PIECE - taken;
      const part = c.length <= want ? c : c.subarray(0, want);
      if (c.length <= want) held.shift();
      else held[0] = c.subarray(want);
      parts.push(part as Uint8Array<ArrayBuffer>);
      h.update(part);
      taken += part.length;
    }
    heldBytes -= taken;
    return new Blob(parts);
  };
  let url = "";
  try {
    // the header's first bytes say the file's length
    while (!ended && heldBytes < 41) {
      const { value, done } = await reader.read();
      if (done) ended = true;
      else { held.push(value); heldBytes += value.length; }
    }
    const first = new Uint8Array(41);
    let at = 0;
    for (const c of held) {
      const n = Math.min(c.length, 41 - at);
      first.set(c.subarray(0, n), at);
      at += n;
      if (at === 41) break;
    }
    const length = sealedLength(first.subarray(0, at), size);
    const created = await tusCall("POST", "/api/v1/uploads", session, { "upload-length": String(length) });
    url = created.headers.get("location") ?? "";
    if (!url.startsWith("/api/v1/uploads/")) throw new ApiError(0, "upload", "The server did not say where to upload.");
    let start = 0;
    let piece = await nextPiece();
    while (piece) {
      const end = start + piece.size;
      if (end > length) throw new Error("the encrypted file is longer than its header says: not uploaded");
      const following = nextPiece();  // read and hash the next piece while this one is sent
      following.catch(() => {});
      let known: number | null = start;
      let failures = 0;
      while (known === null || known < end) {
        try {
          if (known === null) known = Number((await tusCall("HEAD", url, session, {})).headers.get("upload-offset"));
          if (!(known >= start && known <= end)) throw new Error(`the server lost part of the upload (it has ${known} bytes, ${start} were sent): start again`);
          if (known === end) break;
          const r = await tusCall("PATCH", url, session, { "upload-offset": String(known), "content-type": "application/offset+octet-stream" },
            piece.slice(known - start));
          known = Number(r.headers.get("upload-offset"));
          failures = 0;
          onProgress?.(known, length);
        } catch (e) {
          if (!retryable(e) || ++failures > RETRIES) throw e;
          await sleep(Math.min(500 * 2 ** (failures - 1), 8000));
          known = null;  // resume where the server stopped
        }
      }
      start = end;
      piece = await following;
    }
    if (start !== length) throw new Error(`the encrypted file has ${start} bytes, its header says ${length}: not uploaded`);
    const digest = hex(h.digest());
    const done = await api<{ id: string }>("POST", `${url}/complete`, { length, sha256: digest }, session);
    return { id: done.id, sha256: digest, length };
  } catch (e) {
    await reader.cancel().catch(() => {});
    held = [];
    if (url) await tusCall("DELETE", url, session, {}).catch(() => {});  // nothing left half-uploaded
    throw e;
  }
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
    const shown = (b: number, total: number) => progress(`Encrypting and uploading ${n + 1} of ${out.files.length}: ${path} (${Math.round((100 * b) / Math.max(total, 1))} %)`);
    if (out.online) {
      const members = [...found.map((f) => ({ email: f.email, key: f.key })), ...plan.added.map((a) => ({ email: null, key: a.key }))];
      const sealed = (await encryptOnline(worker, session, file, metadata, recipients, temporary, members, sender.handle, sender.publicLine, out.onlineExpires)).blob;
      progress(`Uploading ${n + 1} of ${out.files.length}: ${path}`);
      const digest = await blobSha256(sealed);
      const blob = await uploadBlob(sealed, session, (b) => shown(b, sealed.size), digest);
      files.push({ path, size: file.size, blob, sha256: digest });
    } else {
      // sealed segment by segment as the upload reads the stream: the page never holds the whole ciphertext
      const sealed = await worker.call("sealStream", { data: file, sender: sender.handle, recipients, temporary, metadata });
      const up = await uploadSealed(sealed, file.size, session, shown);
      files.push({ path, size: file.size, blob: up.id, sha256: up.sha256 });
    }
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
