/** Groups (crud:groups-org), as `c11 org groups`: create a group, its key made IN THIS BROWSER (the worker's X-Wing
 *  identity `group:NAME`) and wrapped to each member with a key (and to you: custody, to wrap for members added
 *  later), each wrap signed with your key file's key (your published key); add and remove members; complete
 *  pending wraps from your custody wrap. Members' keys come from the registry, verified in the log here. The
 *  group key's seeds never leave the worker: the page handles only the sealed wraps. */
import { useEffect, useRef, useState } from "preact/hooks";
import { keyId } from "../../core/publickey";
import { hex } from "../../core/bytes";
import type { CoreWorker } from "../../worker/client";
import { ApiError, api, message, type Session } from "../api";
import { keyHistory, lookup, newTrust, type PageTrust } from "../registry";
import type { OrgInfo } from "./common";
import { useUnlocked } from "../unlocked";

interface GroupKey { version: number; public_key: string; fingerprint: string }
interface Group {
  name: string;
  member_count: number;
  key: GroupKey | null;
  pending_wraps: number;
  members?: { email: string; status: string; has_key: boolean }[];
}
interface Detail extends Group { org_id: string }
interface MyWrap { group: string; version: number; public_key: string; wrapped: string; wrapped_by: string | null; current: boolean }
interface Pending { group: string; version: number; email: string }

/** Your key file (or, without one, a copy of the session's unlocked key: unlocked.ts), unlocked in the worker for one
 *  operation and forgotten after it. */
async function withMyKey<T>(worker: CoreWorker, file: File | null, pass: string, fn: (handle: number) => Promise<T>): Promise<T> {
  if (file && file.size > 64 * 1024) throw new Error("That is not a c11 key file (too large).");
  const me = file ? await worker.call("loadKeyFile", { text: await file.text(), passphrase: pass }) : await worker.call("sessionKey", {});
  if (!me) throw new Error("Choose your key file: it signs the group key wraps.");
  try {
    return await fn(me.handle);
  } finally {
    void worker.call("forget", { handle: me.handle });
  }
}

/** Public key lines of `emails` from the registry (verified in the log); those without a key are left out. */
async function keysOf(trust: PageTrust, session: Session, emails: string[]): Promise<{ email: string; line: string }[]> {
  const out = [];
  for (const email of emails) {
    try {
      out.push({ email, line: (await lookup(trust, session, email)).line });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;  // no published key yet: a pending wrap
    }
  }
  return out;
}

/** Make a new key for group `name` in the worker, wrap it to its members and to you, upload it (create or rotate).
 *  Only members in `shown` (those you typed or the page listed when you clicked) are wrapped to: anyone the server
 *  lists besides is left pending (`unseen`), never given the key unseen. */
async function newGroupKey(worker: CoreWorker, session: Session, trust: PageTrust, me: number, name: string, you: string, shown: string[]): Promise<Detail & { unseen: string[] }> {
  const d = await api<Detail>("GET", `/api/v1/org/groups/${encodeURIComponent(name)}`, undefined, session);
  const version = d.key ? d.key.version + 1 : 1;
  const seen = new Set(shown.map((e) => e.toLowerCase()));
  const unseen = (d.members ?? []).map((m) => m.email).filter((e) => !seen.has(e.toLowerCase()) && e.toLowerCase() !== you.toLowerCase());
  const group = await worker.call("generateKey", { label: `group:${d.name}`, kem: "mlkem768x25519" });
  try {
    const emails = [...new Set([...(d.members ?? []).map((m) => m.email).filter((e) => seen.has(e.toLowerCase())), you])];
    const keys = await keysOf(trust, session, emails);
    const wrapped = await worker.call("wrapGroupKey", { group: group.handle, ref: { org: d.org_id, group: d.name, version }, recipients: keys.map((k) => k.line), sender: me });
    const out = await api<Detail>("PUT", `/api/v1/org/groups/${encodeURIComponent(d.name)}/key`,
      { public_key: group.publicLine, wraps: keys.map((k, i) => ({ email: k.email, wrapped: wrapped[i] })) }, session);
    if (!out.key || out.key.version !== version || out.key.public_key !== group.publicLine)
      throw new Error("the server recorded another group key than the one made here");
    return { ...out, unseen };
  } finally {
    void worker.call("forget", { handle: group.handle });
  }
}

/** Complete pending wraps of `name`: open your custody wrap of each version (its signer checked against the log)
 *  and wrap that version for the members still waiting — only those in `shown`, the members the page listed as
 *  waiting when you clicked: anyone the server (or another admin) added since is left pending, never given the
 *  group key unseen. Returns how many wraps were stored and the waiting members left out. */
async function completeWraps(worker: CoreWorker, session: Session, trust: PageTrust, me: number, name: string, shown: string[]): Promise<{ stored: number; unseen: string[] }> {
  const seen = new Set(shown.map((e) => e.toLowerCase()));
  const all = (await api<{ wraps: Pending[] }>("GET", "/api/v1/org/group-pending", undefined, session)).wraps.filter((p) => p.group === name);
  const pending = all.filter((p) => seen.has(p.email.toLowerCase()));
  const unseen = [...new Set(all.filter((p) => !seen.has(p.email.toLowerCase())).map((p) => p.email))];
  if (pending.length === 0) return { stored: 0, unseen };
  const org = (await api<{ org_id: string }>("GET", "/api/v1/org/groups", undefined, session)).org_id;
  const mine = (await api<{ wraps: MyWrap[] }>("GET", "/api/v1/org/held-wraps", undefined, session)).wraps.filter((w) => w.group === name);
  let stored = 0;
  for (const version of new Set(pending.map((p) => p.version))) {
    const held = mine.find((w) => w.version === version);
    if (!held) continue;
    const signers = new Set<string>();
    for (const item of held.wrapped_by ? await keyHistory(trust, session, held.wrapped_by) : [])
      if (item.publicKey?.sig) signers.add(hex(await keyId("ed25519", item.publicKey.sig)));
    const ref = { org, group: name, version };
    const group = await worker.call("unwrapGroupKey", { wrapped: held.wrapped, ref, keys: [me], expected: held.public_key, signers: [...signers] });
    try {
      const keys = await keysOf(trust, session, pending.filter((p) => p.version === version).map((p) => p.email));
      if (keys.length === 0) continue;
      const wrapped = await worker.call("wrapGroupKey", { group: group.handle, ref, recipients: keys.map((k) => k.line), sender: me });
      await api("POST", `/api/v1/org/groups/${encodeURIComponent(name)}/wraps`,
        { wraps: keys.map((k, i) => ({ email: k.email, wrapped: wrapped[i], version })) }, session);
      stored += keys.length;
    } finally {
      void worker.call("forget", { handle: group.handle });
    }
  }
  return { stored, unseen };
}

function KeyFields({ id, onFile, pass, onPass }: { id: string; onFile: (f: File | null) => void; pass: string; onPass: (p: string) => void }) {
  const { unlocked } = useUnlocked();  // the session's unlocked key signs instead of a key file
  if (unlocked) return <p class="hint" data-testid="unlocked-key">Signed with your unlocked key <code class="fp">{unlocked.fingerprint.slice(0, 16)}</code>.</p>;
  return (
    <>
      <div>
        <label for={`${id}-key`}>Your key file (.key)</label>
        <input id={`${id}-key`} type="file" accept=".key,application/json" onChange={(e) => onFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
      </div>
      <div>
        <label for={`${id}-pass`}>Passphrase of your key file</label>
        <input id={`${id}-pass`} type="password" autocomplete="current-password" value={pass} onInput={(e) => onPass((e.target as HTMLInputElement).value)} />
      </div>
    </>
  );
}

function GroupItem({ session, worker, trust, org, group, onChanged }: {
  session: Session; worker: CoreWorker; trust: PageTrust; org: OrgInfo; group: Group; onChanged: (msg: string) => Promise<void>;
}) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [email, setEmail] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [pass, setPass] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { unlocked } = useUnlocked();
  const id = `g-${group.name.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
  const load = () => api<Detail>("GET", `/api/v1/org/groups/${encodeURIComponent(group.name)}`, undefined, session).then(setDetail);
  useEffect(() => { void load().catch((e) => setError(message(e))); }, [group]);
  const run = async (fn: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      const msg = await fn();
      await load();
      await onChanged(msg);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const path = `/api/v1/org/groups/${encodeURIComponent(group.name)}`;
  return (
    <li aria-label={`Group ${group.name}`}>
      <strong>{group.name}</strong> · {group.member_count} {group.member_count === 1 ? "member" : "members"} ·{" "}
      {group.key ? <>key version {group.key.version} <code class="fp">{group.key.fingerprint}</code></> : "no key yet"}
      {group.pending_wraps > 0 && <> · {group.pending_wraps} pending {group.pending_wraps === 1 ? "wrap" : "wraps"}</>}
      <ul aria-label={`Members of ${group.name}`}>
        {detail?.members?.map((m) => (
          <li key={m.email}>
            {m.email} · {m.has_key ? "has the key" : "waiting for a wrap"}{" "}
            <button type="button" class="secondary" disabled={busy} aria-label={`Remove ${m.email} from ${group.name}`}
              onClick={() => run(async () => { await api("POST", `${path}/members/remove`, { emails: [m.email] }, session); return `${m.email} removed from ${group.name} (rotate the key so new files exclude them).`; })}>Remove</button>
          </li>
        ))}
      </ul>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void run(async () => {
        await api("POST", `${path}/members`, { emails: [email.trim()] }, session);
        const who = email.trim();
        setEmail("");
        return `${who} added to ${group.name}: complete the pending wraps to give them the key.`;
      }); }}>
        <div>
          <label for={`${id}-add`}>Add a member to {group.name}</label>
          <input id={`${id}-add`} type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </div>
        <div class="buttons"><button type="submit" disabled={busy}>Add member</button></div>
      </form>
      <details>
        <summary>Wrap the key ({unlocked ? "with your unlocked key" : "with your key file"})</summary>
        <div class="stack">
          <KeyFields id={id} onFile={setFile} pass={pass} onPass={setPass} />
          <div class="buttons">
            <button type="button" disabled={busy || !detail} onClick={() => {
              const shown = (detail?.members ?? []).filter((m) => !m.has_key).map((m) => m.email);  // as listed on screen now
              void run(() => withMyKey(worker, file, pass, async (me) => {
                const { stored, unseen } = await completeWraps(worker, session, trust, me, group.name, shown);
                return `${stored} pending wraps of ${group.name} completed.` + (unseen.length
                  ? ` Not wrapped (not listed here when you clicked; check them in the member list, then complete again): ${unseen.join(", ")}.` : "");
              }));
            }}>Complete pending wraps</button>
            <button type="button" class="secondary" disabled={busy || !detail} onClick={() => {
              const shown = (detail?.members ?? []).map((m) => m.email);  // as listed on screen now
              void run(() => withMyKey(worker, file, pass, async (me) => {
                const d = await newGroupKey(worker, session, trust, me, group.name, org.you.email, shown);
                return `New key of ${group.name} made in this browser: version ${d.key?.version}.` + (d.unseen.length
                  ? ` Not wrapped (not listed here when you clicked; check them in the member list, then complete the pending wraps): ${d.unseen.join(", ")}.` : "");
              }));
            }}>Rotate the key</button>
          </div>
        </div>
      </details>
      {error && <p role="alert" class="error">{error}</p>}
    </li>
  );
}

export function GroupsPage({ session, worker, org }: { session: Session; worker: CoreWorker; org: OrgInfo }) {
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [name, setName] = useState("");
  const [members, setMembers] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [pass, setPass] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const trust = useRef<PageTrust>(newTrust());
  const reload = () => api<{ groups: Group[] }>("GET", "/api/v1/org/groups", undefined, session).then((d) => setGroups(d.groups));
  useEffect(() => { void reload().catch((e) => setError(message(e))); }, [session]);
  const changed = async (msg: string) => { await reload(); setDone(msg); };
  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const n = name.trim();
      const emails = members.split(/[\s,;]+/).filter((x) => x);
      const d = await withMyKey(worker, file, pass, async (me) => {
        await api("POST", "/api/v1/org/groups", { name: n, members: emails }, session);
        return newGroupKey(worker, session, trust.current, me, n, org.you.email, emails);
      });
      setName("");
      setMembers("");
      await changed(`Group ${d.name} created; its key (${d.key?.fingerprint}) was made in this browser and wrapped to its members.` +
        (d.unseen.length ? ` Not wrapped (not among the members you typed): ${d.unseen.join(", ")}.` : ""));
    } catch (err) {
      setError(message(err));
    } finally {
      setPass("");
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups of {org.name}</h1>
      <p class="hint">People encrypt for a whole group with <code>group:NAME</code>. Each group's key is made in this browser
        and sealed to each member; the server stores only the sealed copies.</p>
      {done && <p role="status">{done}</p>}
      {error && <p role="alert" class="error">{error}</p>}
      <ul class="rows" aria-label="Groups">
        {groups?.map((g) => <GroupItem key={`${g.name}-${g.key?.version ?? 0}-${g.member_count}-${g.pending_wraps}`} session={session} worker={worker} trust={trust.current} org={org} group={g} onChanged={changed} />)}
      </ul>
      {groups?.length === 0 && <p>No groups yet.</p>}
      <h2 id="group-new">Create a group</h2>
      <form onSubmit={create} class="stack" aria-labelledby="group-new">
        <div><label for="group-name">Group name</label><input id="group-name" type="text" required maxLength={200} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} /></div>
        <div><label for="group-members">Members (emails)</label><textarea id="group-members" rows={2} value={members} onInput={(e) => setMembers((e.target as HTMLTextAreaElement).value)} /></div>
        <KeyFields id="group-new" onFile={setFile} pass={pass} onPass={setPass} />
        <div class="buttons"><button type="submit" disabled={busy}>Create the group and its key</button></div>
      </form>
    </section>
  );
}
