/** Group key wraps (docs/format.md §12): a .c11 file to one member holding the group identity as canonical JSON.
 *  Opening checks signature(s), media type, the exact canonical document, the asked reference and the seeds. */

import { b64, concat, fromB64, fromUtf8, hex } from "./bytes";
import { canonicalJson, type Json } from "./canonicaljson";
import { FormatError, RecipientError } from "./errors";
import { collect, decryptBlob } from "./file";
import { makeIdentity, type Identity } from "./identity";
import { keyId, parsePublicKey, type PublicKey } from "./publickey";

export const GROUP_KEY_TYPE = "application/vnd.c11.group-key+json";
const FIELDS = ["format", "group", "org", "public", "seeds", "version"];

export interface GroupKeyRef {
  org: string;
  group: string;
  version: number;
}

/** The wrap's plaintext for a group identity (what an admin's device seals to each member). */
export function encodeGroupKey(id: Identity, ref: GroupKeyRef): string {
  return canonicalJson({ format: "c11-group-key/v1", group: ref.group, org: ref.org, public: id.public.line, seeds: b64(concat(id.encSeed, id.sigSeed)), version: ref.version });
}

/** Open a wrap (standard base64 of a .c11 file) with the member's identities; `signers` are Ed25519 key IDs (hex)
 *  of whoever may have wrapped it, `expected` the group key the server lists for that version. */
export async function unwrapGroupKey(wrapped: string, ref: GroupKeyRef, mine: Identity[], expected?: PublicKey, signers?: Set<string>): Promise<Identity> {
  let blob: Uint8Array;
  try {
    blob = fromB64(wrapped);
  } catch {
    throw new FormatError("the group key wrap is not base64");
  }
  const { info, plaintext } = await decryptBlob(new Blob([blob as Uint8Array<ArrayBuffer>]), mine);
  const pt = await collect(plaintext);
  if (signers) {
    const author = hex(await keyId("ed25519", Uint8Array.from(info.authorKey.match(/../g)!.map((x) => parseInt(x, 16)))));
    if (!signers.has(author)) throw new FormatError("the group key wrap is not signed by the key of who the server says wrapped it");
  }
  if (info.metadata.type !== GROUP_KEY_TYPE) throw new FormatError("this c11 file is not a group key wrap");
  let doc: Record<string, Json>;
  let text: string;
  try {
    text = fromUtf8(pt);
    doc = JSON.parse(text);
  } catch {
    throw new FormatError("the group key wrap is not JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc) || Object.keys(doc).sort().join() !== FIELDS.join() || doc.format !== "c11-group-key/v1")
    throw new FormatError("the group key wrap is not a c11-group-key/v1 document");
  if (canonicalJson(doc) !== text) throw new FormatError("the group key wrap is not canonical JSON");
  if (doc.org !== ref.org || doc.group !== ref.group || doc.version !== ref.version)
    throw new FormatError(`the wrap holds '${String(doc.group)}' version ${String(doc.version)}, not '${ref.group}' version ${ref.version}`);
  let pub: PublicKey, seeds: Uint8Array;
  try {
    pub = await parsePublicKey(doc.public as string);
    seeds = fromB64(doc.seeds as string);
  } catch (e) {
    if (e instanceof RecipientError || e instanceof TypeError) throw new FormatError("the group key wrap holds a malformed key");
    throw e;
  }
  if (seeds.length !== 64) throw new FormatError("the group key wrap holds seeds of the wrong length");
  const id = await makeIdentity(`group:${ref.group}`, pub.kem, seeds.slice(0, 32), seeds.slice(32));
  if (id.public.line !== pub.line) throw new FormatError("the group key wrap's seeds do not derive its public key");
  if (expected && expected.fingerprint !== pub.fingerprint) throw new FormatError("the group key wrap holds another key than the group's (server answer inconsistent)");
  return id;
}

