/** An identity (docs/format.md §3): a label and two 32-byte seeds; every public value derives from them.
 *  The seeds stay inside this object (and the worker that holds it); nothing here logs them. */

import type { Bytes } from "./bytes";
import { RecipientError } from "./errors";
import { hpkeOpen, kemPublic, type KemName } from "./kem";
import { makePublicKey, type PublicKey } from "./publickey";
import { ed25519Signer, randomBytes, type Signer } from "./primitives";

export interface Identity {
  readonly label: string;
  readonly kem: KemName;
  readonly encSeed: Bytes;
  readonly sigSeed: Bytes;
  readonly public: PublicKey;
  readonly signer: Signer;
  /** HPKE Open of a recipient stanza's sealed part with this identity's private key. */
  open(sealed: Uint8Array, info: Uint8Array): Promise<Bytes>;
}

export async function makeIdentity(label: string, kem: KemName, encSeed: Bytes, sigSeed: Bytes): Promise<Identity> {
  if (encSeed.length !== 32 || sigSeed.length !== 32) throw new RecipientError("seeds must be 32 bytes");
  const signer = await ed25519Signer(sigSeed);
  const pub = await makePublicKey(kem, await kemPublic(kem, encSeed), signer.publicKey);
  return {
    label,
    kem,
    encSeed,
    sigSeed,
    public: pub,
    signer,
    open: (sealed, info) => hpkeOpen(kem, encSeed, sealed, info),
  };
}

export function generateIdentity(label: string, kem: KemName = "mlkem768x25519"): Promise<Identity> {
  return makeIdentity(label, kem, randomBytes(32), randomBytes(32));
}
