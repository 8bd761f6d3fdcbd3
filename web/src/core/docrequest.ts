/** Secure Document Request (docs/sharing.md, "Document requests"): the port of src/c11/format/request.py that the
 *  recipient's page needs — the signed bytes and their check against the requester's registry key, and the form's
 *  rules on answers (vectors: tests/vectors/requests/). */
import { concat, fromB64, hex, utf8 } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { BadSignatureError, FormatError } from "./errors";
import { ed25519Verify, sha256 } from "./primitives";
import type { PublicKey } from "./publickey";

export const SIGNING_CONTEXT = "c11/v1 document request\0";
export const ANSWERS_KIND = "c11-request-answers";
export const MAX_TEXT_ANSWER = 10_000;
export const MAX_FILE_BYTES = 10 * 1024 ** 3;

export interface Field {
  id: string;
  label: string;
  type: "text" | "multiline" | "number" | "date" | "email" | "phone" | "choice" | "checkbox" | "file";
  required: boolean;
  help?: string;
  min_length?: number;
  max_length?: number;
  min?: number | string;
  max?: number | string;
  integer?: boolean;
  options?: string[];
  multiple?: boolean;
  accept?: string[];
  max_files?: number;
  max_bytes?: number;
}

export interface Section {
  title: string;
  fields: Field[];
}

export interface DocRequest {
  v: number;
  id: string;
  name: string;
  requester: string;
  recipient_name: string;
  recipient_email: string;
  created_at: string;
  expires_at: string;
  message: string;
  sections: Section[];
  keys: string[];
  max_files: number;
  max_bytes: number;
}

export interface FileItem {
  item: number;
  name: string;
  size: number;
  type: string;
}

export type Answer = string | boolean | string[];

/** What the requester's key signs: the context string, then the request's canonical JSON. */
export function signedBytes(request: DocRequest): Uint8Array {
  return concat(utf8(SIGNING_CONTEXT), utf8(canonicalJson(request as unknown as Json)));
}

/** SHA-256 (hex) of the signed bytes: the answers document names the exact request with it. */
export async function requestDigest(request: DocRequest): Promise<string> {
  return hex(await sha256(signedBytes(request)));
}

/** Check that `key` (the requester's verified registry key) signed `request`: BadSignatureError otherwise. */
export async function verifyRequest(request: DocRequest, signature: string, key: PublicKey): Promise<void> {
  if (!Array.isArray(request.keys) || request.keys[0] !== key.line)
    throw new BadSignatureError("the request names another key than the requester's published key");
  if (key.sig === null) throw new BadSignatureError("the requester's key has no signing key");
  let sig: Uint8Array;
  try {
    sig = fromB64(signature);
  } catch {
    throw new BadSignatureError("the request's signature is malformed");
  }
  if (!(await ed25519Verify(key.sig, sig, signedBytes(request))))
    throw new BadSignatureError("the request's signature does not verify with the requester's key");
}

/** After `verifyRequest`: the signed request must be the one the emailed link names (else the server served
 *  another genuine request of the same requester: BadSignatureError); "expired" once its signed `expires_at`
 *  passed on this clock, else "open". */
export function checkLinkRequest(request: DocRequest, linkId: string, now: Date): "open" | "expired" {
  if (request.id !== linkId)
    throw new BadSignatureError(`the server served request ${String(request.id).slice(0, 40)}, not the one the link names (${linkId})`);
  const expires = Date.parse(request.expires_at);
  if (!Number.isFinite(expires)) throw new BadSignatureError("the request's signed expiry is not a time");
  return now.getTime() >= expires ? "expired" : "open";
}

export const fields = (r: DocRequest): Field[] => r.sections.flatMap((s) => s.fields);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ().-]{5,30}$/;
const NUMBER = /^-?[0-9]{1,15}(\.[0-9]{1,6})?$/;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

function validDate(v: string): boolean {
  if (!DATE.test(v)) return false;
  const [y, m, d] = v.split("-").map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d && y >= 1;
}

/** Why `v` is not a valid answer to field `f` (null when it is), as request.py's `_answer_error`. */
export function answerError(f: Field, v: Answer | undefined): string | null {
  const t = f.type;
  if (t === "checkbox") {
    if (typeof v !== "boolean") return "must be true or false";
    return f.required && !v ? "must be checked" : null;
  }
  if (t === "choice") {
    const vals = f.multiple ? v : [v];
    if (!Array.isArray(vals) || !vals.every((x) => typeof x === "string" && (f.options ?? []).includes(x))) return "must be one of the options";
    return f.required && vals.length === 0 ? "is required" : null;
  }
  if (typeof v !== "string") return "must be text";
  if (v === "") return f.required ? "is required" : null;
  if (t === "text" || t === "multiline") {
    if (t === "text" && v.includes("\n")) return "must be one line";
    const lo = f.min_length ?? 0;
    const hi = f.max_length ?? MAX_TEXT_ANSWER;
    if (v.length < lo || v.length > hi) return `must be ${lo} to ${hi} characters`;
  } else if (t === "number") {
    if (!NUMBER.test(v) || (f.integer && v.includes("."))) return f.integer ? "must be a whole number" : "must be a number";
    const n = Number(v);
    if ((f.min !== undefined && n < Number(f.min)) || (f.max !== undefined && n > Number(f.max)))
      return `must be from ${f.min ?? "-∞"} to ${f.max ?? "∞"}`;
  } else if (t === "date") {
    if (!validDate(v)) return "must be a date YYYY-MM-DD";
    if ((f.min !== undefined && v < String(f.min)) || (f.max !== undefined && v > String(f.max)))
      return `must be between ${f.min ?? "any"} and ${f.max ?? "any"}`;
  } else if (t === "email") {
    if (v.length > 320 || !EMAIL.test(v)) return "must be an email address";
  } else if (t === "phone") {
    const digits = [...v].filter((c) => c >= "0" && c <= "9").length;
    if (!PHONE.test(v) || digits < 5 || digits > 20) return "must be a phone number";
  }
  return null;
}

/** Why the files picked for file field `f` are refused (null when accepted). */
export function filesError(f: Field, items: { name: string; size: number }[]): string | null {
  if (f.required && items.length === 0) return "is required";
  const most = f.max_files ?? 1;
  if (items.length > most) return `at most ${most} files`;
  for (const it of items) {
    const name = it.name;
    if (!name || name.length > 255 || name.includes("/") || name.includes("\\") || name === "." || name === "..") return "a file name must be a plain name";
    if (it.size > (f.max_bytes ?? MAX_FILE_BYTES)) return `${name} is larger than ${f.max_bytes ?? MAX_FILE_BYTES} bytes`;
    const accept = f.accept ?? [];
    if (accept.length && !accept.some((a) => name.toLowerCase().endsWith(a))) return `${JSON.stringify(name)} is not one of ${accept.join(", ")}`;
  }
  return null;
}

/** The default (empty) answer of a field. */
export const emptyAnswer = (f: Field): Answer => (f.type === "checkbox" ? false : f.type === "choice" && f.multiple ? [] : "");

/** Check a whole answers document against the request (FormatError naming the field's label first). */
export async function checkAnswers(request: DocRequest, doc: Record<string, unknown>): Promise<void> {
  if (doc.kind !== ANSWERS_KIND || doc.v !== 1) throw new FormatError("not a document request answers document");
  if (doc.request !== request.id || doc.request_digest !== (await requestDigest(request)))
    throw new FormatError("these answers are for another request (or another version of it)");
  const answers = doc.answers as Record<string, Answer>;
  const files = doc.files as Record<string, FileItem[]>;
  if (typeof answers !== "object" || answers === null || typeof files !== "object" || files === null)
    throw new FormatError("answers document: answers and files must be objects");
  const byId = new Map(fields(request).map((f) => [f.id, f]));
  if ([...Object.keys(answers), ...Object.keys(files)].some((k) => !byId.has(k)))
    throw new FormatError("answers document: an answer to a field the request does not have");
  let count = 0;
  for (const f of byId.values()) {
    if (f.type === "file") {
      const items = files[f.id] ?? [];
      if (f.id in answers || !Array.isArray(items)) throw new FormatError(`${f.label}: files are listed under files`);
      const err = filesError(f, items);
      if (err) throw new FormatError(`${f.label}: ${err}`);
      count += items.length;
      continue;
    }
    if (f.id in files) throw new FormatError(`${f.label}: only file fields list files`);
    const err = answerError(f, f.id in answers ? answers[f.id] : emptyAnswer(f));
    if (err) throw new FormatError(`${f.label}: ${err}`);
  }
  if (count > request.max_files) throw new FormatError(`at most ${request.max_files} files in all`);
}

/** The answers document (checked) the page encrypts as one protected file. */
export async function answersDocument(request: DocRequest, answers: Record<string, Answer>, files: Record<string, FileItem[]>,
  submittedAt: string): Promise<Record<string, unknown>> {
  const doc = { v: 1, kind: ANSWERS_KIND, request: request.id, request_digest: await requestDigest(request),
    submitted_at: submittedAt, answers, files };
  await checkAnswers(request, doc);
  return doc;
}
