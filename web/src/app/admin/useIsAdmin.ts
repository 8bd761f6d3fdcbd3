/** Whether the signed-in person is an admin of an organization (GET /api/v1/org), for the app's Admin link. */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../api";
import { loadOrg } from "./common";

export function useIsAdmin(session: Session | null): boolean {
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    setAdmin(false);
    if (!session) return;
    loadOrg(session).then((o) => setAdmin(o.you.is_admin && o.you.permissions.length > 0)).catch(() => setAdmin(false));
  }, [session]);
  return admin;
}
