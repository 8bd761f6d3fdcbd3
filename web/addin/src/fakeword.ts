/** A Word stand-in over a real .docx, behind the same `WordAdapter` interface as Office.js (tests only, no Office
 *  here). It does what Word documents for each call: `getOoxml` gives a flat OPC package with the range's blocks,
 *  the relationships they use renumbered and pictures as base64; `insertOoxml` adds those relationships and
 *  pictures under new IDs; content controls are `w:sdt` with alias, tag, id and lock; `customXmlParts.add` stores
 *  customXml/itemN.xml with its itemProps part, relationships and content type; saving drops pictures and link
 *  relationships nothing uses any more. `save()` gives the .docx bytes. */

import { strFromU8, strToU8, unzipSync, zipSync } from "fflate";
import { b64, fromB64 } from "../../src/core/bytes";
import { FormatError } from "../../src/core/errors";
import { CT_MAIN, NS_PKG, NS_R, NS_REL, NS_W, REL_HYPERLINK, REL_IMAGE, parseXml, readFlat, resolveTarget, usedRelationships } from "./flatopc";
import type { BlockRange, Control, CustomXml, Target, WordAdapter } from "./word";

const NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types";
const NS_DS = "http://schemas.openxmlformats.org/officeDocument/2006/customXml";
const REL_CUSTOM_XML = NS_R + "/customXml";
const REL_CUSTOM_XML_PROPS = NS_R + "/customXmlProps";
const CT_PROPS = "application/vnd.openxmlformats-officedocument.customXmlProperties+xml";
const MAIN = "word/document.xml";
const MAIN_RELS = "word/_rels/document.xml.rels";

export interface FakeOptions {
  /** What `keepsHistory` answers (AutoSave on a cloud document). */
  history?: boolean | null;
  /** Requirement sets the fake host claims (default WordApi 1.4). */
  wordApi?: string;
  /** Tests: `customXmlParts.add` fails as Word does when the document is read-only or the host gives up. */
  failCustomXml?: boolean;
}

export class FakeWord implements WordAdapter {
  private files: Map<string, Uint8Array>;
  private doc: Document;
  private rels: Document;
  private types: Document;
  private selection: [number, number] = [0, 0];
  private nextId = 1000;
  private handed = new Map<string, Element[]>();
  /** Tests: every package `replaceControl` was given, as Word would get it. */
  readonly inserted: string[] = [];

  constructor(docx: Uint8Array, private readonly opts: FakeOptions = {}) {
    this.files = new Map(Object.entries(unzipSync(docx)));
    this.doc = this.xml(MAIN);
    this.rels = this.xml(MAIN_RELS);
    this.types = this.xml("[Content_Types].xml");
  }

  private xml(name: string): Document {
    const f = this.files.get(name);
    if (!f) throw new FormatError(`the document has no ${name}`);
    return parseXml(strFromU8(f), name);
  }

  private get body(): Element {
    return this.doc.getElementsByTagNameNS(NS_W, "body")[0]!;
  }

  /** Body blocks (not the section properties). */
  private blocks(): Element[] {
    return Array.from(this.body.children).filter((b) => !(b.localName === "sectPr" && b.namespaceURI === NS_W));
  }

  private static isC11(b: Element): boolean {
    if (b.localName !== "sdt") return false;
    const tag = b.getElementsByTagNameNS(NS_W, "tag")[0]?.getAttributeNS(NS_W, "val") ?? "";
    return tag.startsWith("c11");
  }

  /** Tests: select body blocks from..to (inclusive, from 0), as the user would with the mouse. */
  select(from: number, to: number): void {
    this.selection = [from, to];
  }

  unsupported(): string | null {
    const v = this.opts.wordApi ?? "1.4";
    return Number(v.split(".")[1]) >= 4 ? null : "This version of Word is too old for c11 (it needs Word API 1.4): update Office.";
  }

  private range(from: number, to: number): BlockRange {
    const els = this.blocks().slice(from, to + 1);
    const key = `r${this.handed.size}`;
    this.handed.set(key, els);
    return { key, text: els.map((b) => b.textContent ?? "").join("\n") };
  }

  /** The blocks of a range handed out earlier; refused once they left the body (protected by an overlapping choice). */
  private els(r: BlockRange): Element[] {
    const els = this.handed.get(r.key);
    if (!els || els.some((b) => b.parentNode !== this.body)) throw new FormatError("two choices overlap: protect them as one");
    return els;
  }

  private styleLevels(): Map<string, number> {
    const out = new Map<string, number>();
    const f = this.files.get("word/styles.xml");
    if (!f) return out;
    for (const st of Array.from(parseXml(strFromU8(f), "styles").getElementsByTagNameNS(NS_W, "style"))) {
      const id = st.getAttributeNS(NS_W, "styleId") ?? "";
      const name = (st.getElementsByTagNameNS(NS_W, "name")[0]?.getAttributeNS(NS_W, "val") ?? "").toLowerCase();
      const m = /^heading\s*(\d)$/.exec(name);
      if (m) out.set(id, Number(m[1]));
      else if (name === "title") out.set(id, 0);
    }
    return out;
  }

  async ranges(t: Target): Promise<BlockRange[]> {
    const bl = this.blocks();
    if (t.kind === "selection") {
      const [a, b] = this.selection;
      return [this.range(a, b)];
    }
    if (t.kind === "table") {
      const tables = bl.map((b, i) => [b, i] as const).filter(([b]) => b.localName === "tbl");
      const hit = tables[t.index - 1];
      return hit ? [this.range(hit[1], hit[1])] : [];
    }
    if (t.kind === "body") {
      const out: BlockRange[] = [];
      let start = -1;
      bl.forEach((b, i) => {
        if (FakeWord.isC11(b)) {
          if (start >= 0) out.push(this.range(start, i - 1));
          start = -1;
        } else if (start < 0) start = i;
      });
      if (start >= 0) out.push(this.range(start, bl.length - 1));
      return out;
    }
    const levels = this.styleLevels();
    const level = (b: Element) => {
      if (b.localName !== "p") return null;
      const s = b.getElementsByTagNameNS(NS_W, "pStyle")[0]?.getAttributeNS(NS_W, "val");
      return s !== undefined && s !== null && levels.has(s) ? levels.get(s)! : null;
    };
    const want = t.text.trim().toLowerCase();
    const i = bl.findIndex((b) => level(b) !== null && (b.textContent ?? "").trim().toLowerCase() === want);
    if (i < 0) return [];
    let j = i + 1;
    while (j < bl.length && !(level(bl[j]!) !== null && level(bl[j]!)! <= level(bl[i]!)!)) j++;
    return j > i + 1 ? [this.range(i + 1, j - 1)] : [];
  }

  private relMap(): Map<string, Element> {
    return new Map(Array.from(this.rels.getElementsByTagNameNS(NS_REL, "Relationship")).map((r) => [r.getAttribute("Id") ?? "", r]));
  }

  private contentType(member: string): string {
    const ov = Array.from(this.types.getElementsByTagNameNS(NS_CT, "Override")).find((o) => o.getAttribute("PartName") === "/" + member);
    if (ov) return ov.getAttribute("ContentType") ?? "";
    const ext = member.split(".").pop()!.toLowerCase();
    const d = Array.from(this.types.getElementsByTagNameNS(NS_CT, "Default")).find((x) => (x.getAttribute("Extension") ?? "").toLowerCase() === ext);
    return d?.getAttribute("ContentType") ?? "application/octet-stream";
  }

  async getOoxml(r: BlockRange): Promise<string> {
    const blocks = this.els(r).map((b) => b.cloneNode(true) as Element);
    const rels = this.relMap();
    const ids = new Map(usedRelationships(blocks).map((id, k) => [id, `rId${k + 1}`]));
    for (const b of blocks)
      for (const el of [b, ...Array.from(b.getElementsByTagName("*"))])
        for (const a of Array.from(el.attributes)) if (a.namespaceURI === NS_R && ids.has(a.value)) el.setAttributeNS(NS_R, a.name, ids.get(a.value)!);
    const ser = new XMLSerializer();
    const root = this.doc.documentElement;
    const decl = Array.from(root.attributes).filter((a) => a.name.startsWith("xmlns")).map((a) => ` ${a.name}="${a.value}"`).join("");
    const relLines: string[] = [];
    const media: string[] = [];
    for (const [old, id] of ids) {
      const rel = rels.get(old);
      if (!rel) continue;
      const mode = rel.getAttribute("TargetMode");
      const target = rel.getAttribute("Target") ?? "";
      if (mode === "External") relLines.push(`<Relationship Id="${id}" Type="${rel.getAttribute("Type")}" Target="${esc(target)}" TargetMode="External"/>`);
      else {
        const member = resolveTarget("word", target);
        const data = this.files.get(member);
        relLines.push(`<Relationship Id="${id}" Type="${rel.getAttribute("Type")}" Target="${esc(target)}"/>`);
        if (data) media.push(`<pkg:part pkg:name="/${member}" pkg:contentType="${this.contentType(member)}" pkg:compression="store"><pkg:binaryData>${b64(data)}</pkg:binaryData></pkg:part>`);
      }
    }
    return (
      `<?xml version="1.0" standalone="yes"?><?mso-application progid="Word.Document"?><pkg:package xmlns:pkg="${NS_PKG}">` +
      `<pkg:part pkg:name="/_rels/.rels" pkg:contentType="application/vnd.openxmlformats-package.relationships+xml" pkg:padding="512"><pkg:xmlData>` +
      `<Relationships xmlns="${NS_REL}"><Relationship Id="rId1" Type="${NS_R}/officeDocument" Target="word/document.xml"/></Relationships></pkg:xmlData></pkg:part>` +
      `<pkg:part pkg:name="/word/_rels/document.xml.rels" pkg:contentType="application/vnd.openxmlformats-package.relationships+xml" pkg:padding="256"><pkg:xmlData>` +
      `<Relationships xmlns="${NS_REL}">${relLines.join("")}</Relationships></pkg:xmlData></pkg:part>` +
      `<pkg:part pkg:name="/word/document.xml" pkg:contentType="${CT_MAIN}"><pkg:xmlData><w:document${decl}><w:body>` +
      blocks.map((b) => ser.serializeToString(b)).join("") +
      `<w:sectPr/></w:body></w:document></pkg:xmlData></pkg:part>${media.join("")}</pkg:package>`
    );
  }

  private sdt(tag: string, paragraphs: string[], grey: boolean): Element {
    const rpr = grey ? "<w:rPr><w:i/><w:color w:val=\"7F7F7F\"/></w:rPr>" : "";
    const ps = paragraphs.map((t) => `<w:p><w:r>${rpr}<w:t xml:space="preserve">${esc(t)}</w:t></w:r></w:p>`).join("");
    const xml = `<w:sdt xmlns:w="${NS_W}"><w:sdtPr><w:alias w:val="Protected with c11"/><w:tag w:val="${esc(tag)}"/><w:id w:val="${this.nextId++}"/><w:lock w:val="sdtContentLocked"/></w:sdtPr><w:sdtContent>${ps}</w:sdtContent></w:sdt>`;
    return this.doc.importNode(parseXml(xml, "control").documentElement, true);
  }

  async protectRange(r: BlockRange, tag: string, text: string): Promise<void> {
    const bl = this.els(r);
    this.body.insertBefore(this.sdt(tag, [text], true), bl[0]!);
    for (const b of bl) b.remove();
  }

  async insertNote(lines: string[]): Promise<void> {
    this.body.insertBefore(this.sdt("c11-note", lines, true), this.body.firstElementChild);
  }

  private sdts(): [Element, string][] {
    return Array.from(this.doc.getElementsByTagNameNS(NS_W, "sdt"))
      .map((s) => [s, s.getElementsByTagNameNS(NS_W, "tag")[0]?.getAttributeNS(NS_W, "val") ?? ""] as [Element, string])
      .filter(([, t]) => t.startsWith("c11:") || t === "c11-note" || t.startsWith("c11-pending:"));
  }

  async controls(): Promise<Control[]> {
    return this.sdts().map(([s, tag]) => {
      const content = s.getElementsByTagNameNS(NS_W, "sdtContent")[0];
      const text = content ? Array.from(content.getElementsByTagNameNS(NS_W, "t")).map((t) => t.textContent ?? "").join("") : "";
      return { tag, text, inline: (s.parentElement?.localName ?? "") === "p" };
    });
  }

  private find(tag: string): Element {
    const hit = this.sdts().find(([, t]) => t === tag);
    if (!hit) throw new FormatError(`no content control tagged ${tag}`);
    return hit[0];
  }

  async setTag(oldTag: string, newTag: string): Promise<void> {
    this.find(oldTag).getElementsByTagNameNS(NS_W, "tag")[0]!.setAttributeNS(NS_W, "w:val", newTag);
  }

  async replaceControl(tag: string, ooxml: string): Promise<void> {
    const sdt = this.find(tag);
    this.inserted.push(ooxml);
    const flat = readFlat(ooxml, "insertOoxml");
    const taken = this.relMap();
    const map = new Map<string, string>();
    let n = 1;
    for (const id of usedRelationships(flat.blocks)) {
      const r = flat.rels.get(id);
      if (!r) throw new FormatError(`insertOoxml: relationship ${id} is missing`);
      while (taken.has(`rId${n}`)) n++;
      const nid = `rId${n}`;
      const rel = this.rels.createElementNS(NS_REL, "Relationship");
      rel.setAttribute("Id", nid);
      rel.setAttribute("Type", r.type);
      if (r.mode === "External") {
        rel.setAttribute("Target", r.target);
        rel.setAttribute("TargetMode", "External");
      } else {
        const part = flat.parts.get(r.target);
        if (!part?.base64) throw new FormatError(`insertOoxml: part ${r.target} is missing`);
        const ext = r.target.split(".").pop()!.toLowerCase();
        let k = 1;
        while (this.files.has(`word/media/image${k}.${ext}`)) k++;
        const member = `word/media/image${k}.${ext}`;
        this.files.set(member, fromB64(part.base64));
        const hasDefault = Array.from(this.types.getElementsByTagNameNS(NS_CT, "Default")).some((d) => (d.getAttribute("Extension") ?? "").toLowerCase() === ext);
        if (!hasDefault) {
          const d = this.types.createElementNS(NS_CT, "Default");
          d.setAttribute("Extension", ext);
          d.setAttribute("ContentType", part.contentType);
          this.types.documentElement.insertBefore(d, this.types.documentElement.firstChild);
        }
        rel.setAttribute("Target", member.slice("word/".length));
      }
      this.rels.documentElement.appendChild(rel);
      taken.set(nid, rel);
      map.set(id, nid);
    }
    const inline = sdt.parentElement?.localName === "p";
    let nodes = flat.blocks;
    if (inline) nodes = flat.blocks.flatMap((p) => Array.from(p.children).filter((c) => c.localName !== "pPr"));
    for (const b of nodes) {
      const imported = this.doc.importNode(b, true) as Element;
      for (const el of [imported, ...Array.from(imported.getElementsByTagName("*"))])
        for (const a of Array.from(el.attributes)) if (a.namespaceURI === NS_R && map.has(a.value)) el.setAttributeNS(NS_R, a.name, map.get(a.value)!);
      sdt.parentNode!.insertBefore(imported, sdt);
    }
    sdt.remove();
  }

  async deleteControl(tag: string): Promise<void> {
    this.find(tag).remove();
  }

  private items(): { n: number; id: string; name: string }[] {
    const out: { n: number; id: string; name: string }[] = [];
    for (const name of this.files.keys()) {
      const m = /^customXml\/item(\d+)\.xml$/.exec(name);
      if (!m) continue;
      const props = this.files.get(`customXml/itemProps${m[1]}.xml`);
      const id = props ? (parseXml(strFromU8(props), "itemProps").documentElement.getAttributeNS(NS_DS, "itemID") ?? "") : "";
      out.push({ n: Number(m[1]), id: id || `item${m[1]}`, name });
    }
    return out;
  }

  async customXmlParts(ns: string): Promise<CustomXml[]> {
    const out: CustomXml[] = [];
    for (const it of this.items()) {
      const text = strFromU8(this.files.get(it.name)!);
      if (parseXml(text, it.name).documentElement.namespaceURI === ns) out.push({ id: it.id, xml: text });
    }
    // c11 protect names its part customXml/c11-protection.xml
    const own = this.files.get("customXml/c11-protection.xml");
    if (own && parseXml(strFromU8(own), "c11-protection").documentElement.namespaceURI === ns) out.push({ id: "c11-protection", xml: strFromU8(own) });
    return out;
  }

  async addCustomXml(xml: string): Promise<string> {
    if (this.opts.failCustomXml) throw new Error("GeneralException: the custom XML part could not be added");
    parseXml(xml, "custom XML");
    let n = 1;
    while (this.files.has(`customXml/item${n}.xml`)) n++;
    const id = `{${crypto.randomUUID().toUpperCase()}}`;
    const ns = parseXml(xml, "custom XML").documentElement.namespaceURI ?? "";
    this.files.set(`customXml/item${n}.xml`, strToU8(xml));
    this.files.set(`customXml/itemProps${n}.xml`, strToU8(`<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<ds:datastoreItem ds:itemID="${id}" xmlns:ds="${NS_DS}"><ds:schemaRefs><ds:schemaRef ds:uri="${ns}"/></ds:schemaRefs></ds:datastoreItem>`));
    this.files.set(`customXml/_rels/item${n}.xml.rels`, strToU8(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="${NS_REL}"><Relationship Id="rId1" Type="${REL_CUSTOM_XML_PROPS}" Target="itemProps${n}.xml"/></Relationships>`));
    const taken = this.relMap();
    let k = 1;
    while (taken.has(`rId${k}`)) k++;
    const rel = this.rels.createElementNS(NS_REL, "Relationship");
    rel.setAttribute("Id", `rId${k}`);
    rel.setAttribute("Type", REL_CUSTOM_XML);
    rel.setAttribute("Target", `../customXml/item${n}.xml`);
    this.rels.documentElement.appendChild(rel);
    const o = this.types.createElementNS(NS_CT, "Override");
    o.setAttribute("PartName", `/customXml/itemProps${n}.xml`);
    o.setAttribute("ContentType", CT_PROPS);
    this.types.documentElement.appendChild(o);
    return id;
  }

  private member(id: string): string {
    if (id === "c11-protection") return "customXml/c11-protection.xml";
    const it = this.items().find((x) => x.id === id);
    if (!it) throw new FormatError(`no custom XML part ${id}`);
    return it.name;
  }

  async setCustomXml(id: string, xml: string): Promise<void> {
    parseXml(xml, "custom XML");
    this.files.set(this.member(id), strToU8(xml));
  }

  async deleteCustomXml(id: string): Promise<void> {
    const name = this.member(id);
    const file = name.slice("customXml/".length);
    const relsName = `customXml/_rels/${file}.rels`;
    const gone = [name];
    const rf = this.files.get(relsName);
    if (rf) {
      for (const r of Array.from(parseXml(strFromU8(rf), relsName).getElementsByTagNameNS(NS_REL, "Relationship"))) gone.push(resolveTarget("customXml", r.getAttribute("Target") ?? ""));
      gone.push(relsName);
    }
    for (const g of gone) this.files.delete(g);
    for (const r of Array.from(this.rels.getElementsByTagNameNS(NS_REL, "Relationship")))
      if (r.getAttribute("TargetMode") !== "External" && gone.includes(resolveTarget("word", r.getAttribute("Target") ?? ""))) r.remove();
    for (const o of Array.from(this.types.getElementsByTagNameNS(NS_CT, "Override"))) if (gone.includes((o.getAttribute("PartName") ?? "").slice(1))) o.remove();
  }

  async keepsHistory(): Promise<boolean | null> {
    return this.opts.history ?? null;
  }

  /** The document as Word would save it (pictures and links nothing refers to any more are dropped). */
  save(): Uint8Array {
    const used = new Set(usedRelationships([this.doc.documentElement]));
    for (const r of Array.from(this.rels.getElementsByTagNameNS(NS_REL, "Relationship"))) {
      const t = r.getAttribute("Type");
      if ((t === REL_IMAGE || t === REL_HYPERLINK) && !used.has(r.getAttribute("Id") ?? "")) {
        if (r.getAttribute("TargetMode") !== "External") this.files.delete(resolveTarget("word", r.getAttribute("Target") ?? ""));
        r.remove();
      }
    }
    const ser = new XMLSerializer();
    const out = (d: Document) => strToU8(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n` + ser.serializeToString(d).replace(/^<\?xml[^>]*\?>\s*/, ""));
    this.files.set(MAIN, out(this.doc));
    this.files.set(MAIN_RELS, out(this.rels));
    this.files.set("[Content_Types].xml", out(this.types));
    const entries: Record<string, Uint8Array> = { "[Content_Types].xml": this.files.get("[Content_Types].xml")! };
    for (const [k, v] of this.files) if (k !== "[Content_Types].xml") entries[k] = v;
    return zipSync(entries, { level: 6 });
  }
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
