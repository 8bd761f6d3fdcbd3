/** The add-in's task pane (docs/addin.md): Inspect, Protect, Read, Change recipients and Unprotect, over a
 *  `WordAdapter` and a `Directory` (registry lookups with proofs and organization rules, after signing in). */

import { useEffect, useState } from "preact/hooks";
import { hex } from "../../src/core/bytes";
import { parseKeyFile } from "../../src/core/keyfile";
import type { Identity } from "../../src/core/identity";
import { applyRules, type OrgPolicy } from "../../src/core/orgrules";
import type { PublicKey } from "../../src/core/publickey";
import { changeRecipients, inspectDocument, protectDocument, readDocument, unprotectDocument, type Inspection, type ReadResult } from "./addin";
import type { Target, WordAdapter } from "./word";

/** Keys by email, verified against the transparency log, and organizations' rules (web/src/app/registry.ts). */
export interface Directory {
  email: string;
  lookup(email: string): Promise<{ key: PublicKey; org: OrgPolicy | null }>;
  ownPolicy(): Promise<OrgPolicy | null>;
}

/** Per author signing key: whether the registry (log-proved lookup) gives that key for the author's email. */
async function verifySenders(d: Directory, info: Inspection): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const g of info.groups) {
    if (g.authorKey in out) continue;
    try {
      const { key } = await d.lookup(g.author);
      out[g.authorKey] = key.sig && hex(key.sig) === g.authorKey ? "verified in the registry" : "NOT the registry's key for this email: do not trust the sender";
    } catch (e) {
      out[g.authorKey] = `not verified: ${message(e)}`;
    }
  }
  return out;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const emails = (s: string) => s.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);

export function Pane({ word, signIn }: { word: WordAdapter; signIn: () => Promise<Directory> }) {
  const unsupported = word.unsupported();
  const [dir, setDir] = useState<Directory | null>(null);
  const [me, setMe] = useState<Identity | null>(null);
  const [info, setInfo] = useState<Inspection | null>(null);
  const [busy, setBusy] = useState("");
  const [error, setError] = useState("");
  const [done, setDone] = useState("");
  const [read, setRead] = useState<ReadResult | null>(null);
  const [what, setWhat] = useState<Target["kind"]>("selection");
  const [heading, setHeading] = useState("");
  const [table, setTable] = useState("1");
  const [to, setTo] = useState("");
  const [note, setNote] = useState("");
  const [added, setAdded] = useState<string[]>([]);
  const [addTo, setAddTo] = useState("");
  const [removeFp, setRemoveFp] = useState("");
  const [history, setHistory] = useState<boolean | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [pass, setPass] = useState("");
  const [verified, setVerified] = useState<Record<string, string>>({});

  const refresh = async (d: Directory | null = dir) => {
    const i = await inspectDocument(word);
    setInfo(i);
    setHistory(await word.keepsHistory());
    if (i && d) setVerified(await verifySenders(d, i));
  };
  useEffect(() => {
    if (!unsupported) refresh().catch((e) => setError(message(e)));
  }, []);

  const run = (label: string, f: () => Promise<string>) => async (ev: Event) => {
    ev.preventDefault();
    setError("");
    setDone("");
    setBusy(label);
    try {
      setDone(await f());
      await refresh();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy("");
    }
  };

  if (unsupported) return <main class="pane"><h1>c11 for Word</h1><p class="error" role="alert">{unsupported}</p></main>;

  const needKey = () => {
    if (!me) throw new Error("Unlock your key file first (Your key, above).");
    return me;
  };
  const needDir = () => {
    if (!dir) throw new Error("Sign in first: recipients are looked up in the registry, with proofs.");
    return dir;
  };
  const resolve = async (list: string[]) => {
    const d = needDir();
    const found = [];
    for (const e of list) found.push(await d.lookup(e));
    return found;
  };
  const target = (): Target =>
    what === "heading" ? { kind: "heading", text: heading } : what === "table" ? { kind: "table", index: Math.max(1, Number(table) || 1) } : { kind: what };

  const unlock = run("Unlocking", async () => {
    if (!keyFile) throw new Error("Choose your key file (.key).");
    const kf = await parseKeyFile(new Uint8Array(await keyFile.arrayBuffer()), keyFile.name);
    setMe(await kf.unlock(kf.encrypted ? pass : undefined));
    return `Key unlocked: ${kf.label}`;
  });
  const login = run("Signing in", async () => {
    const d = await signIn();
    setDir(d);
    await refresh(d);
    return `Signed in as ${d.email}`;
  });
  const protect = run("Protecting", async () => {
    const sender = needKey();
    const found = await resolve(emails(to));
    if (!found.length) throw new Error("Add at least one recipient by email.");
    const own = await needDir().ownPolicy();
    const plan = applyRules([own, ...found.map((f) => f.org)].filter((p): p is OrgPolicy => p !== null), found.map((f) => f.key), { online: false, expires: null });
    if (plan.online) throw new Error(`${plan.onlineRequiredBy.join(", ")} requires online documents, which the add-in cannot make yet: use the c11 app`);
    setAdded(plan.added.map((a) => `${a.org}: ${a.key.fingerprint}`));
    const env = await protectDocument(word, [{ target: target() }], plan.recipients, sender, note);
    return `Protected ${env.parts.length} part(s) for ${plan.recipients.length} recipient(s)${plan.added.length ? `, including ${plan.added.length} recovery key(s)` : ""}.`;
  });
  const readParts = run("Reading", async () => {
    const r = await readDocument(word, [needKey()]);
    setRead(r);
    return `${r.parts.length} part(s) opened${r.closed.length ? `, ${r.closed.length} for other people` : ""}.`;
  });
  const reshare = run("Changing recipients", async () => {
    const found = await resolve(emails(addTo));
    const env = await changeRecipients(word, needKey(), found.map((f) => f.key), emails(removeFp));
    return `Recipients changed in ${env.headers.length} group(s).`;
  });
  const unprotect = run("Unprotecting", async () => {
    if (history && !confirm) throw new Error("Confirm first: AutoSave and version history will keep the unprotected text.");
    const r = await unprotectDocument(word, [needKey()]);
    setRead(null);
    return `Unprotected ${r.opened} part(s)${r.closed ? `; ${r.closed} stay protected for other people` : ""}.`;
  });

  return (
    <main class="pane">
      <h1>c11 for Word</h1>
      {busy && <p role="status">{busy}…</p>}
      {error && <p class="error" role="alert">{error}</p>}
      {done && <p class="result" role="status">{done}</p>}
      {added.length > 0 && <p class="hint">Recovery keys added by organization rules: {added.join("; ")}</p>}

      <section aria-labelledby="h-doc">
        <h2 id="h-doc">This document</h2>
        {info ? (
          <div>
            <p>{info.parts} protected part(s).</p>
            {info.note && <p>Note from the author: {info.note}</p>}
            <ul>
              {info.groups.map((g) => (
                <li key={g.group}>
                  Sent by {g.author} ({verified[g.authorKey] ?? "unverified: sign in to check the sender in the registry"}); {g.locations.length} part(s) for {g.recipients.length} key(s):{" "}
                  <span class="fingerprint">{g.recipients.map((r) => r.slice(0, 16)).join(", ")}</span>
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p>Not protected with c11.</p>
        )}
      </section>

      <section aria-labelledby="h-you">
        <h2 id="h-you">You</h2>
        <form onSubmit={unlock} class="stack">
          <label>
            Your key file (.key)
            <input type="file" accept=".key,application/json" onChange={(e) => setKeyFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
          </label>
          <label>
            Passphrase (if it has one)
            <input type="password" value={pass} autocomplete="current-password" onInput={(e) => setPass((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={!!busy}>{me ? `Unlocked: ${me.label}` : "Unlock key"}</button>
        </form>
        <button type="button" onClick={login} disabled={!!busy}>{dir ? `Signed in as ${dir.email}` : "Sign in"}</button>
      </section>

      {!info && (
        <section aria-labelledby="h-protect">
          <h2 id="h-protect">Protect</h2>
          <form onSubmit={protect} class="stack">
            <fieldset>
              <legend>What to protect</legend>
              {([["selection", "The selected paragraphs"], ["heading", "A heading's section"], ["table", "A table"], ["body", "The whole document"]] as const).map(([v, l]) => (
                <label key={v}>
                  <input type="radio" name="what" value={v} checked={what === v} onChange={() => setWhat(v)} /> {l}
                </label>
              ))}
            </fieldset>
            {what === "heading" && (
              <label>
                Heading text
                <input value={heading} onInput={(e) => setHeading((e.target as HTMLInputElement).value)} />
              </label>
            )}
            {what === "table" && (
              <label>
                Table number
                <input type="number" min="1" value={table} onInput={(e) => setTable((e.target as HTMLInputElement).value)} />
              </label>
            )}
            <label>
              Recipients (emails)
              <textarea rows={2} value={to} onInput={(e) => setTo((e.target as HTMLTextAreaElement).value)} />
            </label>
            <label>
              Note shown to people who cannot open it
              <textarea rows={2} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
            </label>
            <button type="submit" disabled={!!busy}>Protect</button>
          </form>
        </section>
      )}

      {info && (
        <section aria-labelledby="h-read">
          <h2 id="h-read">Read</h2>
          <button type="button" onClick={readParts} disabled={!!busy}>Read protected parts</button>
          {read && (
            <div class="scroll">
              {read.senders.map((s) => (
                <p key={s.group} class="hint">
                  Written by {s.author} (signing key <span class="fingerprint">{s.authorKey.slice(0, 16)}</span>){s.resharer ? `; recipients changed by ${s.resharer}` : ""}
                </p>
              ))}
              {read.parts.map((p) => (
                <article key={p.location} aria-label={`Part ${p.location}`}>
                  {p.lines.map((l, i) => <p key={i}>{l}</p>)}
                </article>
              ))}
            </div>
          )}
        </section>
      )}

      {info && (
        <section aria-labelledby="h-recipients">
          <h2 id="h-recipients">Change recipients</h2>
          <form onSubmit={reshare} class="stack">
            <label>
              Add (emails)
              <input value={addTo} onInput={(e) => setAddTo((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              Remove (key fingerprints)
              <input value={removeFp} onInput={(e) => setRemoveFp((e.target as HTMLInputElement).value)} />
            </label>
            <button type="submit" disabled={!!busy}>Change recipients</button>
          </form>
        </section>
      )}

      {info && (
        <section aria-labelledby="h-unprotect">
          <h2 id="h-unprotect">Unprotect</h2>
          <p class="warning">
            {history
              ? "This document is saved to the cloud: AutoSave and version history will keep the unprotected text, even if you protect it again."
              : "Unprotecting puts the plain text back into this document for anyone who gets the file."}
          </p>
          <form onSubmit={unprotect} class="stack">
            {history && (
              <label class="check">
                <input type="checkbox" checked={confirm} onChange={(e) => setConfirm((e.target as HTMLInputElement).checked)} /> I understand: unprotect anyway
              </label>
            )}
            <button type="submit" disabled={!!busy}>Unprotect the parts I can open</button>
          </form>
        </section>
      )}
    </main>
  );
}
