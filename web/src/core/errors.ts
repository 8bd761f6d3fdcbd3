/** The error classes of docs/format.md §2.9, named as in Python's c11.errors.
 *  Every error is one line; `name` is the class name (explicit: bundlers minify class names). */

export class C11Error extends Error {
  static readonly c11name: string = "C11Error";
  constructor(message: string) {
    super(message);
    this.name = (new.target as unknown as { c11name: string }).c11name;
  }
}
export class NotC11FileError extends C11Error {
  static override readonly c11name: string = "NotC11FileError";
}
export class UnsupportedVersionError extends C11Error {
  static override readonly c11name: string = "UnsupportedVersionError";
}
export class FormatError extends C11Error {
  static override readonly c11name: string = "FormatError";
}
export class IntegrityError extends C11Error {
  static override readonly c11name: string = "IntegrityError";
}
export class TruncatedError extends IntegrityError {
  static override readonly c11name: string = "TruncatedError";
}
export class BadSignatureError extends C11Error {
  static override readonly c11name: string = "BadSignatureError";
}
export class NoMatchingKeyError extends C11Error {
  static override readonly c11name: string = "NoMatchingKeyError";
}
export class KeyFileError extends C11Error {
  static override readonly c11name: string = "KeyFileError";
}
export class WrongPassphraseError extends KeyFileError {
  static override readonly c11name: string = "WrongPassphraseError";
}
export class RecipientError extends C11Error {
  static override readonly c11name: string = "RecipientError";
}
export class BundleError extends FormatError {
  static override readonly c11name: string = "BundleError";
}
export class OnlinePolicyError extends C11Error {
  static override readonly c11name: string = "OnlinePolicyError";
}
export class ProofError extends C11Error {
  static override readonly c11name: string = "ProofError";
}

/** The class names of an error and its ancestors (to compare with a vector's expected class). */
export function errorNames(e: unknown): string[] {
  if (!(e instanceof C11Error)) return [e instanceof Error ? `${e.name}: ${e.message}` : String(e)];
  const out: string[] = [];
  for (let c = e.constructor as { c11name?: string }; c && c.c11name; c = Object.getPrototypeOf(c)) {
    if (!out.includes(c.c11name)) out.push(c.c11name);
  }
  return out;
}
