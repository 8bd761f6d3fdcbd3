// Makes tests/vectors/shares/v2_js.json: share format v2 (docs/shards.md §2.1.2, HashiCorp Vault's GF(2^8)
// byte-wise Shamir: share = y bytes || x byte) made by the browser's library, the npm package
// shamir-secret-sharing 0.0.4 (Privy; audited by Cure53 and Zellic). The Python side (horcrux 1.3.1) must
// combine every subset of at least `threshold` shares to the secret and any smaller subset to another value
// (tests/shards/test_shares_v2.py). Run by hand from the repository root:
//   node tests/vectors/shares/generate_v2.mjs > tests/vectors/shares/v2_js.json
import { createHash } from "node:crypto";
import { combine, split } from "../../../web/node_modules/shamir-secret-sharing/esm/index.js";

const seeded = (n, size) => new Uint8Array(createHash("sha256").update(`c11 shares v2 vector ${n}`).digest()).slice(0, size);
const hex = (b) => Buffer.from(b).toString("hex");
const subsets = (n) => {
  const out = [];
  for (let m = 1; m < 1 << n; m++) {
    const s = [];
    for (let i = 0; i < n; i++) if (m & (1 << i)) s.push(i);
    if (s.length >= 2) out.push(s);
  }
  return out;
};

const cases = [];
for (const [n, [threshold, count, size]] of [[2, 3, 32], [2, 2, 32], [3, 5, 32], [5, 5, 32], [4, 6, 32], [2, 4, 1], [3, 3, 17]].entries()) {
  const secret = seeded(n, size);
  const shares = await split(secret, count, threshold);
  const combos = [];
  for (const s of subsets(count)) {
    const got = await combine(s.map((i) => shares[i]));
    const rebuilds = hex(got) === hex(secret);
    if (rebuilds !== s.length >= threshold) throw new Error(`subset ${s} of case ${n}: unexpected result`);
    combos.push({ shares: s, rebuilds });
  }
  cases.push({ threshold, count, secret: hex(secret), shares: shares.map(hex), subsets: combos });
}
console.log(JSON.stringify({ comment: "docs/shards.md §2.1.2; made by tests/vectors/shares/generate_v2.mjs",
  library: "shamir-secret-sharing 0.0.4 (npm)", cases }, null, 2));
