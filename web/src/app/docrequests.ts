/** Secure Document Request in the browser (docs/sharing.md, "Document requests"): the emailed link's capability,
 *  the requester's key checked in the transparency log (as registry.ts checks lookups: pinned log key, stored
 *  checkpoint), and resumable uploads (tus, `/api/v1/uploads`) of the `.c11` files the worker makes. */
import { hex } from "../core/bytes";
import { verifyKeyLookup } from "../core/registry";
import { sha256 as sha256Stream } from "@noble/hashes/sha2.js";
import type { PublicKey } from "../core/publickey";
import type { DocRequest } from "../core/docrequest";
import { checkLinkRequest, verifyRequest } from "../core/docrequest";
import { ApiError, api, message, type Session } from "./api";
import { groupKey } from "./groups";
import { loadLogTrust, storeCheckpoint } from "./logtrust";

/** The link's capability: `#<request id>.<token>` in the emailed URL (never sent to the server as a URL). */
export interface RequestLink {
  id: string;
  token: string;
}

export function parseLink(hash: string): RequestLink | null {
  const m = /^#?([a-z0-9]{26})\.(c11r_[A-Za-z0-9_-]{20,80})$/.exec(hash.trim());
  return m ? { id: m[1]!, token: m[2]! } : null;
}

/** The link token as a bearer credential for `api()` (it opens only its request). */
export const linkSession = (link: RequestLink): Session => ({ token: link.token, email: "", emailVerified: false });

export interface Item {
  n: number;
  field: string | null;
  size: number;
  complete: boolean;
}

export interface RequestState {
  id: string;
  name: string;
  status: string;
  expires_at: string;
  request: DocRequest;
  signature: string;
  items: Item[];
}

export interface VerifiedRequest {
  state: RequestState;
  requesterKey: PublicKey;
  logIndex: number;
}

/** The request behind the link, its signature checked against the requester's key, which is checked in the log;
 *  it must be the request the link names and not past its signed expiry. The answers are for the signed `keys`
 *  only: the lookup's `org` field (the server's word, outside the log proof) is never used.
 *  Throws ApiError (410 expired / cancelled, 401 bad link) or the core's ProofError / BadSignatureError. */
export async function openRequest(link: RequestLink): Promise<VerifiedRequest> {
  const session = linkSession(link);
  const state = await api<RequestState>("GET", `/api/v1/request-links/${link.id}`, undefined, session);
  const stored = await loadLogTrust();
  const known = stored.size !== null ? `?known_size=${stored.size}` : "";
  const answer = await api<Record<string, unknown>>("GET", `/api/v1/request-links/${link.id}/requester-key${known}`, undefined, session);
  const proof = async (from: bigint, to: bigint) =>
    (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`)).proof;
  const verified = await verifyKeyLookup(answer, state.request.requester, stored.log, proof);
  await storeCheckpoint(stored.log.logKey, verified.accepted.note);
  await verifyRequest(state.request, state.signature, verified.publicKey);
  if (checkLinkRequest(state.request, link.id, new Date()) === "expired")
    throw new ApiError(410, "https://c11.dev/problems/request-expired", "This request's signed expiry has passed.");
  return { state, requesterKey: verified.publicKey, logIndex: Number(answer.log_index) };
}

/** The key lines of the groups a template names, each the group's current key verified in the log exactly as the
 *  Encrypt page verifies `group:NAME` (groups.ts `groupKey`); `c11 request create` signs them into `keys` after the
 *  requester's key and the recovery keys. A group whose key cannot be verified refuses the whole request: an Error
 *  naming it, before anything is signed or sent. */
export async function templateGroupKeys(session: Session, groups: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of groups) {
    try {
      out.push((await groupKey(session, name)).line);
    } catch (e) {
      throw new Error(`the key of group:${name} could not be verified (nothing was sent): ${message(e)}`);
    }
  }
  return out;
}

const TUS = { "tus-resumable": "1.0.0" };
/** Bytes per PATCH: a broken connection loses at most this much. */
export const CHUNK = 4 * 1024 * 1024;

async function tus(method: string, url: string, session: Session, headers: Record<string, string>, body?: Blob): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url, { method, body, headers: { ...TUS, ...headers, authorization: `Bearer ${session.token}` }, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  if (!r.ok) {
    let detail = `The server answered ${r.status}.`;
    try {
      const p = (await r.json()) as { title?: string; detail?: string; type?: string };
      detail = [p.title, p.detail].filter(Boolean).join(": ") || detail;
      throw new ApiError(r.status, p.type ?? "about:blank", detail);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError(r.status, "about:blank", detail);
    }
  }
  return r;
}

/** The SHA-256 (hex) of a Blob, read as a stream (constant memory, any size). */
export async function blobSha256(blob: Blob): Promise<string> {
  const h = sha256Stream.create();
  const reader = blob.stream().getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return hex(h.digest());
    h.update(value);
  }
}

/** Upload `blob` resumably: create, PATCH in chunks (after a failure, ask the offset with HEAD and go on from
 *  there, a few times), then complete with its SHA-256 (`digest` when the caller has it). Returns the upload's ID. */
export async function uploadBlob(blob: Blob, session: Session, onProgress?: (bytes: number) => void, digest?: string): Promise<string> {
  const created = await tus("POST", "/api/v1/uploads", session, { "upload-length": String(blob.size) });
  const url = created.headers.get("location") ?? "";
  if (!url.startsWith("/api/v1/uploads/")) throw new ApiError(0, "upload", "The server did not say where to upload.");
  let offset = 0;
  let failures = 0;
  while (offset < blob.size) {
    try {
      const r = await tus("PATCH", url, session, { "upload-offset": String(offset), "content-type": "application/offset+octet-stream" },
        blob.slice(offset, Math.min(offset + CHUNK, blob.size)));
      offset = Number(r.headers.get("upload-offset"));
      onProgress?.(offset);
    } catch (e) {
      if (++failures > 5 || (e instanceof ApiError && e.status >= 400 && e.status !== 409)) throw e;
      await new Promise((ok) => setTimeout(ok, 500 * failures));
      offset = Number((await tus("HEAD", url, session, {})).headers.get("upload-offset"));  // resume where it stopped
    }
  }
  const done = await api<{ id: string }>("POST", `${url}/complete`, { length: blob.size, sha256: digest ?? await blobSha256(blob) }, session);
  return done.id;
}

/** Announce item `n` (0: the answers; else a file of `field`), upload it, and attach the upload to it. */
export async function sendItem(link: RequestLink, n: number, field: string | null, blob: Blob, onProgress?: (b: number) => void): Promise<void> {
  const session = linkSession(link);
  await api("POST", `/api/v1/request-links/${link.id}/items`, { n, field, size: blob.size }, session);
  const upload = await uploadBlob(blob, session, onProgress);
  await api("POST", `/api/v1/request-links/${link.id}/items/${n}/upload`, { upload_id: upload }, session);
}

export const submit = (link: RequestLink) => api<RequestState>("POST", `/api/v1/request-links/${link.id}/submit`, undefined, linkSession(link));
