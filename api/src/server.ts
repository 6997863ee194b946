import { createServer, type Server } from "node:http";
import type { AppContext } from "./context.ts";
import { createGatewayListener } from "./http/leanRouter.ts";
import { WsGateway } from "./ws/wsGateway.ts";
import { listeningOn } from "./config/config.ts";

export type RunningGateway = { server: Server; ws: WsGateway; url: string; close(): Promise<void> };

/** Starts HTTP + websocket on the configured host/port (0 = any free port). */
export async function startGateway(ctx: AppContext): Promise<RunningGateway> {
  // The hot order path on plain node:http, every other route on Express (http/leanRouter.ts).
  const server = createServer({ keepAliveTimeout: 65_000 }, createGatewayListener(ctx));
  const { catalog, format, marketData, candles, now, logger, metrics, trading, bullets, audit, roles } = ctx;
  const ws = new WsGateway({ catalog, format, marketData, candles, now, logger, metrics, trading, bullets, audit, roles }, { conflateMs: ctx.config.wsConflateMs, maxBufferedBytes: ctx.config.wsMaxBufferedBytes, fanoutChunk: ctx.config.wsFanoutChunk, path: "/ws" });
  ws.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(ctx.config.port, ctx.config.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  const url = `http://${ctx.config.host}:${port}`;
  // Port chosen by the OS: publish the real address to clients (bullet endpoint, SIWE domain).
  ctx.config = listeningOn(ctx.config, port);
  return {
    server,
    ws,
    url,
    async close() {
      ctx.holderView?.stop();
      ctx.clockMonitor.stop();
      ws.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      ctx.replayBarrier.close(); // nothing more is accepted: the next start need not hold requests back
      try {
        await ctx.trading.close();
      } finally {
        try {
          // After the final snapshot, which carries the trades it has not written yet.
          ctx.candles.close();
        } catch (err) {
          ctx.logger.error({ err }, "candle store: close failed (its unwritten trades are in the last snapshot)");
        }
        try {
          // After the trading core: its final snapshot flushes the audit trail first.
          await ctx.audit.close();
        } finally {
          ctx.dataDirLock.release();
        }
      }
    },
  };
}
