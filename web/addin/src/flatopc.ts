/** Word's flat OPC packages (`getOoxml` / `insertOoxml`) as the add-in reads and checks them (docs/indoc.md §5.1),
 *  the same rules as Python's `c11.indoc._flatopc`: one main document part; only pictures (internal, base64) and
 *  hyperlinks (external) may be referenced by the content. */

import { FormatError } from "../../src/core/errors";

export const NS_PKG = "http://schemas.microsoft.com/office/2006/xmlPackage";
export const NS_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
export const NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
export const NS_REL = "http://schemas.openxmlformats.org/package/2006/relationships";
export const CT_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
export const REL_IMAGE = NS_R + "/image";
export const REL_HYPERLINK = NS_R + "/hyperlink";

export interface FlatPart {
  name: string;
  contentType: string;
  xml: Element | null;
  base64: string | null;
}

export interface Flat {
  parts: Map<string, FlatPart>;
  main: FlatPart;
  /** The main part's relationships by ID: type, resolved target, mode. */
  rels: Map<string, { type: string; target: string; mode: string }>;
  /** The content: the body's children except the final section properties. */
  blocks: Element[];
}

export function parseXml(text: string, what: string): Document {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  if (doc.getElementsByTagName("parsererror").length || /<!DOCTYPE/i.test(text.slice(0, 4096))) throw new FormatError(`${what}: malformed XML`);
  return doc;
}

export function resolveTarget(base: string, target: string): string {
  const segs: string[] = [];
  for (const s of (target.startsWith("/") ? target.slice(1) : base ? `${base}/${target}` : target).split("/")) {
    if (s === "" || s === ".") continue;
    if (s === "..") segs.pop();
    else segs.push(s);
  }
  return segs.join("/");
}

const kids = (el: Element) => Array.from(el.children);

export function readFlat(text: string, what = "OOXML part"): Flat {
  const root = parseXml(text, what).documentElement;
  if (root.namespaceURI !== NS_PKG || root.localName !== "package") throw new FormatError(`${what}: not a Word flat package (pkg:package)`);
  const parts = new Map<string, FlatPart>();
  for (const el of kids(root)) {
    if (el.namespaceURI !== NS_PKG || el.localName !== "part") continue;
    const name = (el.getAttributeNS(NS_PKG, "name") ?? "").replace(/^\//, "");
    if (!name || parts.has(name)) throw new FormatError(`${what}: a part has no name or a name used twice`);
    const xmlData = kids(el).find((k) => k.localName === "xmlData");
    const bin = kids(el).find((k) => k.localName === "binaryData");
    const xml = xmlData ? kids(xmlData) : [];
    if (xmlData && xml.length !== 1) throw new FormatError(`${what}: part ${name} has no single XML root`);
    parts.set(name, { name, contentType: el.getAttributeNS(NS_PKG, "contentType") ?? "", xml: xml[0] ?? null, base64: bin ? (bin.textContent ?? "").replace(/\s+/g, "") : null });
  }
  const mains = [...parts.values()].filter((p) => p.contentType === CT_MAIN && p.xml);
  if (mains.length !== 1) throw new FormatError(`${what}: ${mains.length} main document parts (one expected)`);
  const main = mains[0]!;
  const dir = main.name.includes("/") ? main.name.slice(0, main.name.lastIndexOf("/")) : "";
  const file = main.name.slice(dir.length ? dir.length + 1 : 0);
  const rels = new Map<string, { type: string; target: string; mode: string }>();
  const rp = parts.get(`${dir ? dir + "/" : ""}_rels/${file}.rels`);
  for (const r of rp?.xml ? Array.from(rp.xml.getElementsByTagNameNS(NS_REL, "Relationship")) : []) {
    const mode = r.getAttribute("TargetMode") ?? "Internal";
    const t = r.getAttribute("Target") ?? "";
    rels.set(r.getAttribute("Id") ?? "", { type: r.getAttribute("Type") ?? "", target: mode === "External" ? t : resolveTarget(dir, t), mode });
  }
  const body = main.xml!.getElementsByTagNameNS(NS_W, "body")[0];
  if (!body) throw new FormatError(`${what}: no body`);
  const blocks = kids(body).filter((b) => !(b.namespaceURI === NS_W && b.localName === "sectPr"));
  return { parts, main, rels, blocks };
}

/** The relationship IDs the content uses (attributes in the r: namespace), in document order. */
export function usedRelationships(blocks: Element[]): string[] {
  const out: string[] = [];
  for (const b of blocks)
    for (const el of [b, ...Array.from(b.getElementsByTagName("*"))])
      for (const a of Array.from(el.attributes)) if (a.namespaceURI === NS_R && !out.includes(a.value)) out.push(a.value);
  return out;
}

const NS_O = "urn:schemas-microsoft-com:office:office";
const NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main";

/** A picture body content uses, as a rebuilt package carries it (docs/indoc.md §5.1). */
export interface CarriedImage {
  id: string;
  contentType: string;
  base64: string;
  ext: string;
}

/** What body content may refer to, checked: internal pictures (with their data) and external hyperlinks. */
export interface Carried {
  images: CarriedImage[];
  links: { id: string; target: string }[];
}

/** Refuse content c11 cannot carry (before anything is changed): a relationship that is not a picture or a link,
 *  used from an r: attribute or a VML o:relid; a link used as anything but a hyperlink. Returns what is carried. */
export function carried(flat: Flat, what: string): Carried {
  const out: Carried = { images: [], links: [] };
  const seen = new Set<string>();
  for (const b of flat.blocks)
    for (const el of [b, ...Array.from(b.getElementsByTagName("*"))])
      for (const a of Array.from(el.attributes)) {
        if (a.namespaceURI !== NS_R && !(a.namespaceURI === NS_O && a.localName === "relid")) continue;
        const id = a.value;
        const r = flat.rels.get(id);
        if (!r) throw new FormatError(`${what} refers to relationship ${id} that Word did not include`);
        const kind = r.type === REL_IMAGE && r.mode !== "External" ? "image" : r.type === REL_HYPERLINK && r.mode === "External" ? "link" : null;
        if (!kind) throw new FormatError(`${what} holds content c11 does not carry from inside Word (${r.mode === "External" ? "web-loaded " : ""}${r.type.split("/").pop()}): use the c11 app or command line`);
        const hyperlink = a.namespaceURI === NS_R && a.localName === "id" && ((el.namespaceURI === NS_W && el.localName === "hyperlink") || (el.namespaceURI === NS_A && /^hlink(Click|Hover)$/.test(el.localName)));
        if (kind === "link" && !hyperlink) throw new FormatError(`${what} holds content c11 does not carry from inside Word (a link used as web-loaded content): use the c11 app or command line`);
        if (seen.has(id)) continue;
        seen.add(id);
        if (kind === "link") {
          out.links.push({ id, target: r.target });
          continue;
        }
        const part = flat.parts.get(r.target);
        if (!part?.base64) throw new FormatError(`${what}: Word did not include the picture ${r.target}`);
        if (!/^image\/[\w.+-]+$/i.test(part.contentType)) throw new FormatError(`${what}: the picture ${r.target} is not an image (${part.contentType})`);
        const ext = r.target.includes(".") ? r.target.slice(r.target.lastIndexOf(".") + 1).toLowerCase() : "";
        out.images.push({ id, contentType: part.contentType, base64: part.base64, ext: /^[a-z0-9]{1,8}$/.test(ext) ? ext : "bin" });
      }
  return out;
}

export function checkCarried(flat: Flat, what: string): void {
  carried(flat, what);
}

/** The package Word gets back for a part: rebuilt from the checked body content and the pictures it uses, never
 *  the sender's package (no other part, relationship, setting or web-loaded object comes along). */
export function rebuildFlat(text: string, what: string): string {
  const flat = readFlat(text, what);
  return flatFromBlocks(flat.blocks, carried(flat, what));
}

const isBlock = (b: Element) => ["p", "tbl", "sdt", "customXml"].includes(b.localName);

/** Paragraph texts of body content (runs cut out of a sentence give one line); a table row is its cells joined by " | ". */
export function blockTexts(blocks: Element[]): string[] {
  const out: string[] = [];
  const text = (el: Element) => Array.from(el.getElementsByTagNameNS(NS_W, "t")).map((t) => t.textContent ?? "").join("");
  if (blocks.length && !blocks.some(isBlock)) return [blocks.map((b) => (b.localName === "t" ? (b.textContent ?? "") : text(b))).join("")];
  for (const b of blocks) {
    if (b.localName === "tbl") {
      for (const tr of Array.from(b.getElementsByTagNameNS(NS_W, "tr"))) out.push(Array.from(tr.getElementsByTagNameNS(NS_W, "tc")).map(text).join(" | "));
    } else if (b.localName === "p") out.push(text(b));
    else for (const p of Array.from(b.getElementsByTagNameNS(NS_W, "p"))) out.push(text(p));
  }
  return out;
}

/** Common WordprocessingML prefixes, for reading a `c11 protect` part (original bytes cut out of document.xml). */
const PREFIXES: Record<string, string> = {
  w: NS_W,
  r: NS_R,
  wp: "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
  a: "http://schemas.openxmlformats.org/drawingml/2006/main",
  pic: "http://schemas.openxmlformats.org/drawingml/2006/picture",
  mc: "http://schemas.openxmlformats.org/markup-compatibility/2006",
  w14: "http://schemas.microsoft.com/office/word/2010/wordml",
  w15: "http://schemas.microsoft.com/office/word/2012/wordml",
  wp14: "http://schemas.microsoft.com/office/word/2010/wordprocessingDrawing",
  v: "urn:schemas-microsoft-com:vml",
  o: "urn:schemas-microsoft-com:office:office",
  m: "http://schemas.openxmlformats.org/officeDocument/2006/math",
};

/** The blocks of an `xml` entry (a span of body XML written by `c11 protect`), parsed with Word's usual prefixes. */
export function xmlEntryBlocks(xml: string, what: string): Element[] {
  const decl = Object.entries(PREFIXES).map(([p, ns]) => ` xmlns:${p}="${ns}"`).join("");
  const doc = parseXml(`<w:body${decl}>${xml}</w:body>`, what);
  return kids(doc.documentElement);
}

const attr = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A flat package with these blocks as its body and only the given relationships (pictures with their data,
 *  external hyperlinks): what `insertOoxml` takes for a part. Runs cut out of a sentence go into one paragraph,
 *  which Word merges into the sentence they came from. */
export function flatFromBlocks(blocks: Element[], rels: Carried = { images: [], links: [] }): string {
  const ser = new XMLSerializer();
  const decl = Object.entries(PREFIXES).map(([p, ns]) => ` xmlns:${p}="${ns}"`).join("");
  const inner = blocks.map((b) => ser.serializeToString(b)).join("");
  const body = blocks.some(isBlock) ? inner : `<w:p>${inner}</w:p>`;
  const relType = "application/vnd.openxmlformats-package.relationships+xml";
  const items = [
    ...rels.images.map((im, k) => `<Relationship Id="${attr(im.id)}" Type="${REL_IMAGE}" Target="media/c11-image${k + 1}.${im.ext}"/>`),
    ...rels.links.map((l) => `<Relationship Id="${attr(l.id)}" Type="${REL_HYPERLINK}" Target="${attr(l.target)}" TargetMode="External"/>`),
  ];
  const docRels = items.length
    ? `<pkg:part pkg:name="/word/_rels/document.xml.rels" pkg:contentType="${relType}"><pkg:xmlData><Relationships xmlns="${NS_REL}">${items.join("")}</Relationships></pkg:xmlData></pkg:part>`
    : "";
  const media = rels.images
    .map((im, k) => `<pkg:part pkg:name="/word/media/c11-image${k + 1}.${im.ext}" pkg:contentType="${attr(im.contentType)}" pkg:compression="store"><pkg:binaryData>${im.base64}</pkg:binaryData></pkg:part>`)
    .join("");
  return (
    `<?xml version="1.0" standalone="yes"?><pkg:package xmlns:pkg="${NS_PKG}">` +
    `<pkg:part pkg:name="/_rels/.rels" pkg:contentType="${relType}"><pkg:xmlData>` +
    `<Relationships xmlns="${NS_REL}"><Relationship Id="rId1" Type="${NS_R}/officeDocument" Target="word/document.xml"/></Relationships></pkg:xmlData></pkg:part>` +
    docRels +
    `<pkg:part pkg:name="/word/document.xml" pkg:contentType="${CT_MAIN}"><pkg:xmlData><w:document${decl}><w:body>${body}<w:sectPr/></w:body></w:document></pkg:xmlData></pkg:part>` +
    media +
    `</pkg:package>`
  );
}
