/** The app's own page routing: `location.pathname` names the page, links use history.pushState.
 *  The server answers index.html for each of these paths (src/c11/server/webapp.py APP_ROUTES). */
import { useEffect, useState } from "preact/hooks";
import { ADMIN_ROUTES, type AdminRoute } from "./admin/routes";

export type Route = "/" | "/open" | "/encrypt" | "/messages" | "/signup" | "/login" | "/verify" | "/account" | "/documents" | "/invite" | "/request" | "/requests" | "/send" | "/r" | AdminRoute;
const ROUTES: readonly Route[] = ["/send", "/", "/open", "/encrypt", "/messages", "/signup", "/login", "/verify", "/account", "/documents", "/invite", "/request", "/requests", ...ADMIN_ROUTES];

function current(): Route {
  const p = location.pathname.replace(/\/+$/, "") || "/";
  if (/^\/r\/[0-9a-f]{32}$/.test(p)) return "/r";  // a send's or share link's page (Receive.tsx reads the ID)
  return (ROUTES as readonly string[]).includes(p) ? (p as Route) : "/";
}

const listeners = new Set<() => void>();

/** Go to an app page without reloading (keeps the in-memory session and keys). */
export function navigate(to: Route): void {
  if (to !== current()) history.pushState(null, "", to);
  listeners.forEach((f) => f());
}

/** The current page, updated on navigate() and the browser's back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}
