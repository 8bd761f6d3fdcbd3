/** Bundles (`.c11.zip`, docs/format.md §8): a stored-only ZIP of a marker, STREAM entries and a manifest `.c11`.
 *  ZIP is fflate; each entry is checked against the signed manifest (digest of its segment hashes, size). */

import { Zip, ZipPassThrough, unzipSync } from "fflate";
import { concat, fromUtf8, hex, utf8, type Bytes } from "./bytes";
import { BadSignatureError, BundleError, FormatError, IntegrityError } from "./errors";
import type { Identity } from "./identity";
import { collect, decryptBlob, encryptWithHeader, type FileInfo } from "./file";
import type { OpenOptions, SealOptions } from "./envelope";
import { derive } from "./keyschedule";
import { aesKey, randomBytes, sha256 } from "./primitives";
import { TAG, fromGenerator, openSegment, sealSegment, segments } from "./stream";
import { openHeader, sealHeader } from "./envelope";
import { readHeader, type Header } from "./header";

const MARKER = "c11-bundle";
const MARKER_BODY = "c11-bundle/v1\n";
const MANIFEST = "manifest.c11";
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const CC = /[\u0000-\u001f\u007f-\u009f]/u;

export interface BundleEntry {
  path: string;
  type: "file" | "dir";
  mode: number;
  mtime: number;
  id?: string;
  size?: number;
  digest?: string;
}
export interface OpenedBundle {
  info: FileInfo;
  entries: BundleEntry[];
  /** Files; `open()` streams a file's plaintext, checked against the manifest (digest, size) as it goes. */
  files: { path: string; size: number; open(): Promise<ReadableStream<Uint8Array>> }[];
}

const fold = (p: string) => p.normalize("NFC").toUpperCase().toLowerCase();

function checkPaths(entries: BundleEntry[]) {
  const seen = new Set<string>(), files = new Set<string>();
  for (const e of entries) {
    const p = e.path;
    if (e.type !== "file" && e.type !== "dir") throw new BundleError(`hostile bundle: entry type '${e.type}' (links and devices are refused)`);
    if (e.type === "file" && !/^[0-9a-f]{32}$/.test(e.id ?? "")) throw new BundleError("hostile bundle: malformed entry ID");
    if (!p || p.startsWith("/") || p.includes("\\") || CC.test(p) || BIDI.test(p) || /^[A-Za-z]:/.test(p) || p.split("/").some((x) => x === "" || x === "." || x === ".."))
      throw new BundleError(`hostile bundle: unsafe path '${p.slice(0, 80)}'`);
    const f = fold(p);
    if (seen.has(f)) throw new BundleError(`hostile bundle: duplicate path '${p.slice(0, 80)}'`);
    seen.add(f);
    if (e.type === "file") files.add(f);
    if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777 || !Number.isInteger(e.mtime) || Math.abs(e.mtime) > 2 ** 33 || (e.size ?? 0) < 0)
      throw new BundleError("hostile bundle: invalid size, mode or time");
  }
  for (const f of files) for (let q = f.lastIndexOf("/"); q > 0; q = f.lastIndexOf("/", q - 1)) if (files.has(f.slice(0, q))) throw new BundleError(`hostile bundle: '${f.slice(0, q)}' is both a file and a folder`);
}

/** Bundles are read whole into memory (fflate's `unzipSync`; writing streams): larger ones are refused with a pointer
 *  to the CLI, which streams them (docs/web.md "Large files"). */
export const MAX_BUNDLE_READ = 256 * 1024 * 1024;

/** Open a bundle: the manifest is a complete .c11 file (both signatures checked before anything is listed). */
export async function openBundle(blob: Blob, identities: Identity[], opts: OpenOptions = {}): Promise<OpenedBundle> {
  if (blob.size > MAX_BUNDLE_READ) throw new BundleError(`this bundle is larger than ${MAX_BUNDLE_READ >> 20} MiB: open it with c11 decrypt (the browser reads bundles whole)`);
  const data = new Uint8Array(await blob.arrayBuffer());
  let members: Record<string, Uint8Array>;
  const seen = new Set<string>();
  try {
    members = unzipSync(data, {
      filter(f) {
        if (f.compression !== 0) throw new BundleError("hostile bundle: a compressed member");
        if (seen.has(f.name)) throw new BundleError("hostile bundle: duplicate member names");
        seen.add(f.name);
        if (f.name !== MARKER && f.name !== MANIFEST && !/^e\/[0-9a-f]{32}$/.test(f.name)) throw new BundleError(`hostile bundle: unexpected member '${f.name.slice(0, 60)}'`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof BundleError) throw e;
    throw new BundleError("not a c11 bundle (a damaged zip)");
  }
  if (!members[MARKER] || fromUtf8(members[MARKER]) !== MARKER_BODY) throw new BundleError("not a c11 bundle (no c11-bundle marker)");
  if (!members[MANIFEST]) throw new BundleError("not a c11 bundle (no manifest)");
  const manifestBlob = new Blob([members[MANIFEST] as Uint8Array<ArrayBuffer>]);
  const { info, plaintext } = await decryptBlob(manifestBlob, identities, { ...opts, kinds: ["bundle"] });
  const doc = JSON.parse(fromUtf8(await collect(plaintext)));
  const v2 = info.version === 2;
  if (info.metadata.kind !== "bundle" || typeof doc !== "object" || doc?.format !== (v2 ? "c11-bundle/v2" : "c11-bundle/v1") || !Array.isArray(doc.entries))
    throw new BundleError("malformed bundle manifest");
  const entries = doc.entries as BundleEntry[];
  checkPaths(entries);
  const ids = new Set(entries.filter((e) => e.type === "file").map((e) => `e/${e.id}`));
  const present = Object.keys(members).filter((n) => n.startsWith("e/"));
  if (present.length !== ids.size || present.some((n) => !ids.has(n))) throw new BundleError("hostile bundle: members do not match the manifest");
  const total = entries.reduce((t, e) => t + (e.type === "file" ? e.size ?? 0 : 0), 0);
  if (info.metadata.size !== null && info.metadata.size !== total) throw new FormatError("the bundle's metadata size differs from its files' total");
  // The manifest's file key is needed for the entries: re-open its header (already verified above).
  const { header } = await readHeader(manifestBlob);
  const opened = await openHeader(header, identities, { ...opts, kinds: ["bundle"] });
  const files = entries
    .filter((e) => e.type === "file")
    .map((e) => ({
      path: e.path,
      size: e.size ?? 0,
      open: async () => {
        const key = await aesKey(await derive(opened.fileKey, header.nonce, "bundle entry", fromHexId(e.id!)));
        return entryStream(members[`e/${e.id}`]!, header.segmentSize, key, e, v2);
      },
    }));
  return { info, entries, files };
}

const fromHexId = (s: string) => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));

function entryStream(ct: Uint8Array, s: number, key: CryptoKey, e: BundleEntry, v2: boolean): ReadableStream<Uint8Array> {
  const n = Math.max(1, Math.ceil(ct.length / (s + TAG)));
  let i = 0, total = 0;
  const hashes: Uint8Array[] = [];
  return new ReadableStream({
    async pull(c) {
      try {
        if (ct.length < TAG || ct.length - (n - 1) * (s + TAG) < TAG) throw new IntegrityError("a bundle entry is truncated");
        const last = i === n - 1;
        const seg = ct.subarray(i * (s + TAG), last ? ct.length : (i + 1) * (s + TAG));
        const pt = await openSegment(key, i, last, seg);
        if (!pt) throw new IntegrityError("a bundle entry was modified or damaged");
        hashes.push(await sha256(seg));
        total += pt.length;
        i++;
        if (last) {
          if (v2 && hex(await sha256(concat(...hashes))) !== e.digest) throw new BadSignatureError("a bundle entry is not what the author signed (digest)");
          if (total !== e.size) throw new BundleError("a bundle entry's size differs from the manifest");
        }
        c.enqueue(pt);
        if (last) c.close();
      } catch (err) {
        c.error(err);
      }
    },
  });
}

/** One file for a new bundle. */
export interface BundleInput {
  path: string;
  data: Blob;
  mtime?: number;
  mode?: number;
}

/** Write a version 2 bundle of files (folders implied by paths) for the recipients of `o`, as a stream of ZIP bytes:
 *  each file is read, sealed and hashed segment by segment (never whole in memory); the manifest, signed by the
 *  sender, comes last with every entry's digest. ZIP members are stored (fflate `ZipPassThrough`). */
export async function writeBundleStream(inputs: BundleInput[], o: Omit<SealOptions, "metadata">, name: string | null): Promise<ReadableStream<Uint8Array>> {
  const total = inputs.reduce((t, f) => t + f.data.size, 0);
  const { header, fileKey } = await sealHeader({ ...o, metadata: { name, type: "application/vnd.c11.bundle", size: total, mtime: null, kind: "bundle" } });
  return fromGenerator(bundleChunks(inputs, header, fileKey, o.sender));
}

async function* bundleChunks(inputs: BundleInput[], header: Header, fileKey: Bytes, sender: Identity): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let failure: unknown = null;
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else out.push(chunk);
  });
  const drain = function* () {
    if (failure) throw new BundleError("the bundle could not be written");
    while (out.length) yield out.shift()!;
  };
  const member = (name: string) => {
    const m = new ZipPassThrough(name);
    m.mtime = new Date(1980, 0, 1);
    m.os = 3;
    m.attrs = 0o100644 << 16;
    zip.add(m);
    return m;
  };
  member(MARKER).push(utf8(MARKER_BODY), true);
  yield* drain();
  const entries: BundleEntry[] = [];
  const dirs = new Set<string>();
  for (const f of inputs) {
    const parts = f.path.split("/");
    for (let k = 1; k < parts.length; k++) dirs.add(parts.slice(0, k).join("/"));
  }
  for (const d of [...dirs].sort()) entries.push({ path: d, type: "dir", mode: 0o755, mtime: 0 });
  const files: BundleEntry[] = [];
  for (const f of inputs) {
    const id = randomBytes(16);
    const key = await aesKey(await derive(fileKey, header.nonce, "bundle entry", id));
    const m = member(`e/${hex(id)}`);
    const hashes: Uint8Array[] = [];
    let i = 0;
    for await (const [pt, last] of segments(f.data.stream(), header.segmentSize)) {
      const ct = await sealSegment(key, i++, last, pt);
      hashes.push(await sha256(ct));
      m.push(ct, last);
      yield* drain();
    }
    files.push({ path: f.path, type: "file", id: hex(id), size: f.data.size, mode: f.mode ?? 0o644, mtime: f.mtime ?? 0, digest: hex(await sha256(concat(...hashes))) });
  }
  checkPaths([...entries, ...files]);
  const manifest = utf8(JSON.stringify({ format: "c11-bundle/v2", entries: [...entries, ...files] }));
  const sealed = await collect(await encryptWithHeader(new Blob([manifest]).stream(), header, fileKey, sender));
  member(MANIFEST).push(sealed, true);
  zip.end();
  yield* drain();
}

/** `writeBundleStream` collected into bytes (small bundles, tests). */
export async function writeBundle(inputs: BundleInput[], o: Omit<SealOptions, "metadata">, name: string | null): Promise<Bytes> {
  return collect(await writeBundleStream(inputs, o, name));
}
