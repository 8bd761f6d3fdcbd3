/** Offering decrypted content as a download: only whole, authenticated content becomes a blob: link. */

/** A file name safe to offer: the last path part of `name`, without control or reserved characters. */
export function safeName(name: string | null | undefined, fallback: string): string {
  const base = (name ?? "").split(/[\\/]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_").replace(/^\.+/, "").trim().slice(0, 200);
  return clean || fallback;
}

/** Read a whole stream into a Blob; if the stream fails (authentication), nothing is kept. */
export async function toBlob(stream: ReadableStream<Uint8Array>, type: string): Promise<Blob> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (e) {
    parts.length = 0;
    throw e;
  }
  return new Blob(parts as BlobPart[], { type });
}
