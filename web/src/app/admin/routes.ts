/** The admin console's pages (one route prefix, /admin/...). The server answers index.html for each
 *  (src/c11/server/webapp.py APP_ROUTES). */
export const ADMIN_ROUTES = ["/admin", "/admin/members", "/admin/admins", "/admin/usage", "/admin/groups", "/admin/recovery", "/admin/settings", "/admin/encryption-policies", "/admin/health", "/admin/notifications", "/admin/graph"] as const;
export type AdminRoute = (typeof ADMIN_ROUTES)[number];
