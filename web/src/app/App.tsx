/** The app's shell: a header with the main links, the current page, and the session (memory only). */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Session } from "./api";
import { startWorker } from "../worker/client";
import { navigate, useRoute, type Route } from "./router";
import { PINNED_EVENT } from "./logtrust";
import { OpenPage } from "./pages/Open";
import { EncryptPage } from "./pages/Encrypt";
import { MessagesPage } from "./pages/Messages";
import { DocumentsPage } from "./pages/Documents";
import { AccountPage, LoginPage, SignupPage, VerifyPage } from "./pages/Account";
import { InvitePage } from "./pages/Invite";
import { RequestPage } from "./pages/Request";
import { RequestsPage } from "./pages/Requests";
import { SendPage } from "./pages/Send";
import { ReceivePage } from "./pages/Receive";
import { AdminPage } from "./admin/Admin";
import { ADMIN_ROUTES, type AdminRoute } from "./admin/routes";
import { useIsAdmin } from "./admin/useIsAdmin";
import { IDLE_LOCK_MS, UnlockedContext, type Unlocked, type UnlockedState } from "./unlocked";

function Link({ to, current, children }: { to: Route; current: Route; children: ComponentChildren }) {
  return (
    <a href={to} aria-current={to === current ? "page" : undefined}
      onClick={(e) => { if (!e.ctrlKey && !e.metaKey && !e.shiftKey) { e.preventDefault(); navigate(to); } }}>
      {children}
    </a>
  );
}

function Home() {
  // an invitation link of an older server (`/?invitation=…`): the invitation's page
  // (after this render's effects: the shell subscribes to navigation in its own effect, which runs after this one)
  useEffect(() => { if (new URLSearchParams(location.search).has("invitation")) setTimeout(() => navigate("/invite")); }, []);
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">c11</h1>
      <p>Documents protected end to end: files are encrypted on your device for the people you choose. The server
        never sees a document, a file name or a private key.</p>
      <ul class="actions">
        <li><a href="/open" onClick={(e) => { e.preventDefault(); navigate("/open"); }}>Open a protected file</a></li>
        <li><a href="/signup" onClick={(e) => { e.preventDefault(); navigate("/signup"); }}>Create an account</a></li>
      </ul>
      <p class="hint">This page's code comes from this server. If you do not trust the server, use the c11
        command line instead: it opens the same files.</p>
    </section>
  );
}

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(null);
  const [worker] = useState(startWorker);  // heavy crypto off the page's thread; keys stay inside it
  const isAdmin = useIsAdmin(session);  // the Admin link: only for an organization admin
  const [pinned, setPinned] = useState<string | null>(null);  // said once: when this browser pins the log key
  // the session's unlocked key: the identity stays in the worker; here only its fingerprint and kind (unlocked.ts)
  const [unlocked, setUnlocked] = useState<Unlocked | null>(null);
  const [keyState] = useState<{ current: UnlockedState }>(() => ({ current: null as unknown as UnlockedState }));
  keyState.current = {
    unlocked,
    unlock: async (key, kind) => {
      const held = await worker.call("holdSession", { handle: key.handle });
      setUnlocked({ fingerprint: held.fingerprint, kind });
    },
    lock: async () => {
      setUnlocked(null);
      await worker.call("lockSession", {});
    },
  };
  const sessionEmail = session?.email ?? null;
  useEffect(() => { void keyState.current.lock(); }, [sessionEmail]);  // logout (or another account): wiped
  useEffect(() => {  // the idle lock: IDLE_LOCK_MS without input wipes the key
    if (!unlocked) return;
    let timer = setTimeout(() => void keyState.current.lock(), IDLE_LOCK_MS);
    const active = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void keyState.current.lock(), IDLE_LOCK_MS);
    };
    const events = ["keydown", "pointerdown", "wheel", "touchstart"] as const;
    for (const ev of events) window.addEventListener(ev, active, { passive: true });
    return () => {
      clearTimeout(timer);
      for (const ev of events) window.removeEventListener(ev, active);
    };
  }, [unlocked]);
  useEffect(() => {
    const on = (e: Event) => setPinned((e as CustomEvent<string>).detail);
    window.addEventListener(PINNED_EVENT, on);
    return () => window.removeEventListener(PINNED_EVENT, on);
  }, []);
  let page;
  switch (route) {
    case "/open": page = <OpenPage worker={worker} session={session} />; break;
    case "/invite": page = <InvitePage session={session} />; break;
    case "/request": page = <RequestPage worker={worker} />; break;
    case "/requests": page = <RequestsPage session={session} worker={worker} />; break;
    case "/send": page = <SendPage session={session} worker={worker} />; break;
    case "/r": page = <ReceivePage session={session} setSession={setSession} worker={worker} />; break;
    case "/encrypt": page = <EncryptPage session={session} worker={worker} />; break;
    case "/messages": page = <MessagesPage session={session} worker={worker} />; break;
    case "/documents": page = <DocumentsPage session={session} />; break;
    case "/signup": page = <SignupPage />; break;
    case "/login": page = <LoginPage setSession={setSession} />; break;
    case "/verify": page = <VerifyPage session={session} setSession={setSession} />; break;
    case "/account": page = <AccountPage session={session} setSession={setSession} worker={worker} />; break;
    default: page = (ADMIN_ROUTES as readonly string[]).includes(route) ? <AdminPage session={session} route={route as AdminRoute} worker={worker} /> : <Home />;
  }
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <nav aria-label="Main">
          <Link to="/" current={route}>c11</Link>
          <Link to="/open" current={route}>Open</Link>
          <Link to="/encrypt" current={route}>Encrypt</Link>
          <Link to="/messages" current={route}>Messages</Link>
          {session && <Link to="/documents" current={route}>My documents</Link>}
          {session && <Link to="/send" current={route}>Send</Link>}
          {session && <Link to="/requests" current={route}>Requests</Link>}
          {isAdmin && <Link to="/admin" current={route}>Admin</Link>}
          {session ? <Link to="/account" current={route}>Account</Link> : (
            <>
              <Link to="/login" current={route}>Log in</Link>
              <Link to="/signup" current={route}>Sign up</Link>
            </>
          )}
        </nav>
      </header>
      {unlocked && (
        <p class="hint notice unlocked" data-unlocked={unlocked.fingerprint}>
          <span role="status">Key unlocked in this tab: <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>
            {unlocked.kind === "cloud" ? " (cloud key)" : " (key file)"}; it locks after {IDLE_LOCK_MS / 60000} minutes without input.</span>{" "}
          <button type="button" class="secondary" onClick={() => void keyState.current.lock()}>Lock now</button>
        </p>
      )}
      {pinned && <p role="status" class="hint notice" data-log-pin={pinned}>log key pinned: {pinned} (trusted on first use, as
        the command line does; a different key from this server will be refused)</p>}
      <UnlockedContext.Provider value={keyState.current}>
        <main id="main" tabIndex={-1}>{page}</main>
      </UnlockedContext.Provider>
    </>
  );
}
