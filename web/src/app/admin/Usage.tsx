/** Usage monitoring (F22, read:events-org): filters by person, action, document and time; charts of events per
 *  day by action and of the most active people; the events, each with its log entry's proof (checked in this
 *  browser on request); the CSV export of `c11 org events --csv` (the same route, the same bytes). */
import { useState } from "preact/hooks";
import { fromB64, utf8 } from "../../core/bytes";
import { verifyCheckpointInclusion } from "../../core/checkpoint";
import { leafHash } from "../../core/merkle";
import { acceptCheckpoint } from "../../core/registry";
import { api, ApiError, message, type Session } from "../api";
import { loadLogTrust, storeCheckpoint } from "../logtrust";
import { DailyChart, TopChart, type Actor, type Day } from "./Charts";
import { when } from "./common";

/** The actions of usage events (src/c11/server/events/indexer.py ACTIONS; `c11 org events --action`). */
const ACTIONS = ["protect", "open", "refused_open", "share", "revoke", "restore", "expiry", "invite", "key_change", "admin", "shard"];

interface UsageEvent {
  index: number;
  time: string;
  action: string;
  actor: string | null;
  actor_hash: string | null;
  doc_id: string | null;
  target: string | null;
  target_email: string | null;
  detail: Record<string, unknown>;
}

interface Filters {
  user: string;
  action: string;
  doc: string;
  since: string;  // YYYY-MM-DD, inclusive
  until: string;  // YYYY-MM-DD, that whole day included (as the CLI's --until DATE)
}

const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);

/** The query string the CLI sends for the same options (`--until DATE` is the next day's midnight, excluded). */
export function query(f: Filters): string {
  const q = new URLSearchParams();
  if (f.user.trim()) q.set("user", f.user.trim());
  if (f.action) q.set("action", f.action);
  if (f.doc.trim()) q.set("doc", f.doc.trim());
  if (f.since) q.set("since", f.since);
  if (f.until) q.set("until", isoDay(Date.parse(`${f.until}T00:00:00Z`) + 86_400_000));
  return q.toString();
}

/** What the CLI's table shows as WHO for an event. */
function who(e: UsageEvent): string {
  if (e.actor) return e.actor;
  if (!e.actor_hash) return "-";
  if (e.actor_hash === "operator") return "(operator)";
  if (e.actor_hash.startsWith("scim-token:")) return `(SCIM token ${e.actor_hash.split(":", 2)[1]!.slice(0, 12)}…)`;
  return `(outside) ${e.actor_hash.slice(0, 12)}…`;
}

function actionText(e: UsageEvent): string {
  const op = ["admin", "shard", "key_change", "invite"].includes(e.action) ? e.detail["op"] : undefined;
  return typeof op === "string" ? `${e.action} ${op}` : e.action;
}

async function fetchText(path: string): Promise<string> {
  const r = await fetch(path, { credentials: "omit", cache: "no-store" });
  if (!r.ok) throw new ApiError(r.status, "about:blank", `The server answered ${r.status}.`);
  return r.text();
}

/** Check in this browser that log entry `index` is in the log: the latest checkpoint verified with the pinned
 *  log key (and consistent with the last one this browser stored), then the entry's inclusion proof. */
async function proveEntry(index: number): Promise<string> {
  const trust = (await loadLogTrust()).log;
  const note = await fetchText("/api/v1/log/checkpoint");
  const fetcher = async (from: bigint, to: bigint) =>
    (await api<{ proof: string[] }>("GET", `/api/v1/log/proof/consistency?from=${from}&to=${to}`)).proof;
  const accepted = await acceptCheckpoint(note, trust, null, undefined, fetcher);
  await storeCheckpoint(trust.logKey, accepted.note);
  const size = accepted.current.size;
  const entries = await api<{ entries: { index: number; data: string }[] }>("GET", `/api/v1/log/entries?start=${index}&end=${index + 1}`);
  const entry = entries.entries[0];
  if (!entry || entry.index !== index) throw new Error(`the log did not return entry ${index}`);
  const proof = await api<{ proof: string[] }>("GET", `/api/v1/log/proof/inclusion?index=${index}&size=${size}`);
  await verifyCheckpointInclusion(accepted.current, await leafHash(utf8(entry.data)), index, proof.proof.map(fromB64));
  return `entry ${index} is in the log (checkpoint of ${size} entries, verified in this browser)`;
}

function EventItem({ e }: { e: UsageEvent }) {
  const [proof, setProof] = useState<string | null>(null);
  const [bad, setBad] = useState(false);
  const check = () => {
    setProof("checking…");
    proveEntry(e.index).then(setProof).catch((err) => { setBad(true); setProof(`log proof FAILED: ${message(err)}`); });
  };
  return (
    <li aria-label={`Event ${e.index}`}>
      {when(e.time)} · <strong>{actionText(e)}</strong> · {who(e)}
      {e.doc_id && <> · document <code>{e.doc_id}</code></>}
      {(e.target_email || e.target) && <> · target {e.target_email ?? `${e.target!.slice(0, 12)}…`}</>}
      <div class="meta">
        <a href={`/api/v1/log/proof/inclusion?index=${e.index}`} rel="noopener">log #{e.index} (proof)</a>{" "}
        <button type="button" class="secondary" aria-label={`Check the log proof of event ${e.index}`} onClick={check}>Check the log proof</button>
        {proof && <span role="status" class={bad ? "error" : undefined}> {proof}</span>}
      </div>
    </li>
  );
}

export function UsagePage({ session }: { session: Session }) {
  const today = Date.now();
  const [f, setF] = useState<Filters>({ user: "", action: "", doc: "", since: isoDay(today - 29 * 86_400_000), until: isoDay(today) });
  const [shown, setShown] = useState<{ q: string; days: Day[]; since: string; until: string; actors: Actor[]; events: UsageEvent[]; next: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [csv, setCsv] = useState<string | null>(null);
  const [drawn, setDrawn] = useState<number | null>(null);
  const [started, setStarted] = useState(0);
  const [fetched, setFetched] = useState<number | null>(null);  // ms from Show to the three answers (the benchmark)
  const [runs, setRuns] = useState(0);  // presses of Show (the benchmark waits for its own)
  const set = (k: keyof Filters) => (e: globalThis.Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const show = async (e?: globalThis.Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    setCsv(null);
    setDrawn(null);
    const t0 = performance.now();
    setStarted(t0);
    setFetched(null);
    setRuns((n) => n + 1);
    try {
      const q = query(f);
      const noUser = new URLSearchParams(q);
      noUser.delete("user");
      const [daily, top, events] = await Promise.all([
        api<{ since: string; until: string; days: Day[] }>("GET", `/api/v1/org/events/daily?${q}`, undefined, session),
        api<{ actors: Actor[] }>("GET", `/api/v1/org/events/top?${noUser}`, undefined, session),
        api<{ events: UsageEvent[]; next_cursor: string | null }>("GET", `/api/v1/org/events?${q}&limit=100`, undefined, session),
      ]);
      setFetched(Math.round(performance.now() - t0));
      setShown({ q, days: daily.days, since: daily.since, until: daily.until, actors: top.actors, events: events.events, next: events.next_cursor });
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const more = async () => {
    if (!shown?.next) return;
    setBusy(true);
    try {
      const d = await api<{ events: UsageEvent[]; next_cursor: string | null }>(
        "GET", `/api/v1/org/events?${shown.q}&limit=100&cursor=${encodeURIComponent(shown.next)}`, undefined, session);
      setShown({ ...shown, events: [...shown.events, ...d.events], next: d.next_cursor });
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const exportCsv = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await fetch(`/api/v1/org/events.csv?${query(f)}`, {
        headers: { authorization: `Bearer ${session.token}` }, credentials: "omit", cache: "no-store" });
      if (!r.ok) throw new ApiError(r.status, "about:blank", `The server answered ${r.status}.`);
      if (csv) URL.revokeObjectURL(csv);
      setCsv(URL.createObjectURL(await r.blob()));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  const total = shown ? shown.days.reduce((n, d) => n + d.total, 0) : 0;
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <p class="hint">Who protected, opened, shared and revoked what, and when: metadata only, never file content or
        names. The same events as <code>c11 org events</code>.</p>
      <form onSubmit={show} class="filters" aria-label="Filters">
        <div><label for="u-user">Person (email)</label><input id="u-user" type="email" value={f.user} onInput={set("user")} /></div>
        <div>
          <label for="u-action">Action</label>
          <select id="u-action" value={f.action} onChange={set("action")}>
            <option value="">any</option>
            {ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </div>
        <div><label for="u-doc">Document ID</label><input id="u-doc" type="text" value={f.doc} onInput={set("doc")} /></div>
        <div><label for="u-since">From (UTC day)</label><input id="u-since" type="date" value={f.since} onInput={set("since")} /></div>
        <div><label for="u-until">To (UTC day, included)</label><input id="u-until" type="date" value={f.until} onInput={set("until")} /></div>
        <div class="buttons"><button type="submit" disabled={busy}>Show</button></div>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {busy && <p role="status">Loading…</p>}
      {shown && (
        <>
          <h2>Events per day</h2>
          <p role="status" data-chart-run={runs} data-chart-ms={drawn ?? undefined} data-fetch-ms={fetched ?? undefined}>{total} events from {shown.since.slice(0, 10)} to {isoDay(Date.parse(shown.until) - 1)}{f.user.trim() ? ` by ${f.user.trim()}` : ""}.</p>
          <DailyChart days={shown.days} since={shown.since} until={shown.until} onDrawn={() => setDrawn(Math.round(performance.now() - started))} />
          <details>
            <summary>Events per day as a table</summary>
            <div class="scroll">
              <table class="data">
                <thead><tr><th scope="col">Day</th><th scope="col">Total</th><th scope="col">By action</th></tr></thead>
                <tbody>{shown.days.map((d) => (
                  <tr key={d.day}><td>{d.day}</td><td>{d.total}</td><td>{Object.entries(d.counts).sort().map(([a, n]) => `${a} ${n}`).join(", ")}</td></tr>
                ))}</tbody>
              </table>
            </div>
          </details>
          <h2>Most active people</h2>
          {shown.actors.length === 0 ? <p>Nobody in this range.</p> : (
            <>
              <TopChart actors={shown.actors} />
              <ol aria-label="Most active people">
                {shown.actors.map((a) => <li key={a.actor_hash}>{a.actor ?? `(outside) ${a.actor_hash.slice(0, 12)}…`}: {a.total} events</li>)}
              </ol>
            </>
          )}
          <h2>Export</h2>
          <div class="buttons">
            <button type="button" disabled={busy} onClick={exportCsv}>Prepare the CSV export</button>
            {csv && <a class="button" href={csv} download="c11-events.csv">Save c11-events.csv</a>}
          </div>
          <p class="hint">Every matching event, as <code>c11 org events --csv</code> writes it.</p>
          <h2>Events</h2>
          {shown.events.length === 0 ? <p>No events match.</p> : (
            <ul class="rows" aria-label="Events">{shown.events.map((e) => <EventItem key={e.index} e={e} />)}</ul>
          )}
          {shown.next && <div class="buttons"><button type="button" class="secondary" disabled={busy} onClick={more}>Show more events</button></div>}
        </>
      )}
    </section>
  );
}
