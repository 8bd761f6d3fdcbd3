/** Encrypt a file for people by email: each person's key comes from the registry with its log proofs verified
 *  in this browser (a failed proof is a refusal); you sign and are a recipient too. The result is a .c11 file. */
import { useEffect, useRef, useState } from "preact/hooks";
import { parseKeyFile } from "../../core/keyfile";
import type { PublicKey } from "../../core/publickey";
import { api, message, type Session } from "../api";
import type { CoreWorker } from "../../worker/client";
import { safeName, type HeldStream } from "../download";
import { SaveStream } from "../SaveStream";
import { lookupWithOrg, lookupTemporary, newTrust } from "../registry";
import { ApiError } from "../api";
import { invite } from "../invites";
import { GROUP_PREFIX, groupKey, recentPolicies, recordPolicy, type Policy } from "../groups";
import { parsePublicKey } from "../../core/publickey";
import { encryptOnline, expirySeconds } from "../onlinepolicy";
import { browserPlan, confirmLeft, ownPolicyStatus } from "../orgpolicy";
import type { OrgPolicy } from "../../core/orgrules";
import { navigate } from "../router";
import { borrowSessionKey, useUnlocked } from "../unlocked";

/** An organization encryption policy as members read it (GET /api/v1/org/encryption-policies). */
interface EncPolicy { id: string; name: string; description: string | null; recipients: string[] }

interface Made {
  name: string;
  /** The encrypted file as it is made, read once by the save (streamed to disk: docs/web.md "Large files"). */
  take: () => Promise<ReadableStream<Uint8Array> | HeldStream>;
  discard: () => void;
  size: number;
  recipients: { email: string; fingerprint: string; temporary: boolean }[];
  invited: string[];
  added: { org: string; fingerprint: string }[];
}

/** Recipients as typed: emails and `group:NAME` (case-insensitive), public key lines (`c11:…`, kept as they are). */
const emails = (text: string): string[] =>
  [...new Set(text.split(/[\s,;]+/).map((e) => e.trim()).filter(Boolean).map((e) => (e.startsWith("c11:") ? e : e.toLowerCase())))];

/** How a recent policy reads in the list: its name, else its members (emails, or a key's fingerprint). */
const policyLabel = (p: Policy, me: string): string => p.name ?? p.members
  .filter((m) => m.email !== me).map((m) => m.email ?? `key ${(m.fingerprint ?? "").slice(0, 16)}`).join(", ");

export function EncryptPage({ session, worker }: { session: Session | null; worker: CoreWorker }) {
  const [file, setFile] = useState<File | null>(null);
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [to, setTo] = useState("");
  const [inviteNew, setInviteNew] = useState(false);
  const [recent, setRecent] = useState<Policy[]>([]);
  const [shared, setShared] = useState<EncPolicy[]>([]);  // the organization's encryption policies (F21)
  const [online, setOnline] = useState(false);
  const [expiry, setExpiry] = useState("");
  const [docId, setDocId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [made, setMade] = useState<Made | null>(null);
  // the server says "not a member" of an organization this browser saw you in: warned, and confirmed before use
  const [leftOrg, setLeftOrg] = useState<string | null>(null);
  const [leftOk, setLeftOk] = useState(false);
  const trust = useRef(newTrust());
  const { unlocked } = useUnlocked();  // the session's unlocked key signs instead of a key file

  useEffect(() => () => made?.discard(), [made]);
  useEffect(() => {  // F21: the recipient sets used recently (none without the policies service)
    if (session) recentPolicies(session).then(setRecent).catch(() => setRecent([]));
    if (session) ownPolicyStatus(session).then((o) => setLeftOrg(o.left)).catch(() => undefined);
    // the organization's named sets: only addresses and group names; each is looked up with proofs below, as typed
    if (session) api<EncPolicy[]>("GET", "/api/v1/org/encryption-policies", undefined, session).then(setShared).catch(() => setShared([]));
  }, [session]);

  if (!session) {
    return (
      <section aria-labelledby="encrypt-title">
        <h1 id="encrypt-title">Encrypt for people</h1>
        <p>Finding people's keys needs an account. <a href="/login" onClick={(e) => { e.preventDefault(); navigate("/login"); }}>Log in</a> first.</p>
      </section>
    );
  }

  const encrypt = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setMade(null);
    const people = emails(to);
    if (!file || (!keyFile && !unlocked) || people.length === 0) {
      setError(!file ? "Choose the file to protect." : !keyFile && !unlocked ? "Choose your key file (it signs the file)." : "Enter at least one email address.");
      return;
    }
    setBusy(true);
    try {
      const found: { email: string; key: PublicKey; org: OrgPolicy | null; temporary: boolean }[] = [];
      const invited: string[] = [];
      for (const person of people) {
        if (person.startsWith(GROUP_PREFIX)) {  // a group of your organization: its current key reaches every member
          found.push({ email: person, key: await groupKey(session, person.slice(GROUP_PREFIX.length)), org: null, temporary: false });
          continue;
        }
        if (person.startsWith("c11:")) {  // a public key line given as is (as `c11 encrypt -r c11:…`)
          found.push({ email: person, key: await parsePublicKey(person), org: null, temporary: false });
          continue;
        }
        try {
          found.push({ email: person, ...(await lookupWithOrg(trust.current, session, person)), temporary: false });
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
          // not registered: the pending invitation's temporary key (verified in the log), as `c11 encrypt` uses it
          const temp = await lookupTemporary(trust.current, session, person).catch(async (e2) => {
            if (!(e2 instanceof ApiError && e2.status === 404)) throw e2;
            if (!inviteNew) throw new ApiError(404, "no-key", `${person} has no c11 key yet: tick "Invite people who are not registered yet" (or c11 invite ${person})`);
            await invite(session, [person]);
            invited.push(person);
            return lookupTemporary(trust.current, session, person);
          });
          found.push({ email: person, key: temp.key, org: null, temporary: true });
        }
      }
      // the organization rules, as the CLI applies them: recovery keys added, online required refused
      const own = await ownPolicyStatus(session);
      if (own.left !== null && !leftOk) {
        setLeftOrg(own.left);
        throw new ApiError(0, "left-organization", `the server says you are no longer a member of ${own.left}: `
          + `tick "I left ${own.left}" above the Encrypt button to encrypt without its recovery keys`);
      }
      if (own.left !== null) {
        confirmLeft(session);
        setLeftOrg(null);
      }
      const plan = browserPlan(own.policy, found.map((f) => f.org), found.map((f) => f.key), online);
      const expires = online ? expirySeconds(expiry) : null;
      setDocId(null);
      const sender = unlocked ? (await borrowSessionKey(worker, unlocked))! : await (async (kfile: File) => {
        const text = await kfile.text();
        const kf = await parseKeyFile(text, kfile.name);
        return worker.call("loadKeyFile", { text, passphrase: kf.encrypted ? passphrase : undefined });
      })(keyFile!);
      let sealed: ReadableStream<Uint8Array> | HeldStream | null;
      const metadata = { name: file.name, type: file.type || null, size: file.size, mtime: Math.floor(file.lastModified / 1000), kind: "file" as const };
      try {
        if (online) {  // the key server's part, registered before the file is offered (as `c11 encrypt --online`)
          const temporary = found.filter((f) => f.temporary).map((f) => f.key.fingerprint);
          const members = [...found.map((f) => ({ email: f.email.includes("@") && !f.email.startsWith(GROUP_PREFIX) ? f.email : null, key: f.key })),
            ...plan.added.map((a) => ({ email: null, key: a.key }))];
          const made = await encryptOnline(worker, session, file, metadata, plan.recipients.map((k) => k.line), temporary, members,
            sender.handle, sender.publicLine, expires);
          sealed = made.blob.stream();
          setDocId(made.docId);
        } else
        // the worker adds the sender as a recipient and signs; the file is read and sealed as the stream is saved
        sealed = { worker, stream: await worker.callHeld("sealStream", {
          data: file,
          sender: sender.handle,
          recipients: plan.recipients.map((k) => k.line),
          temporary: found.filter((f) => f.temporary).map((f) => f.key.fingerprint),
          metadata: { name: file.name, type: file.type || null, size: file.size, mtime: Math.floor(file.lastModified / 1000), kind: "file" },
        }) };  // kept in the worker, which writes it to the file or the download itself
      } finally {
        await worker.call("forget", { handle: sender.handle });
      }
      // as `c11 encrypt` when logged in: the recipient set is saved as an encryption policy (best effort)
      await recordPolicy(session, found.map((f) => (f.email.includes("@") && !f.email.startsWith(GROUP_PREFIX) ? { email: f.email } : { public_key: f.key.line })), sender.publicLine)
        .then(() => recentPolicies(session)).then(setRecent).catch(() => undefined);
      setMade({
        name: `${safeName(file.name, "file")}.c11`,
        take: async () => {
          const s = sealed;
          sealed = null;
          if (!s) throw new Error("encrypt again to save another copy");
          return s;
        },
        discard: () => {
          const s = sealed;
          sealed = null;
          if (s instanceof ReadableStream) void s.cancel("discarded").catch(() => {});
          else if (s) void s.worker.call("dropStream", { stream: s.stream }).catch(() => {});
        },
        size: file.size,
        recipients: found.map((f) => ({ email: f.email, fingerprint: f.key.fingerprint, temporary: f.temporary })),
        invited,
        added: plan.added.map((a) => ({ org: a.org, fingerprint: a.key.fingerprint })),
      });
    } catch (err) {
      setError(message(err));
    } finally {
      setPassphrase("");
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="encrypt-title">
      <h1 id="encrypt-title">Encrypt for people</h1>
      <p>The file is encrypted in this browser; the server only helps find the keys, and every key it gives is
        checked against its public log here. You sign the file and can open it too.</p>
      <form class="stack" onSubmit={encrypt}>
        <div>
          <label for="enc-to">People (email addresses)</label>
          <textarea id="enc-to" rows={2} value={to} aria-describedby="enc-to-hint"
            onInput={(e) => setTo((e.currentTarget as HTMLTextAreaElement).value)} />
          <p id="enc-to-hint" class="hint">Separate addresses with commas or new lines. A group of your organization:
            <code>group:NAME</code>; a public key line (<code>c11:…</code>) is used as it is.</p>
        </div>
        {shared.length > 0 && (
          <div>
            <label for="enc-shared">Organization encryption policies</label>
            <select id="enc-shared" value="" aria-describedby="enc-shared-hint" onChange={(e) => {
              const p = shared.find((x) => x.id === (e.currentTarget as HTMLSelectElement).value);
              if (p) setTo(p.recipients.join(", "));
            }}>
              <option value="">Choose a policy of your organization…</option>
              {shared.map((p) => <option key={p.id} value={p.id}>{p.name}{p.description ? ` — ${p.description}` : ""}</option>)}
            </select>
            <p id="enc-shared-hint" class="hint">Fills in the people above: check them before encrypting. Each is looked up
              with proofs like a typed address; you and your organization's recovery keys are added as always.</p>
          </div>
        )}
        {recent.length > 0 && (
          <div>
            <label for="enc-recent">Recent recipients</label>
            <select id="enc-recent" value="" onChange={(e) => {
              const p = recent.find((x) => x.id === (e.currentTarget as HTMLSelectElement).value);
              if (p) setTo(p.members.filter((m) => m.email !== session.email).map((m) => m.email ?? m.public_key ?? "").filter(Boolean).join(", "));
            }}>
              <option value="">Choose a recent set…</option>
              {recent.map((p) => <option key={p.id} value={p.id}>{policyLabel(p, session.email)}</option>)}
            </select>
          </div>
        )}
        <div>
          <input id="enc-online" type="checkbox" checked={online} aria-describedby="enc-online-hint"
            onChange={(e) => setOnline((e.currentTarget as HTMLInputElement).checked)} />{" "}
          <label for="enc-online" class="inline">Online policy (you can revoke it, see who opens it, let it expire)</label>
          <p id="enc-online-hint" class="hint">Opening then needs this server's key server, which records every access;
            manage it under My documents.</p>
          {online && (
            <div>
              <label for="enc-expiry">Expires (UTC, optional)</label>
              <input id="enc-expiry" type="datetime-local" value={expiry} onInput={(e) => setExpiry((e.currentTarget as HTMLInputElement).value)} />
            </div>
          )}
        </div>
        <div>
          <input id="enc-invite" type="checkbox" checked={inviteNew} aria-describedby="enc-invite-hint"
            onChange={(e) => setInviteNew((e.currentTarget as HTMLInputElement).checked)} />{" "}
          <label for="enc-invite" class="inline">Invite people who are not registered yet</label>
          <p id="enc-invite-hint" class="hint">They get an invitation email, and the file is encrypted to a temporary key
            the key server holds until they register: not zero-trust until then.</p>
        </div>
        <div>
          <label for="enc-file">File to protect</label>
          <input id="enc-file" type="file" onChange={(e) => { setMade(null); setFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null); }} />
        </div>
        {unlocked ? <p class="hint" data-testid="enc-unlocked">Signed with your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p> : (
          <>
            <div>
              <label for="enc-key">Your key file (.key)</label>
              <input id="enc-key" type="file" accept=".key,application/json"
                onChange={(e) => setKeyFile((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
            </div>
            <div>
              <label for="enc-pass">Passphrase of your key file</label>
              <input id="enc-pass" type="password" autocomplete="off" value={passphrase}
                onInput={(e) => setPassphrase((e.currentTarget as HTMLInputElement).value)} />
            </div>
          </>
        )}
        {leftOrg !== null && (
          <div class="warning" role="alert" data-testid="org-left">
            <p><strong>The server says you are no longer a member of {leftOrg}.</strong> This browser saw you in it;
              the server cannot prove you left (docs/security.md). Encrypting now leaves out {leftOrg}'s recovery keys
              and policy. If you did not leave it, stop and tell your administrator.</p>
            <input id="enc-left" type="checkbox" checked={leftOk} onChange={(e) => setLeftOk((e.currentTarget as HTMLInputElement).checked)} />{" "}
            <label for="enc-left" class="inline">I left {leftOrg}: encrypt without its recovery keys</label>
          </div>
        )}
        <div><button type="submit" disabled={busy}>{busy ? "Encrypting…" : "Encrypt"}</button></div>
      </form>
      {error && <p role="alert" class="error">Not encrypted: {error}</p>}
      {made && (
        <section aria-labelledby="made-title" class="result">
          <h2 id="made-title">Encrypted</h2>
          {docId && <p role="status">Online policy: document <code>{docId}</code>, registered with the key server
            (revoke it, change its expiry or see who opened it under My documents).</p>}
          {made.invited.map((e) => <p key={e} role="status">Invited <span class="label">{e}</span> (invitation email sent).</p>)}
          <p role="status">For you and:</p>
          <ul>
            {made.recipients.map((r) => (
              <li key={r.email}><span class="label">{r.email}</span> — key <code class="fp">{r.fingerprint}</code> (verified in the log)
                {r.temporary && <strong class="warning"> TEMPORARY KEY: not zero-trust (held by the key server until they
                  register; re-encrypt the file for their own key then, on the Open page)</strong>}</li>
            ))}
            {made.added.map((a) => (
              <li key={a.fingerprint}><span class="label">recovery key of {a.org}</span> — key <code class="fp">{a.fingerprint}</code> (organization rule)</li>
            ))}
          </ul>
          <SaveStream name={made.name} total={made.size} open={made.take} />
        </section>
      )}
    </section>
  );
}
