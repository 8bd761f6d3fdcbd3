/** Notifications (operator): the outbox (counts; waiting, failed and dead messages with their last error;
 *  retry one or all), the transport in use and its settings, and a test message with the failure in plain
 *  words. Same routes as `c11 notify status`, `c11 notify test`, `c11 notify retry`. */
import { useEffect, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { isEmail, when } from "./common";
import { diagnose, type NotifyStatus, type OutboxMessage, type TestAnswer, type Transport } from "./operator";

const TRANSPORTS: Record<string, string> = {
  "outbox-folder": "Outbox folder (.eml files on the server; nothing is mailed)",
  smtp: "SMTP",
  graph: "Microsoft Graph (the customer's Exchange Online mailbox)",
};

export function TestResult({ answer }: { answer: TestAnswer }) {
  if (answer.sent) {
    return (
      <div role="status" class="result-ok">
        <p><strong>Sent.</strong> A test message went to {answer.to} through {answer.transport}{answer.sender ? ` as ${answer.sender}` : ""}.</p>
        {(answer.notes ?? []).map((n) => <p key={n}>{n.startsWith("sending as") ? `Checked: ${n}` : n}</p>)}
      </div>
    );
  }
  const d = diagnose(answer.error ?? "", answer.explanation ?? "");
  return (
    <div role="alert" class="result-bad">
      <p><strong>Not sent: {d.title}.</strong> {d.fix}</p>
      {answer.explanation && <p>{answer.explanation}</p>}
      <p class="meta">The server said: {answer.error}</p>
    </div>
  );
}

function TransportFacts({ t }: { t: Transport }) {
  const rows: [string, string][] = [["Transport", TRANSPORTS[t.name] ?? t.name]];
  if (t.name === "smtp") {
    rows.push(["SMTP server", `${t.host}:${t.port}`], ["Security", t.security === "tls" ? "implicit TLS" : t.security === "starttls" ? "STARTTLS" : "none (plain text)"],
      ["Login", t.login ? "yes (user name and password set)" : "no"], ["From", t.sender ?? "—"]);
  } else if (t.name === "graph") {
    rows.push(["Sender mailbox", t.sender ?? "—"], ["Tenant ID", t.tenant_id ?? "—"], ["Client ID", t.client_id ?? "—"],
      ["Hosts", `${t.login_host} and ${t.api_host}`], ["Live certificates", String(t.certificates?.length ?? 0)]);
  } else {
    rows.push(["Folder", t.folder ?? "—"], ["From", t.sender ?? "—"]);
  }
  return <dl class="facts" aria-label="Transport">{rows.map(([k, v]) => [<dt key={`t-${k}`}>{k}</dt>, <dd key={`d-${k}`}>{v}</dd>])}</dl>;
}

function statusText(m: OutboxMessage): string {
  if (m.status === "dead") return `dead letter after ${m.attempts} attempt${m.attempts === 1 ? "" : "s"}`;
  if (m.status === "queued" && m.last_error) return `failed ${m.attempts} time${m.attempts === 1 ? "" : "s"}, next try ${when(m.next_attempt_at)}`;
  return m.status;
}

export function NotificationsPage({ session }: { session: Session }) {
  const [st, setSt] = useState<NotifyStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [to, setTo] = useState(session.email);
  const [answer, setAnswer] = useState<TestAnswer | null>(null);
  const [testError, setTestError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () => api<NotifyStatus>("GET", "/api/v1/org/notifications?limit=50", undefined, session).then(setSt).catch((e) => setError(message(e)));
  useEffect(() => { void load(); }, [session]);
  const retry = async (body: { id: string } | { all_dead: true }, what: string) => {
    setNote(null);
    setError(null);
    try {
      const r = await api<{ requeued: number }>("POST", "/api/v1/org/notifications/retry", body, session);
      setNote(`${what}: ${r.requeued} message${r.requeued === 1 ? "" : "s"} queued again.`);
      await load();
    } catch (e) {
      setError(message(e));
    }
  };
  const test = async (e: Event) => {
    e.preventDefault();
    setAnswer(null);
    setTestError(null);
    if (!isEmail(to.trim())) { setTestError("The test message needs an email address."); return; }
    setBusy(true);
    try {
      setAnswer(await api<TestAnswer>("POST", "/api/v1/org/notifications/test", { to: to.trim() }, session));
      await load();
    } catch (err) {
      setTestError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const dead = st?.messages.filter((m) => m.status === "dead").length ?? 0;
  return (
    <section aria-labelledby="notif-title">
      <h1 id="notif-title">Notifications</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {!st && !error && <p role="status">Loading the outbox…</p>}
      {st && (
        <>
          <h2>Outbox</h2>
          <ul class="counts" aria-label="Outbox counts">
            {(["queued", "sending", "sent", "dead"] as const).map((k) => <li key={k}><strong>{st.counts[k] ?? 0}</strong> {k === "dead" ? (st.counts[k] === 1 ? "dead letter" : "dead letters") : k}</li>)}
          </ul>
          <ul class="rows" aria-label="Waiting and dead messages">
            {st.messages.map((m) => (
              <li key={m.id} aria-label={`${m.subject} to ${m.recipient}`}>
                <strong>{m.subject}</strong> to {m.recipient}
                <div class="meta">{m.kind} · {statusText(m)} · queued {when(m.created_at)} · <code>{m.id.slice(0, 12)}</code></div>
                {m.last_error && <div class="meta">Last error: {m.last_error}</div>}
                {m.status !== "sending" && (
                  <div class="buttons">
                    <button type="button" class="secondary" onClick={() => void retry({ id: m.id }, `${m.recipient}`)}
                      aria-label={`Retry now: ${m.subject} to ${m.recipient}`}>Retry now</button>
                  </div>
                )}
              </li>
            ))}
          </ul>
          {st.messages.length === 0 && <p>Nothing waiting: every message was sent.</p>}
          <div class="buttons">
            <button type="button" disabled={dead === 0} onClick={() => void retry({ all_dead: true }, "All dead letters")}>Retry all dead letters</button>
            <button type="button" class="secondary" onClick={() => { setNote(null); void load(); }}>Refresh</button>
          </div>
          {note && <p role="status">{note}</p>}
          <h2>Transport</h2>
          <TransportFacts t={st.transport} />
          <p class="hint">The transport and SMTP settings come from the server's configuration (C11_MAIL_TRANSPORT, C11_SMTP_*;
            docs/notifications.md); a password is never shown. Microsoft Graph is set up on its own page.</p>
        </>
      )}
      <h2>Send a test message</h2>
      <form onSubmit={test} class="filters">
        <div><label for="test-to">Send to</label><input id="test-to" type="email" required value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} /></div>
        <div class="buttons"><button type="submit" disabled={busy}>{busy ? "Sending…" : "Send test"}</button></div>
      </form>
      {testError && <p role="alert" class="error">{testError}</p>}
      {answer && <TestResult answer={answer} />}
    </section>
  );
}
