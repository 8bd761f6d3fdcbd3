/** The invitation link's page (`/invite#invitation=…`): walks an invited person through sign-up, confirming the
 *  email, making and publishing their key (which receives the temporary key the key server held for them into
 *  their key archive) and opening what was sent to them. */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../api";
import { navigate, type Route } from "../router";
import { SignupPage } from "./Account";

function Go({ to, children }: { to: Route; children: string }) {
  return <a href={to} onClick={(e) => { e.preventDefault(); navigate(to); }}>{children}</a>;
}

export function InvitePage({ session }: { session: Session | null }) {
  const [hadLink, setHadLink] = useState(() => new URLSearchParams(location.hash.slice(1)).has("invitation"));
  useEffect(() => {  // the invitation id leaves the address bar (also when the link is opened on this page again)
    const clear = () => {
      if (!location.hash) return;
      if (new URLSearchParams(location.hash.slice(1)).has("invitation")) setHadLink(true);
      history.replaceState(null, "", "/invite");
    };
    clear();
    window.addEventListener("hashchange", clear);
    return () => window.removeEventListener("hashchange", clear);
  }, []);
  return (
    <section aria-labelledby="invite-title">
      <h1 id="invite-title">You are invited to c11</h1>
      <p>Someone protected files for you with c11. Until you have a key of your own, they are encrypted to a
        <strong> temporary key</strong> that the key server holds for you: it is handed to you, and destroyed there, when
        you register. Files sent to it are not zero-trust; once you have your key, the app offers a copy re-encrypted
        for it.</p>
      {!hadLink && <p class="hint">Opened without an invitation link: the steps are the same.</p>}
      <ol class="steps">
        <li>Create your account with the email address the invitation was sent to{session ? ` (you are logged in as ${session.email})` : ""}.</li>
        <li>Confirm your email: open the link we email you, log in there and press “Confirm my address”.</li>
        <li>Make your key on the <Go to="/account">Account</Go> page and save its key file. Publishing it receives your
          temporary key into your key archive.</li>
        <li><Go to="/open">Open</Go> what was sent to you (logged in, with your key file). The page then offers a copy
          for your own key.</li>
      </ol>
      {session ? (
        <p>{session.emailVerified
          ? <>Your email is confirmed. Next: <Go to="/account">make and publish your key</Go>.</>
          : "Your email is not confirmed yet: open the link we emailed you."}</p>
      ) : (
        <>
          <SignupPage />
          <p>Already have an account? <Go to="/login">Log in</Go>.</p>
        </>
      )}
    </section>
  );
}
