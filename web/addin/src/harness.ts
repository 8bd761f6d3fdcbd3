/** Test page of the Word add-in (not shipped): runs the add-in's code over `FakeWord` (a real .docx) in Chromium.
 *  Driven by tests/web/test_addin.py through `window.c11addin`; documents go in and out as base64. */

import { b64, fromB64 } from "../../src/core/bytes";
import { errorNames } from "../../src/core/errors";
import { parseKeyFile } from "../../src/core/keyfile";
import { parsePublicKey } from "../../src/core/publickey";
import { changeRecipients, inspectDocument, protectDocument, readDocument, unprotectDocument, type Choice } from "./addin";
import { FakeWord } from "./fakeword";
import type { Target } from "./word";
import { h, render } from "preact";
import { Pane, type Directory } from "./pane";
import { policyFromJson } from "../../src/core/orgrules";
import "./pane.css";

let shown: FakeWord | null = null;

const identity = async (keyJson: string) => (await parseKeyFile(keyJson)).unlock();
const keys = (lines: string[]) => Promise.all(lines.map((l) => parsePublicKey(l)));

async function guard<T>(f: () => Promise<T>): Promise<T | { error: string; names: string[] }> {
  try {
    return await f();
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), names: errorNames(e) };
  }
}

const api = {
  protect: (docx: string, keyJson: string, recipients: string[], choices: { target: Target; recipients?: string[] }[], note: string, selection?: [number, number]) =>
    guard(async () => {
      const word = new FakeWord(fromB64(docx));
      if (selection) word.select(selection[0], selection[1]);
      const cs: Choice[] = [];
      for (const c of choices) cs.push(c.recipients ? { target: c.target, recipients: await keys(c.recipients) } : { target: c.target });
      await protectDocument(word, cs, await keys(recipients), await identity(keyJson), note);
      return b64(word.save());
    }),
  /** Protect on a host whose customXmlParts.add fails: the error, and the document as left. */
  protectFailing: async (docx: string, keyJson: string, recipients: string[], choices: { target: Target }[]) => {
    const word = new FakeWord(fromB64(docx), { failCustomXml: true });
    const r = await guard(async () => protectDocument(word, choices, await keys(recipients), await identity(keyJson), "a note"));
    return { error: "error" in r ? r.error : null, docx: b64(word.save()) };
  },
  read: (docx: string, keyJson: string) => guard(async () => readDocument(new FakeWord(fromB64(docx)), [await identity(keyJson)])),
  inspect: (docx: string) => guard(async () => inspectDocument(new FakeWord(fromB64(docx)))),
  unprotect: (docx: string, keyJson: string) =>
    guard(async () => {
      const word = new FakeWord(fromB64(docx));
      const r = await unprotectDocument(word, [await identity(keyJson)]);
      return { ...r, docx: b64(word.save()) };
    }),
  reshare: (docx: string, keyJson: string, add: string[], remove: string[]) =>
    guard(async () => {
      const word = new FakeWord(fromB64(docx));
      await changeRecipients(word, await identity(keyJson), await keys(add), remove);
      return b64(word.save());
    }),
  /** Render the task pane over a FakeWord (the Office host stubbed): `directory` maps emails to public key lines, with
   *  an optional organization policy (JSON as the registry gives it) for everyone. */
  showPane: async (docx: string, me: string, directory: Record<string, string>, org: unknown, history: boolean | null, selection?: [number, number]) => {
    shown = new FakeWord(fromB64(docx), { history });
    if (selection) shown.select(selection[0], selection[1]);
    const policy = org ? await policyFromJson(org) : null;
    const dir: Directory = {
      email: me,
      lookup: async (email) => {
        const line = directory[email.toLowerCase()];
        if (!line) throw new Error(`${email} has no published key: they need a c11 account first`);
        return { key: await parsePublicKey(line), org: policy };
      },
      ownPolicy: async () => policy,
    };
    const root = document.getElementById("root")!;
    render(null, root); // a fresh pane (a new document opened)
    render(h(Pane, { word: shown, signIn: async () => dir }), root);
  },
  paneDocx: () => b64(shown!.save()),
};

(window as unknown as { c11addin: typeof api }).c11addin = api;
document.getElementById("status")!.textContent = "ready";
