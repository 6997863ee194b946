import { createServer } from "node:http";
import { freePort } from "./freePort.ts";

/**
 * A JSON-RPC hop between a gateway and the real chain that can refuse one method, or the
 * eth_calls naming one address, with HTTP 429, as a hosted RPC provider does when it
 * rate-limits (some requests of a sweep and not others): the gateway meets a real network
 * failure, and everything else it asks reaches the chain unchanged.
 */
export async function startFaultyRpc(upstream: string) {
  let limited: string | undefined;
  /** Lower-case hex, no 0x: eth_calls whose calldata holds it are refused. */
  let limitedCallData: string | undefined;
  const refused = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      type Call = { method?: string; params?: Array<{ data?: string }> };
      const body = JSON.parse(raw.toString("utf8")) as Call | Call[];
      const calls = Array.isArray(body) ? body : [body];
      const hit =
        limited !== undefined && calls.some((c) => c.method === limited)
          ? limited
          : limitedCallData !== undefined && calls.some((c) => c.method === "eth_call" && c.params?.[0]?.data?.toLowerCase().includes(limitedCallData!))
            ? "eth_call"
            : undefined;
      if (hit !== undefined) {
        refused.set(hit, (refused.get(hit) ?? 0) + 1);
        res.writeHead(429, { "content-type": "text/plain" }).end("Too Many Requests");
        return;
      }
      try {
        const reply = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
        res.writeHead(reply.status, { "content-type": "application/json" }).end(await reply.text());
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}`,
    /** Refuse `method` from now on (undefined: refuse nothing). */
    rateLimit(method: string | undefined): void {
      limited = method;
    },
    /** Refuse the eth_calls whose calldata names `address` from now on (undefined: none). */
    refuseCallsNaming(address: string | undefined): void {
      limitedCallData = address?.slice(2).toLowerCase();
    },
    /** How many requests for `method` were refused so far. */
    refusedCount(method: string): number {
      return refused.get(method) ?? 0;
    },
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
