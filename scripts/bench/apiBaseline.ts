/**
 * The baseline of `npm run bench:api`: a bare Express app in its own process with one route,
 * POST /api/v1/orders, that does only what every signed order needs before any exchange work:
 * read the raw body (express.raw, as the gateway does), verify the KuCoin signature with the
 * gateway's own verifyKucoinRequest, API-key store (AES-GCM at rest, decrypted secret in
 * memory) and replay guard, parse the JSON and validate it with the gateway's own zod schema
 * of the order body, then answer `{"code":"200000","data":{orderId, clientOid}}`.
 *
 * IPC: sends {type:"ready", url, traders} once listening; answers {type:"cpu"} with a CpuSample.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import { createApiKeyStore } from "../../api/src/auth/apiKeyStore.ts";
import { verifyKucoinRequest } from "../../api/src/auth/kucoinSignature.ts";
import { createReplayGuard } from "../../api/src/auth/replayGuard.ts";
import type { AppContext } from "../../api/src/context.ts";
import { orderRoutes } from "../../api/src/http/routes/orders.ts";
import { cpuSample } from "./apiChild.ts";
import type { LoadTrader } from "./apiLoad.ts";

const PATH = "/api/v1/orders";
const PASSPHRASE = "bench-passphrase";

// The gateway's order-body schema, taken from its route table (the handlers, which would need
// a context, are never called).
const placeBody = orderRoutes({} as AppContext).find((r) => r.method === "post" && r.path === PATH)!.body!;

const dir = mkdtempSync(path.join(tmpdir(), "sen-bench-baseline-"));
const keys = createApiKeyStore({ file: path.join(dir, "api-keys.json"), masterKey: randomBytes(32), now: Date.now, randomBytes });
const replay = createReplayGuard({ now: Date.now, windowMs: 5_000 });
const traders: LoadTrader[] = [];
for (const wallet of ["0x00000000000000000000000000000000000000b1", "0x00000000000000000000000000000000000000b2"]) {
  const { record, apiSecret } = await keys.create(
    { accountId: wallet, wallet: wallet as `0x${string}`, identityHash: "0x01", role: "trader", apiKeyId: undefined },
    { label: "bench", permissions: ["General", "Trade"], passphrase: PASSPHRASE },
  );
  traders.push({ apiKey: record.apiKeyId, apiSecret, passphrase: PASSPHRASE });
}

let orders = 0;
const app = express();
app.disable("x-powered-by");
app.set("query parser", "simple");
app.use(express.raw({ type: () => true, limit: "64kb" }));
app.post(PATH, async (req, res) => {
  const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  try {
    await verifyKucoinRequest(
      {
        method: req.method,
        pathWithQuery: req.originalUrl,
        body: raw,
        headers: {
          key: header("kc-api-key"),
          sign: header("kc-api-sign"),
          timestamp: header("kc-api-timestamp"),
          passphrase: header("kc-api-passphrase"),
          keyVersion: header("kc-api-key-version"),
        },
        ip: req.socket.remoteAddress ?? "",
      },
      { keys, replay, now: Date.now },
    );
  } catch (err) {
    res.status(401).json({ code: "400005", msg: (err as Error).message });
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    res.status(400).json({ code: "400100", msg: "body is not valid JSON" });
    return;
  }
  const body = placeBody.safeParse(json);
  if (!body.success) {
    res.status(400).json({ code: "400100", msg: body.error.issues[0]?.message ?? "invalid" });
    return;
  }
  res.json({ code: "200000", data: { orderId: String(++orders), clientOid: (body.data as { clientOid: string }).clientOid } });
});

const server = createServer({ keepAliveTimeout: 65_000 }, app);
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.send!({ type: "ready", url: `http://127.0.0.1:${port}`, traders });
});
process.on("message", (m) => {
  if ((m as { type: string }).type === "cpu") process.send!({ type: "cpu", sample: cpuSample() });
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on("SIGTERM", stop);
process.on("disconnect", stop);
