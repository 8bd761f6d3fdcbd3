/** What the operator pages share: the notification API's answers (docs/notifications.md "Admin API"), the
 *  format checks of the Graph values (as c11.notify.admin.check_graph_values) and a test result in plain words. */

export interface Certificate { subject: string; thumbprint_sha1: string; thumbprint_sha256: string; not_before: string; not_after: string }

export interface Transport {
  name: "outbox-folder" | "smtp" | "graph" | string;
  sender?: string | null;
  folder?: string;
  host?: string;
  port?: number;
  security?: string;
  login?: boolean;
  tenant_id?: string | null;
  client_id?: string | null;
  login_host?: string;
  api_host?: string;
  certificates?: Certificate[];
}

export interface OutboxMessage {
  id: string;
  kind: string;
  recipient: string;
  subject: string;
  status: "queued" | "sending" | "sent" | "dead" | string;
  attempts: number;
  created_at: string | null;
  sent_at: string | null;
  next_attempt_at: string | null;
  last_error: string | null;
}

export interface NotifyStatus { counts: Record<string, number>; transport: Transport; messages: OutboxMessage[] }

export interface TestAnswer {
  sent: boolean;
  to: string;
  transport: string;
  sender?: string | null;
  denied_checked?: string | null;
  notes?: string[];
  error?: string;
  explanation?: string | null;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DOMAIN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
const HOST = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/;

export const isGuid = (v: string): boolean => GUID.test(v.trim());
export const isTenant = (v: string): boolean => GUID.test(v.trim()) || DOMAIN.test(v.trim());
export const isHost = (v: string): boolean => HOST.test(v.trim()) && v.trim().length <= 255;

/** Days from now to an RFC 3339 time (negative once past). */
export const daysLeft = (t: string): number => Math.floor((Date.parse(t) - Date.now()) / 86_400_000);

/** What a failed test means, in a few words, and where in these pages it is fixed. The server's explanation
 *  (c11.notify.diagnose) follows it in full. */
export function diagnose(error: string, explanation: string): { title: string; fix: string } {
  const e = `${error} ${explanation}`;
  const has = (re: RegExp) => re.test(e);
  if (has(/AADSTS700016/)) return { title: "Wrong client ID", fix: "No app with this client ID is registered in the tenant. Copy the Application (client) ID from the app registration's Overview page into step 5." };
  if (has(/AADSTS(90002|900023|90013)\b/)) return { title: "Wrong tenant ID", fix: "Copy the Directory (tenant) ID from the app registration's Overview page into step 5; for a national cloud, set its hosts under Advanced." };
  if (has(/AADSTS(700027|7000274|50012|1000502|7000214|7000277)\b/)) {
    if (/expired|outside its validity/i.test(e)) return { title: "Certificate expired", fix: "Create a new certificate in step 1, upload its .cer file to the app registration, then test again." };
    if (/not found|not registered|not uploaded/i.test(e)) return { title: "Certificate not uploaded", fix: "Upload the .cer file of step 1 under Certificates & secrets > Certificates > Upload certificate; the thumbprint there must match the one shown here." };
    return { title: "Certificate not accepted", fix: "Upload the current certificate of step 1 to the app registration, or create a new one and upload it." };
  }
  if (has(/AADSTS700024/)) return { title: "This server's clock is wrong", fix: "Synchronise the server's clock (NTP) and test again." };
  if (has(/RAOP|AccessPolicy/)) return { title: "Sender mailbox outside the access policy", fix: "The sender mailbox must be a member of the mail-enabled security group of step 2 named in the policy of step 3; check with Test-ApplicationAccessPolicy. Policy changes can take more than an hour to reach Microsoft Graph." };
  if (has(/has no Mail\.Send application permission/)) return { title: "Mail.Send permission or admin consent missing", fix: "Do step 4: add the Mail.Send application permission (not delegated) and click Grant admin consent." };
  if (has(/\b403\b/) && has(/Graph answered/)) return { title: "Sending refused: consent or access policy", fix: "Check step 4 (Mail.Send application permission with admin consent) and step 3 (the sender in the policy's group)." };
  if (has(/\b429\b|throttl/i)) return { title: "Throttled by Microsoft Graph", fix: "Nothing to change: queued messages wait as long as Graph asks. Sustained throttling means too many messages for one mailbox." };
  if (has(/ErrorInvalidUser|\b404\b|not a mailbox/)) return { title: "Sender mailbox not found", fix: "The sender address of step 5 must be a licensed or shared Exchange Online mailbox in this tenant." };
  if (has(/could send as/)) return { title: "The access policy does not restrict the app", fix: "The app could send as a mailbox outside the group: run New-ApplicationAccessPolicy of step 3 (and wait: it can take more than an hour)." };
  if (has(/\b535\b|refused the login/)) return { title: "SMTP login refused", fix: "Check the SMTP user name and password (C11_SMTP_USERNAME, C11_SMTP_PASSWORD)." };
  if (has(/STARTTLS extension not supported|AUTH extension not supported/)) return { title: "Security mode does not match the port", fix: "587 uses STARTTLS, 465 implicit TLS, 25 usually neither (C11_SMTP_SECURITY)." };
  if (has(/not trusted|CERTIFICATE_VERIFY_FAILED/)) return { title: "TLS certificate not trusted", fix: "A proxy or private CA is in the way: set C11_GRAPH_CA_BUNDLE or C11_SMTP_CA_BUNDLE." };
  if (has(/unreachable|ConnectionRefused|timed out|timeout/i)) return { title: "Mail server unreachable", fix: "Check the host and port; queued messages go out when it answers again." };
  return { title: "Not sent", fix: "Read the explanation below." };
}

/** Save bytes as a file download (a blob URL, revoked after the click). */
export function download(bytes: Uint8Array | string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
