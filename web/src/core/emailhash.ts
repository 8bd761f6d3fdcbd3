/** `email_hash` (docs/format.md §2.6): 64 hex digits of SHA-256("c11/v1 email\0" ‖ UTF-8(lower(trim(email)))).
 *  trim removes Unicode White_Space at both ends; lower is JavaScript's toLowerCase (no normalisation). */

import { concat, hex, utf8 } from "./bytes";
import { sha256 } from "./primitives";

export async function emailHash(email: string): Promise<string> {
  const t = email.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "").toLowerCase();
  return hex(await sha256(concat(utf8("c11/v1 email\x00"), utf8(t))));
}
