/** Encryption policies (F21, crud:config-org): named recipient sets every member is offered on the Encrypt page
 *  (same routes as `c11 org encryption-policies`). Only emails and group names are stored: each member's browser
 *  resolves them with registry proofs, as typed, and adds the sender and recovery keys by the organization's rules. */
import { useEffect, useState } from "preact/hooks";
import { api, message, type Session } from "../api";
import { isEmail, when } from "./common";

export interface EncPolicy {
  id: string;
  name: string;
  description: string | null;
  emails: string[];
  groups: { id: string; name: string | null }[];
  recipients: string[];
  updated_by: string | null;
  updated_at: string;
}

const PATH = "/api/v1/org/encryption-policies";
/** Emails and groups as typed: `group:NAME` (or a bare group name in the groups box), separated by commas or lines. */
const split = (text: string): string[] => [...new Set(text.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean))];

export function EncryptionPoliciesPage({ session }: { session: Session }) {
  const [items, setItems] = useState<EncPolicy[] | null>(null);
  const [editing, setEditing] = useState<EncPolicy | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [emails, setEmails] = useState("");
  const [groups, setGroups] = useState("");
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () => api<EncPolicy[]>("GET", PATH, undefined, session).then(setItems).catch((e) => setError(message(e)));
  useEffect(() => { void reload(); }, [session]);

  const clear = () => { setEditing(null); setName(""); setDescription(""); setEmails(""); setGroups(""); };
  const edit = (p: EncPolicy) => {
    setEditing(p); setName(p.name); setDescription(p.description ?? "");
    setEmails(p.emails.join("\n")); setGroups(p.groups.filter((g) => g.name).map((g) => g.name).join("\n"));
    setNote(null); setError(null);
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    setError(null);
    const es = split(emails).map((x) => x.toLowerCase());
    const gs = split(groups).map((g) => g.replace(/^group:/i, ""));
    const bad = es.filter((x) => !isEmail(x));
    if (!name.trim()) { setError("Give the policy a name."); return; }
    if (bad.length) { setError(`Not an email address: ${bad.join(", ")}`); return; }
    if (!es.length && !gs.length) { setError("Give at least one email address or group."); return; }
    const body = { name: name.trim(), description: description.trim() || null, emails: es, groups: gs };
    try {
      const p = editing
        ? await api<EncPolicy>("PUT", `${PATH}/${editing.id}`, body, session)
        : await api<EncPolicy>("POST", PATH, body, session);
      clear();
      await reload();
      setNote(`${editing ? "Saved" : "Added"} ${p.name}: members now see it on the Encrypt page.`);
    } catch (err) {
      setError(message(err));
    }
  };
  const remove = async (p: EncPolicy) => {
    if (!window.confirm(`Remove the encryption policy ${p.name}? Files already encrypted with it are not affected.`)) return;
    setNote(null);
    setError(null);
    try {
      await api("DELETE", `${PATH}/${p.id}`, undefined, session);
      if (editing?.id === p.id) clear();
      await reload();
      setNote(`Removed ${p.name}.`);
    } catch (err) {
      setError(message(err));
    }
  };

  return (
    <section aria-labelledby="encpol-title">
      <h1 id="encpol-title">Encryption policies</h1>
      <p class="hint">Named recipient sets every member can pick on the Encrypt page (and <code>c11 encrypt --policy NAME</code>).
        The server keeps only addresses and group names: each member's device looks every recipient up with proofs, shows
        the list before encrypting, and adds the sender and the recovery keys itself.</p>
      {items === null && !error && <p role="status">Loading…</p>}
      {items !== null && items.length === 0 && <p>No encryption policies yet.</p>}
      {items !== null && items.length > 0 && (
        <ul aria-label="Encryption policies of the organization" class="encpolicies">
          {items.map((p) => (
            <li key={p.id} data-policy={p.name}>
              <strong>{p.name}</strong>{p.description && <> — {p.description}</>}
              <p>{[...p.emails, ...p.groups.map((g) => (g.name ? `group:${g.name}` : "(deleted group)"))].join(", ")}</p>
              <p class="hint">Changed {when(p.updated_at)}{p.updated_by && <> by {p.updated_by}</>}</p>
              <div class="buttons">
                <button type="button" class="secondary" onClick={() => edit(p)} aria-label={`Edit ${p.name}`}>Edit</button>
                <button type="button" class="secondary" onClick={() => void remove(p)} aria-label={`Remove ${p.name}`}>Remove</button>
              </div>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={save} aria-labelledby="encpol-form-title">
        <h2 id="encpol-form-title">{editing ? `Edit ${editing.name}` : "Add a policy"}</h2>
        <label for="encpol-name">Name</label>
        <input id="encpol-name" type="text" value={name} maxLength={100} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <label for="encpol-desc">Description (optional)</label>
        <input id="encpol-desc" type="text" value={description} maxLength={500} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        <label for="encpol-emails">Email addresses (one a line, or separated by commas)</label>
        <textarea id="encpol-emails" rows={3} value={emails} onInput={(e) => setEmails((e.target as HTMLTextAreaElement).value)} />
        <label for="encpol-groups">Groups of the organization (names, one a line)</label>
        <textarea id="encpol-groups" rows={2} value={groups} onInput={(e) => setGroups((e.target as HTMLTextAreaElement).value)} />
        <div class="buttons">
          <button type="submit">{editing ? "Save policy" : "Add policy"}</button>
          {editing && <button type="button" onClick={clear}>Cancel</button>}
        </div>
      </form>
      {note && <p role="status">{note}</p>}
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}
