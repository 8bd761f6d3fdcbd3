/** Log key hand-over statements (docs/log.md §9), verification only: the old log key and the new one sign a note
 *  naming both; a client that pinned the old key follows a chain of them. Every failure is one ProofError. */

import { utf8 } from "./bytes";
import { openNote, parseVerifierKey, type NoteVerifier } from "./checkpoint";
import { ProofError } from "./errors";

export const HANDOVER_TAG = "c11-log-key-handover/v1";
export const MAX_HANDOVER_BYTES = 2048;

export interface Handover {
  origin: string;
  /** verifier key strings */
  old: string;
  next: string;
}

const short = (v: NoteVerifier) => `${v.name}+${v.keyId.toString(16).padStart(8, "0")}`;

/** Check that `note` is a hand-over from the pinned key `old` (a verifier key string), signed by it and by the new key. */
export async function openHandover(note: string, old: string): Promise<Handover> {
  if (typeof note !== "string" || utf8(note).length > MAX_HANDOVER_BYTES) throw new ProofError("malformed hand-over: longer than 2048 bytes");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new ProofError("malformed hand-over: no blank line before the signatures");
  const lines = note.slice(0, split).split("\n");
  if (lines.length !== 4 || lines[0] !== HANDOVER_TAG) throw new ProofError(`malformed hand-over: expected the four lines of ${HANDOVER_TAG}`);
  const [, origin, oldText, newText] = lines as [string, string, string, string];
  const pinned = await parseVerifierKey(old);
  const stated = await parseVerifierKey(oldText);
  const next = await parseVerifierKey(newText);
  if (oldText !== old || stated.keyId !== pinned.keyId) throw new ProofError(`the hand-over is from ${short(stated)}, not from the pinned key ${short(pinned)}`);
  if (origin !== pinned.name || next.name !== pinned.name) throw new ProofError("the hand-over names another log");
  if (next.keyId === pinned.keyId) throw new ProofError("the hand-over names the same key twice");
  const opened = await openNote(note, [pinned, next]);
  for (const [k, who] of [[pinned, "old"], [next, "new"]] as const)
    if (!opened.signatures.some((s) => s.name === k.name && s.keyId === k.keyId)) throw new ProofError(`the hand-over is not signed by the ${who} key ${short(k)}`);
  return { origin, old, next: newText };
}

/** The chain of hand-overs (in log order) from `pinned`: statements about earlier keys are skipped; one from the current
 *  key that does not open is a ProofError, never skipped. */
export async function followHandovers(pinned: string, notes: string[]): Promise<Handover[]> {
  const chain: Handover[] = [];
  let current = pinned;
  for (const note of notes) {
    const lines = note.split("\n");
    if (lines[0] !== HANDOVER_TAG || lines[2] !== current) continue;
    const step = await openHandover(note, current);
    chain.push(step);
    current = step.next;
  }
  return chain;
}
