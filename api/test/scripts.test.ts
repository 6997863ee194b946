import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");

/** The operator scripts follow SEN_RPC_PORT and report a refused call by its decoded custom error, not raw selector bytes. */
describe("operator scripts", () => {
  let chain: ChainFixture;
  before(async () => {
    chain = await startChain({ serve: true });
  });
  after(async () => {
    await chain?.close();
  });

  it("npm run bank: the chain from SEN_RPC_PORT; a refused burn names the error and its values", async () => {
    const wallet = hardhatAccount(18).address;
    await chain.attest(wallet, "scripts-bank");
    const env = { ...process.env, SEN_RPC_PORT: new URL(chain.rpcUrl!).port };
    const ok = await run(process.execPath, ["scripts/bank.ts", "deposit", wallet, "7", "--deployment", chain.deploymentFile!], { cwd: ROOT, env });
    assert.match(ok.stdout, /minted 7 đồng .* status success; wallet holds 7 VNDS/);
    const refused = await run(process.execPath, ["scripts/bank.ts", "withdraw", wallet, "9", "--deployment", chain.deploymentFile!], { cwd: ROOT, env }).then(
      () => assert.fail("the burn of more than the wallet holds must fail"),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`withdraw refused: reverted: ERC7943InsufficientUnfrozenBalance\\(${wallet}, 9, 7\\)`, "i"));
    assert.doesNotMatch(refused.stderr, /at .*\.ts:\d+/, "no stack trace");
  });
});
