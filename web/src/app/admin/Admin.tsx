/** The admin console (/admin/...): organization pages for admins, each calling the same API as `c11 org ...`.
 *  A section appears only when you hold its permission; the server still refuses whatever you may not do. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, message, type Session } from "../api";
import { navigate } from "../router";
import type { AdminRoute } from "./routes";
import { can, loadOrg, type OrgInfo } from "./common";
import { MembersPage } from "./Members";
import { InvitationsPage } from "./Invitations";
import { AdminsPage } from "./Admins";
import { UsagePage } from "./Usage";
import { SettingsPage } from "./Settings";
import { EncryptionPoliciesPage } from "./EncryptionPolicies";
import { RecoveryPage } from "./Recovery";
import { GroupsPage } from "./Groups";
import { OPERATOR_SECTIONS, OperatorPage, useIsOperator } from "./Operator";
import type { CoreWorker } from "../../worker/client";
import "./admin.css";

/** Sections and the permission each needs (any of them, for Settings). */
const SECTIONS: readonly { to: AdminRoute; label: string; needs: readonly string[] }[] = [
  { to: "/admin/members", label: "Members", needs: ["crud:members-org", "crud:invitations-org"] },
  { to: "/admin/admins", label: "Admins", needs: ["crud:members-org"] },
  { to: "/admin/usage", label: "Usage", needs: ["read:events-org"] },
  { to: "/admin/groups", label: "Groups", needs: ["crud:groups-org"] },
  { to: "/admin/recovery", label: "Recovery keys", needs: ["crud:recovery-keys-org"] },
  { to: "/admin/encryption-policies", label: "Encryption policies", needs: ["crud:config-org"] },
  { to: "/admin/settings", label: "Settings", needs: ["crud:config-org", "crud:signature-keys-org", "crud:groups-scim-tokens-org"] },
];

function SubLink({ to, route, children }: { to: AdminRoute; route: AdminRoute; children: ComponentChildren }) {
  return (
    <a href={to} aria-current={to === route ? "page" : undefined}
      onClick={(e) => { if (!e.ctrlKey && !e.metaKey && !e.shiftKey) { e.preventDefault(); navigate(to); } }}>
      {children}
    </a>
  );
}

export function AdminPage({ session, route, worker }: { session: Session | null; route: AdminRoute; worker: CoreWorker }) {
  const [org, setOrg] = useState<OrgInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const operator = useIsOperator(session, org);
  useEffect(() => {
    if (!session) return;
    loadOrg(session).then(setOrg).catch((e) => setError(e instanceof ApiError && e.type.endsWith("not-a-member")
      ? "You are not a member of an organization." : message(e)));
  }, [session]);
  if (!session) {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title">Organization admin</h1>
        <p>The admin console opens after you <a href="/login" onClick={(e) => { e.preventDefault(); navigate("/login"); }}>log in</a>.</p>
      </section>
    );
  }
  if (error) return <section aria-labelledby="admin-title"><h1 id="admin-title">Organization admin</h1><p role="alert" class="error">{error}</p></section>;
  if (org === null) return <p role="status">Loading your organization…</p>;
  const mine = SECTIONS.filter((s) => s.needs.some((p) => can(org, p)));
  const ops = operator ? OPERATOR_SECTIONS.filter((s) => s.needs.some((p) => can(org, p))) : [];
  if (!org.you.is_admin) {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title">{org.name}</h1>
        <p>You are a member of {org.name}, not an admin: there is nothing to manage here.</p>
      </section>
    );
  }
  const current = [...mine, ...ops].find((s) => s.to === route) ?? null;
  let page;
  switch (current?.to) {
    case "/admin/members": page = can(org, "crud:members-org") ? <MembersPage session={session} org={org} /> : <InvitationsPage session={session} org={org} />; break;
    case "/admin/admins": page = <AdminsPage session={session} org={org} />; break;
    case "/admin/usage": page = <UsagePage session={session} />; break;
    case "/admin/groups": page = <GroupsPage session={session} worker={worker} org={org} />; break;
    case "/admin/recovery": page = <RecoveryPage session={session} worker={worker} />; break;
    case "/admin/encryption-policies": page = <EncryptionPoliciesPage session={session} />; break;
    case "/admin/settings": page = <SettingsPage session={session} org={org} onOrg={setOrg} />; break;
    case "/admin/health": case "/admin/notifications": case "/admin/graph": page = <OperatorPage session={session} route={current.to} />; break;
    default: page = route === "/admin" ? <Overview org={org} /> : <p role="alert" class="error">You do not hold the permission this page needs.</p>;
  }
  return (
    <div class="admin">
      <nav aria-label="Admin">
        <SubLink to="/admin" route={route}>Overview</SubLink>
        {mine.map((s) => <SubLink key={s.to} to={s.to} route={route}>{s.label}</SubLink>)}
      </nav>
      {ops.length > 0 && (
        <nav aria-label="Operator">
          {ops.map((s) => <SubLink key={s.to} to={s.to} route={route}>{s.label}</SubLink>)}
        </nav>
      )}
      {page}
    </div>
  );
}

function Overview({ org }: { org: OrgInfo }) {
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">{org.name}</h1>
      <p>You are an admin of {org.name} ({org.you.email}) with these permissions:</p>
      <ul>{org.you.permissions.map((p) => <li key={p}><code>{p}</code></li>)}</ul>
      <p class="hint">Every action here calls the same API as <code>c11 org …</code>, with the same checks: the server
        refuses what your permissions do not allow.</p>
    </section>
  );
}
