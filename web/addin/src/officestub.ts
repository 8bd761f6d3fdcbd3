/** A stand-in for the Office host (tests only): the `Office` and `Word` globals over a small in-memory document,
 *  enforcing Office.js's protocol the way Word does — a property is read only after `load` and `context.sync()`, a
 *  `ClientResult` has a value only after sync, `Word.run(object, …)` needs a tracked object, locked content controls
 *  refuse edits and deletion, and APIs above WordApi 1.4 are absent. It lets the real adapter (officeword.ts) run. */

import { blockTexts, readFlat } from "./flatopc";

export interface Item {
  kind: "p" | "tbl" | "cc";
  text: string;
  outline: number;
  tag?: string;
  title?: string;
  cannotEdit?: boolean;
  cannotDelete?: boolean;
  children?: Item[];
}

export class PropertyNotLoaded extends Error {}

const W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export class StubHost {
  body: Item[];
  xmlParts: { id: string; xml: string }[] = [];
  selection: [number, number] = [0, 0];
  tracked = new Set<object>();
  calls: string[] = [];

  constructor(body: Item[], private readonly wordApi = "1.4", readonly url = "https://contoso.sharepoint.com/sites/hr/review.docx") {
    this.body = body;
  }

  textOf(items: Item[]): string {
    return items.map((i) => (i.kind === "cc" ? this.textOf(i.children ?? []) : i.text)).join("\n");
  }

  install(): void {
    const host = this;
    (globalThis as Record<string, unknown>).Office = {
      context: {
        requirements: { isSetSupported: (name: string, v: string) => name === "WordApi" && Number(v.split(".")[1] ?? 0) <= Number(host.wordApi.split(".")[1]) },
        document: { url: host.url },
      },
      onReady: (f?: () => void) => Promise.resolve(f?.()),
    };
    (globalThis as Record<string, unknown>).Word = {
      run: async (a: unknown, b?: (ctx: Ctx) => Promise<unknown>) => {
        if (b) {
          if (!host.tracked.has(a as object)) throw new Error("InvalidObjectPath: the object was not tracked (context.trackedObjects.add)");
          return b((a as unknown as { ctx: Ctx }).ctx); // a tracked object's batches share its request context
        }
        return (a as (ctx: Ctx) => Promise<unknown>)(new Ctx(host));
      },
    };
  }
}

class Ctx {
  pending: (() => void)[] = [];
  document: Doc;
  trackedObjects: { add: (o: object) => void };
  constructor(readonly host: StubHost) {
    this.document = new Doc(this);
    this.trackedObjects = { add: (o) => host.tracked.add(o) };
  }
  async sync(): Promise<void> {
    for (const f of this.pending.splice(0)) f();
  }
}

/** Properties readable only once loaded and synced. */
class Loadable {
  private have = new Set<string>();
  constructor(protected ctx: Ctx) {}
  load(spec: string): this {
    const props = spec.split(",").map((s) => s.trim());
    this.ctx.pending.push(() => props.forEach((p) => this.loaded(p)));
    return this;
  }
  protected loaded(p: string): void {
    this.have.add(p);
  }
  protected need(p: string): void {
    if (!this.have.has(p)) throw new PropertyNotLoaded(`PropertyNotLoaded: ${p} was read before load("${p}") and context.sync()`);
  }
}

class Result<T> {
  private done = false;
  constructor(ctx: Ctx, private readonly v: () => T) {
    ctx.pending.push(() => (this.done = true));
  }
  get value(): T {
    if (!this.done) throw new PropertyNotLoaded("ClientResult.value read before context.sync()");
    return this.v();
  }
}

class Doc {
  body: Body;
  customXmlParts: XmlParts;
  constructor(private ctx: Ctx) {
    this.body = new Body(ctx);
    this.customXmlParts = new XmlParts(ctx);
  }
  getSelection(): Range {
    const [a, b] = this.ctx.host.selection;
    return new Range(this.ctx, this.ctx.host.body[a]!, this.ctx.host.body[b]!);
  }
}

class Body {
  constructor(private ctx: Ctx) {}
  getRange(_where: "Whole"): Range {
    const b = this.ctx.host.body;
    return new Range(this.ctx, b[0]!, b[b.length - 1]!);
  }
  get tables(): Coll<Table> {
    return new Coll(this.ctx, () => this.ctx.host.body.filter((i) => i.kind === "tbl").map((i) => new Table(this.ctx, i)));
  }
  get paragraphs(): Coll<Para> {
    // as in Word, paragraphs inside tables are listed too (here one per table, at nesting level 1)
    return new Coll(this.ctx, () => this.ctx.host.body.filter((i) => i.kind !== "cc").map((i) => new Para(this.ctx, i)));
  }
  get contentControls(): CcColl {
    return new CcColl(this.ctx, () => this.ctx.host.body.filter((i) => i.kind === "cc").map((i) => new Cc(this.ctx, i)));
  }
  insertParagraph(text: string, where: "Start"): Para {
    if (where !== "Start") throw new Error("stub: only Start");
    const item: Item = { kind: "p", text, outline: 10 };
    this.ctx.host.body.unshift(item);
    return new Para(this.ctx, item);
  }
}

class Coll<T extends Loadable> extends Loadable {
  private list: T[] | null = null;
  constructor(ctx: Ctx, private make: () => T[]) {
    super(ctx);
  }
  protected override loaded(p: string): void {
    super.loaded(p.split("/")[0]!);
    this.list ??= this.make();
    const sub = p.split("/")[1];
    if (sub) for (const it of this.list) (it as unknown as { loaded(p: string): void }).loaded(sub);
  }
  get items(): T[] {
    this.need("items");
    return this.list!;
  }
}

class CcColl extends Coll<Cc> {
  constructor(
    private c: Ctx,
    private all: () => Cc[],
  ) {
    super(c, all);
  }
  getByTag(tag: string): Coll<Cc> {
    return new Coll(this.c, () => this.all().filter((x) => x.item.tag === tag));
  }
}

class Range extends Loadable {
  font = { italic: false, color: "" };
  constructor(
    ctx: Ctx,
    readonly from: Item,
    readonly to: Item,
  ) {
    super(ctx);
  }
  private items(): Item[] {
    const b = this.ctx.host.body;
    const i = b.indexOf(this.from);
    const j = b.indexOf(this.to);
    if (i < 0 || j < i) throw new Error("InvalidArgument: the range is no longer in the document");
    return b.slice(i, j + 1);
  }
  get text(): string {
    this.need("text");
    return this.ctx.host.textOf(this.items());
  }
  expandTo(r: Range): Range {
    return new Range(this.ctx, this.from, r.to);
  }
  getOoxml(): Result<string> {
    const items = this.items();
    return new Result(this.ctx, () => flat(items));
  }
  insertContentControl(): Cc {
    const items = this.items();
    if (items.some((i) => i.kind === "cc")) throw new Error("stub: nested controls");
    const cc: Item = { kind: "cc", text: "", outline: 10, tag: "", title: "", children: items };
    const b = this.ctx.host.body;
    b.splice(b.indexOf(items[0]!), items.length, cc);
    return new Cc(this.ctx, cc);
  }
}

class Para extends Loadable {
  constructor(
    ctx: Ctx,
    readonly item: Item,
  ) {
    super(ctx);
  }
  get text(): string {
    this.need("text");
    return this.item.text;
  }
  get outlineLevel(): number {
    this.need("outlineLevel");
    return this.item.outline;
  }
  get tableNestingLevel(): number {
    this.need("tableNestingLevel");
    return this.item.kind === "tbl" ? 1 : 0;
  }
  getRange(_w: "Whole"): Range {
    return new Range(this.ctx, this.item, this.item);
  }
  insertParagraph(text: string, where: "After"): Para {
    if (where !== "After") throw new Error("stub: only After");
    const item: Item = { kind: "p", text, outline: 10 };
    const b = this.ctx.host.body;
    b.splice(b.indexOf(this.item) + 1, 0, item);
    return new Para(this.ctx, item);
  }
}

class Table extends Loadable {
  constructor(
    ctx: Ctx,
    readonly item: Item,
  ) {
    super(ctx);
  }
  getRange(_w: "Whole"): Range {
    return new Range(this.ctx, this.item, this.item);
  }
}

class Cc extends Loadable {
  appearance = "";
  font = { italic: false, color: "" };
  constructor(
    ctx: Ctx,
    readonly item: Item,
  ) {
    super(ctx);
  }
  get tag(): string {
    this.need("tag");
    return this.item.tag ?? "";
  }
  set tag(v: string) {
    this.item.tag = v;
  }
  get text(): string {
    this.need("text");
    return this.ctx.host.textOf(this.item.children ?? []);
  }
  set title(v: string) {
    this.item.title = v;
  }
  set cannotEdit(v: boolean) {
    this.item.cannotEdit = v;
  }
  set cannotDelete(v: boolean) {
    this.item.cannotDelete = v;
  }
  insertText(text: string, where: "Replace"): Range {
    if (this.item.cannotEdit) throw new Error("AccessDenied: the content control cannot be edited");
    if (where !== "Replace") throw new Error("stub: only Replace");
    const p: Item = { kind: "p", text, outline: 10 };
    this.item.children = [p];
    return new Range(this.ctx, p, p);
  }
  insertOoxml(ooxml: string, where: "Replace"): void {
    if (this.item.cannotEdit) throw new Error("AccessDenied: the content control cannot be edited");
    if (where !== "Replace") throw new Error("stub: only Replace");
    this.item.children = readFlat(ooxml, "insertOoxml").blocks.map((b) => ({
      kind: b.localName === "tbl" ? "tbl" : "p",
      text: blockTexts([b]).join("\n"),
      outline: Number(b.getElementsByTagNameNS(W, "outlineLvl")[0]?.getAttributeNS(W, "val") ?? 9) + 1,
    }));
  }
  delete(keepContent: boolean): void {
    if (this.item.cannotDelete) throw new Error("AccessDenied: the content control cannot be deleted");
    const b = this.ctx.host.body;
    b.splice(b.indexOf(this.item), 1, ...(keepContent ? (this.item.children ?? []) : []));
  }
}

class XmlPart extends Loadable {
  constructor(
    ctx: Ctx,
    private readonly key: string,
  ) {
    super(ctx);
  }
  private entry() {
    const e = this.ctx.host.xmlParts.find((p) => p.id === this.key);
    if (!e) throw new Error("ItemNotFound: no such custom XML part");
    return e;
  }
  get id(): string {
    this.need("id");
    return this.key;
  }
  getXml(): Result<string> {
    return new Result(this.ctx, () => this.entry().xml);
  }
  setXml(xml: string): void {
    this.entry().xml = xml;
  }
  delete(): void {
    this.ctx.host.xmlParts = this.ctx.host.xmlParts.filter((p) => p !== this.entry());
  }
}

class XmlParts {
  constructor(private ctx: Ctx) {}
  getByNamespace(ns: string): Coll<XmlPart> {
    return new Coll(this.ctx, () => this.ctx.host.xmlParts.filter((p) => new DOMParser().parseFromString(p.xml, "application/xml").documentElement.namespaceURI === ns).map((p) => new XmlPart(this.ctx, p.id)));
  }
  add(xml: string): XmlPart {
    const id = `{${crypto.randomUUID().toUpperCase()}}`;
    this.ctx.host.xmlParts.push({ id, xml });
    return new XmlPart(this.ctx, id);
  }
  getItem(id: string): XmlPart {
    return new XmlPart(this.ctx, id);
  }
}

/** The flat package Word would give for these items (paragraphs keep their outline level; a table row is "a | b"). */
function flat(items: Item[]): string {
  const para = (i: Item) =>
    `<w:p>${i.outline < 10 ? `<w:pPr><w:outlineLvl w:val="${i.outline - 1}"/></w:pPr>` : ""}<w:r><w:t xml:space="preserve">${esc(i.text)}</w:t></w:r></w:p>`;
  const block = (i: Item): string =>
    i.kind === "tbl"
      ? `<w:tbl>${i.text.split("\n").map((row) => `<w:tr>${row.split(" | ").map((c) => `<w:tc><w:p><w:r><w:t>${esc(c)}</w:t></w:r></w:p></w:tc>`).join("")}</w:tr>`).join("")}</w:tbl>`
      : i.kind === "cc"
        ? (i.children ?? []).map(block).join("")
        : para(i);
  return (
    `<?xml version="1.0" standalone="yes"?><pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">` +
    `<pkg:part pkg:name="/word/document.xml" pkg:contentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"><pkg:xmlData>` +
    `<w:document xmlns:w="${W}"><w:body>${items.map(block).join("")}<w:sectPr/></w:body></w:document></pkg:xmlData></pkg:part></pkg:package>`
  );
}
