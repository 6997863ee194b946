import { createServer, type Server } from "node:http";
import type { EIP1193Provider } from "hardhat/types/providers";

type RpcRequest = { id?: unknown; method?: unknown; params?: unknown };

/**
 * Serves an in-process EIP-1193 provider as JSON-RPC over HTTP, so wallets, scripts and a
 * second process can reach the *same* chain the exchange runs on (Hardhat's own
 * `createServer` would start a new chain). Bound to loopback only.
 */
export async function serveProvider(provider: EIP1193Provider, port: number, host = "127.0.0.1"): Promise<Server> {
  async function answer(req: RpcRequest) {
    const id = req.id ?? null;
    if (typeof req.method !== "string") return { jsonrpc: "2.0", id, error: { code: -32600, message: "Invalid request" } };
    try {
      const result = await provider.request({ method: req.method, params: (req.params ?? []) as unknown[] });
      return { jsonrpc: "2.0", id, result };
    } catch (err) {
      const e = err as { code?: number; message?: string; data?: unknown };
      return { jsonrpc: "2.0", id, error: { code: e.code ?? -32603, message: e.message ?? "Internal error", data: e.data } };
    }
  }

  const server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }));
        return;
      }
      const reply = Array.isArray(body) ? await Promise.all(body.map((r) => answer(r as RpcRequest))) : await answer(body as RpcRequest);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(reply, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
