/** The encrypted metadata's JSON (docs/format.md §2.2): name, type, size, mtime, kind — strictly typed.
 *  Integers are checked on their source text (16.0 and true are not integers) with JSON.parse's source access. */

import { fromUtf8, utf8, type Bytes } from "./bytes";
import { FormatError } from "./errors";

export interface Metadata {
  name: string | null;
  type: string | null;
  size: number | null;
  mtime: number | null;
  kind: "file" | "message" | "bundle" | "parts";
}
const KINDS = ["file", "message", "bundle", "parts"];

/** Encode as c11 writes it (sorted keys, no spaces). */
export function encodeMetadata(m: Metadata): Bytes {
  const o = { kind: m.kind, mtime: m.mtime, name: m.name, size: m.size, type: m.type };
  return utf8(JSON.stringify(o));
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

export function parseMetadata(data: Uint8Array): Metadata {
  let d: unknown;
  const ints = new Map<string, string>();
  try {
    const reviver: Reviver = function (key, value, context) {
      if (typeof value === "number" && context?.source !== undefined && this && !Array.isArray(this)) ints.set(key, context.source);
      return value;
    };
    d = JSON.parse(fromUtf8(data), reviver as (k: string, v: unknown) => unknown);
  } catch {
    throw new FormatError("malformed metadata (not a UTF-8 JSON object)");
  }
  if (typeof d !== "object" || d === null || Array.isArray(d)) throw new FormatError("malformed metadata (not a JSON object)");
  const o = d as Record<string, unknown>;
  const get = (k: string) => (Object.hasOwn(o, k) ? o[k] : null);
  for (const k of ["name", "type"]) {
    const v = get(k);
    if (v !== null && typeof v !== "string") throw new FormatError(`malformed metadata (${k} is not a string or null)`);
  }
  for (const k of ["size", "mtime"]) {
    const v = get(k);
    if (v === null) continue;
    const src = ints.get(k);
    if (typeof v !== "number" || (src !== undefined && !/^(0|[1-9][0-9]*)$/.test(src)) || !Number.isInteger(v) || v < 0 || BigInt(src ?? v) >= 1n << 63n)
      throw new FormatError(`malformed metadata (${k} is not an integer from 0 to 2^63-1 or null)`);
  }
  const kind = Object.hasOwn(o, "kind") ? o.kind : "file";
  if (typeof kind !== "string" || !KINDS.includes(kind)) throw new FormatError("malformed metadata (unknown kind)");
  return {
    name: get("name") as string | null,
    type: get("type") as string | null,
    size: get("size") as number | null,
    mtime: get("mtime") as number | null,
    kind: kind as Metadata["kind"],
  };
}
