/** Log entries about people (docs/log.md §7): the v2 actor commitment and checking an opening against an entry.
 *  A person opening "my history" checks that each entry's actor is the commitment to (nonce, private). */

import { concat, fromUtf8, hex, utf8 } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { ProofError } from "./errors";
import { sha256 } from "./primitives";

/** actor = hex SHA-256("c11-log-actor/v2" ‖ 0x00 ‖ nonce ‖ private), private being canonical JSON. */
export async function actorCommitment(nonce: Uint8Array, privateJson: string): Promise<string> {
  return hex(await sha256(concat(utf8("c11-log-actor/v2\x00"), nonce, utf8(privateJson))));
}

/** Check an opening (nonce, private) of a v2 entry: both canonical, the actor matches, `person` is the one expected. */
export async function checkOpening(entry: Uint8Array, nonce: Uint8Array, privateJson: string, person: string | null): Promise<Record<string, Json>> {
  let e: Record<string, Json>, p: Record<string, Json>;
  try {
    e = JSON.parse(fromUtf8(entry));
    p = JSON.parse(privateJson);
    if (canonicalJson(e) !== fromUtf8(entry) || canonicalJson(p) !== privateJson) throw new Error();
  } catch {
    throw new ProofError("a log entry or its opening is not canonical JSON");
  }
  if (e.v !== 2 || nonce.length !== 32) throw new ProofError("not a v2 log entry opening");
  if ((await actorCommitment(nonce, privateJson)) !== e.actor) throw new ProofError("the opening does not match the entry's actor commitment");
  if (p.person !== person) throw new ProofError("the log entry is about someone else");
  return { ...e, ...p };
}
