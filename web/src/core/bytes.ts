/** Byte helpers: concatenation, big-endian integers, hex and canonical base64.
 *  Pure functions over Uint8Array; no crypto here. */

export type Bytes = Uint8Array<ArrayBuffer>;

export function concat(...parts: Uint8Array[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const utf8 = (s: string): Bytes => new TextEncoder().encode(s) as Bytes;
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** Decode UTF-8, throwing TypeError on invalid input (a BOM is kept as U+FEFF). */
export const fromUtf8 = (b: Uint8Array): string => strict.decode(b);

export function u8(n: number): Bytes {
  return Uint8Array.of(n);
}
export function u16(n: number): Bytes {
  return Uint8Array.of(n >>> 8, n & 255);
}
export function u32(n: number): Bytes {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
export function u64(n: number | bigint): Bytes {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
export function fromHex(s: string): Bytes {
  if (s.length % 2 || /[^0-9a-fA-F]/.test(s)) throw new TypeError("not hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function b64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}
export function b64url(b: Uint8Array): string {
  return b64(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
/** Canonical standard base64 with padding (RFC 4648 §4): refuses anything that does not re-encode the same. */
export function fromB64(s: string): Bytes {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4) throw new TypeError("not canonical base64");
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64(out) !== s) throw new TypeError("not canonical base64");
  return out;
}
/** Canonical base64url without padding: refuses padding, `+`/`/` and non-zero trailing bits. */
export function fromB64url(s: string): Bytes {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new TypeError("not canonical base64url");
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  const out = fromB64Loose(std + "=".repeat((4 - (std.length % 4)) % 4));
  if (b64url(out) !== s) throw new TypeError("not canonical base64url");
  return out;
}
function fromB64Loose(s: string): Bytes {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A cursor over bytes: each read past the end calls `fail`. */
export class Reader {
  pos = 0;
  constructor(
    readonly data: Uint8Array,
    private readonly fail: () => Error,
  ) {}
  take(n: number): Bytes {
    if (this.pos + n > this.data.length) throw this.fail();
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }
  u32(): number {
    return new DataView(this.take(4).buffer).getUint32(0);
  }
  u64(): bigint {
    return new DataView(this.take(8).buffer).getBigUint64(0);
  }
  get done(): boolean {
    return this.pos === this.data.length;
  }
}
