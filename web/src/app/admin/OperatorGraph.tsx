/** Microsoft Graph from the customer's own Exchange mailbox, as a guided page: the set-up of
 *  docs/notifications.md (the reference "Setting up Microsoft Entra to use an Exchange account to send email
 *  notifications"), in its order, which restricts the app to one mailbox *before* it may send. A step's controls
 *  are disabled until the earlier steps are marked done (kept in the page; a server already set up for Graph
 *  opens with steps 1–5 done). Same routes as `c11 notify graph ...` and `c11 notify test`. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { isEmail, when } from "./common";
import { daysLeft, download, isGuid, isHost, isTenant, type Certificate, type NotifyStatus, type TestAnswer } from "./operator";
import { TestResult } from "./OperatorNotifications";

const ENTRA = "https://entra.microsoft.com";
const EXCHANGE = "https://admin.exchange.microsoft.com";

/** National clouds: Entra login host and Graph host (docs/notifications.md, C11_GRAPH_LOGIN_HOST / _API_HOST). */
const CLOUDS: readonly { id: string; label: string; login: string; api: string }[] = [
  { id: "global", label: "Global (login.microsoftonline.com, graph.microsoft.com)", login: "login.microsoftonline.com", api: "graph.microsoft.com" },
  { id: "usgov", label: "US Government L4 / GCC High (microsoftonline.us, graph.microsoft.us)", login: "login.microsoftonline.us", api: "graph.microsoft.us" },
  { id: "usdod", label: "US Government L5 / DoD (microsoftonline.us, dod-graph.microsoft.us)", login: "login.microsoftonline.us", api: "dod-graph.microsoft.us" },
  { id: "china", label: "China, operated by 21Vianet", login: "login.partner.microsoftonline.cn", api: "microsoftgraph.chinacloudapi.cn" },
  { id: "custom", label: "Other hosts", login: "", api: "" },
];

interface NewCert extends Certificate { cer_base64: string }

function Copyable({ label, text }: { label: string; text: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("Copied.");
    } catch {
      setCopied("Copying is not allowed here: select the text and copy it.");
    }
  };
  return (
    <figure class="copyable" aria-label={label}>
      <pre class="copy" tabIndex={0}>{text}</pre>
      <button type="button" class="secondary" onClick={() => void copy()} aria-label={`Copy ${label}`}>Copy</button>
      {copied && <span role="status" class="meta"> {copied}</span>}
    </figure>
  );
}

function Step({ n, title, done, enabled, children, onDone, canFinish, why }: {
  n: number; title: string; done: boolean; enabled: boolean; children: ComponentChildren;
  onDone?: () => void; canFinish?: boolean; why?: string;
}) {
  return (
    <section class={`step${done ? " done" : ""}`} aria-labelledby={`step-${n}`}>
      <h2 id={`step-${n}`}>Step {n}: {title}{done ? " (done)" : ""}</h2>
      {!enabled && <p class="meta">Finish the steps above first: this step's controls open when step {n - 1} is marked done.</p>}
      <fieldset disabled={!enabled} aria-labelledby={`step-${n}`}>
        {children}
        {onDone && !done && (
          <div class="buttons">
            <button type="button" onClick={onDone} disabled={!canFinish}>Mark step {n} done</button>
            {!canFinish && why && <span class="meta"> {why}</span>}
          </div>
        )}
      </fieldset>
    </section>
  );
}

function Field({ id, label, value, set, ok, hint, type = "text", placeholder }: {
  id: string; label: string; value: string; set: (v: string) => void; ok: boolean; hint: string; type?: "text" | "email"; placeholder?: string;
}) {
  const bad = value.trim() !== "" && !ok;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {type === "email"
        ? <input id={id} type="email" value={value} placeholder={placeholder} autocomplete="off" spellcheck={false}
          aria-invalid={bad ? "true" : undefined} aria-describedby={`${id}-hint`} onInput={(e) => set((e.target as HTMLInputElement).value)} />
        : <input id={id} type="text" value={value} placeholder={placeholder} autocomplete="off" spellcheck={false}
          aria-invalid={bad ? "true" : undefined} aria-describedby={`${id}-hint`} onInput={(e) => set((e.target as HTMLInputElement).value)} />}
      <div id={`${id}-hint`} class={bad ? "error" : "meta"}>{bad ? `Not valid: ${hint}` : hint}</div>
    </div>
  );
}

function b64bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function Certificates({ certs, onCreate, busy }: { certs: Certificate[]; onCreate: () => void; busy: boolean }) {
  const live = certs.filter((c) => daysLeft(c.not_after) >= 0);
  return (
    <section aria-labelledby="certs-title">
      <h2 id="certs-title">Certificates and renewal</h2>
      {certs.length === 0 ? <p>No certificate yet: step 1 creates one.</p> : (
        <ul class="rows" aria-label="Certificates">
          {certs.map((c) => {
            const d = daysLeft(c.not_after);
            return (
              <li key={c.thumbprint_sha1} aria-label={`Certificate ${c.thumbprint_sha1}`}>
                <strong>Thumbprint {c.thumbprint_sha1.toUpperCase()}</strong>
                <div class="meta">{c.subject} · valid until {when(c.not_after)} · {d < 0 ? "expired" : d <= 30 ? `expires in ${d} days: renew now` : `${d} days left`}</div>
              </li>
            );
          })}
        </ul>
      )}
      <p>Renewing without a gap: create a new certificate here, upload its <code>.cer</code> to the app registration
        next to the current one (Certificates &amp; secrets › Certificates › Upload certificate), and send a test. Both
        stay live: the server signs with the newest and falls back to the older one while Entra does not know the new
        one yet, so mail never stops. Delete the old certificate in Entra once the test succeeds. An admin alert is
        mailed 30 days before the last one expires (C11_MAIL_ADMINS).</p>
      <div class="buttons">
        <button type="button" class="secondary" disabled={busy || live.length === 0} onClick={onCreate}>Create a renewal certificate</button>
      </div>
    </section>
  );
}

export function GraphPage({ session }: { session: Session }) {
  const [done, setDone] = useState(0);
  const [certs, setCerts] = useState<Certificate[]>([]);
  const [fresh, setFresh] = useState<NewCert | null>(null);
  const [clientId, setClientId] = useState("");
  const [sender, setSender] = useState("");
  const [group, setGroup] = useState("");
  const [other, setOther] = useState("");
  const [checked, setChecked] = useState(false);
  const [consented, setConsented] = useState(false);
  const [tenant, setTenant] = useState("");
  const [cloud, setCloud] = useState("global");
  const [loginHost, setLoginHost] = useState("");
  const [apiHost, setApiHost] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [to, setTo] = useState(session.email);
  const [checkDenied, setCheckDenied] = useState(true);
  const [answer, setAnswer] = useState<TestAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const loadCerts = () => api<Certificate[]>("GET", "/api/v1/org/notifications/graph/certificates", undefined, session).then(setCerts);
  useEffect(() => {
    Promise.all([api<NotifyStatus>("GET", "/api/v1/org/notifications?limit=1", undefined, session), loadCerts()])
      .then(([st]) => {
        const t = st.transport;
        if (t.name !== "graph") return;
        setSender(t.sender ?? "");
        setTenant(t.tenant_id ?? "");
        setClientId(t.client_id ?? "");
        const c = CLOUDS.find((x) => x.login === t.login_host && x.api === t.api_host);
        setCloud(c?.id ?? "custom");
        setLoginHost(t.login_host ?? "");
        setApiHost(t.api_host ?? "");
        if (t.sender && t.tenant_id && t.client_id && (t.certificates ?? []).length > 0) setDone(5);
      })
      .catch((e) => setError(message(e)));
  }, [session]);

  const live = certs.filter((c) => daysLeft(c.not_after) >= 0);
  const hosts = CLOUDS.find((c) => c.id === cloud) ?? CLOUDS[0]!;
  const login = cloud === "custom" ? loginHost.trim() : hosts.login;
  const graph = cloud === "custom" ? apiHost.trim() : hosts.api;
  const app = clientId.trim() || "<application (client) ID>";
  const grp = group.trim() || "c11@yourdomain.com";
  const snd = sender.trim() || "notifications@yourdomain.com";
  const oth = other.trim() || "someone.else@yourdomain.com";
  const finish = (n: number) => () => setDone((d) => Math.max(d, n));

  const createCert = async () => {
    setBusy(true);
    setError(null);
    try {
      const c = await api<NewCert>("POST", "/api/v1/org/notifications/graph/certificates", {}, session);
      setFresh(c);
      await loadCerts();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setSaved(null);
    setError(null);
    if (!isEmail(sender.trim()) || !isTenant(tenant) || !isGuid(clientId) || (cloud === "custom" && (!isHost(login) || !isHost(graph)))) {
      setError("Correct the values marked not valid first.");
      return;
    }
    try {
      const body: Record<string, string> = { sender: sender.trim(), tenant_id: tenant.trim(), client_id: clientId.trim() };
      if (cloud !== "global") Object.assign(body, { login_host: login, api_host: graph });
      const r = await api<{ certificate: boolean }>("PUT", "/api/v1/org/notifications/graph", body, session);
      setSaved(`Saved: the server now sends through Microsoft Graph as ${sender.trim()}.${r.certificate ? "" : " No certificate is stored yet: create one in step 1."}`);
      setDone((d) => Math.max(d, 5));
    } catch (err) {
      setError(message(err));
    }
  };

  const test = async (e: Event) => {
    e.preventDefault();
    setAnswer(null);
    setError(null);
    if (!isEmail(to.trim())) { setError("The test message needs an email address."); return; }
    setBusy(true);
    try {
      const denied = checkDenied && isEmail(other.trim()) ? other.trim() : undefined;
      setAnswer(await api<TestAnswer>("POST", "/api/v1/org/notifications/test", { to: to.trim(), also_check_denied: denied }, session));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="graph-title" class="guide">
      <h1 id="graph-title">Microsoft Graph: mail from your own Exchange mailbox</h1>
      <p>Notifications can leave from a mailbox of your Microsoft 365 tenant. The steps below follow the set-up in its
        order: the app is restricted to one mailbox (steps 2–3) <em>before</em> it is allowed to send mail (step 4).
        The private key of the certificate never leaves this server.</p>

      <Step n={1} title="Register the app, upload our certificate, note the client ID" done={done >= 1} enabled
        onDone={finish(1)} canFinish={live.length > 0 && isGuid(clientId)} why="Needs a certificate and a valid client ID.">
        <ol>
          <li>Choose (or create) the Microsoft 365 mailbox that will send the notifications.</li>
          <li>Log in to the <a href={ENTRA} target="_blank" rel="noopener noreferrer">Microsoft Entra admin center</a>.</li>
          <li>Identity › Applications › App registrations › <strong>New registration</strong>.</li>
          <li>Name: <code>c11</code>; Supported account types: <strong>Accounts in this organizational directory only</strong>; Redirect URI: leave blank. Click <strong>Register</strong>.</li>
          <li>Certificates &amp; secrets › Certificates › <strong>Upload certificate</strong>: upload the <code>.cer</code> file made here, then <strong>Add</strong>.</li>
          <li>Overview: note the <strong>Application (client) ID</strong> and enter it below.</li>
        </ol>
        <div class="buttons">
          <button type="button" disabled={busy} onClick={() => void createCert()}>{live.length ? "Create another certificate" : "Create the certificate"}</button>
          {fresh && (
            <button type="button" class="secondary" onClick={() => download(b64bytes(fresh.cer_base64), `c11-graph-${fresh.thumbprint_sha1.slice(0, 8).toLowerCase()}.cer`, "application/pkix-cert")}>
              Download the .cer file
            </button>
          )}
        </div>
        {fresh && <p role="status">Certificate created. Upload the .cer file; Entra will show the thumbprint <code>{fresh.thumbprint_sha1.toUpperCase()}</code>. It is valid until {when(fresh.not_after)}.</p>}
        {!fresh && live.length > 0 && <p class="meta">A live certificate is stored here (thumbprint {live[0]!.thumbprint_sha1.toUpperCase()}). Lost the file? Create another one and upload that.</p>}
        <Field id="g-client1" label="Application (client) ID" value={clientId} set={setClientId} ok={isGuid(clientId)}
          hint="A GUID, as on the app's Overview page: 8-4-4-4-12 hexadecimal digits." placeholder="00000000-0000-0000-0000-000000000000" />
      </Step>

      <Step n={2} title="Create the mail-enabled security group" done={done >= 2} enabled={done >= 1}
        onDone={finish(2)} canFinish={isEmail(sender.trim()) && isEmail(group.trim()) && sender.trim().toLowerCase() !== group.trim().toLowerCase()}
        why="Needs the sender mailbox and the group's address (two different addresses).">
        <ol>
          <li>In the <a href={EXCHANGE} target="_blank" rel="noopener noreferrer">Exchange admin center</a>: Recipients › Groups › <strong>Mail-enabled security</strong> › Add a group; select Mail-enabled security, Next.</li>
          <li>Name: <code>c11 notifications</code>; Description: <code>Mailboxes used to send notifications on behalf of the c11 app</code>. Next.</li>
          <li><strong>Owners</strong>: the people who may manage the group. Next.</li>
          <li><strong>Members</strong>: add the mailbox that sends the notifications (and nobody else). Next.</li>
          <li>Group email address: for example <code>c11@yourdomain.com</code>. Leave <strong>Communication</strong> unchecked; check <strong>Approval</strong> so that joining needs an owner's approval. Next.</li>
          <li>Create group, then Close.</li>
        </ol>
        <Field id="g-sender2" label="Sender mailbox (the group's only member)" type="email" value={sender} set={setSender} ok={isEmail(sender.trim())} hint="An email address: the mailbox that sends." />
        <Field id="g-group" label="Group email address" type="email" value={group} set={setGroup} ok={isEmail(group.trim())} hint="An email address: the group's, not the sender's." />
      </Step>

      <Step n={3} title="Restrict the app to that group (Exchange Online PowerShell)" done={done >= 3} enabled={done >= 2}
        onDone={finish(3)} canFinish={checked} why="Confirm the two test results first.">
        <p>In <a href="https://learn.microsoft.com/powershell/exchange/connect-to-exchange-online-powershell" target="_blank" rel="noopener noreferrer">Exchange Online PowerShell</a> (you may need <code>Set-ExecutionPolicy RemoteSigned</code> first), run:</p>
        <Copyable label="New-ApplicationAccessPolicy command" text={`Connect-ExchangeOnline\nNew-ApplicationAccessPolicy -AppId ${app} -PolicyScopeGroupId ${grp} -AccessRight RestrictAccess -Description "Restrict this app to members of distribution group ${grp}"`} />
        <p>Then test it for the sender: the answer must include <code>AccessCheckResult : Granted</code>.</p>
        <Copyable label="Test-ApplicationAccessPolicy for the sender" text={`Test-ApplicationAccessPolicy -Identity ${snd} -AppId ${app}`} />
        <Field id="g-other" label="Another mailbox, outside the group" type="email" value={other} set={setOther} ok={isEmail(other.trim()) && other.trim().toLowerCase() !== sender.trim().toLowerCase()} hint="Any other mailbox of the tenant: the app must be denied it." />
        <p>And for that other mailbox: the answer must include <code>AccessCheckResult : Denied</code>.</p>
        <Copyable label="Test-ApplicationAccessPolicy for another mailbox" text={`Test-ApplicationAccessPolicy -Identity ${oth} -AppId ${app}`} />
        <p class="warning" role="note"><strong>Wait before step 4.</strong> A new or changed application access policy can take more than an hour to
          apply to Microsoft Graph, even when Test-ApplicationAccessPolicy already shows Granted. To never expose more
          than one mailbox, wait at least an hour before granting the permission.</p>
        <label class="check" for="g-checked">
          <input id="g-checked" type="checkbox" checked={checked} onChange={(e) => setChecked((e.target as HTMLInputElement).checked)} />
          <span>The sender showed Granted and the other mailbox Denied.</span>
        </label>
      </Step>

      <Step n={4} title="Only now: grant Mail.Send with admin consent" done={done >= 4} enabled={done >= 3}
        onDone={finish(4)} canFinish={consented} why="Confirm the admin consent first.">
        <ol>
          <li>In the <a href={ENTRA} target="_blank" rel="noopener noreferrer">Microsoft Entra admin center</a>: Identity › Applications › App registrations (the <strong>All applications</strong> tab if it is not listed) › the <code>c11</code> app.</li>
          <li>Manage › <strong>API permissions</strong> › Add a permission › <strong>Microsoft Graph</strong> › <strong>Application permissions</strong> (not delegated).</li>
          <li>Search <code>Mail.Send</code>, expand Mail, check <strong>Mail.Send</strong>, click Add permissions.</li>
          <li>Click <strong>Grant admin consent for</strong> your organization and answer Yes. The Status column shows Granted.</li>
        </ol>
        <label class="check" for="g-consent">
          <input id="g-consent" type="checkbox" checked={consented} onChange={(e) => setConsented((e.target as HTMLInputElement).checked)} />
          <span>Mail.Send (Application) shows "Granted" for the organization.</span>
        </label>
      </Step>

      <Step n={5} title="Enter the three values" done={done >= 5} enabled={done >= 4}>
        <form onSubmit={save}>
          <Field id="g-sender" label="Sender email address" type="email" value={sender} set={setSender} ok={isEmail(sender.trim())} hint="The mailbox that sends, member of the group." />
          <Field id="g-tenant" label="Directory (tenant) ID" value={tenant} set={setTenant} ok={isTenant(tenant)} hint="A GUID from the app's Overview page, or the tenant's domain (contoso.onmicrosoft.com)." />
          <Field id="g-client" label="Application (client) ID" value={clientId} set={setClientId} ok={isGuid(clientId)} hint="A GUID from the app's Overview page." />
          <details>
            <summary>Advanced: national clouds</summary>
            <label for="g-cloud">Microsoft cloud</label>
            <select id="g-cloud" value={cloud} onChange={(e) => setCloud((e.target as HTMLSelectElement).value)}>
              {CLOUDS.map((c) => <option key={c.id} value={c.id}>{c.label}</option>)}
            </select>
            {cloud === "custom" && (
              <>
                <Field id="g-login" label="Login host" value={loginHost} set={setLoginHost} ok={isHost(loginHost)} hint="A host name, optionally with :port." />
                <Field id="g-api" label="Graph host" value={apiHost} set={setApiHost} ok={isHost(apiHost)} hint="A host name, optionally with :port." />
              </>
            )}
          </details>
          <div class="buttons"><button type="submit">Save and use Microsoft Graph</button></div>
        </form>
        {saved && <p role="status">{saved}</p>}
      </Step>

      <Step n={6} title="Send a test" done={answer?.sent === true} enabled={done >= 5}>
        <form onSubmit={test}>
          <Field id="g-to" label="Send the test to" type="email" value={to} set={setTo} ok={isEmail(to.trim())} hint="Any address; the message comes from the sender mailbox." />
          <label class="check" for="g-denied">
            <input id="g-denied" type="checkbox" checked={checkDenied} onChange={(e) => setCheckDenied((e.target as HTMLInputElement).checked)} />
            <span>Also check that sending as {isEmail(other.trim()) ? other.trim() : "the other mailbox of step 3"} is refused</span>
          </label>
          <div class="buttons"><button type="submit" disabled={busy}>{busy ? "Sending…" : "Send test"}</button></div>
        </form>
        {answer && <TestResult answer={answer} />}
      </Step>
      {error && <p role="alert" class="error">{error}</p>}

      <Certificates certs={certs} busy={busy} onCreate={() => void createCert()} />
    </section>
  );
}
