/** Calls to the c11 server's API (same origin): JSON in and out, RFC 9457 problems as ApiError.
 *  The session is a bearer token the caller passes in; nothing is stored in cookies or web storage. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Session {
  token: string;
  email: string;
  emailVerified: boolean;
}

/** Send a JSON request; answer the parsed JSON (or null for 204); throw ApiError with the problem's text. */
export async function api<T>(method: string, path: string, body?: unknown, session?: Session | null): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json, application/problem+json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session) headers["authorization"] = `Bearer ${session.token}`;
  let r: Response;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  if (r.status === 204) return null as T;
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
    throw new ApiError(r.status, typeof p.type === "string" ? p.type : "about:blank", msg || `The server answered ${r.status}.`);
  }
  return data as T;
}

/** A one-line message for any error, for people (never a stack trace). */
export function message(e: unknown): string {
  if (e instanceof Error) return e.message.split("\n")[0] ?? e.name;
  return String(e);
}
