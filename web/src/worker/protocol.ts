/** The typed message protocol between the page and the crypto worker: one request, one reply, matched by id.
 *  Private keys never cross it: the worker keeps identities and hands out opaque handles. */

import type { FileInfo } from "../core/file";
import type { Metadata } from "../core/metadata";

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
  encrypt: {
    args: { data: Blob; recipients: string[]; sender: number; metadata: Metadata; segmentSize?: number; temporary?: string[]; armor?: boolean };
    result: Blob;
  };
  decrypt: { args: { data: Blob; keys: number[] }; result: { info: FileInfo; plaintext: Blob } };
  bundle: { args: { files: { path: string; data: Blob }[]; recipients: string[]; sender: number; name: string | null }; result: Blob };
  openBundle: { args: { data: Blob; keys: number[] }; result: { info: FileInfo; files: { path: string; data: Blob }[] } };
  publicKeyOfSeed: { args: { kem: "mlkem768x25519" | "x25519"; encSeed: string; sigSeed: string }; result: string };
}
export type Op = keyof Requests;
export interface Request<O extends Op = Op> {
  id: number;
  op: O;
  args: Requests[O]["args"];
}
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { name: string; names: string[]; message: string } };
