/** The real `WordAdapter`: the Office JavaScript API, requirement set WordApi 1.4 at most (checked by
 *  web/addin/check_api.py: any newer call must sit under an `isSetSupported` guard). Ranges handed out are tracked
 *  objects, reused in later batches through `Word.run(range, ...)`. */

import type { BlockRange, Control, CustomXml, Target, WordAdapter } from "./word";

const TITLE = "Protected with c11";
const isC11 = (tag: string) => tag.startsWith("c11:") || tag === "c11-note" || tag.startsWith("c11-pending:");

export class OfficeWord implements WordAdapter {
  private tracked = new Map<string, Word.Range>();
  private next = 0;

  unsupported(): string | null {
    if (typeof Office === "undefined" || !Office.context?.requirements) return "Open this pane from Word (Office did not load).";
    if (!Office.context.requirements.isSetSupported("WordApi", "1.4"))
      return "This version of Word is too old for c11 (it needs Word API 1.4, Word 2021 / Microsoft 365): update Office.";
    return null;
  }

  private keep(ctx: Word.RequestContext, range: Word.Range, text: string): BlockRange {
    ctx.trackedObjects.add(range);
    const key = `r${this.next++}`;
    this.tracked.set(key, range);
    return { key, text };
  }

  private get(r: BlockRange): Word.Range {
    const range = this.tracked.get(r.key);
    if (!range) throw new Error("the range is no longer valid: choose again");
    return range;
  }

  async ranges(t: Target): Promise<BlockRange[]> {
    return Word.run(async (ctx) => {
      const body = ctx.document.body;
      let range: Word.Range | null = null;
      if (t.kind === "selection") {
        const paras = ctx.document.getSelection().paragraphs;
        range = paras.getFirst().getRange("Whole").expandTo(paras.getLast().getRange("Whole"));
      } else if (t.kind === "body") {
        range = body.getRange("Whole");
      } else if (t.kind === "table") {
        const tables = body.tables;
        tables.load("items");
        await ctx.sync();
        const table = tables.items[t.index - 1];
        if (!table) return [];
        range = table.getRange("Whole");
      } else {
        const paras = body.paragraphs;
        paras.load("items/text,items/outlineLevel,items/tableNestingLevel");
        await ctx.sync();
        const items = paras.items; // paragraphs in tables belong to the section, never end it
        const want = t.text.trim().toLowerCase();
        const isHead = (p: Word.Paragraph) => p.outlineLevel >= 1 && p.outlineLevel <= 9 && p.tableNestingLevel === 0;
        const i = items.findIndex((p) => isHead(p) && p.text.trim().toLowerCase() === want);
        if (i < 0) return [];
        let j = i + 1;
        while (j < items.length && !(isHead(items[j]!) && items[j]!.outlineLevel <= items[i]!.outlineLevel)) j++;
        if (j === i + 1) return [];
        range = items[i + 1]!.getRange("Whole").expandTo(items[j - 1]!.getRange("Whole"));
      }
      range.load("text");
      await ctx.sync();
      return [this.keep(ctx, range, range.text)];
    });
  }

  async getOoxml(r: BlockRange): Promise<string> {
    const range = this.get(r);
    return Word.run(range, async (ctx) => {
      const x = range.getOoxml();
      await ctx.sync();
      return x.value;
    });
  }

  async protectRange(r: BlockRange, tag: string, text: string): Promise<void> {
    const range = this.get(r);
    await Word.run(range, async (ctx) => {
      const cc = range.insertContentControl();
      cc.title = TITLE;
      cc.tag = tag;
      cc.appearance = "BoundingBox";
      const placeholder = cc.insertText(text, "Replace");
      placeholder.font.italic = true;
      placeholder.font.color = "#7F7F7F";
      cc.cannotEdit = true;
      cc.cannotDelete = true;
      await ctx.sync();
    });
    this.tracked.delete(r.key);
  }

  async insertNote(lines: string[]): Promise<void> {
    await Word.run(async (ctx) => {
      const body = ctx.document.body;
      const first = body.insertParagraph(lines[0] ?? "", "Start");
      let last = first;
      for (const line of lines.slice(1)) last = last.insertParagraph(line, "After");
      const cc = first.getRange("Whole").expandTo(last.getRange("Whole")).insertContentControl();
      cc.title = TITLE;
      cc.tag = "c11-note";
      cc.font.italic = true;
      cc.font.color = "#7F7F7F";
      cc.cannotEdit = true;
      cc.cannotDelete = true;
      await ctx.sync();
    });
  }

  async controls(): Promise<Control[]> {
    return Word.run(async (ctx) => {
      const ccs = ctx.document.body.contentControls;
      ccs.load("items/tag,items/text");
      await ctx.sync();
      return ccs.items.filter((c) => isC11(c.tag)).map((c) => ({ tag: c.tag, text: c.text, inline: false }));
    });
  }

  private static async control(ctx: Word.RequestContext, tag: string): Promise<Word.ContentControl> {
    const found = ctx.document.body.contentControls.getByTag(tag);
    found.load("items");
    await ctx.sync();
    const cc = found.items[0];
    if (!cc || found.items.length !== 1) throw new Error(`the document has ${found.items.length} controls tagged ${tag}`);
    return cc;
  }

  async setTag(oldTag: string, newTag: string): Promise<void> {
    await Word.run(async (ctx) => {
      (await OfficeWord.control(ctx, oldTag)).tag = newTag;
      await ctx.sync();
    });
  }

  async replaceControl(tag: string, ooxml: string): Promise<void> {
    await Word.run(async (ctx) => {
      const cc = await OfficeWord.control(ctx, tag);
      cc.cannotEdit = false;
      cc.cannotDelete = false;
      cc.insertOoxml(ooxml, "Replace");
      cc.delete(true);
      await ctx.sync();
    });
  }

  async deleteControl(tag: string): Promise<void> {
    await Word.run(async (ctx) => {
      const cc = await OfficeWord.control(ctx, tag);
      cc.cannotEdit = false;
      cc.cannotDelete = false;
      cc.delete(false);
      await ctx.sync();
    });
  }

  async customXmlParts(ns: string): Promise<CustomXml[]> {
    return Word.run(async (ctx) => {
      const parts = ctx.document.customXmlParts.getByNamespace(ns);
      parts.load("items/id");
      await ctx.sync();
      const xml = parts.items.map((p) => p.getXml());
      await ctx.sync();
      return parts.items.map((p, i) => ({ id: p.id, xml: xml[i]!.value }));
    });
  }

  async addCustomXml(xml: string): Promise<string> {
    return Word.run(async (ctx) => {
      const part = ctx.document.customXmlParts.add(xml);
      part.load("id");
      await ctx.sync();
      return part.id;
    });
  }

  async setCustomXml(id: string, xml: string): Promise<void> {
    await Word.run(async (ctx) => {
      ctx.document.customXmlParts.getItem(id).setXml(xml);
      await ctx.sync();
    });
  }

  async deleteCustomXml(id: string): Promise<void> {
    await Word.run(async (ctx) => {
      ctx.document.customXmlParts.getItem(id).delete();
      await ctx.sync();
    });
  }

  async keepsHistory(): Promise<boolean | null> {
    // Office.js cannot read the AutoSave switch; a document opened from OneDrive or SharePoint (an https URL) has
    // AutoSave and version history, which keep earlier versions: say so before putting plaintext back.
    const url = Office.context.document?.url ?? "";
    return /^https:\/\//i.test(url) ? true : url ? false : null;
  }
}
