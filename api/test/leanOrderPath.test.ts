import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { signKucoinRequest } from "../src/auth/kucoinSignature.ts";
import { createHttpApp } from "../src/http/app.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { loginAndCreateKey, startTestGateway, type ApiCredentials, type GatewayFixture } from "./support/gatewayFixture.ts";

/**
 * POST /api/v1/orders runs on plain node:http in front of Express (http/leanRouter.ts). The
 * same requests, valid and not, sent to the gateway and to the Express-only app on the same
 * context get the same status, envelope, headers, audit events, journal records and metrics.
 */
describe("the lean order path answers as the Express route does", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;
  let expressOnly: Server;
  let expressUrl: string;
  let trader: ApiCredentials;
  let readOnly: ApiCredentials;
  const a = hardhatAccount(19);

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
    await chain.attest(a.address, "lean-path");
    trader = await loginAndCreateKey(gw.url, a);
    readOnly = await loginAndCreateKey(gw.url, a, ["General"]);
    await gw.ctx.trading.deposit(trader.accountId, "VND", 10n ** 12n, "lean-vnd");
    await gw.ctx.trading.deposit(trader.accountId, "GOLD", 1000n, "lean-gold");
    expressOnly = createServer({ keepAliveTimeout: 65_000 }, createHttpApp(gw.ctx));
    await new Promise<void>((resolve) => expressOnly.listen(0, "127.0.0.1", resolve));
    expressUrl = `http://127.0.0.1:${(expressOnly.address() as { port: number }).port}`;
  });
  after(async () => {
    expressOnly?.closeAllConnections();
    await new Promise<void>((resolve) => (expressOnly ? expressOnly.close(() => resolve()) : resolve()));
    await gw?.close();
    await chain?.close();
  });

  type Sent = { path?: string; body: string; sign?: "key" | "readOnly" | "none" | "badSign" | "session"; headers?: Record<string, string> };
  type Reply = { status: number; headers: Record<string, string>; body: Record<string, unknown>; auditTypes: string[]; journaled: bigint };

  async function send(base: string, s: Sent): Promise<Reply> {
    const path = s.path ?? "/api/v1/orders";
    const creds = s.sign === "readOnly" ? readOnly : trader;
    let headers: Record<string, string> = { "content-type": "application/json" };
    if (s.sign === "session") headers.authorization = `Bearer ${trader.token}`;
    else if (s.sign !== "none") {
      headers = { ...headers, ...signKucoinRequest({ method: "POST", pathWithQuery: path, body: s.body, ...creds, timestamp: Date.now() }) };
      if (s.sign === "badSign") headers["KC-API-SIGN"] = Buffer.alloc(32, 7).toString("base64");
    }
    Object.assign(headers, s.headers);
    const audit = gw.ctx.audit.log.size;
    const seq = gw.ctx.trading.lastSeq;
    const res = await fetch(base + path, { method: "POST", headers, body: s.body });
    const text = await res.text();
    const auditTypes: string[] = [];
    for (let i = audit; i < gw.ctx.audit.log.size; i++) auditTypes.push((await gw.ctx.audit.log.event(i))!.type);
    const kept: Record<string, string> = {};
    for (const [k, v] of res.headers) if (k !== "date") kept[k] = v;
    // The ETag is the weak tag of exactly these bytes, as Express computes it.
    const bytes = Buffer.from(text, "utf8");
    assert.equal(kept.etag, `W/"${bytes.length.toString(16)}-${createHash("sha1").update(bytes).digest("base64").substring(0, 27)}"`);
    return { status: res.status, headers: kept, body: JSON.parse(text) as Record<string, unknown>, auditTypes, journaled: gw.ctx.trading.lastSeq - seq };
  }

  let n = 0;
  // Buys at one price only: nothing trades and no reference price moves, so a case meets the same book on both paths.
  const order = (over: Record<string, unknown> = {}) => JSON.stringify({ clientOid: `lean-${++n}`, side: "buy", symbol: "GOLD-VND", type: "limit", price: "100", size: "1", ...over });

  /** Sends the same case to both; `body` may be a function so each path gets its own clientOid. */
  async function both(name: string, make: () => Sent): Promise<[Reply, Reply]> {
    const lean = await send(gw.url, make());
    const viaExpress = await send(expressUrl, make());
    const strip = (r: Reply) => {
      const body = structuredClone(r.body);
      const data = body.data as Record<string, unknown> | undefined;
      if (data?.orderId !== undefined) data.orderId = typeof data.orderId;
      if (data?.clientOid !== undefined) data.clientOid = typeof data.clientOid;
      // Only the lengths of the order ids (and so the ETags) can differ.
      const { etag: _e, "content-length": _l, ...headers } = r.headers;
      return { status: r.status, headers, body, auditTypes: r.auditTypes, journaled: r.journaled };
    };
    assert.deepEqual(strip(lean), strip(viaExpress), name);
    return [lean, viaExpress];
  }

  it("a valid signed order and a valid session order: 200000, journaled, the same audit events", async () => {
    const [lean] = await both("signed", () => ({ body: order() }));
    assert.equal(lean.status, 200);
    assert.equal(lean.body.code, "200000");
    assert.equal(lean.headers["content-type"], "application/json; charset=utf-8");
    assert.ok(lean.journaled > 0n);
    assert.ok(lean.auditTypes.length > 0, "the order is on the audit trail");
    const [session] = await both("session", () => ({ body: order(), sign: "session" }));
    assert.equal(session.body.code, "200000");
  });

  it("refusals: the same status, code, senCode and message, nothing journaled", async () => {
    const cases: [string, () => Sent, number, string][] = [
      ["no credentials", () => ({ body: order(), sign: "none" }), 401, "400001"],
      ["bad signature", () => ({ body: order(), sign: "badSign" }), 401, "400005"],
      ["key without Trade", () => ({ body: order(), sign: "readOnly" }), 403, "400007"],
      ["wrong key version", () => ({ body: order(), headers: { "KC-API-KEY-VERSION": "1" } }), 401, "400005"],
      ["not JSON", () => ({ body: "{nope" }), 400, "400100"],
      ["key given twice", () => ({ body: '{"clientOid":"d1","side":"buy","symbol":"GOLD-VND","price":"1","size":"1","side":"sell"}' }), 400, "400100"],
      ["zod: bad side", () => ({ body: order({ side: "up" }) }), 400, "400100"],
      ["zod: unknown field", () => ({ body: order({ leverage: 5 }) }), 400, "400100"],
      ["limit without price", () => ({ body: order({ price: undefined }) }), 400, "400100"],
      ["unknown symbol", () => ({ body: order({ symbol: "NOPE-VND" }) }), 400, "400000"],
      ["insufficient funds", () => ({ body: order({ side: "sell", price: "100", size: "5000" }) }), 400, "200004"],
      ["empty body", () => ({ body: "" }), 400, "400100"],
    ];
    for (const [name, make, status, code] of cases) {
      const [lean] = await both(name, make);
      assert.equal(lean.status, status, `${name}: ${JSON.stringify(lean.body)}`);
      assert.equal(lean.body.code, code, name);
      assert.equal(lean.journaled, 0n, `${name}: nothing journaled`);
    }
  });

  it("a replayed signed request is refused on either path", async () => {
    for (const base of [gw.url, expressUrl]) {
      const body = order();
      const headers = { "content-type": "application/json", ...signKucoinRequest({ method: "POST", pathWithQuery: "/api/v1/orders", body, ...trader, timestamp: Date.now() }) };
      const first = await fetch(`${base}/api/v1/orders`, { method: "POST", headers, body });
      const again = await fetch(`${base}/api/v1/orders`, { method: "POST", headers, body });
      assert.equal(first.status, 200);
      assert.equal(again.status, 401);
      assert.deepEqual(await again.json(), { code: "400005", msg: "Signature error: request replayed", senCode: "AUTH_REPLAYED" });
    }
  });

  it("what the lean path leaves to Express (query string, body over 64 KiB) is answered as before", async () => {
    await both("query string", () => ({ path: "/api/v1/orders?x=1", body: order() }));
    const [big] = await both("too large", () => ({ body: JSON.stringify({ clientOid: "big", pad: "x".repeat(70_000) }) }));
    assert.equal(big.status, 413);
  });

  it("the request metrics count both paths under the same labels", async () => {
    const count = async (status: string) => {
      const m = await gw.ctx.metrics.httpDuration.get();
      return m.values.find((v) => v.metricName?.endsWith("_count") && v.labels.route === "/api/v1/orders" && v.labels.method === "post" && v.labels.status === status)?.value ?? 0;
    };
    const [ok0, err0] = [await count("200"), await count("error")];
    await both("ok", () => ({ body: order() }));
    await both("refused", () => ({ body: order({ side: "up" }) }));
    assert.equal((await count("200")) - ok0, 2);
    assert.equal((await count("error")) - err0, 2);
  });
});
