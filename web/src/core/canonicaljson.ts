/** Canonical JSON (docs/format.md §2.10): Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True).
 *  Used for online policies and group key documents; readers re-encode and compare bytes. */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SHORT: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };

function str(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const c = s.charCodeAt(i);
    if (SHORT[ch]) out += SHORT[ch];
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

export function canonicalJson(v: Json): string {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new TypeError("canonical JSON holds integers only");
    return String(v);
  }
  if (typeof v === "string") return str(v);
  if (Array.isArray(v)) return "[" + v.map(canonicalJson).join(",") + "]";
  const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return "{" + keys.map((k) => str(k) + ":" + canonicalJson(v[k]!)).join(",") + "}";
}
