/** Cloud-stored keys in the browser (docs/shards.md, docs/web.md): the same shards, stores and store logins as
 *  `c11 login` / `c11 keys`. The key is made and split in the worker (format 2 shards); shard 1 goes to the c11
 *  server, shard 2 to the first shard store (registered there with OPAQUE under the account password, which never
 *  leaves the browser), shard 3 to a second store or, with one, to the person as a recovery shard file. Later
 *  logins rebuild the key from the server's shard and a store's (OPAQUE login at the store), in the worker. */
import type { CoreWorker } from "../worker/client";
import type { KeySummary } from "../worker/protocol";
import { ApiError, api, type Session } from "./api";

/** c11's OPAQUE key stretching (docs/shards.md §8.1), as the CLI's and the store's. */
const KSF = { "argon2id-custom": { memory: 19456, iterations: 2, parallelism: 1 } } as const;
const SESSION_HEADER = "C11-Store-Session";

export interface Placement {
  index: number;
  where: "server" | "store" | "recovery";
  url?: string;
}
export interface ShardStatus {
  user_id: string;
  server: string;
  stores: string[];
  threshold: number;
  count: number;
  cloud_key: null | { fingerprint: string; split_id: string; placements: Placement[]; created_at: string };
}

async function opaqueClient() {
  const opaque = await import("@serenity-kit/opaque");
  await opaque.ready;
  return opaque.client;
}

export const shardStatus = (session: Session) => api<ShardStatus>("GET", "/api/v1/shards", undefined, session);

/** One call to a shard store (another origin: its CORS allows this server's origin only); problems as ApiError. */
async function storeCall<T>(store: string, method: string, path: string, body: unknown, headers: Record<string, string>): Promise<T> {
  let r: Response;
  try {
    r = await fetch(store + path, {
      method, credentials: "omit", cache: "no-store",
      headers: { accept: "application/json, application/problem+json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", `The shard store ${store} cannot be reached.`);
  }
  const text = await r.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    const p = (data ?? {}) as { title?: unknown; detail?: unknown; type?: unknown };
    const msg = [p.title, p.detail].filter((x): x is string => typeof x === "string" && x !== "").join(": ");
    throw new ApiError(r.status, typeof p.type === "string" ? p.type : "about:blank", `The shard store ${store}: ${msg || r.status}`);
  }
  return data as T;
}

/** A single-use store token for `action` at `store` (docs/shards.md §4). */
async function storeToken(session: Session, store: string, action: "get" | "put" | "delete"): Promise<string> {
  return (await api<{ token: string }>("POST", "/api/v1/shards/tokens", { store, action }, session)).token;
}

/** Log in at `store` with OPAQUE (§8.2); the store session, or null when this account is not registered there. */
async function storeLogin(store: string, userId: string, password: string): Promise<string | null> {
  const client = await opaqueClient();
  const { clientLoginState, startLoginRequest } = client.startLogin({ password });
  let start: { response: string; login_id: string };
  try {
    start = await storeCall(store, "POST", "/v1/opaque/login/start", { user_id: userId, request: startLoginRequest }, {});
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && e.type.endsWith("not-registered")) return null;
    throw e;
  }
  const finished = client.finishLogin({ clientLoginState, loginResponse: start.response, password, keyStretching: KSF });
  if (!finished) throw new ApiError(401, "bad-credentials", `Wrong password for the shard store ${store}.`);
  const done = await storeCall<{ session: string }>(store, "POST", "/v1/opaque/login/finish",
    { login_id: start.login_id, finalization: finished.finishLoginRequest }, {});
  return done.session;
}

/** Keep `shard` at `store`: a first registration (OPAQUE) with the shard in one put token, else a login and a put. */
async function putAtStore(session: Session, store: string, userId: string, shard: string, password: string): Promise<void> {
  const existing = await storeLogin(store, userId, password);
  const auth = { authorization: `Bearer ${await storeToken(session, store, "put")}` };
  if (existing) {
    await storeCall(store, "PUT", "/v1/shard", { shard }, { ...auth, [SESSION_HEADER]: existing });
    return;
  }
  const client = await opaqueClient();
  const { clientRegistrationState, registrationRequest } = client.startRegistration({ password });
  const reg = await storeCall<{ response: string }>(store, "POST", "/v1/opaque/register", { request: registrationRequest }, auth);
  const { registrationRecord } = client.finishRegistration({ clientRegistrationState, registrationResponse: reg.response, password, keyStretching: KSF });
  await storeCall(store, "PUT", "/v1/shard", { shard, registration: registrationRecord }, auth);
}

export interface Split {
  userId: string;
  shards: string[];
  placements: Placement[];
  /** The recovery shard file's text when one store keeps a shard and the person keeps the third. */
  recovery: string | null;
}

/** Split the key `handle` (in the worker) for this account; nothing is stored yet. Null: no shard store. */
export async function splitKey(worker: CoreWorker, session: Session, handle: number): Promise<Split | null> {
  const st = await shardStatus(session);
  if (st.stores.length === 0) return null;
  const made = await worker.call("makeCloudShards", { handle, userId: st.user_id, created: Math.floor(Date.now() / 1000) });
  const [a, b] = st.stores;
  const placements: Placement[] = [{ index: 1, where: "server" }, { index: 2, where: "store", url: a! },
    b ? { index: 3, where: "store", url: b } : { index: 3, where: "recovery" }];
  return { userId: st.user_id, shards: made.shards, placements, recovery: b ? null : made.recovery };
}

/** Store the shards of `split`: at the stores first (registering the account password there), then the server's. */
export async function storeSplit(session: Session, split: Split, password: string): Promise<void> {
  for (const p of split.placements)
    if (p.where === "store" && p.url) await putAtStore(session, p.url, split.userId, split.shards[p.index - 1]!, password);
  await api("PUT", "/api/v1/shards/shard", { shard: split.shards[0], placements: split.placements }, session);
}

/** Rebuild the cloud-stored key in the worker from the server's shard and a store's (or the recovery shard file's
 *  text); its handle. The caller checks it against the registry's verified key. */
export async function rebuildKey(worker: CoreWorker, session: Session, st: ShardStatus, password: string,
  recovery?: string): Promise<KeySummary> {
  const found: string[] = [];
  const problems: string[] = [];
  try {
    found.push((await api<{ shard: string }>("GET", "/api/v1/shards/shard", undefined, session)).shard);
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  for (const p of st.cloud_key?.placements ?? []) {
    if (found.length >= 2) break;
    if (p.where !== "store" || !p.url) continue;
    try {
      const login = await storeLogin(p.url, st.user_id, password);
      if (!login) throw new ApiError(404, "not-registered", `The shard store ${p.url} does not know this account.`);
      const got = await storeCall<{ shard: string }>(p.url, "GET", "/v1/shard", undefined,
        { authorization: `Bearer ${await storeToken(session, p.url, "get")}`, [SESSION_HEADER]: login });
      found.push(got.shard);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && e.type === "bad-credentials") throw e;
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (found.length < 2 && recovery) found.push(recovery);
  if (found.length < 2)
    throw new Error(`Fewer than two shards are reachable (${problems.join("; ")}); load your recovery shard file.`);
  return worker.call("rebuildCloudKey", { shards: found.slice(0, 2), userId: st.user_id });
}
