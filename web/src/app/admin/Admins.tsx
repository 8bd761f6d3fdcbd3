/** Admins and their nine permissions (crud:members-org): designate, change and demote, with the server's rules
 *  shown before it applies them: you grant only permissions you hold, and the last admin able to manage members
 *  stays (the server refuses both anyway). Same routes as `c11 org admins ...`. */
import { useEffect, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { PERMISSIONS, type OrgInfo } from "./common";

interface Admin {
  email: string;
  status: string;
  permissions: string[];
}

const MEMBERS = "crud:members-org";

/** Checkboxes of the permissions you hold (only those can be granted); the others are not offered. */
function PermissionBoxes({ id, held, value, onChange }: { id: string; held: string[]; value: string[]; onChange: (v: string[]) => void }) {
  const others = PERMISSIONS.length - PERMISSIONS.filter(([p]) => held.includes(p)).length;
  return (
    <fieldset>
      <legend>Permissions</legend>
      {PERMISSIONS.filter(([p]) => held.includes(p)).map(([p, what]) => (
        <label key={p} for={`${id}-${p}`}>
          <input id={`${id}-${p}`} type="checkbox" checked={value.includes(p)}
            onChange={(e) => onChange((e.target as HTMLInputElement).checked ? [...value, p] : value.filter((x) => x !== p))} />
          <span><code>{p}</code> {what}</span>
        </label>
      ))}
      {others > 0 && <p class="hint">{others} other {others === 1 ? "permission is" : "permissions are"} not offered: you do not hold {others === 1 ? "it" : "them"}.</p>}
    </fieldset>
  );
}

function AdminItem({ session, org, admin, lastMemberAdmin, onChanged }: {
  session: Session; org: OrgInfo; admin: Admin; lastMemberAdmin: boolean; onChanged: (msg: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [perms, setPerms] = useState(admin.permissions);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const held = org.you.permissions;
  const beyond = admin.permissions.filter((p) => !held.includes(p));
  const save = async (method: string, path: string, body: unknown, msg: string) => {
    setBusy(true);
    setError(null);
    try {
      await api(method, path, body, session);
      setEditing(false);
      onChanged(msg);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const keepsMembers = !lastMemberAdmin || perms.includes(MEMBERS);
  return (
    <li aria-label={admin.email}>
      <strong>{admin.email}</strong>{admin.email === org.you.email ? " (you)" : ""}
      <div class="meta">{admin.status} · {admin.permissions.join(", ") || "no permissions"}</div>
      {beyond.length > 0 && <p class="hint">Holds permissions you do not ({beyond.join(", ")}): only an admin holding them can change this admin.</p>}
      {lastMemberAdmin && <p class="hint">The last admin who can manage members: keeps <code>{MEMBERS}</code> and cannot be demoted.</p>}
      {beyond.length === 0 && !editing && (
        <div class="buttons">
          <button type="button" class="secondary" aria-label={`Change permissions of ${admin.email}`} onClick={() => setEditing(true)}>Change permissions</button>
          {!lastMemberAdmin && (
            <button type="button" class="danger" disabled={busy} aria-label={`Demote ${admin.email}`}
              onClick={() => save("DELETE", `/api/v1/org/admins?email=${encodeURIComponent(admin.email)}`, undefined, `${admin.email} is no longer an admin.`)}>Demote</button>
          )}
        </div>
      )}
      {editing && (
        <form onSubmit={(e) => { e.preventDefault(); void save("PUT", "/api/v1/org/admins", { email: admin.email, permissions: perms }, `Permissions of ${admin.email} changed.`); }}>
          <PermissionBoxes id={`perm-${admin.email}`} held={held} value={perms} onChange={setPerms} />
          {!keepsMembers && <p class="error">The last admin who can manage members must keep {MEMBERS}.</p>}
          <div class="buttons">
            <button type="submit" disabled={busy || perms.length === 0 || !keepsMembers}>Save permissions</button>
            <button type="button" class="secondary" onClick={() => { setEditing(false); setPerms(admin.permissions); }}>Cancel</button>
          </div>
        </form>
      )}
      {error && <p role="alert" class="error">{error}</p>}
    </li>
  );
}

export function AdminsPage({ session, org }: { session: Session; org: OrgInfo }) {
  const [admins, setAdmins] = useState<Admin[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [perms, setPerms] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const reload = () =>
    api<Admin[]>("GET", "/api/v1/org/admins", undefined, session).then(setAdmins).catch((e) => setError(message(e)));
  useEffect(() => { void reload(); }, [session]);
  const changed = (msg: string) => { setError(null); void reload().then(() => setDone(msg)); };
  const memberAdmins = (admins ?? []).filter((a) => a.status !== "deactivated" && a.permissions.includes(MEMBERS));
  const designate = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await api("PUT", "/api/v1/org/admins", { email: email.trim(), permissions: perms }, session);
      changed(`${email.trim()} is an admin now.`);
      setEmail("");
      setPerms([]);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="admins-title">
      <h1 id="admins-title">Admins of {org.name}</h1>
      <p class="hint">You can grant only permissions you hold. The organization always keeps at least one admin who can manage members.</p>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      {admins === null && !error && <p role="status">Loading the admins…</p>}
      <ul class="rows" aria-label="Admins">
        {admins?.map((a) => (
          <AdminItem key={a.email + a.permissions.join()} session={session} org={org} admin={a} onChanged={changed}
            lastMemberAdmin={memberAdmins.length === 1 && memberAdmins[0]!.email === a.email} />
        ))}
      </ul>
      <h2 id="designate-title">Designate an admin</h2>
      <form onSubmit={designate} aria-labelledby="designate-title" class="stack">
        <div>
          <label for="new-admin">Member's email</label>
          <input id="new-admin" type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </div>
        <PermissionBoxes id="new-perm" held={org.you.permissions} value={perms} onChange={setPerms} />
        <div class="buttons"><button type="submit" disabled={busy || perms.length === 0}>Make admin</button></div>
      </form>
    </section>
  );
}
