import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { toHex } from "viem";
import { DEFAULT_RISK } from "../src/risk/types.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";

/**
 * docs/bots.md's code blocks, run as written (each a separate Node program, from the
 * repository root, as the page says) against a real gateway: the key it creates is the key
 * the ccxt blocks use, and the websocket block sees trades made while it waits.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SYMBOL = "GOLD-VND";
const blocks = [...readFileSync(new URL("../../docs/bots.md", import.meta.url), "utf8").matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

type Run = { code: number | null; stdout: string; stderr: string };

/** One block as `node --input-type=module` with the code on stdin; `meanwhile` runs until it exits. */
function runBlock(code: string, env: Record<string, string>, meanwhile?: (running: () => boolean) => Promise<void>): Promise<Run> {
  const child = spawn(process.execPath, ["--input-type=module"], { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  child.stdin.end(code);
  let running = true;
  const killer = setTimeout(() => child.kill(), 30_000);
  const exited = new Promise<Run>((resolve) =>
    child.on("close", (c) => {
      running = false;
      clearTimeout(killer);
      resolve({ code: c, stdout, stderr });
    }),
  );
  return Promise.all([exited, meanwhile?.(() => running)]).then(([r]) => r);
}

describe("docs/bots.md code blocks", { timeout: 90_000 }, () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let maker: ApiCredentials;
  let taker: ApiCredentials;
  const bot = hardhatAccount(13);
  let keyEnv: Record<string, string> = {};

  before(async () => {
    chain = await startChain();
    // The REST block bids 9 000 after the websocket block's trades at 10 000: no collar here.
    const risk = structuredClone(DEFAULT_RISK);
    risk.defaults.collarBps = 0;
    gw = await startTestGateway(chain, { risk, env: { SEN_JOURNAL_FSYNC: "none" } });
    await chain.attest(bot.address, "bots-doc-bot");
    for (const i of [14, 15]) await chain.attest(hardhatAccount(i).address, `bots-doc-${i}`);
    maker = await loginAndCreateKey(gw.url, hardhatAccount(14));
    taker = await loginAndCreateKey(gw.url, hardhatAccount(15));
    await gw.ctx.trading.deposit(maker.accountId, "GOLD", 10_000n, "bots-doc-1");
    await gw.ctx.trading.deposit(taker.accountId, "VND", 10_000_000_000n, "bots-doc-2");
    await gw.ctx.trading.deposit(bot.address.toLowerCase(), "VND", 1_000_000n, "bots-doc-3");
    // A book with both sides, away from where the trades happen.
    const rest = { symbol: SYMBOL, type: "limit", size: 5, tif: "GTC", postOnly: false, stp: "CN" } as const;
    await gw.ctx.trading.placeOrder({ ...rest, accountId: maker.accountId, identityHash: "0xa", side: "sell", price: 12_000, clientOid: "ask" });
    await gw.ctx.trading.placeOrder({ ...rest, accountId: taker.accountId, identityHash: "0xb", side: "buy", price: 8_000, clientOid: "bid" });
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("has the three blocks the page describes", () => {
    assert.equal(blocks.length, 3);
    assert.match(blocks[0], /\/api\/v1\/sen\/api-keys/);
    assert.match(blocks[1], /new ccxt\.kucoin\(/);
    assert.match(blocks[2], /new ccxt\.pro\.kucoin\(/);
  });

  it("§1 creates an API key from the wallet's key", async () => {
    const r = await runBlock(blocks[0], { SEN_URL: gw.url, PRIVATE_KEY: toHex(bot.getHdKey().privateKey!) });
    assert.equal(r.code, 0, r.stderr);
    keyEnv = Object.fromEntries(r.stdout.trim().split("\n").map((l) => l.split("=", 2) as [string, string]));
    assert.deepEqual(Object.keys(keyEnv), ["SEN_API_KEY", "SEN_API_SECRET", "SEN_API_PASSPHRASE"]);
    assert.deepEqual((await gw.ctx.keys.list(bot.address.toLowerCase())).map((k) => k.apiKeyId), [keyEnv.SEN_API_KEY]);
  });

  it("§2 ccxt REST: balance, book, place and cancel with that key", async () => {
    assert.ok(keyEnv.SEN_API_KEY, "§1 ran");
    const r = await runBlock(blocks[1], { SEN_URL: gw.url, ...keyEnv });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "VND free 1000000");
    assert.equal(lines[1], "best bid [ 8000, 5 ] best ask [ 12000, 5 ]");
    assert.match(lines[2], /^placed [0-9a-f]{24}$/);
    assert.equal(lines[3], "cancelled canceled");
    assert.deepEqual(gw.ctx.trading.core.ledger.balance(bot.address.toLowerCase(), "VND"), { available: 1_000_000n, hold: 0n }, "nothing left on hold");
  });

  it("§3 ccxt pro: watches trades and the order book while others trade", async () => {
    let n = 0;
    const r = await runBlock(blocks[2], { SEN_URL: gw.url }, async (running) => {
      // Crossing pairs at 10 000 until the block has what it waits for (ccxt syncs its book
      // only after a few level-2 updates of its own, so keep them coming).
      const t = gw.ctx.trading;
      const common = { symbol: SYMBOL, type: "limit", price: 10_000, size: 1, tif: "GTC", postOnly: false, stp: "CN" } as const;
      while (running() && n < 400) {
        await t.placeOrder({ ...common, accountId: maker.accountId, identityHash: "0xa", side: "sell", clientOid: `s${++n}` });
        await t.placeOrder({ ...common, accountId: taker.accountId, identityHash: "0xb", side: "buy", clientOid: `b${n}` });
        await new Promise((res) => setTimeout(res, 50));
      }
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "trade 10000 1");
    assert.equal(lines[1], "book [ 8000, 5 ] [ 12000, 5 ]");
  });
});
