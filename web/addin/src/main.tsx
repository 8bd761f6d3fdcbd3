/** The task pane's entry: waits for Office, then shows the pane over the real Word API (officeword.ts). */

import { render } from "preact";
import { Pane } from "./pane";
import { OfficeWord } from "./officeword";
import { signInWithDialog } from "./directory";
import "./pane.css";

const root = document.getElementById("root")!;
if (typeof Office === "undefined") {
  root.textContent = "Open this page from Word: it is the c11 add-in's task pane.";
} else {
  void Office.onReady(() => render(<Pane word={new OfficeWord()} signIn={signInWithDialog} />, root));
}
