/** Entry point of the c11 browser app.
 * Mounts the shell into #app; pages live beside this file. */
import { render } from "preact";
import "./app.css";

function App() {
  return (
    <main>
      <h1>c11</h1>
      <p>Documents protected end to end.</p>
    </main>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
