import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { z } from "zod/v4";
import type { Principal, Role } from "../auth/types.ts";
import type { AuditEventInput } from "../compliance/audit/auditEvent.ts";
import type { StoredAlert } from "../compliance/audit/auditIndex.ts";
import type { PublicTrade } from "../marketdata/marketData.ts";
import { level1Data, stats24hData } from "../marketdata/kucoinTickers.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Logger } from "../observability/logger.ts";
import { revocationCovers, type BulletRevocation, type BulletTokenStore, type ResolvedBullet } from "../auth/bulletTokens.ts";
import { MarketStreams, type MarketStreamSources } from "./marketStreams.ts";
import { CLOSE_ACCESS_REVOKED, UPGRADE_UNAUTHORIZED, UPGRADE_UNAVAILABLE, WsCode, wsErrorFrame } from "./errors.ts";
import { SenError } from "../errors/SenError.ts";

type L2Change = { side: "buy" | "sell"; price: number; size: number; sequence: number };
import type { TradingEvent, TradingListener } from "../trading/events.ts";
import { ADVANCED_ORDERS, advancedOrderMessage, isAdvancedOrderEvent } from "./advancedOrders.ts";
import { textFrame, writePreparedFrame } from "./preparedFrame.ts";

/**
 * KuCoin's websocket protocol over `ws`: welcome, ping/pong, subscribe/unsubscribe with ack,
 * public market topics and private order/balance topics. Each update is serialised once and
 * the same string is sent to every subscriber; level2 deltas are conflated per symbol over a
 * short window (sequence numbers stay gap-free: a message covers sequenceStart..End);
 * a client whose send buffer grows past the limit is cut off instead of slowing the engine.
 */
export type WsGatewayOptions = {
  conflateMs: number;
  maxBufferedBytes: number;
  path: string;
  /**
   * Sockets written per turn of the event loop in a fan-out. A write to a loopback or LAN
   * socket costs the kernel about 10 µs: a flush to 5,000 subscribers holds the loop for
   * ~50 ms. Written in chunks with a turn of the loop between them, REST requests, command
   * replies and journal acknowledgements are served during a long fan-out, not after it.
   * Each turn between chunks also delays the subscribers after it (and the level2 window
   * counts from the last chunk), so the default (SEN_WS_FANOUT_CHUNK, 1024: ~10 ms of writes)
   * leaves a fan-out to 1,000 subscribers whole and splits only the larger ones.
   */
  fanoutChunk: number;
};

/** Of trading, the gateway needs the events it fans out and the cancel behind cancel-on-disconnect. */
export interface WsTrading {
  subscribe(listener: TradingListener): unknown;
  cancelAll(accountId: string, reason: "disconnect"): Promise<unknown>;
}

/**
 * Everything the gateway uses, named: what MarketStreams reads (books, candles, clock, units),
 * trading's events, the websocket tokens, the compliance alerts (and the audit of who asked for
 * them), the wallet roles, its metrics and its log. Nothing else of the process reaches it.
 */
export type WsGatewayDeps = MarketStreamSources & {
  trading: WsTrading;
  bullets: Pick<BulletTokenStore, "resolve" | "revokeAccount" | "onRevoke">;
  /** The surveillance alerts it streams, and the record of who asked for them (its result is not read: an edge only forwards it). */
  audit: { onAlert(listener: (a: StoredAlert) => void): unknown; record(input: AuditEventInput): unknown };
  roles: (wallet: Principal["wallet"]) => Role;
  metrics: { wsClients: Pick<Metrics["wsClients"], "inc" | "dec">; wsSlowConsumersDropped: Pick<Metrics["wsSlowConsumersDropped"], "inc"> };
  logger: Pick<Logger, "error" | "warn">;
};

type Client = {
  ws: WebSocket;
  principal: Principal | null;
  /** The session its token was minted under: its sign-out closes this socket. */
  sessionId?: string;
  topics: Set<string>;
  cancelOnDisconnect: boolean;
};

const inbound = z.object({
  id: z.union([z.string().max(64), z.number()]).optional(),
  type: z.enum(["ping", "subscribe", "unsubscribe"]),
  topic: z.string().max(512).optional(),
  privateChannel: z.boolean().optional(),
  response: z.boolean().optional(),
});

const PUBLIC_PREFIXES = ["/market/level2:", "/market/match:", "/market/ticker:", "/market/snapshot:"] as const;
const PRIVATE_TOPICS = ["/spotMarket/tradeOrders", "/account/balance", ADVANCED_ORDERS] as const;
/** Sen's own topic (not KuCoin's): surveillance alerts, for the compliance role. */
const COMPLIANCE_ALERTS = "/compliance/alerts";

export class WsGateway {
  readonly #deps: WsGatewayDeps;
  readonly #opts: WsGatewayOptions;
  readonly #wss: WebSocketServer;
  /** topic -> subscribers (public topics are per symbol, private topics per account). */
  readonly #subs = new Map<string, Set<Client>>();
  /**
   * Subscriptions to private topics ("<topic>@<account>"), all clients together: while there are
   * none, an order or balance event needs no topic name built and looked up.
   */
  #privateSubs = 0;
  readonly #clients = new Set<Client>();
  /**
   * The revocations heard by each upgrade while its token was being looked up: a token revoked
   * after the lookup read it must not let its socket in.
   */
  readonly #lookups = new Set<BulletRevocation[]>();
  /** The latest change per price level since the last flush, formatted only when a flush has subscribers. */
  readonly #l2Pending = new Map<string, { start: number; end: number; bids: Map<number, L2Change>; asks: Map<number, L2Change> }>();
  /**
   * The last level2 sequence handed to this gateway per symbol. Not MarketData's: that one
   * also counts changes applied but not yet durable, which reach the gateway later.
   */
  readonly #l2Delivered = new Map<string, number>();
  #l2Timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  /** performance.now() when the last level2 flush (or long fan-out) was written to every subscriber. */
  #l2FlushedAt = Number.NEGATIVE_INFINITY;
  /** Level2 changes wait for a fan-out still being written: their window starts once it is. */
  #l2AfterDrain = false;
  /**
   * Fan-outs not yet written to every subscriber, oldest first: each socket gets its messages
   * in publication order across topics, as if every fan-out were written at once. The list of
   * subscribers is taken when the message is published (a later subscriber starts from the
   * snapshot it is sent, which already counts this message).
   */
  readonly #outQueue: Array<{ bytes: Buffer; frame: Buffer; clients: Client[]; next: number }> = [];
  #outTimer: NodeJS.Immediate | null = null;
  readonly #tickerDue = new Set<string>();
  /** Candles, depth-5/50 snapshots, level1 and ticker:all (marketStreams.ts). */
  readonly #streams: MarketStreams;
  #tickerTimer: NodeJS.Timeout | null = null;

  constructor(deps: WsGatewayDeps, opts: WsGatewayOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    // At start everything applied is durable: the books' sequences are what clients have "seen".
    for (const symbol of deps.catalog.markets.keys()) this.#l2Delivered.set(symbol, deps.marketData.best(symbol).sequence);
    this.#streams = new MarketStreams(deps, { has: (t) => (this.#subs.get(t)?.size ?? 0) > 0, fanout: (t, text) => this.#fanout(t, text) });
    deps.trading.subscribe((e) => {
      if (e.kind === "l2") this.#queueL2(e.symbol, { side: e.side, price: e.price, size: e.size, sequence: e.sequence ?? 0 });
      else if (e.kind === "trade") this.#publishTrade(e.symbol, { sequence: e.sequence, tradeId: e.tradeId, price: e.price, size: e.size, side: e.side, time: e.ts });
      else this.#onTradingEvent(e);
    });
    // A frozen account (kill switch, revoked e-ID) or a deleted key loses its open sockets at
    // once: they would otherwise go on streaming balances and accept private subscriptions.
    deps.trading.subscribe((e) => {
      if (e.kind === "accountStatus" && e.frozen) {
        this.#drop((c) => c.principal?.accountId === e.accountId, "account frozen");
        // Tokens taken before the freeze no longer connect.
        void deps.bullets.revokeAccount(e.accountId).catch((err: unknown) => deps.logger.error({ err, account: e.accountId }, "websocket: token revocation failed"));
      }
    });
    // A sign-out (revokeSession/revokeSessions of the SessionStore) closes the sockets its session authorised.
    deps.bullets.onRevoke((r) => {
      for (const heard of this.#lookups) heard.push(r);
      this.#drop((c) => revocationCovers(r, c.principal, c.sessionId), r.apiKeyId !== undefined ? "API key revoked" : r.sessionIds !== undefined ? "signed out" : "access revoked");
    });
    // Surveillance alerts go to compliance officers only (one shared topic).
    deps.audit.onAlert((a) => {
      if (!this.#subs.get(COMPLIANCE_ALERTS)?.size) return;
      this.#fanout(COMPLIANCE_ALERTS, JSON.stringify({ type: "message", topic: COMPLIANCE_ALERTS, subject: "alert", channelType: "private", data: a }));
    });
  }

  attach(server: Server): void {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "http://localhost");
      } catch {
        // not a path (`//`): thrown here, in an event listener, it would end the process
        socket.destroy();
        return;
      }
      if (url.pathname !== this.#opts.path) {
        socket.destroy();
        return;
      }
      const heard: BulletRevocation[] = [];
      this.#lookups.add(heard);
      this.#deps.bullets.resolve(url.searchParams.get("token") ?? "").then(
        (token) => {
          this.#lookups.delete(heard);
          if (!token || heard.some((r) => revocationCovers(r, token.principal, token.sessionId))) {
            socket.write(UPGRADE_UNAUTHORIZED);
            socket.destroy();
            return;
          }
          if (socket.destroyed) return; // the client gave up while the token was looked up
          // Synchronous (no verifyClient): the client is listed before the next revocation is heard.
          this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, token, url));
        },
        (err: unknown) => {
          this.#lookups.delete(heard);
          // The token store did not answer: refuse (never let a socket in unchecked).
          this.#deps.logger.warn({ err }, "websocket: token lookup failed");
          socket.write(UPGRADE_UNAVAILABLE);
          socket.destroy();
        },
      );
    });
  }

  get clientCount(): number {
    return this.#wss.clients.size;
  }

  /** The largest unsent backlog of any client, in bytes (a slow-consumer early warning). */
  maxBufferedAmount(): number {
    let max = 0;
    for (const ws of this.#wss.clients) max = Math.max(max, ws.bufferedAmount);
    return max;
  }

  close(): void {
    if (this.#l2Timer) clearL2Timer(this.#l2Timer);
    if (this.#tickerTimer) clearTimeout(this.#tickerTimer);
    if (this.#outTimer) clearImmediate(this.#outTimer);
    this.#outQueue.length = 0;
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
  }

  /** Closes every authenticated socket that matches, telling the client why (KuCoin's frozen-account code). */
  #drop(match: (c: Client) => boolean, reason: string): void {
    for (const c of this.#clients) {
      if (!c.principal || !match(c)) continue;
      if (c.ws.readyState === c.ws.OPEN) c.ws.send(wsErrorFrame(WsCode.ACCESS_REVOKED, undefined, reason));
      c.ws.close(CLOSE_ACCESS_REVOKED, reason);
      for (const t of c.topics) this.#unsubscribe(c, t);
      c.topics.clear();
    }
  }

  #onConnection(ws: WebSocket, { principal, sessionId }: ResolvedBullet, url: URL): void {
    const client: Client = { ws, principal, sessionId, topics: new Set(), cancelOnDisconnect: principal !== null && url.searchParams.get("cancelOnDisconnect") === "true" };
    this.#clients.add(client);
    this.#deps.metrics.wsClients.inc();
    ws.send(JSON.stringify({ id: url.searchParams.get("connectId") ?? "welcome", type: "welcome" }));
    ws.on("message", (data, isBinary) => this.#onMessage(client, isBinary ? "" : data.toString()));
    ws.on("close", () => {
      this.#clients.delete(client);
      this.#deps.metrics.wsClients.dec();
      for (const t of client.topics) this.#unsubscribe(client, t);
      if (client.cancelOnDisconnect && client.principal) {
        void this.#deps.trading.cancelAll(client.principal.accountId, "disconnect").catch((err: unknown) => this.#deps.logger.error({ err }, "cancel-on-disconnect failed"));
      }
    });
    ws.on("error", () => ws.terminate());
  }

  #onMessage(client: Client, text: string): void {
    let msg: z.infer<typeof inbound>;
    try {
      const parsed = inbound.safeParse(JSON.parse(text));
      if (!parsed.success) throw new SenError(WsCode.BAD_MESSAGE, parsed.error.issues[0]?.message ?? "bad message");
      msg = parsed.data;
    } catch (err) {
      this.#send(client, wsErrorFrame(WsCode.BAD_MESSAGE, undefined, `bad message: ${(err as Error).message}`));
      return;
    }
    const id = msg.id === undefined ? undefined : String(msg.id);
    if (msg.type === "ping") {
      this.#send(client, JSON.stringify({ id, type: "pong", timestamp: this.#deps.now() * 1000 }));
      return;
    }
    const topics = this.#expand(msg.topic ?? "", client);
    if (typeof topics === "string") {
      this.#send(client, wsErrorFrame(topics === "unauthorized" ? WsCode.UNAUTHORIZED : WsCode.TOPIC_NOT_FOUND, id, topics));
      return;
    }
    for (const t of topics) {
      if (msg.type === "subscribe") {
        client.topics.add(t);
        let set = this.#subs.get(t);
        if (!set) {
          set = new Set();
          this.#subs.set(t, set);
        }
        if (!set.has(client)) {
          set.add(client);
          if (t.includes("@")) this.#privateSubs++;
        }
      } else {
        client.topics.delete(t);
        this.#unsubscribe(client, t);
      }
    }
    if (msg.response !== false) this.#send(client, JSON.stringify({ id, type: "ack" }));
    // After the ack: ccxt sets up its book when the ack arrives and drops what came before.
    if (msg.type === "subscribe") {
      for (const t of topics) {
        let texts: string[];
        try {
          texts = [...this.#streams.initial(t, (s) => this.#l2SentSeq(s))];
        } catch (err) {
          // One topic's opening message failing (e.g. the candle store unreadable) is that client's error, never the process's.
          this.#deps.logger.error({ err, topic: t }, "websocket: opening message failed");
          this.#send(client, wsErrorFrame(WsCode.OPENING_FAILED, id));
          continue;
        }
        for (const text of texts) this.#send(client, text);
      }
    }
  }

  #unsubscribe(client: Client, topic: string): void {
    if (this.#subs.get(topic)?.delete(client) && topic.includes("@")) this.#privateSubs--;
  }

  /** Splits "/market/match:A,B" into per-symbol topics; private topics are keyed by account. */
  #expand(topic: string, client: Client): string[] | string {
    if (topic === COMPLIANCE_ALERTS) {
      const p = client.principal;
      const allowed = p !== null && this.#deps.roles(p.wallet) === "compliance"; // today's lists, as for REST
      if (p) {
        try {
          this.#deps.audit.record({ type: "audit.query", actor: p.accountId, account: p.accountId, wallet: p.accountId, identityHash: p.identityHash, reason: allowed ? "alertsStream" : "refused", detail: { topic } });
        } catch (err) {
          // The audit log has failed (it refuses every append from then on): no stream that cannot be on record.
          this.#deps.logger.error({ err }, "websocket: alert stream refused, its audit record failed");
          return "unauthorized";
        }
      }
      return allowed ? [COMPLIANCE_ALERTS] : "unauthorized";
    }
    if ((PRIVATE_TOPICS as readonly string[]).includes(topic)) {
      if (!client.principal) return "unauthorized";
      return [`${topic}@${client.principal.accountId}`];
    }
    const stream = this.#streams.expand(topic);
    if (stream) return stream;
    const prefix = PUBLIC_PREFIXES.find((p) => topic.startsWith(p));
    if (!prefix) return "topic not found";
    const symbols = topic.slice(prefix.length).split(",");
    if (symbols.length === 0 || symbols.length > 100 || symbols.some((s) => !this.#deps.catalog.market(s))) return "topic not found";
    return symbols.map((s) => `${prefix}${s}`);
  }

  /** `frame`: the same bytes as one prepared text frame (preparedFrame.ts), written as is when ws allows. */
  #send(client: Client, text: string | Buffer, frame?: Buffer): void {
    const ws = client.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.#opts.maxBufferedBytes) {
      // A slow consumer is dropped, never waited for.
      this.#deps.metrics.wsSlowConsumersDropped.inc();
      ws.terminate();
      return;
    }
    if (frame && writePreparedFrame(ws, frame)) return;
    ws.send(text, { binary: false });
  }

  #fanout(topic: string, text: string): void {
    const set = this.#subs.get(topic);
    if (!set || set.size === 0) return;
    // Encoded and framed once: every subscriber gets the same bytes in one write.
    const bytes = Buffer.from(text);
    const frame = textFrame(bytes);
    const chunk = this.#opts.fanoutChunk;
    if (this.#outQueue.length === 0 && set.size <= chunk) {
      for (const c of set) this.#send(c, bytes, frame);
      return;
    }
    this.#outQueue.push({ bytes, frame, clients: [...set], next: 0 });
    if (this.#outTimer === null) this.#writeChunk();
  }

  /** Writes the next chunk of queued fan-outs; the rest goes on after the loop's next I/O. */
  #writeChunk(): void {
    this.#outTimer = null;
    let budget = this.#opts.fanoutChunk;
    while (budget > 0 && this.#outQueue.length > 0) {
      const job = this.#outQueue[0];
      const end = Math.min(job.clients.length, job.next + budget);
      for (let i = job.next; i < end; i++) this.#send(job.clients[i], job.bytes, job.frame);
      budget -= end - job.next;
      job.next = end;
      if (end === job.clients.length) this.#outQueue.shift();
    }
    if (this.#outQueue.length > 0) {
      this.#outTimer = setImmediate(() => this.#writeChunk());
      return;
    }
    this.#l2FlushedAt = performance.now();
    if (this.#l2AfterDrain) {
      this.#l2AfterDrain = false;
      this.#scheduleL2();
    }
  }

  // ------------------------------------------------------------------ level2

  #queueL2(symbol: string, change: L2Change): void {
    let p = this.#l2Pending.get(symbol);
    if (!p) {
      p = { start: change.sequence, end: change.sequence, bids: new Map(), asks: new Map() };
      this.#l2Pending.set(symbol, p);
    }
    p.end = change.sequence;
    this.#l2Delivered.set(symbol, change.sequence);
    (change.side === "buy" ? p.bids : p.asks).set(change.price, change);
    this.#scheduleL2();
  }

  /**
   * At most one level2 message per window, the window counted from the end of the last
   * fan-out: a change after a quiet spell goes out at once instead of waiting a whole window,
   * and however long writing to every subscriber took, the loop keeps a whole window for
   * orders (and the subscribers' processes for reading) before the next one. Counted from the
   * start instead, a fan-out as long as the window would follow the last without a pause,
   * doubling the messages and the CPU they cost on both sides.
   */
  #scheduleL2(): void {
    if (this.#l2Timer || this.#l2AfterDrain || this.#l2Pending.size === 0) return;
    if (this.#outQueue.length > 0) {
      this.#l2AfterDrain = true;
      return;
    }
    const wait = this.#l2FlushedAt + this.#opts.conflateMs - performance.now();
    // Window already over: flush in this turn of the loop, after the I/O callbacks of its poll
    // phase (a journal group commit delivers all its changes there, so they go out as one
    // message), not on a timer at least 1 ms away behind the next turn's timers.
    this.#l2Timer = wait > 0 ? setTimeout(() => this.#flushL2(), wait) : setImmediate(() => this.#flushL2());
  }

  /** The last level2 sequence already sent for `symbol` (what is still conflating comes after it). */
  #l2SentSeq(symbol: string): number {
    const p = this.#l2Pending.get(symbol);
    return p ? p.start - 1 : (this.#l2Delivered.get(symbol) ?? 0);
  }

  #flushL2(): void {
    this.#l2Timer = null;
    if (this.#outQueue.length > 0) {
      // Another fan-out went out meanwhile and is still being written: this one waits its window after it.
      this.#l2AfterDrain = true;
      return;
    }
    const now = this.#deps.now();
    for (const [symbol, p] of this.#l2Pending) {
      const topic = `/market/level2:${symbol}`;
      if (this.#subs.get(topic)?.size) {
        const m = this.#deps.catalog.market(symbol)!;
        const f = this.#deps.format;
        const level = (c: L2Change): [string, string, string] => [f.price(m, c.price), f.size(m, c.size), String(c.sequence)];
        const text = JSON.stringify({
          type: "message",
          topic,
          subject: "trade.l2update",
          data: { sequenceStart: p.start, sequenceEnd: p.end, symbol, time: now, changes: { asks: [...p.asks.values()].map(level), bids: [...p.bids.values()].map(level) } },
        });
        this.#fanout(topic, text);
      }
      this.#tickerDue.add(symbol);
    }
    this.#l2Pending.clear();
    if (this.#outQueue.length === 0) this.#l2FlushedAt = performance.now();
    this.#scheduleTickers();
  }

  // ------------------------------------------------------------------ trades and tickers

  #publishTrade(symbol: string, t: PublicTrade): void {
    const m = this.#deps.catalog.market(symbol)!;
    const f = this.#deps.format;
    const topic = `/market/match:${symbol}`;
    if (this.#subs.get(topic)?.size) {
      this.#fanout(
        topic,
        JSON.stringify({
          type: "message",
          topic,
          subject: "trade.l3match",
          data: { symbol, sequence: String(t.sequence), side: t.side, price: f.price(m, t.price), size: f.size(m, t.size), tradeId: t.tradeId, time: (BigInt(t.time) * 1_000_000n).toString(), type: "match" },
        }),
      );
    }
    this.#streams.traded(symbol, t.time);
    this.#tickerDue.add(symbol);
    this.#scheduleTickers();
  }

  #scheduleTickers(): void {
    if (this.#tickerTimer) return;
    this.#tickerTimer = setTimeout(() => {
      this.#tickerTimer = null;
      const due = [...this.#tickerDue];
      this.#tickerDue.clear();
      for (const symbol of due) {
        // A timer callback that throws would take the process down: one symbol's failure is logged and the others go on.
        try {
          this.#publishTicker(symbol);
          this.#streams.publish(symbol);
        } catch (err) {
          this.#deps.logger.error({ err, symbol }, "websocket: ticker/stream publish failed");
        }
      }
    }, 100);
  }

  #publishTicker(symbol: string): void {
    const now = this.#deps.now();
    const tickerTopic = `/market/ticker:${symbol}`;
    if (this.#subs.get(tickerTopic)?.size) this.#fanout(tickerTopic, JSON.stringify({ type: "message", topic: tickerTopic, subject: "trade.ticker", data: level1Data(this.#deps, symbol) }));
    const snapTopic = `/market/snapshot:${symbol}`;
    if (this.#subs.get(snapTopic)?.size) {
      const s = stats24hData(this.#deps, symbol, now);
      this.#fanout(
        snapTopic,
        JSON.stringify({
          type: "message",
          topic: snapTopic,
          subject: "trade.snapshot",
          data: {
            sequence: String(this.#deps.marketData.best(symbol).sequence),
            data: { symbol, buy: s.buy, sell: s.sell, lastTradedPrice: s.last, high: s.high, low: s.low, vol: s.vol, volValue: s.volValue, changePrice: s.changePrice, changeRate: s.changeRate, datetime: now },
          },
        }),
      );
    }
  }

  // ------------------------------------------------------------------ private topics

  #onTradingEvent(e: TradingEvent): void {
    // Every topic below is private; with no private subscription at all each would find no subscriber.
    if (this.#privateSubs === 0) return;
    const f = this.#deps.format;
    if (e.kind === "order" && isAdvancedOrderEvent(e)) {
      const topic = `${ADVANCED_ORDERS}@${e.order.accountId}`;
      if (this.#subs.get(topic)?.size) this.#fanout(topic, advancedOrderMessage(e, this.#deps.catalog, f));
    } else if (e.kind === "order") {
      const topic = `/spotMarket/tradeOrders@${e.order.accountId}`;
      if (!this.#subs.get(topic)?.size || e.change === "rejected" || e.change === "triggered") return;
      const o = e.order;
      const m = this.#deps.catalog.market(o.symbol)!;
      const type = e.change === "update" ? "update" : e.change;
      const data: Record<string, unknown> = {
        symbol: o.symbol,
        orderType: o.type,
        side: o.side,
        orderId: o.orderId,
        clientOid: o.clientOid,
        type,
        status: o.isActive ? (e.change === "match" ? "match" : "open") : "done",
        price: f.price(m, o.price),
        size: f.size(m, o.size),
        filledSize: f.size(m, o.dealSize),
        remainSize: f.size(m, Math.max(0, o.size - o.dealSize)),
        orderTime: o.createdAt,
        ts: (BigInt(e.ts) * 1_000_000n).toString(),
      };
      if (e.fill) {
        Object.assign(data, {
          tradeId: e.fill.tradeId,
          matchPrice: f.price(m, e.fill.price),
          matchSize: f.size(m, e.fill.size),
          liquidity: e.fill.liquidity,
          feeType: e.fill.liquidity === "maker" ? "makerFee" : "takerFee",
          fee: f.amount(m.quote, e.fill.fee),
          tax: f.amount(m.quote, e.fill.tax),
          feeRate: (e.fill.feeRate / 10_000).toString(),
        });
      }
      this.#fanout(topic, JSON.stringify({ type: "message", topic: "/spotMarket/tradeOrders", subject: "orderChange", channelType: "private", data }));
    } else if (e.kind === "balance") {
      const topic = `/account/balance@${e.accountId}`;
      if (!this.#subs.get(topic)?.size) return;
      this.#fanout(
        topic,
        JSON.stringify({
          type: "message",
          topic: "/account/balance",
          subject: "account.balance",
          channelType: "private",
          data: {
            accountId: e.accountId,
            currency: e.currency,
            total: f.amount(e.currency, e.available + e.hold),
            available: f.amount(e.currency, e.available),
            hold: f.amount(e.currency, e.hold),
            relationEvent: e.relationEvent,
            time: String(e.ts),
          },
        }),
      );
    }
  }
}

/** A level2 flush is due on a timer (window still open) or on the loop's check phase (window over). */
function clearL2Timer(t: NodeJS.Timeout | NodeJS.Immediate): void {
  if ("refresh" in t) clearTimeout(t);
  else clearImmediate(t);
}
