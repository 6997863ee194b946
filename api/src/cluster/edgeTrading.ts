import { EdgeCode, SenError } from "../errors/SenError.ts";
import type { TradingListener } from "../trading/events.ts";
import type { Order } from "../records/orders.ts";
import type { CancelReason } from "../records/tradingRecords.ts";
import type { CommandOrigin, PlaceInput, TradingService } from "../trading/tradingService.ts";
import type { CommandClient } from "./commandBus.ts";
import type { JournalFollower } from "./journalFollower.ts";

/** What the edge's routes and websocket gateway use of a TradingService (grep `ctx.trading.`). */
export type EdgeTradingSurface = Pick<TradingService, "core" | "risk" | "pilotRules" | "holderRules" | "lastSeq" | "failed" | "haltReason" | "subscribe" | "placeOrder" | "cancelOrder" | "cancelAll" | "amendOrder" | "close">;

export { EdgeCode } from "../errors/SenError.ts";

/**
 * The exchange as an edge sees it: reads from the replica (a TradingService.follower fed by the
 * journal follower), commands over the command bus to the sequencer. A command resolves once
 * the sequencer's reply came AND the replica has applied the journal up to the reply's seq, so
 * a client reading right after its order was acknowledged sees it (read-your-writes), on this
 * edge; the returned order is the replica's own object, as a single process would return it.
 */
export class EdgeTrading implements EdgeTradingSurface {
  readonly #replica: TradingService;
  readonly #follower: Pick<JournalFollower, "waitFor">;
  readonly #commands: Pick<CommandClient, "send">;

  constructor(replica: TradingService, follower: Pick<JournalFollower, "waitFor">, commands: Pick<CommandClient, "send">) {
    this.#replica = replica;
    this.#follower = follower;
    this.#commands = commands;
  }

  get core(): TradingService["core"] {
    return this.#replica.core;
  }
  /** The limits in force: riskLimits records are applied by the replica too. */
  get risk(): TradingService["risk"] {
    return this.#replica.risk;
  }
  get pilotRules(): TradingService["pilotRules"] {
    return this.#replica.pilotRules;
  }
  /** The chain's holder rules are checked by the sequencer; an edge has none (eligibility is forwarded). */
  get holderRules(): TradingService["holderRules"] {
    return null;
  }
  get lastSeq(): bigint {
    return this.#replica.lastSeq;
  }
  /** The replica stopped at a record it could not apply: the edge is about to exit. */
  get failed(): boolean {
    return this.#replica.failed;
  }
  get haltReason(): string | null {
    return this.#replica.haltReason;
  }

  subscribe(listener: TradingListener): () => void {
    return this.#replica.subscribe(listener);
  }

  async placeOrder(input: PlaceInput, origin?: CommandOrigin): Promise<Readonly<Order>> {
    const { value } = await this.#send("placeOrder", origin === undefined ? [input] : [input, origin]);
    return this.#order((value as { orderId: string }).orderId, value);
  }

  async cancelOrder(accountId: string, orderId: string): Promise<Readonly<Order>> {
    const { value } = await this.#send("cancelOrder", [accountId, orderId]);
    return this.#order(orderId, value);
  }

  async cancelAll(accountId: string, reason: CancelReason, symbol?: string, scope?: "orders" | "stops"): Promise<string[]> {
    const args: unknown[] = [accountId, reason];
    if (scope !== undefined) args.push(symbol, scope);
    else if (symbol !== undefined) args.push(symbol);
    const { value } = await this.#send("cancelAll", args);
    return value as string[];
  }

  async amendOrder(accountId: string, orderId: string, change: { price?: number; size?: number }, origin?: CommandOrigin): Promise<Readonly<Order>> {
    const { value } = await this.#send("amendOrder", origin === undefined ? [accountId, orderId, change] : [accountId, orderId, change, origin]);
    return this.#order(orderId, value);
  }

  /** The replica and the command client are closed by the edge role (they outlive routes). */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async #send(op: "placeOrder" | "cancelOrder" | "cancelAll" | "amendOrder", args: unknown[]) {
    const reply = await this.#commands.send(op, args);
    await this.#follower.waitFor(reply.seq);
    return reply;
  }

  /**
   * The replica's order once it applied the command; the sequencer's copy if it was already
   * retired (a finished order comes whole in the reply; an open one as its ids only, see
   * commandBus.ts replyValue, since a replica never retires an open order).
   */
  #order(orderId: string, fromReply: unknown): Readonly<Order> {
    const o = this.#replica.core.order(orderId);
    if (o) return o;
    if (fromReply && typeof fromReply === "object" && "symbol" in fromReply) return fromReply as Order;
    throw new SenError(EdgeCode.SEQUENCER_ONLY, `order ${orderId} is not on this edge's replica`);
  }
}
