/** This browser's trust in the server's log, kept across page loads (IndexedDB, per server origin): the log key is
 *  pinned at first use (trust on first use, as the CLI does), a different key is refused, and the latest verified
 *  checkpoint is stored so every later check must prove consistency with it (rollback and forks are detected).
 *  Nothing here is secret: the log key and checkpoints are public. */
import { openCheckpoint, parseVerifierKey } from "../core/checkpoint";
import { ProofError } from "../core/errors";
import type { LogTrust } from "../core/registry";

const DB = "c11-log-trust";
const STORE = "pins";
/** Dispatched on `window` (detail: the fingerprint) when a log key is pinned for the first time. */
export const PINNED_EVENT = "c11-log-key-pinned";

interface Pin {
  origin: string;
  logKey: string;
  /** The latest checkpoint verified with `logKey` (signed note), and its tree size as decimal text. */
  note: string | null;
  size: string | null;
}

/** A loaded trust: the pinned key, the stored checkpoint, and that checkpoint's tree size (null: none yet). */
export interface StoredTrust {
  log: LogTrust;
  size: bigint | null;
}

/** The log key's fingerprint shown to the person: SHA-256 of the key's text, first 16 bytes, hex in groups of 4. */
export async function fingerprint(logKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(logKey)));
  const hex = [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return hex.match(/.{4}/g)!.join(" ");
}

function _open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "origin" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new ProofError("this browser's log pin cannot be read (IndexedDB unavailable)"));
  });
}

function _done<T>(req: IDBRequest<T>, tx: IDBTransaction): Promise<T> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(new ProofError("this browser's log pin cannot be stored (IndexedDB failed)"));
  });
}

async function _read(db: IDBDatabase, origin: string): Promise<Pin | undefined> {
  const tx = db.transaction(STORE, "readonly");
  return _done(tx.objectStore(STORE).get(origin) as IDBRequest<Pin | undefined>, tx);
}

async function _serverKey(): Promise<string> {
  const r = await fetch("/api/v1/log/key", { credentials: "omit", cache: "no-store" });
  if (!r.ok) throw new ProofError("the log's key cannot be fetched");
  return (await r.text()).trim();
}

/** This origin's pinned log trust: pins the server's key on first use (and announces it), refuses a changed key. */
export async function loadLogTrust(origin: string = location.origin): Promise<StoredTrust> {
  const db = await _open();
  try {
    const pin = await _read(db, origin);
    const key = await _serverKey();
    if (pin === undefined) {
      await parseVerifierKey(key);  // a malformed answer pins nothing
      const tx = db.transaction(STORE, "readwrite");
      const fresh: Pin = { origin, logKey: key, note: null, size: null };
      await _done(tx.objectStore(STORE).add(fresh), tx);
      window.dispatchEvent(new CustomEvent(PINNED_EVENT, { detail: await fingerprint(key) }));
      return { log: { logKey: key, storedNote: null }, size: null };
    }
    if (key !== pin.logKey)
      throw new ProofError(`the server's log key changed: it now answers ${await fingerprint(key)}, but this browser `
        + `pinned ${await fingerprint(pin.logKey)}. Refused: nothing from this server's log is trusted (if its operator `
        + "announced a new log key, clear this site's data to pin again)");
    if (pin.note === null) return { log: { logKey: pin.logKey, storedNote: null }, size: null };
    const cp = await openCheckpoint(pin.note, pin.logKey);  // a stored note must still verify with the pinned key
    return { log: { logKey: pin.logKey, storedNote: pin.note }, size: cp.size };
  } finally {
    db.close();
  }
}

/** Store `note` (already verified with `logKey` and consistent with the stored one) as this origin's latest
 *  checkpoint; a larger checkpoint stored meanwhile (another tab) is kept. */
export async function storeCheckpoint(logKey: string, note: string, origin: string = location.origin): Promise<void> {
  const size = (await openCheckpoint(note, logKey)).size;
  const db = await _open();
  try {
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    const get = store.get(origin) as IDBRequest<Pin | undefined>;
    get.onsuccess = () => {
      const pin = get.result;
      if (pin === undefined || pin.logKey !== logKey) { tx.abort(); return; }
      if (pin.size !== null && BigInt(pin.size) > size) return;
      store.put({ ...pin, note, size: size.toString() });
    };
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = tx.onerror = () => reject(new ProofError("the log key pinned in this browser changed while checking"));
    });
  } finally {
    db.close();
  }
}
