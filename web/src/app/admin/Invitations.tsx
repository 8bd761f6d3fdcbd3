/** Invitations (crud:invitations-org without crud:members-org): the members' invitations (pending, accepted,
 *  expired) and "Resend invitation" for pending ones. Same routes as `c11 org invitations` (list, resend). */
import { useEffect, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { when, type OrgInfo } from "./common";

interface Invitation { id: string; email: string; status: string; fingerprint: string | null; created_at: string | null; expires_at: string | null; send_count: number }

export function InvitationsPage({ session, org }: { session: Session; org: OrgInfo }) {
  const [items, setItems] = useState<Invitation[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () => api<Invitation[]>("GET", "/api/v1/org/invitations", undefined, session).then(setItems).catch((e) => setError(message(e)));
  useEffect(() => { void reload(); }, [session]);
  const resend = async (email: string) => {
    setBusy(true);
    setDone(null);
    setError(null);
    try {
      await api("POST", "/api/v1/org/invitations/resend", { email }, session);
      await reload();
      setDone(`${email}: invitation sent again.`);
    } catch (e) {
      setError(`${email}: ${message(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="inv-title">
      <h1 id="inv-title">Invitations of {org.name}</h1>
      <p class="hint">Invitations with a temporary key, sent when members were added. Adding or removing members needs
        the crud:members-org permission.</p>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {items === null && !error && <p role="status">Loading the invitations…</p>}
      {items?.length === 0 && <p>No invitations.</p>}
      <ul class="rows" aria-label="Invitations">
        {items?.map((i) => (
          <li key={i.id} aria-label={i.email}>
            <strong>{i.email}</strong> · {i.status}
            <div class="meta">sent {i.send_count} {i.send_count === 1 ? "time" : "times"}, first {when(i.created_at)}{i.expires_at ? ` · expires ${when(i.expires_at)}` : ""}</div>
            {i.status === "pending" && (
              <div class="buttons">
                <button type="button" class="secondary" disabled={busy} aria-label={`Resend invitation to ${i.email}`} onClick={() => resend(i.email)}>Resend invitation</button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
