/** Entry point of the c11 browser app.
 * Mounts the shell into #app (docs/web.md). */
import { render } from "preact";
import { App } from "./App";
import "./app.css";

const root = document.getElementById("app");
if (root) render(<App />, root);
