/** Runs the committed vectors under tests/vectors/ (served at `base`) with the browser core; one result per case.
 *  A case passes only when the outcome (plaintext hash, metadata, signer, or error class) is the recorded one. */

import { errorNames } from "../core/errors";
import { b64, fromHex, hex, fromB64, concat, utf8, type Bytes } from "../core/bytes";
import { parseKeyFile } from "../core/keyfile";
import type { Identity } from "../core/identity";
import { makeIdentity } from "../core/identity";
import { collect, decryptBlob, decryptStream } from "../core/file";
import { dearmor, isArmored } from "../core/armor";
import { parsePublicKey } from "../core/publickey";
import { derive } from "../core/keyschedule";
import { aesKey, ed25519Signer, sha256 } from "../core/primitives";
import { openCheckpoint, openNote, parseVerifierKey } from "../core/checkpoint";
import { sealSegment } from "../core/stream";
import { contentStatement, headerMac } from "../core/envelope";
import { encodeHeader, headerSignedMessage, parseHeader } from "../core/header";
import { canonicalJson, type Json } from "../core/canonicaljson";
import { emailHash } from "../core/emailhash";
import { leafHash, verifyInclusion, verifyConsistency } from "../core/merkle";
import { actorCommitment, checkOpening } from "../core/logentry";
import { followHandovers, openHandover } from "../core/handover";
import { openBundle } from "../core/bundle";
import type { KemName } from "../core/kem";
import { unwrapGroupKey, type GroupKeyRef } from "../core/groupkey";
import { V1_MESSAGE, dearmorRecoveryShard, encodeShard, makeShards, openShards, rebuildShards, shardFromB64 } from "../core/cloudkey";
import { combine as shamirCombine } from "shamir-secret-sharing";
import { applyRules, planToJson, policyFromJson } from "../core/orgrules";
import { orgPolicyDigest, parseOrgPolicyEntry, parsePolicyDocument } from "../core/orgpolicy";
import { groupKeyDigest, parseGroupKeyEntry, parseGroupKeyRecord } from "../core/groupkeylog";
import { checkAnswers, signedBytes as requestSignedBytes, verifyRequest, type DocRequest } from "../core/docrequest";

export interface Result {
  group: string;
  name: string;
  ok: boolean;
  detail: string;
}

type Case = Record<string, unknown>;

const fromUtf8Loose = (b: Uint8Array) => new TextDecoder().decode(b);

async function get(base: string, path: string): Promise<Bytes> {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`fetch ${path}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
const json = async (base: string, path: string) => JSON.parse(new TextDecoder().decode(await get(base, path)));

class Keys {
  private cache = new Map<string, Promise<Identity>>();
  constructor(private base: string, private passphrases: Record<string, string>, private dir: string) {}
  load(name: string): Promise<Identity> {
    if (!this.cache.has(name))
      this.cache.set(name, (async () => (await parseKeyFile(await get(this.base, this.dir + name), name)).unlock(this.passphrases[name]))());
    return this.cache.get(name)!;
  }
}

/** Decrypt one file (armored or binary) fully; returns info and the plaintext's SHA-256. */
async function open(data: Bytes, ids: Identity[], streaming = false) {
  const bytes = isArmored(data.subarray(0, 64)) ? dearmor(new TextDecoder().decode(data)) : data;
  const { info, plaintext } = streaming ? await decryptStream(new Blob([bytes]).stream(), ids) : await decryptBlob(new Blob([bytes]), ids);
  const pt = await collect(plaintext);
  return { info, pt, sha: hex(await sha256(pt)) };
}

function outcome(expect: string, e: unknown): [boolean, string] {
  const names = errorNames(e);
  return [names.includes(expect), `expected ${expect}, got ${names.join("<")}: ${(e as Error).message}`];
}

async function check(results: Result[], group: string, name: string, fn: () => Promise<[boolean, string]>) {
  try {
    const [ok, detail] = await fn();
    results.push({ group, name, ok, detail });
  } catch (e) {
    results.push({ group, name, ok: false, detail: `unexpected ${errorNames(e).join("<")}: ${(e as Error).message}` });
  }
}

async function fileCase(base: string, dir: string, keys: Keys, c: Case, streaming = false): Promise<[boolean, string]> {
  const data = await get(base, dir + (c.file as string));
  const expect = c.expect as string;
  try {
    const ids = await Promise.all((c.identities as string[]).map((k) => keys.load(k)));
    const { info, pt, sha } = await open(data, ids, streaming);
    if (expect !== "ok") return [false, `expected ${expect}, got success`];
    const bad: string[] = [];
    if (c.plaintext_sha256 && sha !== c.plaintext_sha256) bad.push("plaintext");
    if (c.plaintext_size !== undefined && pt.length !== c.plaintext_size) bad.push("size");
    const m = c.metadata as Record<string, unknown> | undefined;
    if (m) for (const [k, v] of Object.entries(m)) if ((info.metadata as unknown as Record<string, unknown>)[k] !== v) bad.push(`metadata.${k}`);
    if (c.author !== undefined && info.author !== c.author) bad.push("author");
    if (c.resharer !== undefined && info.resharer !== c.resharer) bad.push("resharer");
    if (c.rotated !== undefined && info.rotated !== c.rotated) bad.push("rotated");
    if (c.content_signed !== undefined && info.contentSigned !== c.content_signed) bad.push("content_signed");
    if (c.version === 1 && info.contentSigned) bad.push("v1 reported as content signed");
    return [bad.length === 0, bad.length ? `mismatch: ${bad.join(", ")}` : "ok"];
  } catch (e) {
    return outcome(expect, e);
  }
}

export async function runFiles(base: string, results: Result[]) {
  const d = await json(base, "files.json");
  const keys = new Keys(base, d.passphrases, "keys/");
  for (const c of d.cases as Case[]) await check(results, "files", c.file as string, () => fileCase(base, "", keys, c));
  // The version 1 bundle (format.md §10: written the way version 1 did): opens, content not signed.
  await check(results, "files", "files/v1/bundle.c11.zip", async () => {
    const b = await openBundle(new Blob([await get(base, "files/v1/bundle.c11.zip")]), [await keys.load("bob.key")]);
    const tree: Record<string, string> = {};
    for (const f of b.files) tree[f.path] = fromUtf8Loose(await collect(await f.open()));
    const ok = !b.info.contentSigned && b.info.version === 1 && tree["a.txt"] === "alpha\n" && tree["sub/b.txt"] === "bravo\n".repeat(300);
    return [ok, ok ? "ok" : JSON.stringify(Object.keys(tree))];
  });
  // The same vectors read as a stream (no seeking): the trailer is checked at the end.
  for (const c of d.cases as Case[]) await check(results, "files-stream", c.file as string, () => fileCase(base, "", keys, c, true));
}

export async function runSpec(base: string, results: Result[]) {
  const d = await json(base, "spec/spec.json");
  const keys = new Keys(base, { ...d.passphrases, "carol-passphrase.key": "vector passphrase" }, "keys/");
  for (const c of d.cases as Case[]) {
    const name = `${c.file} (${c.rule})`;
    await check(results, "spec", name, async () => {
      const expect = c.expect as string;
      const data = await get(base, "spec/" + (c.file as string));
      if (c.kind === "file" || c.kind === "armor") return fileCase(base, "spec/", keys, c);
      try {
        if (c.kind === "keyfile") {
          const kf = await parseKeyFile(data, c.file as string);
          const id = await kf.unlock(c.passphrase as string | undefined);
          if (expect !== "ok") return [false, "expected " + expect + ", got success"];
          return [!c.fingerprint || id.public.fingerprint === c.fingerprint, id.public.fingerprint];
        }
        if (c.kind === "publickey") {
          const pk = await parsePublicKey(new TextDecoder().decode(data));
          if (expect !== "ok") return [false, "expected " + expect + ", got success"];
          return [!c.fingerprint || pk.fingerprint === c.fingerprint, pk.fingerprint];
        }
        if (c.kind === "bundle") {
          const ids = await Promise.all((c.identities as string[]).map((k) => keys.load(k)));
          const b = await openBundle(new Blob([data]), ids);
          const tree: Record<string, string> = {};
          for (const f of b.files) tree[f.path] = hex(await sha256(await collect(await f.open())));
          if (expect !== "ok") return [false, "expected " + expect + ", got success"];
          const want = c.tree as Record<string, string>;
          const same = JSON.stringify(Object.entries(tree).sort()) === JSON.stringify(Object.entries(want).sort());
          return [same, same ? "ok" : `tree ${JSON.stringify(tree)}`];
        }
        return [false, `unknown kind ${c.kind}`];
      } catch (e) {
        return outcome(expect, e);
      }
    });
  }
  for (const e of d.email_hash as { email: string; email_hash: string }[])
    await check(results, "spec", `email_hash ${JSON.stringify(e.email)}`, async () => {
      const h = await emailHash(e.email);
      return [h === e.email_hash, h];
    });
  for (const e of d.canonical_json as { object: Json; encoding: string }[])
    await check(results, "spec", `canonical_json ${e.encoding}`, async () => {
      const s = canonicalJson(e.object);
      return [s === e.encoding, s];
    });
}

export async function runDeterministic(base: string, results: Result[]) {
  const d = await json(base, "deterministic.json");
  const ks = d.key_schedule;
  const fk = fromHex(ks.file_key), nonce = fromHex(ks.nonce);
  const labels: [string, Promise<Bytes>][] = [
    ["header_key", derive(fk, nonce, "header")],
    ["payload_key", derive(fk, nonce, "payload")],
    ["metadata_key", derive(fk, nonce, "metadata")],
    ["bundle_entry_key(entry_id=00..0f)", derive(fk, nonce, "bundle entry", Uint8Array.from({ length: 16 }, (_, i) => i))],
    ["commitment", derive(fk, nonce, "commitment")],
  ];
  for (const [k, p] of labels) await check(results, "deterministic", `key_schedule ${k}`, async () => [hex(await p) === ks[k], hex(await p)]);
  for (const [i, p] of (d.payloads as Case[]).entries())
    await check(results, "deterministic", `payload ${i} (${(p.plaintext as string).length / 2} bytes)`, async () => {
      const key = await aesKey(fromHex(p.key as string));
      const pt = fromHex(p.plaintext as string);
      const s = p.segment_size as number;
      const segs: Bytes[] = [];
      const n = Math.max(1, Math.ceil(pt.length / s));
      for (let j = 0; j < n; j++) segs.push(await sealSegment(key, j, j === n - 1, pt.subarray(j * s, (j + 1) * s)));
      const hashes = await Promise.all(segs.map((x) => sha256(x).then(hex)));
      const ok = hex(concat(...segs)) === p.payload && JSON.stringify(hashes) === JSON.stringify(p.segment_hashes);
      return [ok, ok ? "ok" : "payload or hashes differ"];
    });
  for (const k of d.public_keys as Case[])
    await check(results, "deterministic", `public key ${k.kem}`, async () => {
      const id = await makeIdentity("", k.kem as KemName, fromHex(k.enc_seed as string), fromHex(k.sig_seed as string));
      const parsed = await parsePublicKey(k.public as string);
      const sigFp = hex((await sha256(concat(utf8("c11/v1 key id\x00ed25519\x00"), id.public.sig!))).slice(0, 16));
      const ok = id.public.line === k.public && id.public.fingerprint === k.fingerprint && parsed.fingerprint === k.fingerprint && sigFp === k.signing_fingerprint;
      return [ok, ok ? "ok" : `line/fingerprint differ: ${id.public.fingerprint}`];
    });
  const sh = d.signed_header;
  await check(results, "deterministic", "signed header (encoding, MAC, signature, statement, trailer)", async () => {
    const raw = fromHex(sh.header);
    const { header } = parseHeader(raw);
    const author = await makeIdentity("alice@example.com", "x25519", new Uint8Array(32), fromHex(sh.author_seed));
    const mac = hex(await headerMac(fromHex(sh.file_key), header));
    const sig = hex(await author.signer.sign(headerSignedMessage(header)));
    const last = (d.payloads as Case[])[4]!;
    const list = concat(...(last.segment_hashes as string[]).map(fromHex));
    const st = await contentStatement(header, list.length / 32, await sha256(list));
    const n = new Uint8Array(8);
    new DataView(n.buffer).setBigUint64(0, BigInt(list.length / 32));
    const trailer = hex(concat(list, n, await author.signer.sign(st)));
    const bad = [
      hex(encodeHeader(header)) !== sh.header && "encoding",
      mac !== sh.mac && "mac",
      sig !== sh.header_signature && "header signature",
      hex(st) !== sh.content_statement && "content statement",
      trailer !== sh.trailer && "trailer",
    ].filter(Boolean);
    return [bad.length === 0, bad.length ? bad.join(", ") : "ok"];
  });
}

export async function runMerkle(base: string, results: Result[], files: string[]) {
  const b64 = (s: string | null) => (s === null ? new Uint8Array() : fromB64(s));
  for (const f of files) {
    await check(results, "merkle-rfc6962", f, async () => {
      const c = await json(base, f);
      let ok: boolean;
      try {
        if (f.includes("/inclusion/"))
          await verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), (c.proof ?? []).map(b64), b64(c.root));
        else await verifyConsistency(c.size1, c.size2, (c.proof ?? []).map(b64), b64(c.root1), b64(c.root2));
        ok = !c.wantErr;
      } catch (e) {
        ok = !!c.wantErr;
        if (!ok) return [false, `refused a good proof: ${(e as Error).message}`];
      }
      return [ok, ok ? "ok" : "accepted a bad proof"];
    });
  }
}


export async function runGroups(base: string, results: Result[]) {
  const d = await json(base, "groups/groups.json");
  const keys = new Keys(base, {}, "groups/");
  for (const c of d.cases as Case[])
    await check(results, "groups", c.name as string, async () => {
      const expect = c.expect as string;
      try {
        const member = await keys.load(d.member_key);
        const id = await unwrapGroupKey(c.wrapped as string, c.ref as GroupKeyRef, [member], await parsePublicKey(d.group.public));
        if (expect !== "ok") return [false, `expected ${expect}, got success`];
        const ok = id.public.fingerprint === d.group.fingerprint && hex(id.encSeed) === d.group.enc_seed && hex(id.sigSeed) === d.group.sig_seed;
        return [ok, ok ? "ok" : "another identity"];
      } catch (e) {
        return outcome(expect, e);
      }
    });
}

/** Sign a note with a `PRIVATE+KEY+…` signer key string (test-only: the browser never holds a log key). */
async function signNote(text: string, signerKeys: string[]): Promise<string> {
  let out = text + "\n";
  for (const sk of signerKeys) {
    const [, , name, hash] = sk.split("+") as [string, string, string, string];
    const seed = fromB64(sk.slice(sk.indexOf(`+${hash}+`) + 10));
    const signer = await ed25519Signer(seed.subarray(1));
    const id = Uint8Array.from(hash.match(/../g)!.map((x) => parseInt(x, 16)));
    out += `\u2014 ${name} ${b64(concat(id, await signer.sign(utf8(text))))}\n`;
  }
  return out;
}

export async function runCheckpoints(base: string, results: Result[]) {
  const g = await json(base, "go-sumdb-note.json");
  const peter = await parseVerifierKey(g.peter_verifier_key);
  const enoch = await parseVerifierKey(g.enoch_verifier_key);
  const refused = async (fn: () => Promise<unknown>): Promise<[boolean, string]> => {
    try {
      await fn();
      return [false, "accepted"];
    } catch (e) {
      return outcome("ProofError", e);
    }
  };
  await check(results, "checkpoints", "go note: peter signs deterministically", async () => {
    const s = await signNote(g.text, [g.peter_signer_key]);
    return [s === g.peter_signed, s];
  });
  await check(results, "checkpoints", "go note: opens with peter's key", async () => {
    const n = await openNote(g.peter_signed, [peter]);
    return [n.text === g.text && n.signatures.length === 1, "ok"];
  });
  await check(results, "checkpoints", "go note: two signers, both known", async () => {
    const n = await openNote(g.text + "\n" + g.peter_signature_line + g.enoch_signature_line, [peter, enoch]);
    return [n.signatures.length === 2, String(n.signatures.length)];
  });
  await check(results, "checkpoints", "go note: only an unknown key signed", () => refused(() => openNote(g.peter_signed, [enoch])));
  for (const [i, k] of (g.bad_verifier_keys as string[]).entries())
    await check(results, "checkpoints", `go note: bad verifier key ${i}`, () => refused(() => parseVerifierKey(k)));
  for (const [i, m] of (g.malformed_notes as string[]).entries())
    await check(results, "checkpoints", `go note: malformed note ${i}`, () => refused(() => openNote(m, [peter])));
  await check(results, "checkpoints", "go note: invalid UTF-8", () => refused(() => openNote(concat(Uint8Array.of(0xff), utf8(g.peter_signed)), [peter])));
  const t = await json(base, "trillian-examples-checkpoint.json");
  await check(results, "checkpoints", "sum.golang.org checkpoint", async () => {
    const cp = await openCheckpoint(t.sumdb_checkpoint, t.sumdb_verifier_key, t.sumdb_origin);
    return [cp.size === BigInt(t.sumdb_size), String(cp.size)];
  });
  await check(results, "checkpoints", "sum.golang.org checkpoint: origin must match", () => refused(() => openCheckpoint(t.sumdb_checkpoint, t.sumdb_verifier_key)));
  const k = t.keys;
  const body = "Log\n5\n" + b64(new Uint8Array(32).fill(7)) + "\n";
  await check(results, "checkpoints", "log checkpoint signed by the log key, cosigned", async () => {
    const cp = await openCheckpoint(await signNote(body, [k.log_signer, k.known1_signer, k.unknown_signer]), k.log_verifier, undefined, [k.known1_verifier]);
    return [cp.size === 5n && cp.origin === "Log", "ok"];
  });
  await check(results, "checkpoints", "log checkpoint signed by another key", () => refused(async () => openCheckpoint(await signNote(body, [k.unknown_signer]), k.log_verifier)));
  await check(results, "checkpoints", "log checkpoint with a bad cosignature", () =>
    refused(async () => openCheckpoint((await signNote(body, [k.log_signer])) + (await signNote(body + "x\n", [k.known1_signer])).split("\n\n")[1], k.log_verifier, undefined, [k.known1_verifier])),
  );
  await check(results, "checkpoints", "checkpoint with a non-canonical size", () => refused(async () => openCheckpoint(await signNote("Log\n05\n" + b64(new Uint8Array(32)) + "\n", [k.log_signer]), k.log_verifier)));
}

/** log-handover/vectors.json (docs/log.md §9): the valid hand-over opens with the old key and names the new one; every
 *  invalid one is refused; a chain starting at the old key reaches the new key. */
export async function runLogHandover(base: string, results: Result[]) {
  const d = await json(base, "log-handover/vectors.json");
  await check(results, "log-handover", "valid hand-over", async () => {
    const h = await openHandover(d.note as string, d.old_verifier as string);
    const chain = await followHandovers(d.old_verifier as string, [d.note as string]);
    const ok = h.origin === d.origin && h.old === d.old_verifier && h.next === d.new_verifier && chain.length === 1 && chain[0]!.next === d.new_verifier;
    return [ok, ok ? "ok" : "wrong origin or keys"];
  });
  for (const c of d.invalid as Case[])
    await check(results, "log-handover", `refused: ${c.why as string}`, async () => {
      try {
        await openHandover(c.note as string, d.old_verifier as string);
        return [false, "accepted"];
      } catch (e) {
        return [errorNames(e)[0] === "ProofError", errorNames(e).join("<")];
      }
    });
}

export async function runLogActor(base: string, results: Result[]) {
  const d = await json(base, "log-actor/vectors.json");
  for (const c of d.cases as Case[])
    await check(results, "log-actor", c.name as string, async () => {
      const nonce = fromHex(c.nonce as string);
      const actor = await actorCommitment(nonce, c.private as string);
      const person = c.email === null ? null : await emailHash(c.email as string);
      await checkOpening(utf8(c.entry as string), nonce, c.private as string, person);
      const leaf = hex(await leafHash(utf8(c.entry as string)));
      const ok = actor === c.actor && person === c.person && leaf === c.leaf_hash;
      let refused = false;
      try {
        await checkOpening(utf8(c.entry as string), fromHex((c.nonce as string).replace(/^../, (x) => (x === "00" ? "01" : "00"))), c.private as string, person);
      } catch {
        refused = true;
      }
      return [ok && refused, ok ? (refused ? "ok" : "a wrong nonce was accepted") : "actor, person or leaf hash differ"];
    });
}

/** shares/shares.json: every cloud key's shards parse, open with the recorded K to the recorded identity, the
 *  recovery file is one of them, and a tampered shard fails. (The Shamir cases need §2.1's field: not in the browser.) */
export async function runShares(base: string, results: Result[]) {
  const d = await json(base, "shares/shares.json");
  for (const [i, c] of (d.cloud_keys as Case[]).entries()) {
    await check(results, "shares", `cloud key ${i} (${c.kem}): shards open with K`, async () => {
      const shards = await Promise.all((c.shards as string[]).map(shardFromB64));
      const id = await openShards(shards.slice(0, 2), fromHex(c.k as string), c.user_id as string);
      const ok = id.public.fingerprint === c.fingerprint && hex(id.encSeed) === c.enc_seed && hex(id.sigSeed) === c.sig_seed
        && id.public.line === c.public_key && id.label === c.label && shards.map((s) => s.index).join() === "1,2,3" && hex(shards[0]!.splitId) === c.split_id;
      return [ok, ok ? "ok" : "another identity"];
    });
    await check(results, "shares", `cloud key ${i}: recovery shard file`, async () => {
      const r = await dearmorRecoveryShard(c.recovery_armor as string);
      const all = await Promise.all((c.shards as string[]).map(shardFromB64));
      return [all.some((s) => s.index === r.index && hex(s.share) === hex(r.share)), `index ${r.index}`];
    });
    await check(results, "shares", `cloud key ${i}: wrong K, another account, tampered seal`, async () => {
      const shards = await Promise.all((c.shards as string[]).map(shardFromB64));
      const k = fromHex(c.k as string);
      const bad = fromHex(c.k as string);
      bad[0]! ^= 1;
      const outcomes: string[] = [];
      for (const [s, key, user] of [
        [shards, bad, undefined],
        [shards, k, "someone-else"],
        [[{ ...shards[0]!, sealed: Uint8Array.from(shards[0]!.sealed, (x, j) => (j === 5 ? x ^ 1 : x)) }, shards[1]!], k, undefined],
      ] as const) {
        try {
          await openShards([...s], key, user);
          outcomes.push("accepted");
        } catch (e) {
          outcomes.push(errorNames(e)[0]!);
        }
      }
      return [outcomes.every((o) => o === "IntegrityError"), outcomes.join(",")];
    });
  }
}

/** shares/v2_js.json (made by the npm library) and v2_python.json (made by horcrux): every subset of two or more
 *  shares combines in the browser to the secret exactly when it has `threshold` shares; a repeated share is refused.
 *  v2_python's cloud keys rebuild from any two shards (no K given), seal to the same bytes when made here with the
 *  recorded K, split ID and nonce, and refuse tampering; v1 shards (shares.json) are refused with the upgrade hint. */
export async function runSharesV2(base: string, results: Result[]) {
  for (const file of ["v2_js.json", "v2_python.json"]) {
    const d = await json(base, `shares/${file}`);
    for (const c of d.cases as Case[]) {
      await check(results, "shares-v2", `${file} ${c.threshold as number} of ${c.count as number}, ${(c.secret as string).length / 2} bytes`, async () => {
        const shares = (c.shares as string[]).map(fromHex);
        const bad: string[] = [];
        for (const s of c.subsets as { shares: number[]; rebuilds: boolean }[]) {
          const got = hex(await shamirCombine(s.shares.map((i) => new Uint8Array(shares[i]!))));
          if ((got === c.secret) !== s.rebuilds || s.rebuilds !== s.shares.length >= (c.threshold as number)) bad.push(s.shares.join("+"));
        }
        let dup = false;
        try {
          await shamirCombine([new Uint8Array(shares[0]!), new Uint8Array(shares[0]!)]);
        } catch {
          dup = true;
        }
        return [bad.length === 0 && dup, bad.length ? `subsets ${bad.join(", ")}` : dup ? "ok" : "a repeated share was combined"];
      });
    }
  }
  const d = await json(base, "shares/v2_python.json");
  for (const [i, c] of (d.cloud_keys as Case[]).entries()) {
    await check(results, "shares-v2", `v2 cloud key ${i} (${c.kem}): any two shards rebuild it`, async () => {
      const shards = await Promise.all((c.shards as string[]).map(shardFromB64));
      const wrong: string[] = [];
      for (const [a, b] of [[0, 1], [1, 0], [0, 2], [2, 1]] as const) {
        const id = await rebuildShards([shards[a]!, shards[b]!], c.user_id as string);
        if (id.public.fingerprint !== c.fingerprint || hex(id.encSeed) !== c.enc_seed || hex(id.sigSeed) !== c.sig_seed) wrong.push(`${a}+${b}`);
      }
      const r = await dearmorRecoveryShard(c.recovery_armor as string);
      const ok = wrong.length === 0 && shards.every((s) => s.version === 2) && hex(encodeShard(r)) === hex(encodeShard(shards[2]!));
      return [ok, ok ? "ok" : `pairs ${wrong.join(",")}`];
    });
    await check(results, "shares-v2", `v2 cloud key ${i}: made here with the same K, split and nonce: the same seal`, async () => {
      const id = await makeIdentity(c.label as string, c.kem as KemName, fromHex(c.enc_seed as string), fromHex(c.sig_seed as string));
      const made = await makeShards(id, c.user_id as string, BigInt(c.created as number),
        { k: fromHex(c.k as string), splitId: fromHex(c.split_id as string), nonce: fromHex(c.nonce as string) });
      const theirs = await shardFromB64((c.shards as string[])[0]!);
      const back = await rebuildShards([made[2]!, made[0]!], c.user_id as string);
      const ok = hex(made[0]!.sealed) === hex(theirs.sealed) && made.every((s) => s.share.length === 33) && back.public.fingerprint === c.fingerprint;
      return [ok, ok ? "ok" : "another seal"];
    });
    await check(results, "shares-v2", `v2 cloud key ${i}: tampered share, another account, v1 shards`, async () => {
      const shards = await Promise.all((c.shards as string[]).map(shardFromB64));
      const old = await Promise.all(((await json(base, "shares/shares.json")).cloud_keys[0].shards as string[]).map(shardFromB64));
      const outcomes: string[] = [];
      for (const [s, user] of [
        [[shards[0]!, { ...shards[1]!, share: Uint8Array.from(shards[1]!.share, (x, j) => (j === 3 ? x ^ 1 : x)) }], undefined],
        [shards.slice(0, 2), "someone-else"],
        [[shards[0]!, shards[0]!], undefined],
        [old.slice(0, 2), undefined],
      ] as const) {
        try {
          await rebuildShards([...s], user);
          outcomes.push("accepted");
        } catch (e) {
          outcomes.push(errorNames(e)[0]! + ((e as Error).message === V1_MESSAGE ? ":v1" : ""));
        }
      }
      const ok = outcomes.join() === "IntegrityError,IntegrityError,FormatError,FormatError:v1";
      return [ok, outcomes.join(",")];
    });
  }
}

/** orgrules/orgrules.json: each case's plan (recipients and added keys by fingerprint, in order; online; expiry)
 *  equals the recorded one, computed by the browser's port of the rules (core/orgrules.ts); refusals by class. */
export async function runOrgRules(base: string, results: Result[]) {
  const d = await json(base, "orgrules/orgrules.json");
  const errors: Record<string, string> = { "expiry-without-online": "UsageError" };
  for (const c of d.cases as Case[]) {
    await check(results, "orgrules", c.description as string, async () => {
      const policies = await Promise.all((c.policies as unknown[]).map(policyFromJson));
      const recipients = await Promise.all((c.recipients as string[]).map(parsePublicKey));
      const o = c.options as { online: boolean; expires: string | null };
      try {
        const got = canonicalJson(planToJson(applyRules(policies, recipients, { online: o.online, expires: o.expires })) as Json);
        if (c.error !== undefined) return [false, `expected ${c.error as string}, got a plan`];
        const want = canonicalJson(c.expect as Json);
        return [got === want, got === want ? "ok" : `got ${got}`];
      } catch (e) {
        if (c.error === undefined) throw e;
        return outcome(errors[c.error as string] ?? String(c.error), e);
      }
    });
  }
}

/** orgpolicy/vectors.json: each policy document parses back to its fields, its digest, entry and leaf hash are the
 *  recorded ones (core/orgpolicy.ts); every bad document and entry is refused (entries by ProofError). */
export async function runOrgPolicy(base: string, results: Result[]) {
  const d = await json(base, "orgpolicy/vectors.json");
  for (const c of d.cases as Case[]) {
    const f = c.fields as Record<string, Json>;
    await check(results, "orgpolicy", `${f.name as string} ${f.seq as number}`, async () => {
      const doc = await parsePolicyDocument(c.document as string);
      const back = canonicalJson({ default_expiry_days: doc.policy.defaultExpiryDays, name: doc.policy.name, org: doc.org,
        recovery_keys: doc.policy.recoveryKeys.map((k) => k.line), require_online: doc.policy.requireOnline, seq: doc.seq,
        type: "c11-org-policy/v1" });
      if (back !== c.document) return [false, `document re-encodes as ${back}`];
      const digest = await orgPolicyDigest(c.document as string);
      if (digest !== c.digest) return [false, `digest ${digest}`];
      const e = parseOrgPolicyEntry(c.entry as string);
      if (e.org !== f.org || e.seq !== f.seq || e.digest !== c.digest) return [false, "entry fields differ"];
      const leaf = hex(await leafHash(utf8(c.entry as string)));
      return [leaf === c.leaf_hash, leaf === c.leaf_hash ? "ok" : `leaf hash ${leaf}`];
    });
  }
  for (const b of d.bad_documents as Case[]) {
    await check(results, "orgpolicy", `bad document: ${b.why as string}`, async () => {
      try {
        await parsePolicyDocument(b.document as string);
        return [false, "accepted"];
      } catch (e) {
        return [errorNames(e).includes("C11Error"), `expected a C11Error, got ${errorNames(e).join("<")}`];
      }
    });
  }
  for (const b of d.bad_entries as Case[]) {
    await check(results, "orgpolicy", `bad entry: ${b.why as string}`, async () => {
      try {
        parseOrgPolicyEntry(b.entry as string);
        return [false, "accepted"];
      } catch (e) {
        return outcome("ProofError", e);
      }
    });
  }
}

/** groupkeylog/vectors.json: each group key record parses back to its fields, its digest, entry and leaf hash are the
 *  recorded ones (core/groupkeylog.ts); every bad record and entry is refused (entries by ProofError). */
export async function runGroupKeyLog(base: string, results: Result[]) {
  const d = await json(base, "groupkeylog/vectors.json");
  for (const c of d.cases as Case[]) {
    const f = c.fields as Record<string, Json>;
    await check(results, "groupkeylog", `${f.name as string} ${f.version as number}`, async () => {
      const r = await parseGroupKeyRecord(c.record as string);
      const back = canonicalJson({ group: r.group, name: r.name, org: r.org, public_key: r.publicKey.line,
        type: "c11-group-key-record/v1", version: r.version });
      if (back !== c.record) return [false, `record re-encodes as ${back}`];
      const digest = await groupKeyDigest(c.record as string);
      if (digest !== c.digest) return [false, `digest ${digest}`];
      const e = parseGroupKeyEntry(c.entry as string);
      if (e.org !== f.org || e.group !== f.group || e.version !== f.version || e.digest !== c.digest) return [false, "entry fields differ"];
      const leaf = hex(await leafHash(utf8(c.entry as string)));
      return [leaf === c.leaf_hash, leaf === c.leaf_hash ? "ok" : `leaf hash ${leaf}`];
    });
  }
  for (const b of d.bad_records as Case[]) {
    await check(results, "groupkeylog", `bad record: ${b.why as string}`, async () => {
      try {
        await parseGroupKeyRecord(b.record as string);
        return [false, "accepted"];
      } catch (e) {
        return [errorNames(e).includes("C11Error"), `expected a C11Error, got ${errorNames(e).join("<")}`];
      }
    });
  }
  for (const b of d.bad_entries as Case[]) {
    await check(results, "groupkeylog", `bad entry: ${b.why as string}`, async () => {
      try {
        parseGroupKeyEntry(b.entry as string);
        return [false, "accepted"];
      } catch (e) {
        return outcome("ProofError", e);
      }
    });
  }
}

/** requests/requests.json: the signed bytes' digest, the requester's signature (and its refusal once the request
 *  changes), the good answers accepted and each bad one refused naming its field (core/docrequest.ts). */
export async function runRequests(base: string, results: Result[]) {
  const d = await json(base, "requests/requests.json");
  const request = d.request as unknown as DocRequest;
  const key = await parsePublicKey(d.requester_key as string);
  await check(results, "requests", "signed bytes", async () => {
    const got = hex(await sha256(requestSignedBytes(request)));
    return [got === d.signed_bytes_sha256, got];
  });
  await check(results, "requests", "signature", async () => {
    await verifyRequest(request, d.signature as string, key);
    return [true, "ok"];
  });
  await check(results, "requests", "changed request refused", async () => {
    try {
      await verifyRequest({ ...request, keys: request.keys.slice(0, 1) }, d.signature as string, key);
      return [false, "expected BadSignatureError"];
    } catch (e) {
      return outcome("BadSignatureError", e);
    }
  });
  await check(results, "requests", "good answers", async () => {
    await checkAnswers(request, d.answers_good as Record<string, unknown>);
    return [true, "ok"];
  });
  for (const [i, c] of (d.answers_bad as Case[]).entries()) {
    await check(results, "requests", `bad answers ${i} (${c.field as string})`, async () => {
      try {
        await checkAnswers(request, c.document as Record<string, unknown>);
        return [false, "expected FormatError"];
      } catch (e) {
        const [ok, detail] = outcome("FormatError", e);
        return [ok && (e as Error).message.startsWith(`${c.field as string}: `), detail];
      }
    });
  }
}
