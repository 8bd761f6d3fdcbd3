/** The recipient's page of a document request (F25; docs/sharing.md, "Document requests"): no account. The emailed
 *  link's fragment is the capability; the page checks the requester's signature with their key from the log,
 *  validates the answers, encrypts every answer and file in the worker for exactly the keys the requester signed
 *  into the request (their own, their organization's recovery keys, any group the template names: never a key
 *  the server adds) and uploads them resumably. The server sees sizes only. The answers are not authenticated:
 *  the server made the link token, so it could submit answers of its own (docs/security.md). */
import { useEffect, useState } from "preact/hooks";
import { parsePublicKey } from "../../core/publickey";
import { answerError, answersDocument, emptyAnswer, fields, filesError, type Answer, type Field, type FileItem } from "../../core/docrequest";
import type { CoreWorker } from "../../worker/client";
import { ApiError, message } from "../api";
import { openRequest, parseLink, sendItem, submit, type RequestLink, type VerifiedRequest } from "../docrequests";

type Phase = { kind: "loading" } | { kind: "gone"; title: string; text: string } | { kind: "error"; text: string }
  | { kind: "form"; req: VerifiedRequest } | { kind: "done"; name: string; requester: string };

function gonePage(e: unknown): Phase {
  if (e instanceof ApiError && e.status === 410 && e.type.endsWith("request-expired"))
    return { kind: "gone", title: "This request has expired", text: "The link no longer works. Ask the person who sent it for a new request." };
  if (e instanceof ApiError && e.status === 410)
    return { kind: "gone", title: "This request was cancelled", text: "The person who asked cancelled it; nothing more can be uploaded." };
  if (e instanceof ApiError && e.status === 409 && e.type.endsWith("request-submitted"))
    return { kind: "gone", title: "Already answered", text: "This request was already answered. Thank you." };
  if (e instanceof ApiError && (e.status === 401 || e.status === 403))
    return { kind: "gone", title: "This link does not work", text: "Open the request with the complete link from the email." };
  const name = e instanceof Error ? e.name : "";
  if (name === "BadSignatureError" || name === "ProofError" || name === "LogKeyChangedError")
    return { kind: "error", text: `Refused: this request could not be verified (${message(e)}). Do not upload anything; tell the person who asked.` };
  return { kind: "error", text: message(e) };
}

function FieldInput({ f, value, set, files, setFiles, error }: {
  f: Field; value: Answer; set: (v: Answer) => void; files: File[]; setFiles: (f: File[]) => void; error: string | null;
}) {
  const id = `f-${f.id}`;
  const describedBy = [f.help ? `${id}-help` : "", error ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined;
  const common = { id, "aria-describedby": describedBy, "aria-invalid": error ? true : undefined, "aria-required": f.required || undefined };
  const text = (e: Event) => set((e.currentTarget as HTMLInputElement).value);
  let input;
  switch (f.type) {
    case "multiline":
      input = <textarea {...common} rows={4} value={value as string} onInput={text} />;
      break;
    case "checkbox":
      return (
        <div class="field">
          <input {...common} type="checkbox" checked={value as boolean} onChange={(e) => set((e.currentTarget as HTMLInputElement).checked)} />{" "}
          <label class="inline" for={id}>{f.label}{f.required ? " (required)" : ""}</label>
          {f.help && <p class="hint" id={`${id}-help`}>{f.help}</p>}
          {error && <p class="error" id={`${id}-err`}>{f.label}: {error}</p>}
        </div>
      );
    case "choice":
      if (f.multiple) {
        const vals = value as string[];
        return (
          <fieldset class="field" aria-describedby={describedBy}>
            <legend>{f.label}{f.required ? " (required)" : ""}</legend>
            {(f.options ?? []).map((o, i) => (
              <div key={o}>
                <input id={`${id}-${i}`} type="checkbox" checked={vals.includes(o)}
                  onChange={(e) => set((e.currentTarget as HTMLInputElement).checked ? [...vals, o] : vals.filter((x) => x !== o))} />{" "}
                <label class="inline" for={`${id}-${i}`}>{o}</label>
              </div>
            ))}
            {f.help && <p class="hint" id={`${id}-help`}>{f.help}</p>}
            {error && <p class="error" id={`${id}-err`}>{f.label}: {error}</p>}
          </fieldset>
        );
      }
      input = (
        <select {...common} value={value as string} onChange={(e) => set((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">Choose…</option>
          {(f.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      );
      break;
    case "file":
      input = (
        <input {...common} type="file" multiple={(f.max_files ?? 1) > 1} accept={(f.accept ?? []).join(",") || undefined}
          onChange={(e) => setFiles([...((e.currentTarget as HTMLInputElement).files ?? [])])} />
      );
      break;
    case "date":
      input = <input {...common} type="date" value={value as string} onInput={text} />;
      break;
    case "email":
      input = <input {...common} type="email" value={value as string} onInput={text} autocomplete="email" />;
      break;
    case "phone":
      input = <input {...common} type="tel" inputMode="tel" value={value as string} onInput={text} autocomplete="tel" />;
      break;
    default:
      input = <input {...common} type="text" inputMode={f.type === "number" ? "decimal" : undefined} value={value as string}
        onInput={text} autocomplete="off" />;
  }
  return (
    <div class="field">
      <label for={id}>{f.label}{f.required ? " (required)" : ""}</label>
      {input}
      {f.type === "file" && files.length > 1 && <p class="hint">{files.map((x) => x.name).join(", ")}</p>}
      {f.help && <p class="hint" id={`${id}-help`}>{f.help}</p>}
      {error && <p class="error" id={`${id}-err`}>{f.label}: {error}</p>}
    </div>
  );
}

function Form({ req, link, worker, done }: { req: VerifiedRequest; link: RequestLink; worker: CoreWorker; done: () => void }) {
  const r = req.state.request;
  const all = fields(r);
  const [answers, setAnswers] = useState<Record<string, Answer>>(() => Object.fromEntries(all.filter((f) => f.type !== "file").map((f) => [f.id, emptyAnswer(f)])));
  const [picked, setPicked] = useState<Record<string, File[]>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const validate = (): Record<string, string> => {
    const errs: Record<string, string> = {};
    for (const f of all) {
      const err = f.type === "file"
        ? filesError(f, (picked[f.id] ?? []).map((x) => ({ name: x.name, size: x.size })))
        : answerError(f, answers[f.id]);
      if (err) errs[f.id] = err;
    }
    const count = Object.values(picked).reduce((n, l) => n + l.length, 0);
    const bytes = Object.values(picked).reduce((n, l) => n + l.reduce((m, x) => m + x.size, 0), 0);
    if (count > r.max_files) errs._all = `at most ${r.max_files} files in all`;
    else if (bytes > r.max_bytes) errs._all = `at most ${r.max_bytes} bytes of files in all`;
    return errs;
  };
  const send = async (e: Event) => {
    e.preventDefault();
    setFailure(null);
    const errs = validate();
    setErrors(errs);
    if (Object.keys(errs).length) {
      const first = all.find((f) => errs[f.id]);
      (document.getElementById(first ? `f-${first.id}` : "request-submit") as HTMLElement | null)?.focus();
      return;
    }
    setBusy(true);
    let handle: number | null = null;
    try {
      // everyone the answers are for: exactly the keys the requester signed (their organization's recovery keys
      // among them); nothing the server says outside the signature (finding 1 of the 2026-12 review)
      const recipients = (await Promise.all(r.keys.map(parsePublicKey))).map((k) => k.line);
      // a key made for this answer only: it signs the files, and is forgotten afterwards
      handle = (await worker.call("generateKey", { label: "", kem: "x25519" })).handle;
      const listing: Record<string, FileItem[]> = {};
      const blobs: { n: number; field: string; data: Blob }[] = [];
      let n = 0;
      for (const f of all.filter((x) => x.type === "file")) {
        for (const file of picked[f.id] ?? []) {
          n += 1;
          setStatus(`Encrypting ${file.name}…`);
          const data = await worker.call("encrypt", { data: file, recipients, sender: handle,
            metadata: { name: file.name, type: file.type || null, size: file.size, mtime: null, kind: "file" } });
          blobs.push({ n, field: f.id, data });
          (listing[f.id] ??= []).push({ item: n, name: file.name, size: file.size, type: file.type });
        }
      }
      const doc = await answersDocument(r, answers, listing, new Date().toISOString().replace(/\.\d+Z$/, "Z"));
      const text = new Blob([JSON.stringify(doc)], { type: "application/json" });
      const answersBlob = await worker.call("encrypt", { data: text, recipients, sender: handle,
        metadata: { name: "answers.json", type: "application/json", size: text.size, mtime: null, kind: "file" } });
      for (const b of [{ n: 0, field: null, data: answersBlob }, ...blobs]) {
        const what = b.n === 0 ? "your answers" : (listing[b.field!]!.find((x) => x.item === b.n)!.name);
        await sendItem(link, b.n, b.field, b.data, (bytes) => setStatus(`Uploading ${what}: ${Math.round((100 * bytes) / b.data.size)} %`));
      }
      await submit(link);
      done();
    } catch (err) {
      setFailure(message(err));
      setStatus("");
    } finally {
      if (handle !== null) await worker.call("forget", { handle }).catch(() => null);
      setBusy(false);
    }
  };
  return (
    <form class="stack" onSubmit={send} noValidate aria-describedby="request-about">
      {r.sections.map((s, i) => (
        <fieldset key={i} class="section">
          <legend>{s.title}</legend>
          <div class="stack">
            {s.fields.map((f) => (
              <FieldInput key={f.id} f={f} value={answers[f.id] ?? emptyAnswer(f)} error={errors[f.id] ?? null}
                set={(v) => setAnswers({ ...answers, [f.id]: v })} files={picked[f.id] ?? []} setFiles={(l) => setPicked({ ...picked, [f.id]: l })} />
            ))}
          </div>
        </fieldset>
      ))}
      {errors._all && <p class="error" role="alert">{errors._all}</p>}
      {Object.keys(errors).length > 0 && !errors._all && <p class="error" role="alert">Some answers need a change (see above).</p>}
      <div><button id="request-submit" type="submit" disabled={busy}>{busy ? "Encrypting and sending…" : "Encrypt and send"}</button></div>
      {status && <p role="status">{status}</p>}
      {failure && <p role="alert" class="error">Not sent: {failure}</p>}
    </form>
  );
}

export function RequestPage({ worker }: { worker: CoreWorker }) {
  const [link] = useState<RequestLink | null>(() => parseLink(location.hash));
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  useEffect(() => {
    if (location.hash) history.replaceState(null, "", "/request");  // the capability leaves the address bar
    if (!link) {
      setPhase({ kind: "gone", title: "This link does not work", text: "Open the request with the complete link from the email." });
      return;
    }
    openRequest(link).then((req) => setPhase({ kind: "form", req }), (e) => setPhase(gonePage(e)));
  }, []);
  if (phase.kind === "loading") return <section><h1>Document request</h1><p role="status">Checking the request…</p></section>;
  if (phase.kind === "gone") return <section aria-labelledby="req-title"><h1 id="req-title">{phase.title}</h1><p>{phase.text}</p></section>;
  if (phase.kind === "error")
    return <section aria-labelledby="req-title"><h1 id="req-title">Document request</h1><p role="alert" class="error" data-testid="request-refused">{phase.text}</p></section>;
  if (phase.kind === "done")
    return (
      <section aria-labelledby="req-title">
        <h1 id="req-title">Sent</h1>
        <p role="status">Your answers and files were encrypted in this browser and sent. Only {phase.requester} (and
          the keys they signed into the request) can open them. {phase.name}</p>
      </section>
    );
  const { state, requesterKey } = phase.req;
  const r = state.request;
  return (
    <section aria-labelledby="req-title">
      <h1 id="req-title">{r.name}</h1>
      <div class="signer verified" id="request-about">
        <p>Requested by <strong class="label" data-testid="requester">{r.requester}</strong>, for {r.recipient_name}.</p>
        <p class="hint">Signed with their published key <code class="fp">{requesterKey.fingerprint}</code>, checked in
          this server's transparency log. Open until {r.expires_at.replace("T", " ").replace("Z", " UTC")}.</p>
      </div>
      {r.message && <pre class="message" data-testid="request-message">{r.message}</pre>}
      <p class="hint">Everything you enter here is encrypted in this browser before it is sent; the server never sees it.</p>
      <Form req={phase.req} link={link!} worker={worker} done={() => setPhase({ kind: "done", name: "", requester: r.requester })} />
    </section>
  );
}
