/** The crypto worker: runs every heavy operation of the browser core off the page's thread.
 *  Holds unlocked identities in memory only (by handle); replies with results or a typed one-line error. */

import { armor } from "../core/armor";
import { b64, equal, fromB64, fromHex, hex, utf8 } from "../core/bytes";
import { ONLINE, onlineReleaseInfo, parseOnline, recipientFingerprints, stanzaKeyId, type Releaser } from "../core/envelope";
import { encodeGroupKey, GROUP_KEY_TYPE, unwrapGroupKey } from "../core/groupkey";
import { readHeader } from "../core/header";
import { verifyKeyHistory, verifyKeyLookup } from "../core/registry";
import { makeKeyArchive, openKeyArchive } from "../core/keyarchive";
import { openTemporaryKeyRelease, verifyTemporaryKeyLookup } from "../core/temporarykey";
import { errorNames } from "../core/errors";
import { collect, dearmorBlob, decryptBlob, decryptStream, encryptStream, openBlob, reshareBlob, type OpenedBlob } from "../core/file";
import { generateIdentity, makeIdentity, type Identity } from "../core/identity";
import { armorRecoveryShard, dearmorRecoveryShard, makeShards, rebuildShards, shardFromB64, shardToB64 } from "../core/cloudkey";
import { parseKeyFile, writeKeyFile } from "../core/keyfile";
import { parsePublicKey } from "../core/publickey";
import { openBundle, writeBundleStream } from "../core/bundle";
import { signedBytes as requestSignedBytes } from "../core/docrequest";
import type { KeySummary, Op, Progress, Reply, Request, Requests, Sink } from "./protocol";

const identities = new Map<number, Identity>();
/** Files opened for streaming (`openFile`): their verified header and payload key, until `closeFile`. */
const openedFiles = new Map<number, OpenedBlob>();
let next = 1;
/** Streams kept here for `saveStream` (a request made with `hold`), by number, until saved or dropped. */
const heldStreams = new Map<number, ReadableStream<Uint8Array>>();
function takeHeld(n: number): ReadableStream<Uint8Array> {
  const s = heldStreams.get(n);
  if (!s) throw new Error("unknown stream");
  heldStreams.delete(n);
  return s;
}
/** The session identity (`holdSession`) and the copies of it handed to pages (`sessionKey`), until `lockSession`. */
const session: { handle: number | null; copies: Set<number> } = { handle: null, copies: new Set() };

/** Wipe the session identity: its handle and every copy gone, its seeds zeroed. */
function lockSession(): void {
  const id = session.handle !== null ? identities.get(session.handle) : undefined;
  for (const h of [session.handle, ...session.copies]) if (h !== null) identities.delete(h);
  session.handle = null;
  session.copies.clear();
  if (id) {
    id.encSeed.fill(0);
    id.sigSeed.fill(0);
  }
}

function summary(handle: number, id: Identity): KeySummary {
  return { handle, label: id.label, kem: id.kem, fingerprint: id.public.fingerprint, publicLine: id.public.line };
}
function keep(id: Identity): KeySummary {
  const h = next++;
  identities.set(h, id);
  return summary(h, id);
}
function identity(h: number): Identity {
  const id = identities.get(h);
  if (!id) throw new Error("unknown key handle");
  return id;
}
/** One request's controls: its cancel signal and a progress callback (bytes produced so far). */
interface Ctx {
  signal: AbortSignal;
  progress(bytes: number): void;
}

/** Collect a stream into a Blob, folding every 16 MiB into a Blob so the browser's blob storage (which can page to
 *  disk) holds the data rather than the worker's heap; returned only when the stream closed without error.
 *  Reports progress about every MiB and stops (cancelling the stream) when the request is cancelled. */
async function blobOf(stream: ReadableStream<Uint8Array>, ctx: Ctx): Promise<Blob> {
  let parts: BlobPart[] = [];
  let pending = 0, total = 0, reported = 0;
  const r = stream.getReader();
  for (;;) {
    if (ctx.signal.aborted) {
      await r.cancel("cancelled");
      throw new CancelledError("cancelled");
    }
    const { value, done } = await r.read();
    if (done) break;
    parts.push(value as Uint8Array<ArrayBuffer>);
    pending += value.length;
    total += value.length;
    if (total - reported >= 1 << 20) {
      ctx.progress(total);
      reported = total;
    }
    if (pending >= 16 << 20) {
      parts = [new Blob(parts)];
      pending = 0;
    }
  }
  ctx.progress(total);
  return new Blob(parts);
}

/** Write `source` to `sink` from this worker (docs/web.md §7.1: no relay through the page). A file: piped into its
 *  `createWritable()` (the browser's swap file, moved into place only on close; aborted, so discarded, when the
 *  source errors or the request is cancelled). A port: a counting stream is transferred to the download service
 *  worker, which answers the download's request with it; an error or a cancel errors that stream, so the download
 *  fails. Progress about every MiB; resolves with the bytes once the source closed cleanly. */
async function writeTo(source: ReadableStream<Uint8Array>, sink: Sink, ctx: Ctx): Promise<number> {
  let total = 0, reported = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      total += chunk.length;
      if (total - reported >= 1 << 20) {
        reported = total;
        ctx.progress(total);
      }
      c.enqueue(chunk);
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 8 << 20 }));
  if (sink.kind === "file") {
    let writable: FileSystemWritableFileStream;
    try {
      writable = await sink.handle.createWritable();
    } catch (e) {
      await source.cancel("the file could not be written");
      throw e;
    }
    try {
      await source.pipeThrough(counter, { signal: ctx.signal }).pipeTo(writable, { signal: ctx.signal });
    } catch (e) {
      await writable.abort().catch(() => {});
      throw e;
    }
  } else {
    sink.port.postMessage({ stream: counter.readable }, [counter.readable]);
    try {
      await source.pipeTo(counter.writable, { signal: ctx.signal });
    } finally {
      sink.port.close();
    }
  }
  ctx.progress(total);
  return total;
}

class CancelledError extends Error {
  override name = "CancelledError";
}

/** The key server's release (B sealed to the recipient key, keyserver.md) as the core's Releaser. */
function releaserOf(release?: string): Releaser | undefined {
  return release ? (_share, header, id) => id.open(fromB64(release), onlineReleaseInfo(header.docId, id.public.keyId)) : undefined;
}

type Handlers = { [O in Op]: (a: Requests[O]["args"], ctx: Ctx) => Promise<Requests[O]["result"]> };
const handlers: Handlers = {
  async loadKeyFile({ text, passphrase }) {
    return keep(await (await parseKeyFile(text)).unlock(passphrase));
  },
  async generateKey({ label, kem }) {
    return keep(await generateIdentity(label, kem));
  },
  async exportKeyFile({ handle, passphrase }) {
    return writeKeyFile(identity(handle), passphrase);
  },
  async forget({ handle }) {
    if (handle === session.handle) lockSession();
    session.copies.delete(handle);
    identities.delete(handle);
    return null;
  },
  async holdSession({ handle }) {
    if (session.copies.has(handle)) throw new Error("this key is already the session key");
    const id = identity(handle);
    if (session.handle !== handle) lockSession();
    session.handle = handle;
    return summary(handle, id);
  },
  async sessionKey() {
    if (session.handle === null) return null;
    const copy = keep(identity(session.handle));
    session.copies.add(copy.handle);
    return copy;
  },
  async lockSession() {
    lockSession();
    return null;
  },
  async makeCloudShards({ handle, userId, created }) {
    const shards = await makeShards(identity(handle), userId, BigInt(Math.floor(created)));
    return { shards: shards.map(shardToB64), recovery: armorRecoveryShard(shards[2]!) };
  },
  async rebuildCloudKey({ shards, userId }) {
    const found = await Promise.all(shards.map((s) => (s.includes("-----BEGIN") ? dearmorRecoveryShard(s) : shardFromB64(s))));
    return keep(await rebuildShards(found, userId));
  },
  async publishProof({ handle, email, timestamp }) {
    const id = identity(handle);
    const message = utf8(`c11/v1 registry publish\x00${email.trim().toLowerCase()}\x00${id.public.line}\x00${timestamp}`);
    return { publicKey: id.public.line, signature: b64(await id.signer.sign(message)) };
  },
  async signDocumentRequest({ handle, request }) {
    // signs only document requests (the context string of docs/sharing.md) whose first key is this key
    const id = identity(handle);
    if (request.keys[0] !== id.public.line) throw new TypeError("a document request lists the signing key first");
    return { signature: b64(await id.signer.sign(requestSignedBytes(request))) };
  },
  async encrypt({ data, recipients, sender, metadata, segmentSize, temporary, armor: asArmor, online }, ctx) {
    const me = identity(sender);
    const keys = await Promise.all(recipients.map(parsePublicKey));
    const out = await encryptStream(data, {
      recipients: [me.public, ...keys],
      sender: me,
      metadata,
      segmentSize,
      temporaryKeyIds: (temporary ?? []).map(fromHex),
      online: online ? { policy: online.policy, serverKey: await parsePublicKey(online.serverKey) } : undefined,
    });
    if (asArmor) return new Blob([armor(await collect(out))]);
    return blobOf(out, ctx);
  },
  async decrypt({ data, keys, release }, ctx) {
    const releaser = releaserOf(release);
    const { info, plaintext } = await decryptBlob(await dearmorBlob(data), keys.map(identity), { release: releaser });
    // Collected to the end before it is returned: a failure releases nothing.
    return { info, plaintext: await blobOf(plaintext, ctx) };
  },
  async bundle({ files, recipients, sender, name }, ctx) {
    const me = identity(sender);
    const keys = await Promise.all(recipients.map(parsePublicKey));
    return blobOf(await writeBundleStream(files, { recipients: [me.public, ...keys], sender: me }, name), ctx);
  },
  async openBundle({ data, keys }, ctx) {
    const b = await openBundle(data, keys.map(identity));
    const files = [];
    for (const f of b.files) files.push({ path: f.path, data: await blobOf(await f.open(), ctx) });
    return { info: b.info, files };
  },
  async reshare({ data, keys, signer, add, remove }) {
    return reshareBlob(await dearmorBlob(data), keys.map(identity), identity(signer), await Promise.all(add.map(parsePublicKey)), remove);
  },
  async verifyKeyLookup({ answer, email, logKey, storedNote }) {
    const v = await verifyKeyLookup(answer, email, { logKey, storedNote });
    return { publicLine: v.publicKey.line, fingerprint: v.publicKey.fingerprint, logIndex: v.logIndex, treeSize: String(v.accepted.current.size), note: v.accepted.note };
  },
  async decryptStream({ stream, keys, release }, ctx) {
    const { info, plaintext } = await decryptStream(stream, keys.map(identity), { release: releaserOf(release) });
    return { info, plaintext: await blobOf(plaintext, ctx) };
  },
  async verifyKeyHistory({ answer, email, logKey, storedNote }) {
    const { items, accepted } = await verifyKeyHistory(answer, email, { logKey, storedNote });
    return {
      items: items.map((i) => ({ index: i.index, action: i.action, publicLine: i.publicKey?.line ?? null, fingerprint: i.publicKey?.fingerprint ?? null, time: i.time })),
      treeSize: String(accepted.current.size),
      note: accepted.note,
    };
  },
  async openKeyArchive({ archive, current }) {
    return (await openKeyArchive(archive, identity(current))).map(keep);
  },
  async makeKeyArchive({ keys, to }) {
    return makeKeyArchive(keys.map(identity), identity(to));
  },
  async verifyTemporaryKeyLookup({ answer, email, logKey, storedNote }) {
    const v = await verifyTemporaryKeyLookup(answer, email, { logKey, storedNote });
    return { publicLine: v.publicKey.line, fingerprint: v.publicKey.fingerprint, expiresAt: v.expiresAt, logIndex: v.logIndex, note: v.accepted.note };
  },
  async claimTemporaryKey({ answer, me }) {
    return keep(await openTemporaryKeyRelease(answer, identity(me)));
  },
  async inspect({ data, keys }) {
    const { header: h } = await readHeader(await dearmorBlob(data));
    const mine = (keys ?? []).map(identity);
    const opening = h.stanzas
      .map((s) => [s, stanzaKeyId(s)] as const)
      .map(([s, kid]) => (kid ? mine.find((i) => i.kem === s.type && equal(i.public.keyId, kid)) : undefined))
      .find((i) => i !== undefined);
    const online = h.stanzas.find((s) => s.type === ONLINE);
    return {
      version: h.version,
      docId: hex(h.docId),
      author: h.version === 2 ? h.authorLabel : h.signerLabel,
      signer: h.signerLabel,
      recipients: recipientFingerprints(h),
      stanzaTypes: h.stanzas.map((s) => s.type),
      online: online ? parseOnline(online, h.docId).policy : null,
      openingKey: opening ? opening.public.fingerprint : null,
      releaseRequest: online && opening ? { stanza: b64(online.body), public_key: opening.public.line } : null,
    };
  },
  async unwrapGroupKey({ wrapped, ref, keys, expected, signers }) {
    const exp = expected ? await parsePublicKey(expected) : undefined;
    return keep(await unwrapGroupKey(wrapped, ref, keys.map(identity), exp, signers ? new Set(signers) : undefined));
  },
  async wrapGroupKey({ group, ref, recipients, sender }) {
    // the group key's seeds stay in this worker: the page gets only the sealed wraps (as `c11 org groups` makes them)
    const plain = utf8(encodeGroupKey(identity(group), ref));
    const me = identity(sender);
    const out: string[] = [];
    for (const line of recipients) {
      const sealed = await encryptStream(new Blob([plain as Uint8Array<ArrayBuffer>]).stream(), {
        recipients: [await parsePublicKey(line)],
        sender: me,
        metadata: { name: null, type: GROUP_KEY_TYPE, size: plain.length, mtime: null, kind: "file" },
      });
      out.push(b64(await collect(sealed)));
    }
    return out;
  },
  async sealStream({ data, recipients, sender, metadata, segmentSize, temporary }) {
    const me = identity(sender);
    const keys = await Promise.all(recipients.map(parsePublicKey));
    // the stream keeps the sender's identity (to sign the trailer) after its handle is forgotten, until it ends
    return encryptStream(data, { recipients: [me.public, ...keys], sender: me, metadata, segmentSize, temporaryKeyIds: (temporary ?? []).map(fromHex) });
  },
  async openFile({ data, keys, release }) {
    const opened = await openBlob(await dearmorBlob(data), keys.map(identity), { release: releaserOf(release) });
    const file = next++;
    openedFiles.set(file, opened);
    return { info: opened.info, file };
  },
  async readFile({ file }) {
    const opened = openedFiles.get(file);
    if (!opened) throw new Error("unknown file handle");
    return opened.open();
  },
  async closeFile({ file }) {
    openedFiles.delete(file);
    return null;
  },
  async bundleStream({ files, recipients, sender, name }) {
    const me = identity(sender);
    const keys = await Promise.all(recipients.map(parsePublicKey));
    return writeBundleStream(files, { recipients: [me.public, ...keys], sender: me }, name);
  },
  async saveStream({ stream, sink }, ctx) {
    return writeTo(takeHeld(stream), sink, ctx);
  },
  async takeStream({ stream }) {
    return takeHeld(stream);
  },
  async dropStream({ stream }) {
    const s = heldStreams.get(stream);
    heldStreams.delete(stream);
    await s?.cancel("not saved").catch(() => {});
    return null;
  },
  async publicKeyOfSeed({ kem, encSeed, sigSeed }) {
    return (await makeIdentity("", kem, fromHex(encSeed), fromHex(sigSeed))).public.line;
  },
};

const running = new Map<number, AbortController>();

self.onmessage = async (ev: MessageEvent<Request | { cancel: number }>) => {
  if ("cancel" in ev.data) {
    running.get(ev.data.cancel)?.abort();
    return;
  }
  const { id, op, args, hold } = ev.data;
  const abort = new AbortController();
  running.set(id, abort);
  const post = (m: Reply | Progress, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);
  const ctx: Ctx = { signal: abort.signal, progress: (bytes) => post({ id, progress: bytes }) };
  let reply: Reply;
  try {
    let result = await (handlers[op] as (a: unknown, c: Ctx) => Promise<unknown>)(args, ctx);
    if (hold && result instanceof ReadableStream) {
      const n = next++;
      heldStreams.set(n, result as ReadableStream<Uint8Array>);
      result = n;
    }
    reply = { id, ok: true, result };
  } catch (e) {
    const names = e instanceof CancelledError ? ["CancelledError"] : errorNames(e);
    reply = { id, ok: false, error: { name: names[0] ?? "Error", names, message: e instanceof Error ? e.message : String(e) } };
  } finally {
    running.delete(id);
  }
  post(reply, reply.ok && reply.result instanceof ReadableStream ? [reply.result] : []);
};
