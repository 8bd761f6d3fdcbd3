/** ASCII armor (docs/format.md §7): a protected file as PEM-style base64 text in 64-column lines.
 *  Reading tolerates spaces/tabs/CR around lines and blank lines around the block; everything else is refused. */

import { b64, fromB64, type Bytes } from "./bytes";
import { FormatError, TruncatedError } from "./errors";

const BEGIN = "-----BEGIN C11 MESSAGE-----";
const END = "-----END C11 MESSAGE-----";

export function armor(data: Uint8Array): string {
  const s = b64(data);
  const lines = [BEGIN];
  for (let i = 0; i < s.length; i += 64) lines.push(s.slice(i, i + 64));
  lines.push(END);
  return lines.join("\n") + "\n";
}

export function isArmored(head: Uint8Array | string): boolean {
  const t = typeof head === "string" ? head : new TextDecoder("latin1").decode(head);
  return t.replace(/^[ \t\r\n\f\v]+/, "").startsWith("-----BEGIN C11");
}

export function dearmor(text: string): Bytes {
  if (/[^\x00-\x7f]/.test(text)) throw new FormatError("armored message contains non-ASCII characters");
  const lines = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "").split("\n").map((l) => l.replace(/^[ \t\r]+|[ \t\r]+$/g, ""));
  if (lines[0] !== BEGIN) throw new FormatError(`not an armored c11 message (expected ${BEGIN})`);
  if (lines.slice(0, -1).includes(END)) throw new FormatError(`the armored message has text after its ${END} line`);
  if (lines[lines.length - 1] !== END) throw new TruncatedError(`the armored message is incomplete (no ${END} line)`);
  const body = lines.slice(1, -1);
  body.forEach((l, i) => {
    if (l.length > 64 || (l.length < 64 && i !== body.length - 1) || !l)
      throw new FormatError("armored message has a malformed line (was it re-wrapped or cut?)");
  });
  try {
    return fromB64(body.join(""));
  } catch {
    throw new FormatError("armored message has invalid or non-canonical base64");
  }
}
