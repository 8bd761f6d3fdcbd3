/** Sign up, log in, confirm the email of a verification link, log out. */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../api";
import { message } from "../api";
import { changePassword, confirmEmail, logIn, logOut, refresh, signUp } from "../auth";
import { navigate } from "../router";
import type { CoreWorker } from "../../worker/client";
import { KeySection } from "./Keys";
import { InvitationsSection, KeyHistorySection, KeyStatusSection, TokensSection } from "./AccountExtras";

type SetSession = (s: Session | null) => void;

function Field(props: { id: string; label: string; type: "email" | "password"; value: string; set: (v: string) => void; autocomplete: string; hint?: string }) {
  const common = {
    id: props.id, value: props.value, required: true, autocomplete: props.autocomplete,
    "aria-describedby": props.hint ? `${props.id}-hint` : undefined,
    onInput: (e: Event) => props.set((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      {props.type === "email"
        ? <input type="email" {...common} />
        : <input type="password" {...common} />}
      {props.hint && <p id={`${props.id}-hint`} class="hint">{props.hint}</p>}
    </div>
  );
}

function useForm() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (e: Event, work: () => Promise<void>) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await work();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function SignupPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const { busy, error, run } = useForm();
  if (done) {
    return (
      <section aria-labelledby="signup-title">
        <h1 id="signup-title">Check your email</h1>
        <p role="status">We sent a link to <span class="label">{done}</span>. Open it to confirm your address.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="signup-title">
      <h1 id="signup-title">Create an account</h1>
      <form class="stack" onSubmit={(e) => run(e, async () => { await signUp(email, password); setDone(email.trim()); })}>
        <Field id="signup-email" label="Email" type="email" value={email} set={setEmail} autocomplete="email" />
        <Field id="signup-password" label="Password" type="password" value={password} set={setPassword}
          autocomplete="new-password" hint="A long password you use nowhere else." />
        <div><button type="submit" disabled={busy}>{busy ? "Creating…" : "Create account"}</button></div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

export function LoginPage({ setSession }: { setSession: SetSession }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useForm();
  return (
    <section aria-labelledby="login-title">
      <h1 id="login-title">Log in</h1>
      <form class="stack" onSubmit={(e) => run(e, async () => {
        const s = await logIn(email, password);
        setPassword("");
        setSession(s);
        navigate("/account");
      })}>
        <Field id="login-email" label="Email" type="email" value={email} set={setEmail} autocomplete="username" />
        <Field id="login-password" label="Password" type="password" value={password} set={setPassword} autocomplete="current-password" />
        <div><button type="submit" disabled={busy}>{busy ? "Logging in…" : "Log in"}</button></div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      <p>No account yet? <a href="/signup" onClick={(e) => { e.preventDefault(); navigate("/signup"); }}>Create one</a>.</p>
    </section>
  );
}

/** The verification link's page (`/verify#token=...`: the token stays in the fragment, never sent in a URL).
 *  Opening it confirms nothing (mail scanners prefetch links): the owner logs in and presses the button. */
export function VerifyPage({ session, setSession }: { session: Session | null; setSession: SetSession }) {
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get("token") ?? "");
  useEffect(() => { if (location.hash) history.replaceState(null, "", "/verify"); }, []);  // the token leaves the address bar and history
  const [email, setEmail] = useState(session?.email ?? "");
  const [password, setPassword] = useState("");
  const [outcome, setOutcome] = useState<"confirmed" | "already" | null>(null);
  const { busy, error, run } = useForm();
  if (!token) {
    return (
      <section aria-labelledby="verify-title">
        <h1 id="verify-title">Confirm your email</h1>
        <p role="alert" class="error">This link has no confirmation code. Open the link from the email again, whole.</p>
      </section>
    );
  }
  if (outcome) {
    return (
      <section aria-labelledby="verify-title">
        <h1 id="verify-title">{outcome === "already" ? "Already confirmed" : "Email confirmed"}</h1>
        <p role="status">
          <span class="label">{session?.email ?? email}</span>{" "}
          {outcome === "already" ? "was already confirmed. Nothing more to do." : "is confirmed."}
        </p>
        {session && <p>Next: <a href="/account" onClick={(e) => { e.preventDefault(); navigate("/account"); }}>your account</a> (your key).</p>}
      </section>
    );
  }
  return (
    <section aria-labelledby="verify-title">
      <h1 id="verify-title">Confirm your email</h1>
      <p>Log in with the email and password you signed up with, then confirm. If you did not sign up, close this
        page: the account expires unconfirmed.</p>
      <form class="stack" onSubmit={(e) => run(e, async () => {
        let s = await logIn(email, password);
        if (!s.emailVerified) {
          await confirmEmail(token, s);
          s = await refresh(s);
          setOutcome("confirmed");
        } else {
          setOutcome("already");
        }
        setPassword("");
        setSession(s);
      })}>
        <Field id="verify-email" label="Email" type="email" value={email} set={setEmail} autocomplete="username" />
        <Field id="verify-password" label="Password" type="password" value={password} set={setPassword} autocomplete="current-password" />
        <div><button type="submit" disabled={busy}>{busy ? "Confirming…" : "Confirm my address"}</button></div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

export function AccountPage({ session, setSession, worker }: { session: Session | null; setSession: SetSession; worker: CoreWorker }) {
  const { busy, error, run } = useForm();
  if (!session) {
    return (
      <section aria-labelledby="account-title">
        <h1 id="account-title">Account</h1>
        <p>You are not logged in. <a href="/login" onClick={(e) => { e.preventDefault(); navigate("/login"); }}>Log in</a>.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <p>Logged in as <span class="label">{session.email}</span>.</p>
      <p>{session.emailVerified ? "Your email is confirmed." : "Your email is not confirmed yet: open the link we emailed you."}</p>
      {session.emailVerified && <KeySection session={session} worker={worker} />}
      {session.emailVerified && <KeyStatusSection session={session} />}
      {session.emailVerified && <KeyHistorySection session={session} />}
      {session.emailVerified && <InvitationsSection session={session} />}
      <TokensSection session={session} />
      <PasswordSection session={session} setSession={setSession} />
      <form class="logout" onSubmit={(e) => run(e, async () => {
        try {
          await logOut(session);
        } finally {
          setSession(null);
        }
        navigate("/");
      })}>
        <button type="submit" disabled={busy}>Log out</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

function PasswordSection({ session, setSession }: { session: Session; setSession: SetSession }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const { busy, error, run } = useForm();
  return (
    <section aria-labelledby="password-title">
      <h2 id="password-title">Change your password</h2>
      <form class="stack" onSubmit={(e) => run(e, async () => {
        setDone(false);
        if (next !== again) throw new Error("The two new passwords differ.");
        const s = await changePassword(session.email, current, next);
        setCurrent("");
        setNext("");
        setAgain("");
        setSession(s);
        setDone(true);
      })}>
        <Field id="pw-current" label="Current password" type="password" value={current} set={setCurrent} autocomplete="current-password" />
        <Field id="pw-new" label="New password" type="password" value={next} set={setNext} autocomplete="new-password" />
        <Field id="pw-again" label="New password again" type="password" value={again} set={setAgain} autocomplete="new-password" />
        <div><button type="submit" disabled={busy}>{busy ? "Changing…" : "Change password"}</button></div>
      </form>
      {done && <p role="status">Password changed.</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}
