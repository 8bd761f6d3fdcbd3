/** PDF previews (docs/web.md "Previews"): pdf.js (pdfjs-dist, Apache-2.0, loaded only when a PDF preview is asked
 *  for) parses the document in its own worker, served from this origin, and draws each page into a `<canvas>` as
 *  pixels. Nothing of the PDF becomes markup: no text layer, no annotation layer (no links, no forms), no PDF
 *  JavaScript (pdf.js runs none without its scripting sandbox, which is not loaded), no `eval` (pdf.js 6 has no such
 *  path; the CSP has no 'unsafe-eval' either), no fetches (no font or image-decoder URLs given: fonts not embedded in the
 *  file are drawn with pdf.js's built-in substitutes). */

/** At most this many pages are drawn (save the file to read the rest). */
export const PDF_PAGES_MAX = 20;
/** Pages are drawn this many CSS pixels wide at most (times the device pixel ratio, at most 2). */
const WIDTH = 800;

export interface PdfDoc {
  pages: number;
  /** Draw page `n` (1-based) into `canvas`, fitting WIDTH. */
  draw(n: number, canvas: HTMLCanvasElement): Promise<void>;
  destroy(): Promise<void>;
}

/** Parse `data` (a whole, authenticated file) with pdf.js; rejects with pdf.js's error for a malformed PDF. */
export async function openPdf(data: Blob): Promise<PdfDoc> {
  const [pdfjs, worker] = await Promise.all([import("pdfjs-dist"), import("pdfjs-dist/build/pdf.worker.min.mjs?worker&url")]);
  pdfjs.GlobalWorkerOptions.workerSrc = worker.default;
  const task = pdfjs.getDocument({
    data: new Uint8Array(await data.arrayBuffer()),
    enableXfa: false,
    stopAtErrors: false,
    disableFontFace: false,
    useSystemFonts: false,
  });
  const doc = await task.promise;
  return {
    pages: doc.numPages,
    async draw(n, canvas) {
      const page = await doc.getPage(n);
      const base = page.getViewport({ scale: 1 });
      const ratio = Math.min(2, window.devicePixelRatio || 1);
      const scale = Math.min(2, WIDTH / base.width);
      const view = page.getViewport({ scale: scale * ratio });
      canvas.width = Math.floor(view.width);
      canvas.height = Math.floor(view.height);
      canvas.style.aspectRatio = `${view.width} / ${view.height}`;
      await page.render({ canvas, viewport: view, annotationMode: pdfjs.AnnotationMode.DISABLE }).promise;
      page.cleanup();
    },
    destroy: () => task.destroy(),
  };
}
