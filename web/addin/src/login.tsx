/** The sign-in dialog (Office dialog API): the web app's OPAQUE login, then the session goes to the pane with
 *  `messageParent`. The password never leaves this page; the pane gets the bearer token only. */

import { render } from "preact";
import { useState } from "preact/hooks";
import { logIn } from "../../src/app/auth";
import "./pane.css";

function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError("");
    try {
      const s = await logIn(email, password);
      Office.context.ui.messageParent(JSON.stringify(s), { targetOrigin: location.origin });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <main class="pane">
      <h1>Sign in to c11</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <form class="stack" onSubmit={submit}>
        <label>
          Email
          <input type="email" autocomplete="username" value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Password
          <input type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

void Office.onReady(() => render(<Login />, document.getElementById("root")!));
