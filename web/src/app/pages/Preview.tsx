/** A preview of opened content (PDF, image, text), shown only for content the worker returned, i.e. after the whole
 *  file authenticated and every signature verified. The content is never inserted into this page: it is shown from
 *  a `blob:` URL with a type the page chooses (never the file's own claim beyond the allowed list) inside a frame
 *  with an empty `sandbox` attribute (no scripts, no forms, no top navigation, an opaque origin), or as an `<img>`
 *  (which never runs script). The CSP allows exactly `frame-src blob:` and `img-src blob:` for this (docs/web.md §3). */
import { useEffect, useState } from "preact/hooks";

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

export function Preview({ content, name, declared }: { content: Blob; name: string; declared: string | null }) {
  const [shown, setShown] = useState(false);
  const [url, setUrl] = useState<string | null>(null);
  const kind = previewKind(name, declared);
  useEffect(() => {
    if (!shown || !kind) return;
    const u = URL.createObjectURL(new Blob([content], { type: kind.type }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [shown, content]);
  if (!kind) return null;
  if (kind.kind === "pdf") {
    // Chromium blocks its PDF viewer in any sandboxed frame, and a PDF outside a sandbox could run its scripts:
    // no PDF preview until a PDF renderer runs inside the page's own worker (docs/web.md "Previews")
    return <p class="hint">No preview for PDFs here (the browser does not show them inside a sandbox): save the file
      and open it in your PDF viewer.</p>;
  }
  if (content.size > PREVIEW_MAX) return <p class="hint">No preview: the file is larger than {PREVIEW_MAX / 1024 / 1024} MiB (save it instead).</p>;
  if (!shown) {
    return <p><button type="button" onClick={() => setShown(true)}>Show a preview</button></p>;
  }
  return (
    <figure class="preview" data-preview={kind.kind}>
      {url && (kind.kind === "image"
        ? <img src={url} alt={`Preview of ${name}`} />
        : <iframe src={url} sandbox="" title={`Preview of ${name}`} referrerpolicy="no-referrer" />)}
      <figcaption class="hint">Preview of <span class="filename">{name}</span>, shown in a sandbox (no scripts run).</figcaption>
    </figure>
  );
}
