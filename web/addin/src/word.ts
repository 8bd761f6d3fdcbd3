/** What the add-in needs from Word (docs/addin.md): one interface, two implementations — `OfficeWord` over the Office
 *  JavaScript API (officeword.ts) and `FakeWord` over a real .docx (fakeword.ts, for tests without Office).
 *  Every method is a whole Word.run batch; ranges are whole body blocks (paragraphs and tables). */

/** What to protect. `selection` is widened to whole paragraphs (a part is always whole blocks). */
export type Target = { kind: "selection" } | { kind: "body" } | { kind: "heading"; text: string } | { kind: "table"; index: number };

/** An opaque handle on a run of consecutive body blocks, valid until the document changes. */
export interface BlockRange {
  readonly key: string;
  /** The range's visible text (for the confirmation shown before protecting). */
  readonly text: string;
}

/** A c11 content control as found in the body, in document order. */
export interface Control {
  tag: string;
  /** Its visible text (what the placeholder hash covers, docs/indoc.md §5). */
  text: string;
  /** True when the control sits inside a paragraph (an inline part). */
  inline: boolean;
}

export interface CustomXml {
  id: string;
  xml: string;
}

export interface WordAdapter {
  /** Null when the host can run the add-in; else what to tell the user ("update Office ..."). */
  unsupported(): string | null;
  /** The block ranges a target covers, in document order (c11's own controls excluded). */
  ranges(target: Target): Promise<BlockRange[]>;
  /** Word's flat OPC package for a range (`Range.getOoxml()`). */
  getOoxml(range: BlockRange): Promise<string>;
  /** Replace a range by a content control titled "Protected with c11", tagged `tag`, locked against editing and
   *  deletion, showing `text` in grey italics. */
  protectRange(range: BlockRange, tag: string, text: string): Promise<void>;
  /** Insert the note control (tag `c11-note`, locked) at the start of the body: one paragraph per line. */
  insertNote(lines: string[]): Promise<void>;
  /** c11 controls of the body (tags starting "c11:" or equal to "c11-note"), in document order. */
  controls(): Promise<Control[]>;
  setTag(oldTag: string, newTag: string): Promise<void>;
  /** Replace the control tagged `tag` by a flat OPC package's content (`insertOoxml`, "Replace"), control removed. */
  replaceControl(tag: string, ooxml: string): Promise<void>;
  /** Remove a control and its content. */
  deleteControl(tag: string): Promise<void>;
  /** Custom XML parts whose root is in namespace `ns` (WordApi 1.4 `customXmlParts.getByNamespace`). */
  customXmlParts(ns: string): Promise<CustomXml[]>;
  addCustomXml(xml: string): Promise<string>;
  setCustomXml(id: string, xml: string): Promise<void>;
  deleteCustomXml(id: string): Promise<void>;
  /** Whether the document is saved to the cloud with AutoSave or version history (plaintext would be kept by them);
   *  null when the host cannot tell. */
  keepsHistory(): Promise<boolean | null>;
}
