/** Accounts in the browser: sign-up, OPAQUE login (RFC 9807: the password stays in the browser), email
 *  confirmation, logout. Sessions are bearer tokens kept in memory by the caller (docs/web.md §2). */
import { ApiError, api, type Session } from "./api";

interface UserOut {
  email: string;
  email_verified: boolean;
}
interface SessionOut {
  user: UserOut;
  token: string | null;
}

const normal = (email: string) => email.trim().toLowerCase();

/** c11's OPAQUE key stretching (docs/shards.md §8): Argon2id m = 19456 KiB, t = 2, p = 1, as the CLI's. */
const KSF = { "argon2id-custom": { memory: 19456, iterations: 2, parallelism: 1 } } as const;

/** The OPAQUE client (WebAssembly), loaded on the first login only. */
async function opaqueClient() {
  const opaque = await import("@serenity-kit/opaque");
  await opaque.ready;
  return opaque.client;
}

/** Create an account with an OPAQUE registration (the password stays here); the server emails a verification
 *  link. */
export async function signUp(email: string, password: string): Promise<void> {
  const addr = normal(email);
  const client = await opaqueClient();
  const { clientRegistrationState, registrationRequest } = client.startRegistration({ password });
  const start = await api<{ response: string; signup_id: string }>("POST", "/api/v1/accounts/signup/start",
    { email: addr, request: registrationRequest });
  const { registrationRecord } = client.finishRegistration({ clientRegistrationState, registrationResponse: start.response, password, keyStretching: KSF });
  await api("POST", "/api/v1/accounts", { email: addr, signup_id: start.signup_id, registration: registrationRecord });
}

/** What a failed login says: a wrong password, or an account made before OPAQUE (which the browser never logs
 *  in by sending the password; the CLI does it once, when asked). */
export const LEGACY_HINT = "Wrong email or password. If your account predates OPAQUE, log in once with " +
  "`c11 login --legacy-password` (it sends the password to the server that one time, to upgrade the account).";

/** Log in with OPAQUE; the password never leaves the browser, whatever the server answers (docs/server.md). */
export async function logIn(email: string, password: string): Promise<Session> {
  const client = await opaqueClient();
  const addr = normal(email);
  const { clientLoginState, startLoginRequest } = client.startLogin({ password });
  const start = await api<{ response: string; login_id: string }>("POST", "/api/v1/sessions/opaque/start",
    { email: addr, request: startLoginRequest });
  const finished = client.finishLogin({ clientLoginState, loginResponse: start.response, password, keyStretching: KSF });
  if (!finished) {
    // a KE3 that proves nothing: the server counts the failure (the login backoff), then the hint
    await api("POST", "/api/v1/sessions/opaque/finish", { login_id: start.login_id, finalization: "A".repeat(86), kind: "bearer" })
      .catch(() => undefined);
    throw new ApiError(401, "bad-credentials", LEGACY_HINT);
  }
  try {
    const out = await api<SessionOut>("POST", "/api/v1/sessions/opaque/finish",
      { login_id: start.login_id, finalization: finished.finishLoginRequest, kind: "bearer" });
    return session(out);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw new ApiError(401, "bad-credentials", LEGACY_HINT);
    throw e;
  }
}

function session(out: SessionOut): Session {
  if (!out.token) throw new ApiError(500, "no-token", "The server answered no session token.");
  return { token: out.token, email: out.user.email, emailVerified: out.user.email_verified };
}

/** Confirm the email of a verification link's token under a login session of that account (the token alone,
 *  or the session alone, confirms nothing). */
export async function confirmEmail(token: string, s: Session): Promise<void> {
  await api("POST", "/api/v1/account/verify", { token }, s);
}

/** Whether the session's account has a verified email now. */
export async function refresh(s: Session): Promise<Session> {
  const me = await api<UserOut>("GET", "/api/v1/account", undefined, s);
  return { ...s, email: me.email, emailVerified: me.email_verified };
}

/** End the session at the server (the caller forgets the token either way). */
export async function logOut(s: Session): Promise<void> {
  await api("DELETE", "/api/v1/sessions/current", undefined, s);
}

/** Change the password: log in again with the current one (OPAQUE, a fresh session), then register the new one
 *  under that session; neither password is sent. The server ends the account's other sessions, so the fresh
 *  session is the one to keep. */
export async function changePassword(email: string, current: string, next: string): Promise<Session> {
  const s = await logIn(email, current);
  const client = await opaqueClient();
  const { clientRegistrationState, registrationRequest } = client.startRegistration({ password: next });
  const started = await api<{ response: string }>("POST", "/api/v1/account/opaque/start", { request: registrationRequest }, s);
  const { registrationRecord } = client.finishRegistration({ clientRegistrationState, registrationResponse: started.response, password: next, keyStretching: KSF });
  await api("PUT", "/api/v1/account/opaque", { registration: registrationRecord }, s);
  return s;
}
