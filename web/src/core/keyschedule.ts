/** Keys derived from a file key (docs/format.md §1): HKDF-SHA256(file key, salt = nonce, info = "c11/v1 " ‖ label ‖ context).
 *  One WebCrypto HKDF call per purpose. */

import { concat, utf8, type Bytes } from "./bytes";
import { hkdf } from "./primitives";

export type KeyLabel = "header" | "payload" | "metadata" | "recipient keys" | "bundle entry" | "part" | "commitment";

export function derive(fileKey: Uint8Array, nonce: Uint8Array, label: KeyLabel, context: Uint8Array = new Uint8Array()): Promise<Bytes> {
  return hkdf(fileKey, nonce, concat(utf8("c11/v1 " + label), context));
}

/** The online policy's file key (docs/format.md §2.6): HKDF(A ‖ B, salt = document ID, "c11/v1 online file key"). */
export function onlineFileKey(a: Uint8Array, b: Uint8Array, docId: Uint8Array): Promise<Bytes> {
  return hkdf(concat(a, b), docId, utf8("c11/v1 online file key"));
}
