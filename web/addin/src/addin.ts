/** What the Word add-in does (docs/addin.md), over any `WordAdapter`: protect ranges for recipients, inspect, read,
 *  unprotect and change recipients, writing exactly the structure of docs/indoc.md §5 and §5.1 (locked content
 *  controls tagged c11:<doc id>:<location>, the envelope in a custom XML part in urn:c11:indoc:1). */

import { fromUtf8, hex, utf8 } from "../../src/core/bytes";
import { FormatError, IntegrityError } from "../../src/core/errors";
import { UsageError } from "../../src/core/orgrules";
import type { Identity } from "../../src/core/identity";
import type { PublicKey } from "../../src/core/publickey";
import {
  envelopeFromJson, envelopeToJson, groupRecipients, newDocId, openParts, packEntries, remainingEnvelope, reshareParts, sealParts, unpackEntries,
  type OpenedParts, type Part, type PartsEnvelope,
} from "../../src/core/parts";
import { blockTexts, checkCarried, flatFromBlocks, parseXml, readFlat, rebuildFlat, usedRelationships, xmlEntryBlocks } from "./flatopc";
import type { BlockRange, Target, WordAdapter } from "./word";

export const NS = "urn:c11:indoc:1";
export const PLACEHOLDER = "Protected with c11: open it with c11 to read this part";
export const BANNER = "Parts of this document are protected with c11: open it with c11 to read them.";
export const NOTE_TAG = "c11-note";
export const MAIN = "word/document.xml";
const PENDING = "c11-pending:";
const PACKAGE_META = '{"handler":"docx","stash":{},"written":{}}';

export interface Protection {
  id: string;
  envelope: PartsEnvelope;
  /** The <c11:package> text, kept as it was (a `c11 protect` document's stash). */
  packageMeta: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function protectionXml(envelope: PartsEnvelope, packageMeta = PACKAGE_META): string {
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><c11:protection xmlns:c11="${NS}"><c11:envelope>${esc(envelopeToJson(envelope))}</c11:envelope><c11:package>${esc(packageMeta)}</c11:package></c11:protection>`;
}

export async function readProtection(word: WordAdapter): Promise<Protection | null> {
  const found = await word.customXmlParts(NS);
  for (const p of found) {
    const root = parseXml(p.xml, "the c11 custom XML part").documentElement;
    if (root.namespaceURI !== NS || root.localName !== "protection") continue;
    const env = Array.from(root.children).find((c) => c.localName === "envelope");
    const meta = Array.from(root.children).find((c) => c.localName === "package");
    if (!env || !meta) throw new FormatError("malformed c11 protection part");
    return { id: p.id, envelope: envelopeFromJson(env.textContent ?? ""), packageMeta: meta.textContent ?? "" };
  }
  return null;
}

/** One thing to protect and, optionally, its own recipients (else the document's). */
export interface Choice {
  target: Target;
  recipients?: PublicKey[];
}

/** Protect the chosen ranges (in one go: a document is protected once, then its recipients are changed). */
export async function protectDocument(word: WordAdapter, choices: Choice[], recipients: PublicKey[], sender: Identity, note: string): Promise<PartsEnvelope> {
  if (await readProtection(word)) throw new UsageError("this document is already protected with c11: change its recipients, or unprotect it first");
  if (!choices.length) throw new UsageError("nothing to protect: choose the selection, a heading's section, a table or the whole body");
  const picked: { range: BlockRange; ooxml: string; recipients: PublicKey[] | null }[] = [];
  for (const c of choices) {
    const ranges = await word.ranges(c.target);
    if (!ranges.length) throw new UsageError("the choice covers nothing in this document");
    for (const range of ranges) {
      const ooxml = await word.getOoxml(range);
      checkCarried(readFlat(ooxml, "the chosen range"), "the chosen range");
      picked.push({ range, ooxml, recipients: c.recipients ?? null });
    }
  }
  const docId = newDocId();
  const prefix = hex(docId).slice(0, 16);
  const tagOf = new Map<string, number>(); // control tag -> index in `picked`
  try {
    for (let k = picked.length - 1; k >= 0; k--) {
      await word.protectRange(picked[k]!.range, `${PENDING}${k}`, PLACEHOLDER);
      tagOf.set(`${PENDING}${k}`, k);
    }
    const controls = (await word.controls()).filter((c) => c.tag.startsWith(PENDING));
    const parts: Part[] = [];
    let n = 0;
    for (const c of controls) {
      const k = Number(c.tag.slice(PENDING.length));
      const loc = `${MAIN}#${++n}`;
      const tag = `c11:${prefix}:${loc}`;
      await word.setTag(c.tag, tag);
      tagOf.delete(c.tag);
      tagOf.set(tag, k);
      parts.push({ location: loc, plaintext: packEntries([["ooxml", utf8(picked[k]!.ooxml)]]), placeholder: utf8(c.text), recipients: picked[k]!.recipients });
    }
    await word.insertNote(note ? [BANNER, ...note.split(/\r?\n/).map((l, i) => (i ? l : `Note from the author: ${l}`))] : [BANNER]);
    const env = await sealParts(parts, recipients, sender, note, { docId, ooxml: true });
    await word.addCustomXml(protectionXml(env));
    return env;
  } catch (e) {
    // never leave placeholders without an envelope: put every range back as Word gave it, remove the note
    for (const c of await word.controls()) {
      const k = tagOf.get(c.tag);
      if (k !== undefined) await word.replaceControl(c.tag, picked[k]!.ooxml);
      else if (c.tag === NOTE_TAG) await word.deleteControl(c.tag);
    }
    throw e;
  }
}

/** Placeholders of the body's c11 controls by location, checked as the Python reader does (docs/indoc.md §5). */
async function placeholders(word: WordAdapter, env: PartsEnvelope): Promise<{ found: Map<string, Uint8Array>; tags: Map<string, string> }> {
  const found = new Map<string, Uint8Array>();
  const tags = new Map<string, string>();
  let last = 0;
  for (const c of await word.controls()) {
    if (c.tag === NOTE_TAG || c.tag.startsWith(PENDING)) continue;
    const [did, ...rest] = c.tag.slice(4).split(":");
    const loc = rest.join(":");
    if (did !== hex(env.docId).slice(0, 16)) throw new IntegrityError(`protected part ${loc} belongs to another document`);
    if (found.has(loc)) throw new IntegrityError(`protected part ${loc} appears twice in the document (duplicated)`);
    const [member, num] = [loc.slice(0, loc.lastIndexOf("#")), loc.slice(loc.lastIndexOf("#") + 1)];
    if (member !== MAIN) throw new IntegrityError(`protected part ${loc} was moved to the body`);
    if (!/^\d+$/.test(num) || Number(num) <= last) throw new IntegrityError(`protected part ${loc} is out of place (parts were moved or swapped)`);
    last = Number(num);
    found.set(loc, utf8(c.text));
    tags.set(loc, c.tag);
  }
  return { found, tags };
}

/** Parts the add-in cannot restore in Word: outside the body (headers, notes, comments, properties) or the preview picture. */
const elsewhere = (loc: string) => !loc.startsWith(`${MAIN}#`);

export interface ReadPart {
  location: string;
  lines: string[];
}

export interface ReadResult {
  parts: ReadPart[];
  closed: string[];
  senders: OpenedParts["senders"];
  note: string;
}

async function open(word: WordAdapter, identities: Identity[]): Promise<{ prot: Protection; opened: OpenedParts; tags: Map<string, string> }> {
  const prot = await readProtection(word);
  if (!prot) throw new UsageError("this document is not protected with c11");
  const { found, tags } = await placeholders(word, prot.envelope);
  // parts outside the body (a `c11 protect` document's headers, notes, comments, preview picture) have their
  // placeholders where the add-in cannot see them: `c11 unprotect`, which sees the whole package, checks those
  const opened = await openParts(prot.envelope, identities, found, elsewhere);
  return { prot, opened, tags };
}

function partLines(loc: string, plain: Uint8Array): string[] {
  const out: string[] = [];
  for (const [k, v] of unpackEntries(plain)) {
    if (k === "ooxml") out.push(...blockTexts(readFlat(fromUtf8(v), `part ${loc}`).blocks));
    else if (k === "xml") out.push(...blockTexts(xmlEntryBlocks(fromUtf8(v), `part ${loc}`)));
    else if (k.startsWith("member:")) out.push("[picture]");
    else throw new FormatError(`protected part ${loc} holds content of a kind this add-in cannot show (${k}): update it`);
  }
  return out;
}

/** Decrypt the parts the identities open and return their text (nothing in the document changes). */
export async function readDocument(word: WordAdapter, identities: Identity[]): Promise<ReadResult> {
  const { prot, opened } = await open(word, identities);
  const parts = [...opened.plaintexts].filter(([loc]) => !loc.startsWith("thumbnail:")).map(([location, p]) => ({ location, lines: partLines(location, p) }));
  return { parts, closed: opened.closed, senders: opened.senders, note: prot.envelope.note };
}

export interface Inspection {
  note: string;
  parts: number;
  groups: { group: number; author: string; authorKey: string; recipients: string[]; locations: string[] }[];
}

export async function inspectDocument(word: WordAdapter): Promise<Inspection | null> {
  const prot = await readProtection(word);
  if (!prot) return null;
  return { note: prot.envelope.note, parts: prot.envelope.parts.length, groups: groupRecipients(prot.envelope) };
}

/** Put the plaintext back into the document: every part the identities open. Checks everything before changing
 *  anything; parts for other people stay protected (the envelope keeps their groups). */
export async function unprotectDocument(word: WordAdapter, identities: Identity[]): Promise<{ opened: number; closed: number }> {
  const { prot, opened, tags } = await open(word, identities);
  const plans: { tag: string; ooxml: string }[] = [];
  for (const [loc, plain] of opened.plaintexts) {
    if (loc.startsWith("thumbnail:")) continue; // Word makes a new preview picture when it saves
    if (elsewhere(loc)) throw new UsageError(`part ${loc} is outside the body (a header, note or comment): unprotect this document with the c11 app or command line`);
    const entries = unpackEntries(plain);
    const ooxml = entries.find(([k]) => k === "ooxml");
    const xml = entries.find(([k]) => k === "xml");
    const unknown = entries.find(([k]) => k !== "ooxml" && k !== "xml" && !k.startsWith("member:"));
    if (unknown) throw new FormatError(`protected part ${loc} holds content of a kind this add-in cannot restore (${unknown[0]}): update it`);
    if (ooxml) {
      // rebuilt from the checked content and its pictures: no other part, relationship or web-loaded object comes back
      plans.push({ tag: tags.get(loc)!, ooxml: rebuildFlat(fromUtf8(ooxml[1]), `part ${loc}`) });
    }
    else if (xml) {
      const blocks = xmlEntryBlocks(fromUtf8(xml[1]), `part ${loc}`);
      if (usedRelationships(blocks).length) throw new UsageError(`part ${loc} has pictures or links Word cannot restore from here: unprotect this document with the c11 app or command line`);
      plans.push({ tag: tags.get(loc)!, ooxml: flatFromBlocks(blocks) });
    } else throw new FormatError(`protected part ${loc} is empty`);
  }
  for (const p of plans) await word.replaceControl(p.tag, p.ooxml);
  const left = remainingEnvelope(prot.envelope, opened);
  if (left && left.parts.some((p) => !p.location.startsWith("thumbnail:"))) await word.setCustomXml(prot.id, protectionXml(left, prot.packageMeta));
  else {
    await word.deleteCustomXml(prot.id);
    for (const c of await word.controls()) if (c.tag === NOTE_TAG) await word.deleteControl(c.tag);
  }
  return { opened: plans.length, closed: opened.closed.length };
}

/** Add or remove recipients (fingerprints) of every group the identity opens, then update the custom XML part. */
export async function changeRecipients(word: WordAdapter, identity: Identity, add: PublicKey[], remove: string[]): Promise<PartsEnvelope> {
  const prot = await readProtection(word);
  if (!prot) throw new UsageError("this document is not protected with c11");
  const env = await reshareParts(prot.envelope, identity, add, remove);
  await word.setCustomXml(prot.id, protectionXml(env, prot.packageMeta));
  return env;
}
