/** Identity labels (docs/format.md §2.8): UTF-8, at most 256 bytes, no Cc/Cf/Cs/Zl/Zp characters.
 *  Returns an error message, or null when the label is acceptable. */

import { utf8 } from "./bytes";

export const MAX_LABEL_BYTES = 256;
const REFUSED = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

export function labelProblem(label: string): string | null {
  if (utf8(label).length > MAX_LABEL_BYTES) return `is longer than ${MAX_LABEL_BYTES} bytes`;
  const m = REFUSED.exec(label);
  if (m) return `contains the control or formatting character U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  return null;
}
