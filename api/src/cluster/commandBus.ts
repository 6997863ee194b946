import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod/v4";
import { parseIsoMicros, type AuditEventInput, type AuditEventType } from "../compliance/audit/auditEvent.ts";
import type { AuditIndex } from "../compliance/audit/auditIndex.ts";
import { ClusterCode, SenError } from "../errors/SenError.ts";
import { decodeJson, encodeJson, encodeJsonWithBigints } from "../journal/jsonCodec.ts";
import { TradingError, type CommandOrigin, type PlaceInput } from "../trading/tradingService.ts";
import { TradingCode } from "../trading/codes.ts";
import type { CancelReason } from "../records/tradingRecords.ts";
import { EngineCode } from "../../../matching-engine/src/index.ts";

/**
 * The command bus between edges and the sequencer, on Redis Streams (split-design: `sen:cmd`
 * in, `sen:reply:<nodeId>` out, entries of one or more (id, v) pairs, `sen:cmd:applied` = the last command whose effect is durable).
 *
 * Edges XADD commands; the one active sequencer reads them in stream order, calls the
 * TradingService method for each (the journal's order is the stream's order), and replies on
 * the edge's reply stream once the command's record is durable. The position in `sen:cmd` is
 * written by the journal's own batch script together with the records (redisJournal
 * setCursor), so a sequencer taking over resumes exactly after the last durable command: a
 * command is never applied twice, and one whose record never became durable is applied by the
 * next sequencer (its edge then gets the reply from that one).
 */
export const CMD_STREAM = "sen:cmd";
export const CMD_APPLIED = "sen:cmd:applied";
export const replyStream = (nodeId: string) => `sen:reply:${nodeId}`;

export { ClusterCode } from "../errors/SenError.ts";

export type CommandOp = "placeOrder" | "cancelOrder" | "cancelAll" | "amendOrder" | "audit";

type ErrorReply = { name: string; code: string; message: string; details?: Record<string, unknown> };
type Reply = { ok: true; value: unknown; seq: string } | { ok: false; error: ErrorReply };

// ------------------------------------------------------------------------------------ client

export type CommandClient = {
  /** Resolves with the method's result and the journal seq right after it (read-your-writes); throws the sequencer's error re-created. */
  send(op: CommandOp, args: unknown[]): Promise<{ value: unknown; seq: bigint }>;
  close(): Promise<void>;
};

export type CommandClientOptions = {
  /** Used for XADD; a duplicate connection of it does the blocking reads of replies. */
  redis: Redis;
  nodeId: string;
  /** A command without a reply in this many ms fails with CLUSTER_COMMAND_TIMEOUT (default 10,000). */
  timeoutMs?: number;
  /** How long one blocking read of the reply stream waits (default 1,000 ms; also bounds close()). */
  blockMs?: number;
};

type Pending = { resolve: (r: { value: unknown; seq: bigint }) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout };

/** Re-creates the error the sequencer threw, so the edge's error envelope is the one a single process gives. */
export function errorFromReply(e: ErrorReply): SenError {
  const options = e.details === undefined ? {} : { details: e.details };
  if (e.name === "TradingError") return new TradingError(e.code, e.message, options);
  const err = new SenError(e.code, e.message, options);
  err.name = e.name;
  return err;
}

export function createCommandClient(options: CommandClientOptions): CommandClient {
  const { redis, nodeId } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const blockMs = options.blockMs ?? 1_000;
  const replies = replyStream(nodeId);
  // A restarted edge with the same node id must not take the previous run's replies as its own.
  const boot = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  let counter = 0;
  const pending = new Map<string, Pending>();
  const reader = redis.duplicate();
  reader.on("error", () => undefined); // reconnects by itself; reads fail and are retried below
  let closed = false;

  // Replies are read from the stream's top at creation: ours all come after it.
  const ready = (async () => {
    const top = await redis.xrevrange(replies, "+", "-", "COUNT", 1);
    return top.length === 0 ? "0-0" : top[0][0];
  })();
  ready.catch(() => undefined);

  function settleReply(id: string, text: string): void {
    const p = pending.get(id);
    if (p === undefined) return; // another run's, or timed out already
    pending.delete(id);
    clearTimeout(p.timer);
    // Inside the try, the reply's shape too: a malformed entry fails its own command, never the
    // reader loop that answers every other one.
    try {
      const reply = decodeJson(text) as Reply;
      if (reply.ok) p.resolve({ value: reply.value, seq: BigInt(reply.seq) });
      else p.reject(errorFromReply(reply.error));
    } catch (cause) {
      p.reject(new SenError(ClusterCode.BAD_COMMAND, "the sequencer's reply is not valid", { cause }));
    }
  }

  const loop = (async () => {
    let last: string;
    try {
      last = await ready;
    } catch {
      return;
    }
    while (!closed) {
      let res: [string, [string, string[]][]][] | null;
      try {
        res = (await reader.xread("COUNT", 1000, "BLOCK", blockMs, "STREAMS", replies, last)) as typeof res;
      } catch {
        if (closed) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (res === null) continue;
      for (const [, entries] of res) {
        for (const [entryId, fields] of entries) {
          last = entryId;
          // An entry holds one or more (id, v) pairs: the sequencer sends the replies of one
          // loop turn to an edge in one XADD.
          let id: string | undefined;
          for (let i = 0; i + 1 < fields.length; i += 2) {
            if (fields[i] === "id") id = fields[i + 1];
            else if (fields[i] === "v" && id !== undefined) {
              settleReply(id, fields[i + 1]);
              id = undefined;
            }
          }
        }
      }
    }
  })();

  return {
    async send(op, args) {
      if (closed) throw new SenError(ClusterCode.CLIENT_CLOSED, "the command client is closed");
      try {
        await ready;
      } catch (cause) {
        throw new SenError(ClusterCode.BUS_IO, `cannot reach the command bus: ${(cause as Error)?.message ?? cause}`, { cause });
      }
      const id = `${nodeId}:${boot}-${++counter}`;
      const result = new Promise<{ value: unknown; seq: bigint }>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(
            new SenError(ClusterCode.COMMAND_TIMEOUT, `no answer from the sequencer within ${timeoutMs} ms; the command may still be applied (look the order up by clientOid)`, {
              details: { commandId: id, op },
            }),
          );
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
      });
      // The reply (a refusal too) can be read before the XADD's own answer: until `result` is
      // returned below nobody awaits it, and an unhandled rejection would end the process.
      result.catch(() => undefined);
      try {
        await redis.xadd(CMD_STREAM, "*", "id", id, "r", replies, "c", encodeJson({ op, args }));
      } catch (cause) {
        const p = pending.get(id);
        pending.delete(id);
        if (p) clearTimeout(p.timer);
        result.catch(() => undefined);
        throw new SenError(ClusterCode.BUS_IO, `cannot queue the command: ${(cause as Error)?.message ?? cause}`, { cause });
      }
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const [, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new SenError(ClusterCode.CLIENT_CLOSED, "the command client was closed before the sequencer answered"));
      }
      pending.clear();
      reader.disconnect();
      await loop;
    },
  };
}

function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

// ---------------------------------------------------------------------------------- consumer

/** What the consumer needs of the TradingService (its command methods and its journal position). */
export type CommandTarget = {
  readonly lastSeq: bigint;
  placeOrder(input: PlaceInput, origin?: CommandOrigin): Promise<unknown>;
  /** `command`: the entry id in `sen:cmd`, journaled with the cancel (see answerAgain). */
  cancelOrder(accountId: string, orderId: string, command?: string): Promise<unknown>;
  cancelAll(accountId: string, reason: CancelReason, symbol?: string, scope?: "orders" | "stops"): Promise<unknown>;
  /** `command`: as cancelOrder's, journaled with the amendment. */
  amendOrder(accountId: string, orderId: string, change: { price?: number; size?: number }, origin?: CommandOrigin, command?: string): Promise<unknown>;
};

/** The journal's side of the bus: the command position, written atomically with the command's records (redisJournal setCursor). */
export type CursorJournal = { setCursor(key: string, value: string): void; flush(): Promise<void> };

/** Orders as they stand, to answer again commands a failed sequencer applied but never answered. */
export type OrderLookup = {
  order(orderId: string): { readonly accountId: string; readonly isActive: boolean; readonly price?: number; readonly size?: number; readonly postOnly?: boolean } | undefined;
  orderByClientOid(accountId: string, clientOid: string): unknown;
};

export type CommandConsumerOptions = {
  redis: Redis;
  trading: CommandTarget;
  /**
   * Where commands read before the takeover are answered from: those up to the durable
   * position and younger than `answerAgainMs` get their answer from the state (their effect is
   * durable, their reply may never have left the previous sequencer). Absent: not answered again.
   */
  lookup?: OrderLookup;
  /** How far back (ms, by stream id) from the durable position commands are answered again on start (default 60,000: past any edge's timeout). */
  answerAgainMs?: number;
  /**
   * The journal's records, newest first: answering again, a cancel's own record tells an order
   * it cancelled from one it found inactive (refused), and an amendment's own record one that
   * reached the core from one the pre-trade checks refused. Absent: an inactive order is
   * answered as cancelled, an order whose terms are an amendment's as amended.
   */
  journalRecords?: () => AsyncIterable<Record<string, unknown>>;
  /**
   * `newestLines`: the log's durable lines, newest first. Given, an edge's audit command that the
   * previous sequencer recorded but whose position never became durable (it died in between)
   * is answered with that line instead of recorded again; see AUDIT_COMMAND_FIELD. `index`:
   * where a place the previous sequencer refused before the journal finds its refusal again
   * (placeRefusals); absent, such a place is answered as lost.
   */
  audit: { record(input: AuditEventInput): unknown; flush(): Promise<void>; newestLines?(): AsyncIterable<string>; index?: AuditQueries };
  journal: CursorJournal;
  /** Checked before each command: false = the lease is gone, stop taking commands. */
  isActive?: () => boolean;
  onError?: (err: unknown, what: string) => void;
  /** One blocking read waits at most this long (default 1,000 ms; bounds stop()). */
  blockMs?: number;
};

export type CommandConsumer = {
  /** Commands answered again at start (read before the takeover, see CommandConsumerOptions.lookup). */
  readonly answeredAgain: number;
  /** Commands read so far (tests, metrics). */
  readonly consumed: number;
  /** Stops reading; resolves once the commands already started are answered. */
  stop(): Promise<void>;
};

const int = z.number().int().safe();
const origin = z.object({ ip: z.string().max(100).optional(), wallet: z.string().max(100).optional() }).strict().optional();
const id = z.string().min(1).max(200);
const placeInput = z
  .object({
    accountId: id,
    identityHash: z.string().max(200),
    symbol: z.string().min(1).max(50),
    side: z.enum(["buy", "sell"]),
    type: z.enum(["limit", "market"]),
    price: int.positive().optional(),
    size: int.positive().optional(),
    funds: z.string().regex(/^\d+$/).max(80).optional(),
    tif: z.enum(["GTC", "IOC", "FOK"]),
    postOnly: z.boolean(),
    visibleSize: int.nonnegative().optional(),
    stp: z.enum(["CN", "CO", "CB", "DC"]),
    stop: z.object({ stopPrice: int.positive(), kind: z.enum(["loss", "entry"]) }).strict().optional(),
    clientOid: z.string().max(200),
    apiKeyId: z.string().max(200).optional(),
  })
  .strict();
const change = z.object({ price: int.positive().optional(), size: int.positive().optional() }).strict();
/**
 * What an edge records over the bus: sign-ins and API keys (routes/senAuth.ts) and the
 * compliance alert stream's queries (ws/wsGateway.ts). Strict: seq, id, ts and jseq are the
 * log's and the journal's to assign, and a line carrying an edge's ts or jseq is replayed at
 * every start (a malformed ts stopped each later start; a jseq is read as the trading record
 * the line derives from). Other event types are the sequencer's own.
 */
const EDGE_AUDIT_TYPES = ["auth.login", "auth.loginFailed", "auth.logout", "apiKey.created", "apiKey.revoked", "audit.query"] as const satisfies ReadonlyArray<AuditEventType>;
/**
 * The `detail` key under which an edge's audit line carries its command's entry id in
 * `sen:cmd`. The entry id, not the edge's own command id: it is what the durable position is
 * compared with (a line for an entry at or before the position is the predecessor's, seen
 * already), and the successor reads the same stream. A key an edge sends itself is replaced.
 */
export const AUDIT_COMMAND_FIELD = "commandEntry";
/**
 * How far a sequencer's clock (audit lines, journal records) may sit behind Redis's (entry ids)
 * while both hosts keep to UTC (RTS 25 asks 1 ms): a successor's searches for what its
 * predecessor wrote for a command stop at lines or records older than the command by more.
 * Skew past it only costs what the search is for: a second audit line, a cancel answered as lost.
 */
const CLOCK_SKEW_MS = 10_000;
const text = z.string().max(200).optional();
const edgeAuditEvent = z
  .object({
    type: z.enum(EDGE_AUDIT_TYPES),
    account: text,
    identityHash: text,
    wallet: text,
    apiKeyId: text,
    ip: z.string().max(100).optional(),
    reason: text,
    actor: text,
    detail: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export const COMMAND_ARGS = {
  placeOrder: z.union([z.tuple([placeInput]), z.tuple([placeInput, origin])]),
  cancelOrder: z.tuple([id, id]),
  cancelAll: z.union([
    z.tuple([id, z.enum(["user", "killSwitch", "disconnect", "identity", "halt"])]),
    z.tuple([id, z.enum(["user", "killSwitch", "disconnect", "identity", "halt"]), z.string().max(50).optional()]),
    z.tuple([id, z.enum(["user", "killSwitch", "disconnect", "identity", "halt"]), z.string().max(50).optional(), z.enum(["orders", "stops"]).optional()]),
  ]),
  amendOrder: z.union([z.tuple([id, id, change]), z.tuple([id, id, change, origin])]),
  audit: z.tuple([edgeAuditEvent]),
} as const;
const COMMAND = z.object({ op: z.string(), args: z.array(z.unknown()) });
/** A placeOrder answered again that left no order: its entry, and what its refusal in the audit trail would name. */
type RefusedPlace = { entryId: string; accountId: string; clientOid: string };
/** The audit index's event query, all answering again needs of it (AuditTrail.index). */
type AuditQueries = Pick<AuditIndex, "query">;
/** An account's refusals read at once when answering again; more in the window and its places are answered as lost. */
const REFUSALS_PAGE = 1_000;

/** An amend record as answerAgain reads it: its price, and whether a later amendment of its order gave one. */
type JournaledAmend = { price?: number; pricedLater: boolean };

/*
 * Fast checks for the commands of every order (placeOrder, cancelOrder): zod's parse of a
 * placeOrder cost the sequencer's thread about a tenth of its time per order in the split. Each
 * accepts only what the schema above accepts (a subset: same keys, types, bounds); whatever it
 * does not accept goes through zod, which accepts it or words the refusal. The test checks that
 * both agree on every field's edge cases.
 */
const PLACE_KEYS = new Set(Object.keys(placeInput.shape));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr = (v: unknown, min: number, max: number): boolean => typeof v === "string" && v.length >= min && v.length <= max;
const isOptStr = (v: unknown, max: number): boolean => v === undefined || isStr(v, 0, max);
const isOptPosInt = (v: unknown): boolean => v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v > 0);
const isId = (v: unknown): boolean => isStr(v, 1, 200);

function isPlaceInput(v: unknown): boolean {
  if (!isRecord(v)) return false;
  for (const k of Object.keys(v)) if (!PLACE_KEYS.has(k)) return false;
  const { funds, visibleSize, stop } = v;
  return (
    isId(v.accountId) &&
    isStr(v.identityHash, 0, 200) &&
    isStr(v.symbol, 1, 50) &&
    (v.side === "buy" || v.side === "sell") &&
    (v.type === "limit" || v.type === "market") &&
    isOptPosInt(v.price) &&
    isOptPosInt(v.size) &&
    (funds === undefined || (typeof funds === "string" && funds.length <= 80 && /^\d+$/.test(funds))) &&
    (v.tif === "GTC" || v.tif === "IOC" || v.tif === "FOK") &&
    typeof v.postOnly === "boolean" &&
    (visibleSize === undefined || (typeof visibleSize === "number" && Number.isSafeInteger(visibleSize) && visibleSize >= 0)) &&
    (v.stp === "CN" || v.stp === "CO" || v.stp === "CB" || v.stp === "DC") &&
    (stop === undefined || (isRecord(stop) && Object.keys(stop).length === 2 && stop.stopPrice !== undefined && isOptPosInt(stop.stopPrice) && (stop.kind === "loss" || stop.kind === "entry"))) &&
    isStr(v.clientOid, 0, 200) &&
    isOptStr(v.apiKeyId, 200)
  );
}

function isOrigin(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isRecord(v)) return false;
  for (const k of Object.keys(v)) if (k !== "ip" && k !== "wallet") return false;
  return isOptStr(v.ip, 100) && isOptStr(v.wallet, 100);
}

/** Whether `args` certainly passes COMMAND_ARGS[op] (false: ask zod). */
export function argsPassFast(op: string, args: unknown[]): boolean {
  if (op === "placeOrder") return (args.length === 1 || (args.length === 2 && isOrigin(args[1]))) && isPlaceInput(args[0]);
  if (op === "cancelOrder") return args.length === 2 && isId(args[0]) && isId(args[1]);
  return false;
}

/** `COMMAND_ARGS[op].safeParse(args)`, the fast checks first. */
export function parseCommandArgs(op: string, args: unknown[]): { success: true; data: unknown[] } | { success: false; message: string } {
  if (!Object.hasOwn(COMMAND_ARGS, op)) return { success: false, message: `unknown command ${op.slice(0, 50)}` };
  if (argsPassFast(op, args)) return { success: true, data: args };
  const parsed = (COMMAND_ARGS as Record<string, z.ZodType>)[op].safeParse(args);
  if (parsed.success) return { success: true, data: parsed.data as unknown[] };
  return { success: false, message: `bad arguments for ${op}: ${z.prettifyError(parsed.error).slice(0, 500)}` };
}

/** COMMAND.parse, without zod for the usual shape. */
function parseCommand(value: unknown): z.infer<typeof COMMAND> {
  if (isRecord(value) && typeof value.op === "string" && Array.isArray(value.args)) return { op: value.op, args: value.args };
  return COMMAND.parse(value);
}

/**
 * Reads `sen:cmd` from after `sen:cmd:applied` and applies each command in stream order. The
 * methods are called one after another without waiting for each to become durable: their
 * synchronous part appends and applies, so the journal order is the stream order, and a whole
 * read's worth of commands shares one group commit.
 */
export async function startCommandConsumer(options: CommandConsumerOptions): Promise<CommandConsumer> {
  const { redis, trading, journal } = options;
  const onError = options.onError ?? (() => undefined);
  const isActive = options.isActive ?? (() => true);
  const blockMs = options.blockMs ?? 1_000;
  const reader = redis.duplicate();
  reader.on("error", () => undefined);
  let position = (await redis.get(CMD_APPLIED)) ?? "0-0";
  let stopped = false;
  let consumed = 0;
  const inFlight = new Set<Promise<void>>();

  /**
   * Replies wait in an outbox until the end of the loop turn, then go out as one XADD per edge
   * with one (id, v) pair per command: a group commit's replies cost one Redis write per edge,
   * not one per command (and one wake-up of that edge's reader).
   */
  type Outbox = { fields: string[]; sent: Array<() => void> };
  const outbox = new Map<string, Outbox>();
  let outboxScheduled = false;
  const MAX_REPLIES_PER_ENTRY = 500;

  function post(to: string, box: Outbox): void {
    redis
      .xadd(to, "MAXLEN", "~", 100_000, "*", ...box.fields)
      .then(
        () => undefined,
        (err: unknown) => onError(err, `${box.sent.length} replies to ${to}`),
      )
      .finally(() => {
        for (const done of box.sent) done();
      });
  }

  function sendOutbox(): void {
    outboxScheduled = false;
    const boxes = [...outbox];
    outbox.clear();
    for (const [to, box] of boxes) post(to, box);
  }

  function reply(to: string | undefined, commandId: string | undefined, r: Reply): Promise<void> {
    if (to === undefined || commandId === undefined || !to.startsWith("sen:reply:")) return Promise.resolve();
    // A whole order's money fields are bigints (tagged at once); other answers rarely hold any (encodeJson tags them when they do).
    const v = r.ok && isWholeOrder(r.value) ? encodeJsonWithBigints(r) : encodeJson(r);
    return new Promise<void>((resolve) => {
      let box = outbox.get(to);
      if (box !== undefined && box.sent.length >= MAX_REPLIES_PER_ENTRY) {
        // A full entry leaves now; later replies start the next one (order per edge is kept: one connection).
        outbox.delete(to);
        post(to, box);
        box = undefined;
      }
      if (box === undefined) {
        box = { fields: [], sent: [] };
        outbox.set(to, box);
      }
      box.fields.push("id", commandId, "v", v);
      box.sent.push(resolve);
      if (!outboxScheduled) {
        outboxScheduled = true;
        setImmediate(sendOutbox);
      }
    });
  }

  function refusal(err: unknown): Reply {
    if (err instanceof SenError) {
      const error: ErrorReply = { name: err.name, code: err.code, message: err.message };
      if (err.details !== undefined) error.details = err.details;
      return { ok: false, error };
    }
    return { ok: false, error: { name: "SenError", code: "INTERNAL", message: (err as Error)?.message ?? String(err) } };
  }

  type Parsed = { op: string; a: unknown[] } | { refused: SenError };

  function parseEntry(fields: string[]): Parsed {
    let cmd: z.infer<typeof COMMAND>;
    try {
      cmd = parseCommand(decodeJson(field(fields, "c") ?? ""));
    } catch (cause) {
      return { refused: new SenError(ClusterCode.BAD_COMMAND, "the command is not {op, args} JSON", { cause }) };
    }
    const parsed = parseCommandArgs(cmd.op, cmd.args);
    if (!parsed.success) return { refused: new SenError(ClusterCode.BAD_COMMAND, parsed.message) };
    return { op: cmd.op, a: parsed.data };
  }

  /** Starts command `entryId` (its journal append happens synchronously in here). */
  function dispatch(parsed: Parsed, entryId: string): Promise<unknown> {
    if ("refused" in parsed) return Promise.reject(parsed.refused);
    const cmd = parsed;
    const a = parsed.a;
    try {
      switch (cmd.op as CommandOp) {
        case "placeOrder":
          return trading.placeOrder(a[0] as PlaceInput, a[1] as CommandOrigin | undefined);
        case "cancelOrder":
          return trading.cancelOrder(a[0] as string, a[1] as string, entryId);
        case "cancelAll":
          return trading.cancelAll(a[0] as string, a[1] as CancelReason, a[2] as string | undefined, a[3] as "orders" | "stops" | undefined);
        case "amendOrder":
          return trading.amendOrder(a[0] as string, a[1] as string, a[2] as { price?: number; size?: number }, a[3] as CommandOrigin | undefined, entryId);
        case "audit": {
          // The predecessor's line, durable before it died: its position was not.
          const line = recordedBefore.get(entryId);
          if (line !== undefined) {
            recordedBefore.delete(entryId);
            return Promise.resolve(line);
          }
          // Answered once the line is durable: the edge hands out the session or API secret the
          // event records on this answer, and a crash must not leave the grant unrecorded.
          const { [AUDIT_COMMAND_FIELD]: _sent, ...detail } = (a[0] as AuditEventInput).detail ?? {};
          const e = options.audit.record({ ...(a[0] as AuditEventInput), detail: { ...detail, [AUDIT_COMMAND_FIELD]: entryId } }) as { id?: string; seq?: number } | undefined;
          return options.audit.flush().then(() => (e === undefined ? null : { id: e.id, seq: e.seq }));
        }
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.reject(new SenError(ClusterCode.BAD_COMMAND, `unknown command ${cmd.op}`));
  }

  const lost = (what: string): Reply => ({
    ok: false,
    error: { name: "SenError", code: ClusterCode.REFUSED_BEFORE_FAILOVER, message: `${what} was refused by the previous sequencer; its reason was lost when that sequencer failed` },
  });

  /**
   * The previous sequencer made these commands' effects durable (the position is past them)
   * but may have died before answering. Answered again from the state as it stands, with the
   * answer that sequencer gave; an edge that got the first answer ignores the second (its id is
   * no longer awaited). The window ends at the position and is measured from its entry id, on
   * Redis's clock like the ids it bounds: this sequencer's own clock may sit anywhere.
   */
  async function answerAgain(lookup: OrderLookup): Promise<number> {
    if (position === "0-0") return 0;
    const from = `${Math.max(0, entryMs(position) - (options.answerAgainMs ?? 60_000))}-0`;
    const entries = await redis.xrange(CMD_STREAM, from, position);
    const seq = trading.lastSeq.toString();
    type Found = { entryId: string; orderId: string; order: NonNullable<ReturnType<OrderLookup["order"]>> };
    type Again = { fields: string[]; r?: Reply; cancel?: Found; amend?: Found & { change: z.infer<typeof change> }; refused?: RefusedPlace };
    const again: Again[] = [];
    for (const [entryId, fields] of entries) {
      const one: Again = { fields };
      again.push(one);
      try {
        const cmd = COMMAND.parse(decodeJson(field(fields, "c") ?? ""));
        const a = cmd.args as never[];
        if (cmd.op === "placeOrder") {
          const input = placeInput.parse(a[0]);
          const order = lookup.orderByClientOid(input.accountId, input.clientOid);
          if (order !== undefined) one.r = { ok: true, value: order, seq };
          else one.refused = { entryId, accountId: input.accountId, clientOid: input.clientOid };
        } else if (cmd.op === "cancelOrder") {
          const [accountId, orderId] = [id.parse(a[0]), id.parse(a[1])];
          const order = lookup.order(orderId);
          // What TradingService.cancelOrder refuses before it journals anything: the order was
          // missing then too (ids are never reused, ended orders are kept for days) or someone else's.
          if (order === undefined || order.accountId !== accountId) one.r = refusal(new TradingError(TradingCode.ORDER_NOT_FOUND, "order not found"));
          else one.cancel = { entryId, orderId, order };
        } else if (cmd.op === "amendOrder") {
          const [accountId, orderId] = [id.parse(a[0]), id.parse(a[1])];
          const order = lookup.order(orderId);
          const ch = change.parse(a[2]);
          // As for a cancel: missing then too, or someone else's (TradingService.amendOrder's first refusal).
          if (order === undefined || order.accountId !== accountId) one.r = refusal(new TradingError(TradingCode.ORDER_NOT_FOUND, "order not found"));
          else one.amend = { entryId, orderId, order, change: ch };
        } else {
          // cancelAll's ids are not kept; audit has no answer.
          one.r = { ok: true, value: cmd.op === "cancelAll" ? [] : null, seq };
        }
      } catch {
        one.r = { ok: false, error: { name: "SenError", code: ClusterCode.BAD_COMMAND, message: "the command is malformed" } };
      }
    }
    // An inactive order does not say whether this cancel ended it or found it ended, nor an
    // order's terms whether this amendment made them: the record each journaled names its entry
    // (TradingService's `command`). One read of the journal for both.
    const cancels = again.filter((x) => x.cancel !== undefined);
    const amends = again.filter((x) => x.amend !== undefined);
    const oldest = again.find((x) => x.cancel !== undefined || x.amend !== undefined); // entries are in stream order
    const journaled = oldest !== undefined && options.journalRecords ? await commandRecords(options.journalRecords, entryMs((oldest.cancel ?? oldest.amend)!.entryId)) : null;
    for (const x of cancels) {
      const { entryId, orderId, order } = x.cancel!;
      if (journaled === null) x.r = order.isActive ? lost(`cancelOrder of ${orderId}`) : { ok: true, value: order, seq };
      else if (!journaled.cancels.has(entryId)) x.r = order.isActive ? lost(`cancelOrder of ${orderId}`) : refusal(new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active"));
      // Journaled but refused by the core (the record changed nothing): TradingService says so with the same code.
      else x.r = order.isActive ? refusal(new TradingError(TradingCode.ORDER_NOT_ACTIVE, "order is not active")) : { ok: true, value: order, seq };
    }
    // A place with no order was refused before the journal: its refusal is in the audit log if it became durable.
    const refusedPlaces = again.filter((x) => x.refused !== undefined);
    const recorded = refusedPlaces.length > 0 && options.audit.index ? await placeRefusals(options.audit.index, refusedPlaces.map((x) => x.refused!)) : null;
    for (const x of refusedPlaces) {
      const r = recorded?.get(x.refused!.entryId);
      x.r = r === undefined ? lost(`order ${x.refused!.clientOid}`) : refusal(new TradingError(r.code, r.message));
    }
    for (const x of amends) {
      const { entryId, orderId, order, change: ch } = x.amend!;
      if (journaled === null) {
        const applied = (ch.price === undefined || ch.price === order.price) && (ch.size === undefined || ch.size === order.size);
        x.r = applied ? { ok: true, value: order, seq } : lost(`amendOrder of ${orderId}`);
        continue;
      }
      const rec = journaled.amends.get(entryId);
      // Not journaled: TradingService refused it first (inactive, nothing to change, a pre-trade check), and why is not known now.
      if (rec === undefined) x.r = lost(`amendOrder of ${orderId}`);
      else x.r = amendAnswer(orderId, order, rec) ?? { ok: true, value: order, seq };
    }
    // Not awaited one by one: the answers go out in entries of up to MAX_REPLIES_PER_ENTRY per
    // edge (a minute of commands at a busy rate is tens of thousands), in stream order.
    await Promise.all(again.map((x) => reply(field(x.fields, "r"), field(x.fields, "id"), x.r!)));
    return entries.length;
  }

  /**
   * The refusals the audit trail recorded for places refused before the journal (TradingService's
   * `order.rejected` with no order id and no journal record: the pre-trade checks, an unknown
   * symbol), by entry, read from the audit index (one query per account, which the trail fed from
   * the durable log as it opened). An entry gets one only when it is the only command in the
   * window for its account and clientOid and the index holds exactly one such refusal for them
   * from the entry's time on (less the clock skew): a retry with the same clientOid, or a refusal
   * of a later command, would leave it unclear whose reason is whose, and that is answered as
   * lost. So is one whose line never became durable, and every entry of an account with more
   * refusals in the window than one page holds. One refusal cannot be a later command's: every
   * place the catalog or the pre-trade checks refuse records its refusal, in order, and the log
   * is durable as a prefix, so a later one's line is durable only if this one's is too (then
   * there are two); a place refused otherwise (the sequencer already failing) records none, and
   * neither does any place after it, the failure being for good. Amendments are not answered this way: some of their refusals (nothing to
   * change, an inactive order) record nothing, so one line could be another command's.
   */
  async function placeRefusals(index: AuditQueries, places: RefusedPlace[]): Promise<Map<string, { code: string; message: string }>> {
    const out = new Map<string, { code: string; message: string }>();
    const sinceMs = (entryId: string) => entryMs(entryId) - CLOCK_SKEW_MS;
    const byAccount = new Map<string, RefusedPlace[]>();
    for (const p of places) byAccount.set(p.accountId, [...(byAccount.get(p.accountId) ?? []), p]);
    for (const [account, mine] of byAccount) {
      const from = new Date(Math.max(0, Math.min(...mine.map((p) => sinceMs(p.entryId))))).toISOString();
      let page: Awaited<ReturnType<AuditQueries["query"]>>;
      try {
        page = await index.query({ account, types: ["order.rejected"], from, limit: REFUSALS_PAGE, order: "asc" });
      } catch (err) {
        options.onError?.(err, "answering again: reading refusals from the audit index");
        continue;
      }
      if (page.nextCursor !== undefined) continue;
      const entriesOf = new Map<string, RefusedPlace[]>();
      for (const p of mine) entriesOf.set(p.clientOid, [...(entriesOf.get(p.clientOid) ?? []), p]);
      for (const [clientOid, entries] of entriesOf) {
        if (entries.length !== 1) continue;
        const since = BigInt(sinceMs(entries[0].entryId)) * 1000n;
        const refusals = page.items.filter((e) => e.clientOid === clientOid && e.orderId === undefined && e.jseq === undefined && e.ruleId !== undefined && parseIsoMicros(e.ts) >= since);
        if (refusals.length === 1) out.set(entries[0].entryId, { code: refusals[0].ruleId!, message: refusals[0].reason ?? refusals[0].ruleId! });
      }
    }
    return out;
  }

  /**
   * The entries named by the cancel and amend records journaled since (about) `sinceMs`, read
   * newest first; for an amendment, its price and whether a later amendment of the same order
   * gave a price (see amendAnswer).
   */
  async function commandRecords(records: () => AsyncIterable<Record<string, unknown>>, sinceMs: number): Promise<{ cancels: Set<string>; amends: Map<string, JournaledAmend> }> {
    const cancels = new Set<string>();
    const amends = new Map<string, JournaledAmend>();
    const pricedLater = new Set<string>();
    for await (const rec of records()) {
      // Records are journaled in time order; theirs is the sequencer's clock, the entries' Redis's.
      if (typeof rec.ts === "number" && rec.ts < sinceMs - CLOCK_SKEW_MS) break;
      if (rec.t === "cancel" && typeof rec.cmd === "string") cancels.add(rec.cmd);
      else if (rec.t === "amend" && typeof rec.orderId === "string") {
        const price = typeof rec.price === "number" ? rec.price : undefined;
        if (typeof rec.cmd === "string") amends.set(rec.cmd, { price, pricedLater: pricedLater.has(rec.orderId) });
        if (price !== undefined) pricedLater.add(rec.orderId);
      }
    }
    return { cancels, amends };
  }

  /**
   * What TradingService.amendOrder answered a journaled amendment: undefined for the order (the
   * core applied it), else the core's refusal. The journal keeps what was asked, not the core's
   * answer, so this reasons from the core: the service's checks and the core's apply run in one
   * synchronous step, and the core's #amend repeats those checks (active, limit, size above the
   * filled part, funds for the hold) and adds the engine's, of which the pre-trade checks already
   * make tick, lot and bounds. The one left is post-only: a new price that would take. And an
   * order's price moves only by an amendment that gives one (a self-trade decrement cuts its
   * size, which is why sizes are not compared). Hence:
   * - no price: applied;
   * - a price no later amendment of the order gave a price after: applied exactly when the
   *   order's price is this one (refused, it kept its old price, which the service checked was
   *   not this one); refused, a post-only order's code is the engine's, any other order's reason
   *   (none is known today) is answered as lost;
   * - a price moved again later: the order's price says nothing of this one. Applied for an
   *   order that is not post-only; for one that is, not known, and said so (the edge's own
   *   timeout would say the same, later) rather than answered as either.
   */
  function amendAnswer(orderId: string, order: NonNullable<ReturnType<OrderLookup["order"]>>, rec: JournaledAmend): Reply | undefined {
    if (rec.price === undefined) return undefined;
    if (!rec.pricedLater) {
      if (order.price === rec.price) return undefined;
      if (order.postOnly !== true) return lost(`amendOrder of ${orderId}`);
      const code = EngineCode.POST_ONLY_WOULD_TAKE;
      return refusal(new TradingError(code, `amendment refused: ${code}`, { details: { orderId } }));
    }
    if (order.postOnly !== true) return undefined;
    return refusal(
      new SenError(ClusterCode.COMMAND_TIMEOUT, `the sequencer that journaled amendOrder of ${orderId} failed before answering, and whether the engine applied it is not known: look the order up`, {
        details: { orderId },
      }),
    );
  }
  const answeredAgain = options.lookup ? await answerAgain(options.lookup) : 0;

  /**
   * An audit command's position is written only once its line is durable (see the loop), so
   * the previous sequencer may have died with the line in the log and the position before it.
   * Its lines are the newest in the log that name an entry after the position: found here
   * once, before the first read, and answered with instead of a second line.
   */
  async function auditLinesAfterPosition(newestLines: () => AsyncIterable<string>): Promise<Map<string, { id: string; seq: number }>> {
    const found = new Map<string, { id: string; seq: number }>();
    const next = await redis.xrange(CMD_STREAM, `(${position}`, "+", "COUNT", 1);
    if (next.length === 0) return found;
    const oldestUs = BigInt(entryMs(next[0][0]) - CLOCK_SKEW_MS) * 1000n;
    const named = new RegExp(`"${AUDIT_COMMAND_FIELD}":"\\d+-\\d+"`);
    for await (const line of newestLines()) {
      // The text only picks lines to parse: the key may also sit deeper in an edge's detail.
      const e = !named.test(line) ? undefined : (JSON.parse(line) as { id: string; seq: number; detail?: Record<string, unknown> });
      const entry = e?.detail?.[AUDIT_COMMAND_FIELD];
      if (e !== undefined && typeof entry === "string" && /^\d+-\d+$/.test(entry)) {
        // Audit commands are recorded in stream order: one at or before the position means every older line is too.
        if (compareEntryIds(entry, position) <= 0) break;
        found.set(entry, { id: e.id, seq: e.seq });
        continue;
      }
      // Lines derived from journal records (jseq) carry their record's time and may be written
      // late; the others are stamped as appended, so one older than the entry ends the search.
      if (line.includes('"jseq":')) continue;
      const ts = /"ts":"([^"]+)"/.exec(line);
      if (ts !== null && parseIsoMicros(ts[1]) < oldestUs) break;
    }
    return found;
  }
  const recordedBefore = options.audit.newestLines ? await auditLinesAfterPosition(() => options.audit.newestLines!()) : new Map<string, { id: string; seq: number }>();

  /**
   * The command stream is only needed after the durable position, plus the window a new
   * sequencer answers again: older entries are trimmed (XTRIM MINID, at most every few seconds).
   */
  const keepMs = Math.max(options.answerAgainMs ?? 60_000, 60_000) * 2;
  let lastTrim = 0;
  function trim(durable: string): void {
    const now = Date.now();
    if (now - lastTrim < 5_000) return;
    lastTrim = now;
    const byAge = now - keepMs;
    const durableMs = Number(durable.split("-")[0]);
    const minId = `${Math.min(byAge, durableMs)}-0`;
    redis.xtrim(CMD_STREAM, "MINID", "~", minId).catch((err: unknown) => onError(err, "trimming the command stream"));
  }

  const loop = (async () => {
    while (!stopped && isActive()) {
      let res: [string, [string, string[]][]][] | null;
      try {
        res = (await reader.xread("COUNT", 1000, "BLOCK", blockMs, "STREAMS", CMD_STREAM, position)) as typeof res;
      } catch (err) {
        if (stopped) return;
        onError(err, "reading the command stream");
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (res === null) continue;
      const started: Array<{ done: Promise<unknown>; to?: string; id?: string; seq: bigint }> = [];
      // An audit command has no journal record: a position written past it before its line is
      // durable would let a crash in between lose the line while the next sequencer answers it
      // again as done (and the edge hands out the grant). Its position waits for its flush;
      // audit commands in a row share that wait.
      let heldAudit: string | null = null;
      let heldFrom = 0;
      const releaseAudit = async () => {
        if (heldAudit === null) return;
        await Promise.allSettled(started.slice(heldFrom).map((s) => s.done));
        journal.setCursor(CMD_APPLIED, heldAudit);
        heldAudit = null;
      };
      let journalFailed = false;
      try {
        reading: for (const [, entries] of res) {
          for (const [entryId, fields] of entries) {
            if (stopped || !isActive()) break reading;
            const cmd = parseEntry(fields);
            let done: Promise<unknown>;
            if ("op" in cmd && cmd.op === "audit") {
              if (heldAudit === null) heldFrom = started.length;
              done = dispatch(cmd, entryId);
              heldAudit = entryId;
            } else {
              await releaseAudit();
              // Before the command: its method's append may start the batch at once, and the
              // position must ride in the batch with the command's record (or, if it makes none,
              // in the next batch).
              journal.setCursor(CMD_APPLIED, entryId);
              done = dispatch(cmd, entryId);
            }
            position = entryId;
            consumed++;
            started.push({ done, to: field(fields, "r"), id: field(fields, "id"), seq: trading.lastSeq });
          }
        }
        await releaseAudit();
      } catch (err) {
        // setCursor throws once the journal failed, also when only a batch of positions did (no
        // caller's append saw it): stop here, the owner sees journal.failed and exits; the
        // commands after the durable position are the next sequencer's to apply and answer.
        onError(err, "setting the command position (the journal failed)");
        journalFailed = true;
      }
      // One group commit for the whole read. A refused command has no record, but its position
      // still has to be durable before the refusal is told (else a new sequencer could run it
      // again and accept it); flush() writes a pending position even without records.
      const cursorDurable = journal.flush();
      const readUpTo = position;
      void cursorDurable.then(() => trim(readUpTo), () => undefined);
      for (const s of started) {
        const p = s.done.then(
          async (value) => {
            await cursorDurable;
            await reply(s.to, s.id, { ok: true, value: replyValue(value), seq: s.seq.toString() });
          },
          async (err: unknown) => {
            await cursorDurable;
            // The journal failed (fenced, Redis gone): this command's fate is the next
            // sequencer's, which re-reads it after the durable position and answers it.
            if (err instanceof SenError && err.code === "JOURNAL_IO") return;
            await reply(s.to, s.id, refusal(err));
          },
        );
        const tracked = p.catch((err: unknown) => onError(err, `command ${s.id}`)).finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
      cursorDurable.catch((err: unknown) => onError(err, "writing the command position"));
      if (journalFailed) return;
    }
  })();

  return {
    answeredAgain,
    get consumed() {
      return consumed;
    },
    async stop() {
      stopped = true;
      reader.disconnect();
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** The milliseconds (Redis's clock at XADD) of a stream entry id. */
function entryMs(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf("-")));
}

/** Stream entry ids in stream order (`<ms>-<n>`, each part compared as a number). */
export function compareEntryIds(a: string, b: string): number {
  const [am, an] = a.split("-").map(BigInt);
  const [bm, bn] = b.split("-").map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : an === bn ? 0 : an < bn ? -1 : 1;
}

/** Whether `value` is a whole order (a command's answer), not its ids. */
function isWholeOrder(value: unknown): boolean {
  return value !== null && typeof value === "object" && "funds" in value;
}

/**
 * What a command's answer carries back to the edge. An order still open travels as its ids: the
 * edge answers from its replica once that has applied the command (EdgeTrading), and a replica
 * holds every open order (only finished ones are ever retired, after the retention). A finished
 * order travels whole, for a replica that has already retired it. About 650 bytes less per
 * resting order through Redis (AOF-fsynced) and no bigint encoding on the sequencer's thread.
 */
function replyValue(value: unknown): unknown {
  if (value === null || typeof value !== "object" || !("isActive" in value) || value.isActive !== true || !("orderId" in value)) return value;
  const { orderId, clientOid } = value as { orderId: unknown; clientOid?: unknown };
  return { orderId, clientOid, isActive: true };
}
