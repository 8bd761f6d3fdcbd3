/** The key archive (docs/shards.md §2.4): a person's earlier private keys, as one .c11 file to (and signed by) the
 *  current key, whose plaintext is {"format": "c11-key-archive/v1", "keys": [unprotected key file documents]}. */

import { b64, fromB64, fromUtf8, utf8 } from "./bytes";
import { C11Error, FormatError } from "./errors";
import { collect, decryptBlob, encryptStream } from "./file";
import type { Identity } from "./identity";
import { parseKeyFile, writeKeyFile } from "./keyfile";

const FORMAT = "c11-key-archive/v1";

/** Open an archive (standard base64 of the .c11 file, as the server stores it) with the current identity. */
export async function openKeyArchive(archiveB64: string, current: Identity): Promise<Identity[]> {
  let doc: { format?: unknown; keys?: unknown };
  try {
    const { plaintext } = await decryptBlob(new Blob([fromB64(archiveB64)]), [current]);
    doc = JSON.parse(fromUtf8(await collect(plaintext)));
  } catch (e) {
    if (e instanceof C11Error) throw e;
    throw new FormatError("your key archive is damaged");
  }
  if (typeof doc !== "object" || doc === null || doc.format !== FORMAT || !Array.isArray(doc.keys)) throw new FormatError("your key archive is damaged (format)");
  return Promise.all(doc.keys.map(async (k) => (await parseKeyFile(JSON.stringify(k), "key archive")).unlock()));
}

/** A new archive of `keys` (the current key itself left out) for `to`; standard base64 of the .c11 file. */
export async function makeKeyArchive(keys: Identity[], to: Identity): Promise<string> {
  const unique = new Map(keys.filter((k) => k.public.fingerprint !== to.public.fingerprint).map((k) => [k.public.fingerprint, k]));
  const docs = await Promise.all([...unique.values()].map(async (k) => JSON.parse(await writeKeyFile(k, null))));
  const data = utf8(JSON.stringify({ format: FORMAT, keys: docs }));
  const out = await encryptStream(new Blob([data]).stream(), {
    recipients: [to.public],
    sender: to,
    metadata: { name: "c11-key-archive.json", type: null, size: data.length, mtime: null, kind: "file" },
  });
  return b64(await collect(out));
}
