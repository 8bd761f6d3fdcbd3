/** The typed message protocol between the page and the crypto worker: one request, one reply, matched by id.
 *  Private keys never cross it: the worker keeps identities and hands out opaque handles. */

import type { FileInfo } from "../core/file";
import type { Metadata } from "../core/metadata";
import type { Json } from "../core/canonicaljson";
import type { GroupKeyRef } from "../core/groupkey";
import type { DocRequest } from "../core/docrequest";

/** What anyone can read in a header without a key (`c11 inspect`): no signature is verified by this. */
export interface HeaderSummary {
  version: number;
  docId: string;
  author: string;
  signer: string;
  recipients: string[];
  stanzaTypes: string[];
  online: Record<string, Json> | null;
  /** Fingerprint of the first of the given keys with a stanza in the file (what `decrypt` will open), or null. */
  openingKey: string | null;
  /** For an online file: the release request body of keyserver.md (`POST /api/v1/keyserver/release`):
   *  the stanza body (base64) and the opening key's public line; null otherwise or without an opening key. */
  releaseRequest: { stanza: string; public_key: string } | null;
}

export interface KeySummary {
  handle: number;
  label: string;
  kem: string;
  fingerprint: string;
  publicLine: string;
}

export interface Requests {
  loadKeyFile: { args: { text: string; passphrase?: string }; result: KeySummary };
  generateKey: { args: { label: string; kem: "mlkem768x25519" | "x25519" }; result: KeySummary };
  exportKeyFile: { args: { handle: number; passphrase: string | null }; result: string };
  forget: { args: { handle: number }; result: null };
  /** The session identity (docs/web.md "The key's life in the browser"): key `handle` becomes the one unlocked key
   *  of this tab (a previous one is wiped); pages borrow copies of it (`sessionKey`, null when locked) and forget
   *  them after use; `lockSession` (lock, idle lock, logout) wipes it and every copy. */
  holdSession: { args: { handle: number }; result: KeySummary };
  sessionKey: { args: Record<string, never>; result: KeySummary | null };
  lockSession: { args: Record<string, never>; result: null };
  /** A cloud-stored key (shards.md §2.2, format 2): key `handle` sealed for `userId` and split 2 of 3; the three
   *  shards (base64) and the third as a recovery shard file. The seeds and K never leave the worker. */
  makeCloudShards: { args: { handle: number; userId: string; created: number }; result: { shards: string[]; recovery: string } };
  /** The key rebuilt from two shards (base64 or a recovery shard file's text) of one split, for `userId`. */
  rebuildCloudKey: { args: { shards: string[]; userId: string }; result: KeySummary };
  /** The registry's proof of possession (docs/registry.md): Ed25519 over the publish message, base64. Signs only that. */
  publishProof: { args: { handle: number; email: string; timestamp: string }; result: { publicKey: string; signature: string } };
  /** A document request (docs/sharing.md, "Document requests") signed by the key `handle`, which it lists first. */
  signDocumentRequest: { args: { handle: number; request: DocRequest }; result: { signature: string } };
  encrypt: {
    args: {
      data: Blob;
      recipients: string[];
      sender: number;
      metadata: Metadata;
      segmentSize?: number;
      /** Key IDs (hex) of recipients whose keys are temporary keys (§2.7). */
      temporary?: string[];
      armor?: boolean;
      /** An online policy (§2.6): its members without `doc`, and the key server's public key line. */
      online?: { policy: Record<string, Json>; serverKey: string };
    };
    result: Blob;
  };
  /** `release`: the key server's answer for an online file (base64 of B sealed to the recipient key). */
  decrypt: { args: { data: Blob; keys: number[]; release?: string }; result: { info: FileInfo; plaintext: Blob } };
  /** Add and/or remove recipients (fingerprints) of a file the caller can open; `signer` signs the new header. */
  reshare: { args: { data: Blob; keys: number[]; signer: number; add: string[]; remove?: string[] }; result: Blob };
  /** Verify a registry lookup answer against the pinned log key and the stored checkpoint (docs/registry.md §4). */
  verifyKeyLookup: {
    args: { answer: Record<string, unknown>; email: string; logKey: string; storedNote: string | null };
    result: { publicLine: string; fingerprint: string; logIndex: number; treeSize: string; note: string };
  };
  /** `keys`: also say which of these keys' stanzas opens the file (the one to ask a key server's release for). */
  verifyKeyHistory: {
    args: { answer: Record<string, unknown>; email: string; logKey: string; storedNote: string | null };
    result: { items: { index: number; action: string; publicLine: string | null; fingerprint: string | null; time: string }[]; treeSize: string; note: string };
  };
  /** The key archive (shards.md §2.4): opened keys stay in the worker (handles); a new one is made from handles. */
  openKeyArchive: { args: { archive: string; current: number }; result: KeySummary[] };
  makeKeyArchive: { args: { keys: number[]; to: number }; result: string };
  /** Invitations: a temporary key lookup verified in the log; a claimed temporary key opened with `me`. */
  verifyTemporaryKeyLookup: {
    args: { answer: Record<string, unknown>; email: string; logKey: string; storedNote: string | null };
    result: { publicLine: string; fingerprint: string; expiresAt: string; logIndex: number; note: string };
  };
  claimTemporaryKey: { args: { answer: { email: string; sealed: string; public_key: string }; me: number }; result: KeySummary };
  inspect: { args: { data: Blob; keys?: number[] }; result: HeaderSummary };
  /** A file arriving as a stream (a download): transferred to the worker; the trailer is checked at the end. */
  decryptStream: { args: { stream: ReadableStream<Uint8Array>; keys: number[]; release?: string }; result: { info: FileInfo; plaintext: Blob } };
  unwrapGroupKey: { args: { wrapped: string; ref: GroupKeyRef; keys: number[]; expected?: string; signers?: string[] }; result: KeySummary };
  /** Wraps (docs/format.md §12) of the group key `group` for each recipient (public key lines), signed by `sender`: base64 of .c11 files. */
  wrapGroupKey: { args: { group: number; ref: GroupKeyRef; recipients: string[]; sender: number }; result: string[] };
  bundle: { args: { files: { path: string; data: Blob }[]; recipients: string[]; sender: number; name: string | null }; result: Blob };
  openBundle: { args: { data: Blob; keys: number[] }; result: { info: FileInfo; files: { path: string; data: Blob }[] } };
  publicKeyOfSeed: { args: { kem: "mlkem768x25519" | "x25519"; encSeed: string; sigSeed: string }; result: string };
  /** Streaming encryption (docs/web.md "Large files"): the file is read segment by segment as the returned stream
   *  is read (transferred to the page, which writes it to disk); the header is sealed before this answers. */
  sealStream: {
    args: { data: Blob; recipients: string[]; sender: number; metadata: Metadata; segmentSize?: number; temporary?: string[] };
    result: ReadableStream<Uint8Array>;
  };
  /** Open a file held as a Blob: both signatures and the signed hash list are verified before this answers; the
   *  verified file stays in the worker under `file` (its payload key only, no identity) until `closeFile`. */
  openFile: { args: { data: Blob; keys: number[]; release?: string }; result: { info: FileInfo; file: number } };
  /** A new plaintext stream of an opened file (transferred to the page): each segment is released only after it
   *  authenticated and matched the signed list; the stream errors (never closes) on the first that does not. */
  readFile: { args: { file: number }; result: ReadableStream<Uint8Array> };
  closeFile: { args: { file: number }; result: null };
  /** A bundle (.c11.zip) as a stream of ZIP bytes, each file read segment by segment. */
  bundleStream: { args: { files: { path: string; data: Blob }[]; recipients: string[]; sender: number; name: string | null }; result: ReadableStream<Uint8Array> };
  /** Write a stream held in the worker (an op called with `hold`: `CoreWorker.callHeld`) to `sink` from the worker
   *  itself, without crossing the page (docs/web.md §7.1); answers the bytes written once the stream closed cleanly,
   *  rejects with its error (the writable aborted, the download's body errored) otherwise. */
  saveStream: { args: { stream: number; sink: Sink }; result: number };
  /** A held stream handed to the page after all (transferred), for a sink the worker cannot write. */
  takeStream: { args: { stream: number }; result: ReadableStream<Uint8Array> };
  /** Cancel and forget a held stream that will not be saved. */
  dropStream: { args: { stream: number }; result: null };
}
/** Where the worker writes a held stream: a file the person picked (its handle, File System Access API), or the
 *  port on which the download service worker waits for the stream (download.sw.ts). */
export type Sink = { kind: "file"; handle: FileSystemFileHandle } | { kind: "port"; port: MessagePort };
export type Op = keyof Requests;
export interface Request<O extends Op = Op> {
  id: number;
  op: O;
  args: Requests[O]["args"];
  /** Keep a ReadableStream result in the worker and answer its number (for `saveStream`), instead of transferring it. */
  hold?: boolean;
}
/** Sent while a request runs: bytes produced so far (encrypt, decrypt, bundles). */
export interface Progress {
  id: number;
  progress: number;
}
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; names: string[]; message: string } };
