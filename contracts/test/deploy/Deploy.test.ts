import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import hre from "hardhat";
import { createPublicClient, http, type Address } from "viem";
import type { SenDeployment } from "../../../scripts/deploy.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

/**
 * The public-testnet path cannot be reached from here, so this proves the same path
 * (Ignition modules over JSON-RPC, via scripts/deploy.ts) against a `hardhat node`.
 */
describe("deployment over JSON-RPC (hardhat node + Ignition)", () => {
  let node: ChildProcess;
  let rpc: string;
  const out = mkdtempSync(path.join(tmpdir(), "sen-deploy-"));
  const deploymentId = `test-${process.pid}`;

  before(async () => {
    const port = await freePort();
    rpc = `http://127.0.0.1:${port}`;
    node = spawn(process.execPath, [path.join(ROOT, "node_modules/hardhat/dist/src/cli.js"), "node", "--port", String(port), "--hostname", "127.0.0.1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("hardhat node did not start")), 60_000);
      node.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("Started HTTP")) {
          clearTimeout(timer);
          resolve();
        }
      });
      node.once("exit", (code) => reject(new Error(`hardhat node exited with ${code}`)));
    });
  });

  after(() => {
    node?.kill("SIGKILL");
    rmSync(out, { recursive: true, force: true });
    rmSync(path.join(hre.config.paths.ignition, "deployments", deploymentId), { recursive: true, force: true });
  });

  it("deploys the whole set, wired, and writes deployments/<chainId>.json", async () => {
    const r = await run(process.execPath, ["scripts/deploy.ts", "--network", "localhost", "--rpc", rpc, "--out", out, "--deployment-id", deploymentId]);
    assert.equal(r.code, 0, r.out);
    const d = JSON.parse(readFileSync(path.join(out, "31337.json"), "utf8")) as SenDeployment;
    assert.equal(d.chainId, 31337);
    const client = createPublicClient({ transport: http(rpc) });
    for (const address of Object.values(d.contracts)) {
      assert.ok(((await client.getCode({ address })) ?? "0x").length > 2, `no code at ${address}`);
    }
    const read = async (contract: string, address: Address, functionName: string, args: unknown[]) => {
      const { abi } = await hre.artifacts.readArtifact(contract);
      return client.readContract({ address, abi, functionName, args });
    };
    assert.equal(await read("SettlementVault", d.contracts.SettlementVault, "isListed", [d.contracts.BondToken]), true);
    assert.equal(await read("SettlementVault", d.contracts.SettlementVault, "isListed", [d.contracts.FundToken]), true);
    assert.equal(await read("CashToken", d.contracts.CashToken, "isCustodian", [d.contracts.SettlementVault]), true);
    assert.equal(await read("AssetToken", d.contracts.FundToken, "isCustodian", [d.contracts.SettlementVault]), true);
    assert.equal(await read("AssetToken", d.contracts.BondToken, "isCountryAllowed", [704]), true);

    // Re-running resumes the journaled deployment: same addresses, nothing redeployed.
    const again = await run(process.execPath, ["scripts/deploy.ts", "--network", "localhost", "--rpc", rpc, "--out", out, "--deployment-id", deploymentId]);
    assert.equal(again.code, 0, again.out);
    const d2 = JSON.parse(readFileSync(path.join(out, "31337.json"), "utf8")) as SenDeployment;
    assert.deepEqual(d2.contracts, d.contracts);
  });
});

