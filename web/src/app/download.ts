/** Offering content as a download: only whole, authenticated content becomes a blob: link (the worker's Blob). */

/** A file name safe to offer: the last path part of `name`, without control or reserved characters. */
export function safeName(name: string | null | undefined, fallback: string): string {
  const base = (name ?? "").split(/[\\/]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, "_").replace(/^\.+/, "").trim().slice(0, 200);
  return clean || fallback;
}
