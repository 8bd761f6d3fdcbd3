/** The download service worker (docs/web.md "Large files"): where the File System Access API is missing, the page
 *  hands it a ReadableStream (the file being decrypted or encrypted, segment by segment; or a MessagePort on which
 *  the crypto worker sends that stream, so no byte passes through the page) under a random ID and then
 *  opens /assets/c11-download/<ID> in a hidden frame; this worker answers that request with the stream as an
 *  attachment, so the browser's download manager writes it to disk as it comes and nothing is held in memory.
 *  If the stream errors (a segment or the signature fails, or the person cancels), the answer's body errors and the
 *  browser marks the download as failed: it never becomes a finished file. Built as assets/c11-sw.js (vite.config.ts),
 *  registered with the scope /assets/c11-download/ only, so it controls no page of the app. Imports nothing. */

const sw = self as unknown as ServiceWorkerGlobalScope;
const PREFIX = "/assets/c11-download/";
/** An offered stream waits this long for its request, then is cancelled. */
const UNCLAIMED_MS = 60_000;

interface Offer {
  stream: ReadableStream<Uint8Array>;
  name: string;
  port: MessagePort;
}
const offers = new Map<string, Offer>();

sw.addEventListener("install", () => void sw.skipWaiting());

sw.addEventListener("message", (e: ExtendableMessageEvent) => {
  const d = e.data as { op?: string; id?: unknown; name?: unknown; stream?: unknown } | null;
  if (d?.op !== "offer") return; // "ping": a message keeps this worker alive during a long download
  const [port, source] = e.ports;
  if (!port || typeof d.id !== "string" || !/^[0-9a-f]{32}$/.test(d.id) || typeof d.name !== "string") return;
  const id = d.id, name = d.name;
  const offer = (stream: ReadableStream<Uint8Array>) => {
    offers.set(id, { stream, name, port });
    port.postMessage({ offered: id });
  };
  if (d.stream instanceof ReadableStream) offer(d.stream as ReadableStream<Uint8Array>);
  else if (source) {
    // the stream comes on `source` straight from the crypto worker (the page relays no byte of it)
    source.onmessage = (m: MessageEvent<{ stream?: unknown }>) => {
      source.onmessage = null;
      if (m.data?.stream instanceof ReadableStream) offer(m.data.stream as ReadableStream<Uint8Array>);
    };
  } else return;
  setTimeout(() => {
    const o = offers.get(id);
    if (!o) return;
    offers.delete(id);
    void o.stream.cancel("the download was not requested");
  }, UNCLAIMED_MS);
});

/** Content-Disposition with the name as UTF-8 (RFC 6266 / 8187) and a plain ASCII fallback. */
function disposition(name: string): string {
  // eslint-disable-next-line no-control-regex
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

sw.addEventListener("fetch", (e: FetchEvent) => {
  const url = new URL(e.request.url);
  if (url.origin !== sw.location.origin || !url.pathname.startsWith(PREFIX)) return;
  const offer = offers.get(url.pathname.slice(PREFIX.length));
  if (!offer) {
    e.respondWith(new Response("no such download", { status: 404, headers: { "Content-Type": "text/plain; charset=utf-8" } }));
    return;
  }
  offers.delete(url.pathname.slice(PREFIX.length));
  offer.port.postMessage({ started: true });
  e.respondWith(
    new Response(offer.stream, {
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": disposition(offer.name),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
      },
    }),
  );
});
