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
import { OfficeWord } from "./officeword";
import { StubHost, type Item } from "./officestub";
import { generateIdentity } from "../../src/core/identity";

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
      return { ...r, docx: b64(word.save()), inserted: word.inserted };
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
  /** The real Office adapter (officeword.ts) over the stubbed Office host: protect, read, change recipients,
   *  unprotect; returns what the document looked like at each step. */
  officeRoundTrip: () =>
    guard(async () => {
      const p = (text: string, outline = 10): Item => ({ kind: "p", text, outline });
      const original: Item[] = [p("Pay review", 1), p("Public intro."), p("Salaries", 2), p("Alice earns SECRET-1."), { kind: "tbl", text: "Name | Pay\nAlice | SECRET-2", outline: 10 }, p("Other", 2), p("Public end.")];
      const host = new StubHost(original.map((i) => ({ ...i })));
      host.install();
      const word = new OfficeWord();
      const [alice, bob, carol] = await Promise.all([generateIdentity("alice@example.com", "x25519"), generateIdentity("bob@example.com", "x25519"), generateIdentity("carol@example.com", "x25519")]);
      const before = host.textOf(host.body);
      await protectDocument(word, [{ target: { kind: "heading", text: "Salaries" } }], [bob.public], alice, "HR only");
      const protectedText = host.textOf(host.body);
      const tags = host.body.filter((i) => i.kind === "cc").map((i) => ({ tag: i.tag, title: i.title, locked: !!i.cannotEdit && !!i.cannotDelete }));
      const read = await readDocument(word, [bob]);
      await changeRecipients(word, alice, [carol.public], []);
      const readByCarol = await readDocument(word, [carol]);
      const history = await word.keepsHistory();
      const done = await unprotectDocument(word, [carol]);
      const oldHost = new StubHost([], "1.3");
      oldHost.install();
      const old = new OfficeWord().unsupported();
      return { before, protectedText, tags, read: read.parts, readByCarol: readByCarol.parts.length, history, done, after: host.textOf(host.body), parts: host.xmlParts.length, old };
    }),
};

(window as unknown as { c11addin: typeof api }).c11addin = api;
document.getElementById("status")!.textContent = "ready";
