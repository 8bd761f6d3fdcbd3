/** The operator pages of the admin console (server health, notifications, Microsoft Graph set-up): for admins
 *  holding crud:config-org in the operator organization (C11_OPERATOR_ORG) only. The console shows them after
 *  the server answered GET /api/v1/org/notifications; the server refuses every call of anyone else anyway. */
import { useEffect, useState } from "preact/hooks";
import { api, type Session } from "../api";
import type { AdminRoute } from "./routes";
import { can, type OrgInfo } from "./common";
import { HealthPage } from "./OperatorHealth";
import { NotificationsPage } from "./OperatorNotifications";
import { GraphPage } from "./OperatorGraph";
import "./operator.css";

export const OPERATOR_SECTIONS: readonly { to: AdminRoute; label: string; needs: readonly string[] }[] = [
  { to: "/admin/health", label: "Server health", needs: ["crud:config-org"] },
  { to: "/admin/notifications", label: "Notifications", needs: ["crud:config-org"] },
  { to: "/admin/graph", label: "Microsoft Graph", needs: ["crud:config-org"] },
];

/** Whether the server lets this admin run the server-wide settings (one small status call to find out). */
export function useIsOperator(session: Session | null, org: OrgInfo | null): boolean {
  const [operator, setOperator] = useState(false);
  useEffect(() => {
    setOperator(false);
    if (!session || !org || !can(org, "crud:config-org")) return;
    api("GET", "/api/v1/org/notifications?limit=1", undefined, session).then(() => setOperator(true)).catch(() => setOperator(false));
  }, [session, org?.id]);
  return operator;
}

export function OperatorPage({ session, route }: { session: Session; route: AdminRoute }) {
  switch (route) {
    case "/admin/health": return <HealthPage session={session} />;
    case "/admin/notifications": return <NotificationsPage session={session} />;
    default: return <GraphPage session={session} />;
  }
}
