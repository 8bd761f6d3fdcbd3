/** A preview of opened content (PDF, image, text), shown only for content the worker returned, i.e. after the whole
 *  file authenticated and every signature verified. The content is never inserted into this page: it is shown from
 *  a `blob:` URL with a type the page chooses (never the file's own claim beyond the allowed list) inside a frame
 *  with an empty `sandbox` attribute (no scripts, no forms, no top navigation, an opaque origin), or as an `<img>`
 *  (which never runs script). The CSP allows exactly `frame-src blob:` and `img-src blob:` for this (docs/web.md §3).
 *  A PDF is drawn as pixels into canvases by pdf.js, loaded only then (../pdfpreview.ts): none of it becomes markup. */
import { useEffect, useRef, useState } from "preact/hooks";
import { PDF_PAGES_MAX, openPdf, type PdfDoc } from "../pdfpreview";

/** Content larger than this is not previewed (save it instead). */
export const PREVIEW_MAX = 32 * 1024 * 1024;

type Kind = { kind: "image" | "frame" | "pdf"; type: string } | null;

const IMAGES: Record<string, string> = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };
const TEXT = new Set(["txt", "md", "csv", "log", "json", "xml", "yaml", "yml"]);

/** What a name and declared type may be previewed as: a closed list; anything else has no preview. */
export function previewKind(name: string, declared: string | null): Kind {
  const ext = (name.split(".").pop() ?? "").toLowerCase();
  const type = (declared ?? "").toLowerCase().split(";")[0]!.trim();
  if (type === "application/pdf" || ext === "pdf") return { kind: "pdf", type: "application/pdf" };
  const img = Object.values(IMAGES).includes(type) ? type : IMAGES[ext];
  if (img) return { kind: "image", type: img };
  if (type.startsWith("text/") || TEXT.has(ext)) return { kind: "frame", type: "text/plain;charset=utf-8" };  // shown as text, never as HTML
  return null;
}

/** `start`: shown at once (the person already asked for it, e.g. the link page's "Preview" button). */
export function Preview({ content, name, declared, start = false }: { content: Blob; name: string; declared: string | null; start?: boolean }) {
  const [shown, setShown] = useState(start);
  const [url, setUrl] = useState<string | null>(null);
  const kind = previewKind(name, declared);
  useEffect(() => {
    if (!shown || !kind) return;
    const u = URL.createObjectURL(new Blob([content], { type: kind.type }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [shown, content]);
  if (!kind) return null;
  if (content.size > PREVIEW_MAX) return <p class="hint">No preview: the file is larger than {PREVIEW_MAX / 1024 / 1024} MiB (save it instead).</p>;
  if (!shown) {
    return <p><button type="button" onClick={() => setShown(true)}>Show a preview</button></p>;
  }
  if (kind.kind === "pdf") return <PdfPreview content={content} name={name} />;
  return (
    <figure class="preview" data-preview={kind.kind}>
      {url && (kind.kind === "image"
        ? <img src={url} alt={`Preview of ${name}`} />
        : <iframe src={url} sandbox="" title={`Preview of ${name}`} referrerpolicy="no-referrer" />)}
      <figcaption class="hint">Preview of <span class="filename">{name}</span>, shown in a sandbox (no scripts run).</figcaption>
    </figure>
  );
}

/** A PDF's first pages drawn by pdf.js into canvases (pixels only: no text layer, links, forms or scripts). */
function PdfPreview({ content, name }: { content: Blob; name: string }) {
  const [doc, setDoc] = useState<PdfDoc | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let opened: PdfDoc | null = null;
    openPdf(content).then((d) => {
      opened = d;
      if (live) setDoc(d);
      else void d.destroy();
    }, (e: unknown) => live && setFailed(e instanceof Error ? e.message : String(e)));
    return () => {
      live = false;
      void opened?.destroy();
    };
  }, [content]);
  if (failed) return <p role="alert" class="error">No preview: this PDF could not be read ({failed}). Save it and open it in your PDF viewer.</p>;
  if (!doc) return <p role="status">Drawing the preview…</p>;
  const shown = Math.min(doc.pages, PDF_PAGES_MAX);
  return (
    <figure class="preview pdf" data-preview="pdf" data-pages={doc.pages}>
      {Array.from({ length: shown }, (_, i) => <PdfPage key={i} doc={doc} n={i + 1} of={doc.pages} name={name} />)}
      <figcaption class="hint">Preview of <span class="filename">{name}</span> ({doc.pages === 1 ? "1 page" : `${doc.pages} pages`}
        {doc.pages > shown ? `, the first ${shown} shown` : ""}), drawn as images: its links, forms and scripts do not run.</figcaption>
    </figure>
  );
}

function PdfPage({ doc, n, of, name }: { doc: PdfDoc; n: number; of: number; name: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [drawn, setDrawn] = useState<boolean | null>(null);
  useEffect(() => {
    if (canvas.current) doc.draw(n, canvas.current).then(() => setDrawn(true), () => setDrawn(false));
  }, [doc, n]);
  return <canvas ref={canvas} role="img" aria-label={`Page ${n} of ${of} of ${name}${drawn === false ? " (could not be drawn)" : ""}`} data-drawn={drawn === null ? undefined : String(drawn)} />;
}
