/** The session's unlocked key (docs/web.md "The key's life in the browser"). The identity stays inside the crypto
 *  worker (`holdSession`); the page knows only its fingerprint and kind. Pages borrow it for one operation
 *  (`borrowSessionKey`, forgotten after use like a loaded key file) and fall back to their key-file picker when it
 *  is locked. Logout, "Lock now" and IDLE_LOCK_MS without input wipe it in the worker. Nothing is stored. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { CoreWorker } from "../worker/client";
import type { KeySummary } from "../worker/protocol";

/** Minutes without a key press, click or touch after which the unlocked key is wiped. */
export const IDLE_LOCK_MS = 15 * 60 * 1000;

export type UnlockedKind = "cloud" | "device";
export interface Unlocked {
  fingerprint: string;
  kind: UnlockedKind;
}
export interface UnlockedState {
  unlocked: Unlocked | null;
  /** Make key `key` (a worker handle this page owns) the session key; its handle then belongs to the worker. */
  unlock(key: KeySummary, kind: UnlockedKind): Promise<void>;
  lock(): Promise<void>;
}

export const UnlockedContext = createContext<UnlockedState>({
  unlocked: null,
  unlock: () => Promise.reject(new Error("no session")),
  lock: () => Promise.resolve(),
});

export const useUnlocked = (): UnlockedState => useContext(UnlockedContext);

/** A copy of the session key for one operation (forget its handle after use), or null when locked. */
export async function borrowSessionKey(worker: CoreWorker, unlocked: Unlocked | null): Promise<KeySummary | null> {
  if (!unlocked) return null;
  const key = await worker.call("sessionKey", {});
  if (!key) throw new Error("your key was locked: unlock it again, or choose your key file");
  return key;
}
