/** Server health (operator): version, database, migrations, transparency log (size, latest checkpoint) and the
 *  shard stores, from GET /api/v1/operator/health; readiness as GET /readyz answers it. */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, message, type Session } from "../api";

interface Health {
  version: string;
  database: { kind: string; status: string };
  migrations: { status: string; head: string; current: string | null };
  log: { key: string; size: number | null; checkpoint: string | null; error?: string };
  shard_stores: { url: string; reachable: boolean; version?: string | null; detail: string }[];
}

const DB_NAMES: Record<string, string> = { postgresql: "PostgreSQL", sqlite: "SQLite" };

function Mark({ ok }: { ok: boolean }) {
  return <span class={ok ? "ok-mark" : "bad-mark"}>{ok ? "OK" : "Problem"}</span>;
}

export function HealthPage({ session }: { session: Session }) {
  const [health, setHealth] = useState<Health | null>(null);
  const [ready, setReady] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    setBusy(true);
    setError(null);
    try {
      setHealth(await api<Health>("GET", "/api/v1/operator/health", undefined, session));
      try {
        await api("GET", "/readyz");
        setReady("Ready: the server answers requests (GET /readyz).");
      } catch (e) {
        setReady(e instanceof ApiError && e.status === 503 ? `Not ready: ${message(e)}` : `Readiness unknown: ${message(e)}`);
      }
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => { void load(); }, [session]);
  const stores = health?.shard_stores ?? [];
  return (
    <section aria-labelledby="health-title">
      <h1 id="health-title">Server health</h1>
      {error && <p role="alert" class="error">{error}</p>}
      {!health && !error && <p role="status">Checking the server…</p>}
      {health && (
        <>
          {ready && <p role="status">{ready}</p>}
          <dl class="facts" aria-label="Server">
            <dt>Version</dt><dd>c11 {health.version}</dd>
            <dt>Database</dt>
            <dd><Mark ok={health.database.status === "ok"} /> {DB_NAMES[health.database.kind] ?? health.database.kind}{health.database.status !== "ok" ? ` — ${health.database.status}` : ", answering"}</dd>
            <dt>Migrations</dt>
            <dd><Mark ok={health.migrations.status === "ok"} /> {health.migrations.status === "ok" ? `at head (${health.migrations.head})` : `${health.migrations.status} (run c11 migrate)`}</dd>
            <dt>Log signing key</dt><dd><Mark ok={health.log.key === "ok"} /> {health.log.key === "ok" ? "loaded" : health.log.key}</dd>
            <dt>Log size</dt><dd>{health.log.size === null ? "unknown" : `${health.log.size.toLocaleString("en")} entries`}</dd>
          </dl>
          <h2>Latest checkpoint</h2>
          {health.log.checkpoint
            ? <figure aria-label="Latest checkpoint" class="copyable"><pre class="copy">{health.log.checkpoint}</pre></figure>
            : <p>No checkpoint could be read{health.log.error ? ` (${health.log.error})` : ""}.</p>}
          <h2>Shard stores</h2>
          {stores.length === 0
            ? <p>No shard stores are configured (C11_SHARD_STORES): cloud-stored keys keep their shards on this server and in recovery.</p>
            : (
              <ul class="rows" aria-label="Shard stores">
                {stores.map((s) => (
                  <li key={s.url} aria-label={s.url}>
                    <Mark ok={s.reachable} /> <strong>{s.url}</strong>
                    <div class="meta">{s.reachable ? `reachable${s.version ? `, c11 ${s.version}` : ""}` : s.detail}</div>
                  </li>
                ))}
              </ul>
            )}
          <p class="meta">{stores.filter((s) => s.reachable).length} of {stores.length} shard stores reachable.</p>
        </>
      )}
      <div class="buttons"><button type="button" onClick={() => void load()} disabled={busy}>Check again</button></div>
    </section>
  );
}
