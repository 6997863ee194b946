import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { emptyRoot, fromHex, leafHash, MerkleTree, nodeHash, rootOf, verifyConsistency, verifyInclusion } from "./merkle.ts";

// The Certificate Transparency reference vectors (certificate-transparency merkle_tree_test,
// reused by transparency-dev/merkle): 8 leaves, the root at every size, some proofs.
const CT_DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) => Buffer.from(h, "hex"));
const CT_LEAVES = CT_DATA.map(leafHash);
const CT_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
].map(fromHex);
// [leaf index (0-based), tree size, proof]
const CT_INCLUSION: Array<[number, number, string[]]> = [
  [0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];
// [m, n, proof]
const CT_CONSISTENCY: Array<[number, number, string[]]> = [
  [1, 1, []],
  [1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];

const hex = (bs: Buffer[]) => bs.map((b) => b.toString("hex"));
const flip = (b: Uint8Array, bit = 0): Buffer => {
  const c = Buffer.from(b);
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
};
const leavesOf = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${salt}:${i}`)));
const treeOf = (leaves: Buffer[]) => {
  const t = new MerkleTree();
  for (const l of leaves) t.append(l);
  return t;
};

describe("merkle: RFC 9162 known vectors", () => {
  it("empty tree and one-leaf tree", () => {
    assert.equal(emptyRoot().toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.deepEqual(rootOf([]), emptyRoot());
    assert.deepEqual(new MerkleTree().root(), emptyRoot());
    // Leaf hash of the empty string is SHA-256(0x00), the size-1 root.
    assert.deepEqual(leafHash(new Uint8Array()), CT_ROOTS[1]);
    const t = treeOf([CT_LEAVES[0]]);
    assert.deepEqual(t.root(), CT_ROOTS[1]);
    assert.deepEqual(t.inclusionProof(0, 1), []);
    assert.ok(verifyInclusion(CT_LEAVES[0], 0, 1, [], CT_ROOTS[1]));
  });

  it("roots at every size 0..8, by the reference MTH and by the tree at any earlier size", () => {
    const t = treeOf(CT_LEAVES);
    for (let n = 0; n <= 8; n++) {
      assert.deepEqual(rootOf(CT_LEAVES.slice(0, n)), CT_ROOTS[n], `rootOf ${n}`);
      assert.deepEqual(t.root(n), CT_ROOTS[n], `tree.root(${n})`);
    }
    assert.deepEqual(nodeHash(CT_LEAVES[0], CT_LEAVES[1]), CT_ROOTS[2]);
  });

  it("inclusion proofs", () => {
    const t = treeOf(CT_LEAVES);
    for (const [i, n, proof] of CT_INCLUSION) {
      assert.deepEqual(hex(t.inclusionProof(i, n)), proof, `PATH(${i}, D[${n}])`);
      assert.ok(verifyInclusion(CT_LEAVES[i], i, n, proof.map(fromHex), CT_ROOTS[n]));
      assert.ok(!verifyInclusion(CT_LEAVES[i], i, n, proof.map(fromHex), CT_ROOTS[0]));
    }
  });

  it("consistency proofs", () => {
    const t = treeOf(CT_LEAVES);
    for (const [m, n, proof] of CT_CONSISTENCY) {
      assert.deepEqual(hex(t.consistencyProof(m, n)), proof, `PROOF(${m}, D[${n}])`);
      assert.ok(verifyConsistency(m, n, CT_ROOTS[m], CT_ROOTS[n], proof.map(fromHex)));
    }
  });
});

describe("merkle: properties", () => {
  const big = leavesOf(1100, 7);
  const bigTree = treeOf(big);

  it("root(n) equals the reference MTH of the first n leaves, for random n", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: big.length }), (n) => {
        assert.deepEqual(bigTree.root(n), rootOf(big.slice(0, n)));
      }),
      { numRuns: 200 },
    );
  });

  it("every inclusion proof verifies for all index < n <= 70, and fails when anything is changed", () => {
    const leaves = leavesOf(70);
    const t = treeOf(leaves);
    for (let n = 1; n <= 70; n++) {
      const root = t.root(n);
      for (let i = 0; i < n; i++) {
        const proof = t.inclusionProof(i, n);
        assert.ok(verifyInclusion(leaves[i], i, n, proof, root), `index ${i} size ${n}`);
        assert.ok(!verifyInclusion(flip(leaves[i], i % 256), i, n, proof, root), "flipped leaf");
        assert.ok(!verifyInclusion(leaves[i], i, n, proof, flip(root, 3)), "flipped root");
        if (n > 1) {
          assert.ok(!verifyInclusion(leaves[i], (i + 1) % n, n, proof, root), "other index");
          const k = i % proof.length;
          assert.ok(!verifyInclusion(leaves[i], i, n, proof.map((p, j) => (j === k ? flip(p, 17) : p)), root), "flipped proof hash");
          assert.ok(!verifyInclusion(leaves[i], i, n, proof.slice(0, -1), root), "short proof");
        }
        assert.ok(!verifyInclusion(leaves[i], i, n, [...proof, root], root), "long proof");
        if (n < 70) assert.ok(!verifyInclusion(leaves[i], i, n + 1, proof, t.root(n + 1)), "other size");
        assert.ok(!verifyInclusion(leaves[i], n, n, proof, root), "index = size");
      }
    }
  });

  it("every consistency proof verifies for all 1 <= m <= n <= 70, and fails when tampered", () => {
    const leaves = leavesOf(70, 3);
    const t = treeOf(leaves);
    const roots = Array.from({ length: 71 }, (_, n) => t.root(n));
    for (let n = 1; n <= 70; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = t.consistencyProof(m, n);
        assert.ok(verifyConsistency(m, n, roots[m], roots[n], proof), `m ${m} n ${n}`);
        assert.ok(!verifyConsistency(m, n, flip(roots[m], 5), roots[n], proof), "flipped first root");
        assert.ok(!verifyConsistency(m, n, roots[m], flip(roots[n], 9), proof), "flipped second root");
        if (proof.length > 0) {
          for (let k = 0; k < proof.length; k++) {
            assert.ok(!verifyConsistency(m, n, roots[m], roots[n], proof.map((p, j) => (j === k ? flip(p, 100) : p))), `flipped proof[${k}]`);
          }
          assert.ok(!verifyConsistency(m, n, roots[m], roots[n], proof.slice(1)), "short proof");
        }
        assert.ok(!verifyConsistency(m, n, roots[m], roots[n], [...proof, roots[n]]), "long proof");
        if (m < n) {
          assert.ok(!verifyConsistency(m + 1, n, roots[m + 1], roots[n], proof), "larger first size");
          if (m > 1) assert.ok(!verifyConsistency(m - 1, n, roots[m - 1], roots[n], proof), "smaller first size");
        }
      }
    }
  });

  it("the empty tree is consistent with every tree, with an empty proof", () => {
    const t = treeOf(leavesOf(5));
    assert.deepEqual(t.consistencyProof(0, 5), []);
    assert.ok(verifyConsistency(0, 5, emptyRoot(), t.root(5), []));
    assert.ok(!verifyConsistency(0, 5, t.root(1), t.root(5), []));
    assert.ok(!verifyConsistency(3, 2, t.root(3), t.root(2), []));
  });

  it("proofs from the stored tree verify against the reference MTH, for random sizes (fast-check)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, a, b) => {
        const leaves = big.slice(0, n);
        const i = a % n;
        const m = 1 + (b % n);
        assert.ok(verifyInclusion(leaves[i], i, n, bigTree.inclusionProof(i, n), rootOf(leaves)));
        assert.ok(verifyConsistency(m, n, rootOf(leaves.slice(0, m)), rootOf(leaves), bigTree.consistencyProof(m, n)));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects out-of-range sizes and indexes with a clear error", () => {
    const t = treeOf(leavesOf(4));
    assert.throws(() => t.root(5), /tree size 5 outside 0..4/);
    assert.throws(() => t.inclusionProof(4, 4), /leaf index 4/);
    assert.throws(() => t.consistencyProof(3, 2), /0 <= m <= n/);
    assert.throws(() => t.append(Buffer.alloc(31)), /32 bytes/);
  });
});
