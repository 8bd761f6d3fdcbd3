/** This browser's trust in the server's log, kept across page loads (IndexedDB, per server origin): the log key is
 *  pinned at first use (trust on first use, as the CLI does), a different key is refused unless the server's signed
 *  key hand-overs lead from the pinned key to it (docs/log.md §9, then the pin moves), and the latest verified
 *  checkpoint is stored so every later check must prove consistency with it (rollback and forks are detected).
 *  Nothing here is secret: the log key and checkpoints are public. */
import { utf8 } from "../core/bytes";
import { openCheckpoint, parseVerifierKey, verifyCheckpointConsistency, verifyCheckpointInclusion } from "../core/checkpoint";
import { ProofError } from "../core/errors";
import { followHandovers } from "../core/handover";
import { leafHash } from "../core/merkle";
import { hashes, type LogTrust } from "../core/registry";

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

/** The pin moved to `announced` along the server's key hand-overs (docs/log.md §9): each signed by the key before it,
 *  each proven in a checkpoint signed by the new key, which must extend the stored checkpoint; null when no
 *  hand-over starts at the pinned key (the caller refuses the changed key); ProofError when one is bad. */
async function _followHandovers(pin: Pin, announced: string): Promise<Pin | null> {
  const r = await fetch("/api/v1/log/handovers", { credentials: "omit", cache: "no-store" });
  if (!r.ok) return null;
  const d = (await r.json()) as { tree_size?: unknown; checkpoint?: unknown; handovers?: unknown };
  const rows = (Array.isArray(d.handovers) ? d.handovers.slice(0, 100) : []) as { index: number; entry: string; inclusion_proof: unknown }[];
  const notes = rows.map((h) => {
    try {
      const e = JSON.parse(h.entry) as { handover?: unknown };
      if (typeof e.handover === "string") return e.handover;
    } catch {
      /* refused below */
    }
    throw new ProofError("malformed key hand-over entry from the server");
  });
  const chain = await followHandovers(pin.logKey, notes);
  if (!chain.length || chain[chain.length - 1]!.next !== announced) return null;
  if (typeof d.checkpoint !== "string") throw new ProofError("the hand-over answer has no checkpoint");
  const cp = await openCheckpoint(d.checkpoint, announced);
  if (String(d.tree_size) !== cp.size.toString()) throw new ProofError("the hand-over answer's tree size differs from its checkpoint");
  for (const step of chain) {
    const i = notes.findIndex((n) => n.split("\n")[2] === step.old);
    const row = rows[i]!;
    await verifyCheckpointInclusion(cp, await leafHash(utf8(row.entry)), BigInt(row.index), hashes(row.inclusion_proof));
  }
  if (pin.note !== null) {
    const old = await openCheckpoint(pin.note, pin.logKey);
    if (cp.size < old.size) throw new ProofError(`the log shrank from ${old.size} to ${cp.size} entries: it was rolled back or forked`);
    let proof: string[] = [];
    if (old.size !== 0n && old.size !== cp.size) {
      const p = await fetch(`/api/v1/log/proof/consistency?from=${old.size}&to=${cp.size}`, { credentials: "omit", cache: "no-store" });
      if (!p.ok) throw new ProofError("the log cannot prove that it extends the checkpoint this browser kept");
      proof = ((await p.json()) as { proof: string[] }).proof;
    }
    await verifyCheckpointConsistency(old, cp, hashes(proof));
  }
  return { ...pin, logKey: announced, note: d.checkpoint, size: cp.size.toString() };
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
    if (key !== pin.logKey) {
      const moved = await _followHandovers(pin, key);
      if (moved !== null) {
        const tx = db.transaction(STORE, "readwrite");
        await _done(tx.objectStore(STORE).put(moved), tx);
        return { log: { logKey: moved.logKey, storedNote: moved.note }, size: moved.size === null ? null : BigInt(moved.size) };
      }
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
