import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http, parseAbi } from "viem";
import { freePort } from "../../test/support/freePort.ts";
import { createLogger, withoutUrls } from "./logger.ts";

const SECRET = "SECRETKEY0123456789abcdef";

/** The lines a logger writes, parsed. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: createLogger("info", stream), lines, text: () => lines.join("\n") };
}

/** What a caller meets when a real viem call fails: the rejection, as the gateway logs it. */
async function failure(call: () => Promise<unknown>): Promise<Error> {
  try {
    await call();
  } catch (err) {
    return err as Error;
  }
  throw new Error("the call was expected to fail");
}

/**
 * viem's errors name the RPC URL (message, stack, `url`, `metaMessages`, the causes), and a hosted
 * provider's URL holds its API key: the gateway's logger writes them without URLs.
 */
describe("logger: RPC URLs (and the keys in them) never reach the logs", () => {
  let refusing: string;
  let forbidding: string;
  let server: Server;
  before(async () => {
    // Nothing listens here: a connection refused, as when the provider is unreachable.
    refusing = `http://127.0.0.1:${await freePort()}/v3/${SECRET}`;
    // A provider that refuses the key, as Infura or Alchemy do: HTTP 401 with a JSON body.
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid project id" })));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    forbidding = `https://127.0.0.1:${port}/v3/${SECRET}`.replace("https:", "http:");
  });
  after(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it("a connection refused (HttpRequestError), logged as { err } by the logger and by a child", async () => {
    const client = createPublicClient({ transport: http(refusing, { retryCount: 0 }) });
    const err = await failure(() => client.getBlockNumber());
    assert.ok(`${err.message}${err.stack}`.includes(SECRET), "the fault is real: viem's error names the URL with its key");
    const out = capture();
    out.logger.warn({ err }, "chain poll failed");
    out.logger.child({ component: "chain" }).error({ err, account: "0xabc" }, "identity read failed");
    assert.equal(out.lines.length, 2);
    assert.ok(!out.text().includes(SECRET), out.text());
    for (const line of out.lines) {
      const logged = JSON.parse(line) as { err: { type: string; message: string; stack: string; shortMessage: string; url: string; metaMessages: string[] } };
      // Still a useful log: the error's class and words, the URL alone replaced.
      assert.equal(logged.err.type, "HttpRequestError");
      assert.equal(logged.err.shortMessage, "HTTP request failed.");
      assert.equal(logged.err.url, "<url>");
      assert.match(logged.err.message, /URL: <url>/);
      assert.match(logged.err.stack, /HttpRequestError/);
      assert.match(logged.err.stack, /\(file:\/\/\/\S+viem\S+\.js:\d+:\d+\)/, "stack frames keep their files");
      assert.ok(logged.err.metaMessages.includes("URL: <url>"));
    }
  });

  it("a contract read refused by the provider (ContractFunctionExecutionError wrapping the HTTP error)", async () => {
    const client = createPublicClient({ transport: http(forbidding, { retryCount: 0 }) });
    const abi = parseAbi(["function isVerified(address) view returns (bool)"]);
    const err = await failure(() => client.readContract({ address: "0x0000000000000000000000000000000000000001", abi, functionName: "isVerified", args: ["0x0000000000000000000000000000000000000002"] }));
    assert.ok(`${err.message}${err.stack}`.includes(SECRET), "the fault is real: the wrapped error names the URL");
    const out = capture();
    out.logger.warn({ err, account: "0x0000000000000000000000000000000000000002" }, "identity sweep: account check failed");
    assert.ok(!out.text().includes(SECRET), out.text());
    const logged = JSON.parse(out.lines[0]) as { err: { type: string; message: string } };
    assert.equal(logged.err.type, "ContractFunctionExecutionError");
    assert.match(logged.err.message, /Status: 401/);
  });

  it("an error logged alone (its message becomes msg), as text in err, or a record holding URLs", async () => {
    const client = createPublicClient({ transport: http(refusing, { retryCount: 0 }) });
    const err = await failure(() => client.getChainId());
    const out = capture();
    out.logger.error(err);
    out.logger.error({ err });
    out.logger.warn({ err: err.message }, "journal: Redis connection error");
    out.logger.warn({ err: { endpoint: new URL(refusing), attempts: [{ url: refusing }] } }, "an error-like record");
    assert.equal(out.lines.length, 4);
    assert.ok(!out.text().includes(SECRET), out.text());
    for (const line of out.lines.slice(0, 2)) assert.match((JSON.parse(line) as { msg: string }).msg, /^HTTP request failed\.[\s\S]*URL: <url>/);
    assert.match((JSON.parse(out.lines[2]) as { err: string }).err, /URL: <url>/);
    assert.deepEqual((JSON.parse(out.lines[3]) as { err: unknown }).err, { endpoint: "<url>", attempts: [{ url: "<url>" }] });
  });

  it("withoutUrls replaces every URL, whatever the scheme", () => {
    assert.equal(withoutUrls(`fetch failed: https://eth.example/v2/${SECRET}?x=1 (wss://a.example/k)`), "fetch failed: <url> (<url>");
  });
});
