import type { Logger } from "../../observability/logger.ts";
import { createSurveillance } from "../surveillance/surveillance.ts";
import type { Alert } from "../surveillance/types.ts";
import type { AuditEvent, AuditEventInput } from "./auditEvent.ts";
import { parseIsoMicros } from "./auditEvent.ts";
import type { AuditIndex, AuditScreening, ScreenOutcome, StoredAlert } from "./auditIndex.ts";
import type { AuditLog } from "./auditLog.ts";
import { AuditCode, AuditError } from "./errors.ts";

export type AuditTrailOptions = {
  log: AuditLog;
  index: AuditIndex;
  logger: Logger;
  /** How often appended events are made durable, indexed and screened (ms). */
  flushEveryMs?: number;
  /** Detector state is rebuilt at start from this much recent history (µs of event time). */
  surveillanceWarmupUs?: bigint;
  /** Pause before feeding a failed index again: doubles from `firstMs` up to `maxMs`. Default 250 ms to 30 s. */
  indexRetry?: { firstMs: number; maxMs: number };
};

/** An index refusing events: the log goes on without it, and it is fed again from `fromSeq`. */
export type AuditIndexFailure = { fromSeq: number; attempts: number; sinceMs: number; retryAtMs: number; error: string };

/** Lines per index call when the index is fed from the log (catch-up, or after a failure). */
const FROM_LOG_BATCH = 5_000;

/**
 * The audit trail as the rest of the gateway sees it: `record` appends an event to the
 * tamper-evident log; a background loop makes appended events durable, feeds them to the
 * query index (in seq order, so the index is always a prefix of the log) and to the
 * market-abuse detectors, whose alerts are themselves recorded (`alert.raised`), stored
 * for the compliance queue and pushed to listeners (the compliance websocket topic). With
 * the default SQLite index the detectors run in its worker thread (`AuditIndex.screening`),
 * off the sequencer's thread, on the lines it parses for the index anyway.
 *
 * Only durable events are indexed and screened, and an alert is stored and pushed only once
 * its `alert.raised` line is durable. An index that fails holds the log back in nothing: the
 * events it refused are left to the log (not held in memory) and fed to it again from there,
 * after a pause that doubles with each failure, so it stays a gap-free prefix of the log.
 */
export class AuditTrail {
  readonly log: AuditLog;
  readonly index: AuditIndex;
  readonly #logger: Logger;
  /** The detectors on this thread, for an index that does not run them itself (`AuditIndex.screening`). */
  readonly #surveillance = createSurveillance();
  readonly #alertListeners = new Set<(a: StoredAlert) => void>();
  /** The index's own detectors, when it runs them (then the trail keeps no event objects). */
  readonly #screening: AuditScreening | undefined;
  /**
   * The events appended but not yet indexed or screened, in seq order, and the last one's
   * seq. With the index screening: their stored bytes (the log's own, encoded once at
   * append), handed over as one buffer; an event object or line string dies young instead of
   * waiting (and surviving collections) until the next drain. Else their lines and events.
   */
  #pendingStored: Buffer[] = [];
  #pendingBytes = 0;
  #pendingLines: string[] = [];
  #pendingEvents: AuditEvent[] = [];
  #pendingLastSeq = -1;
  #indexedThrough = -1;
  /** The events through this seq are fed to the index from the log, not from memory (they were pending when it failed). */
  #fromLogThrough = -1;
  /** Alerts found but not yet stored and pushed; `seq` once their line is recorded (-1: stored before). */
  #alerts: Array<{ alert: Alert; seq?: number }> = [];
  readonly #retry: { firstMs: number; maxMs: number };
  #failure: AuditIndexFailure | undefined;
  /** What flush() rejects with until the failure's pause is over (the timer does not log it again). */
  #failureThrown: AuditError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(o: AuditTrailOptions) {
    this.log = o.log;
    this.index = o.index;
    this.#screening = o.index.screening;
    this.#logger = o.logger;
    this.#retry = o.indexRetry ?? { firstMs: 250, maxMs: 30_000 };
    if (this.#screening?.hashesLeaves) this.log.deferLeafHashing();
  }

  static async open(o: AuditTrailOptions): Promise<AuditTrail> {
    const trail = new AuditTrail(o);
    await trail.#catchUp(o.surveillanceWarmupUs ?? 15n * 60n * 1_000_000n);
    const every = o.flushEveryMs ?? 50;
    trail.#timer = setInterval(
      () =>
        void trail.flush().catch((err: unknown) => {
          if (err !== trail.#failureThrown) trail.#logger.error({ err }, "audit flush failed"); // an index failure is logged where it happens, once per attempt
        }),
      every,
    );
    trail.#timer.unref();
    return trail;
  }

  /** Appends an event (synchronously sequenced); `flush()` makes it durable and indexed. */
  record(input: AuditEventInput): AuditEvent {
    if (this.#closed) throw new AuditError(AuditCode.CLOSED, "audit trail closed");
    const { event, line, stored } = this.log.appendEncoded(input);
    if (this.#screening) {
      this.#pendingStored.push(stored);
      this.#pendingBytes += stored.length;
    } else {
      this.#pendingLines.push(line);
      this.#pendingEvents.push(event);
    }
    this.#pendingLastSeq = event.seq;
    return event;
  }

  /**
   * `record` for a caller that does not need the event back (the trading recorder, several
   * times per order): while the index worker screens the stored bytes, no event object is made.
   */
  append(input: AuditEventInput): void {
    if (!this.#screening) {
      this.record(input);
      return;
    }
    if (this.#closed) throw new AuditError(AuditCode.CLOSED, "audit trail closed");
    const stored = this.log.appendStored(input);
    this.#pendingStored.push(stored);
    this.#pendingBytes += stored.length;
    this.#pendingLastSeq = this.log.size - 1;
  }

  /**
   * Where the log stands against the trading journal: the highest journal sequence it has
   * events for, and how many events of that record it holds (a power cut can tear a record's
   * events; replay then appends only the missing ones). `seq` 0 when none.
   */
  static async journalPosition(log: AuditLog): Promise<{ seq: bigint; eventsOfSeq: number }> {
    // Scans back from the end: the newest journaled event is near the tail.
    const size = log.size;
    for (let to = size; to > 0; ) {
      const from = Math.max(0, to - 4096);
      let best = -1;
      let count = 0;
      for await (const { line } of log.read(from, to)) {
        const m = /"jseq":(\d+)/.exec(line);
        if (!m) continue;
        const j = Number(m[1]);
        if (j > best) {
          best = j;
          count = 0;
        }
        if (j === best) count++;
      }
      if (best >= 0) {
        // The record's events may straddle the chunk boundary: count the earlier ones too.
        for (let f = from; f > 0 && count > 0; ) {
          const g = Math.max(0, f - 4096);
          let more = 0;
          for await (const { line } of log.read(g, f)) if (line.includes(`"jseq":${best},`)) more++;
          count += more;
          if (more === 0) break;
          f = g;
        }
        return { seq: BigInt(best), eventsOfSeq: count };
      }
      to = from;
    }
    return { seq: 0n, eventsOfSeq: 0 };
  }

  /**
   * The durable lines, newest first, read back in chunks: a caller that wants only the recent
   * ones (a successor sequencer looking for what its predecessor recorded) stops early and
   * reads no more of the log than that.
   */
  async *newestLines(): AsyncGenerator<string> {
    for (let to = this.log.durableSize; to > 0; ) {
      const from = Math.max(0, to - 4096);
      const chunk: string[] = [];
      for await (const { line } of this.log.read(from, to)) chunk.push(line);
      for (let i = chunk.length - 1; i >= 0; i--) yield chunk[i];
      to = from;
    }
  }

  onAlert(listener: (a: StoredAlert) => void): () => void {
    this.#alertListeners.add(listener);
    return () => this.#alertListeners.delete(listener);
  }

  /**
   * Makes everything recorded so far durable, indexed and screened. Calls are serialised. While
   * the index refuses events it still makes them durable, then rejects (AUDIT_IO): callers read
   * the index next, and it would not hold what they just recorded.
   */
  flush(): Promise<void> {
    const run = this.#draining.then(() => this.#drain());
    this.#draining = run.catch(() => undefined);
    return run;
  }

  /** Flushes and closes; the log and the index are closed even when the flush fails. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      try {
        await this.log.close();
      } finally {
        await this.index.close();
      }
    }
  }

  async #drain(): Promise<void> {
    await this.log.flush();
    const failure = this.#failure;
    if (failure && Date.now() < failure.retryAtMs) {
      this.#leaveToLog();
      throw this.#failureThrown;
    }
    try {
      await this.#feed();
    } catch (err) {
      if (this.log.failed) throw err; // the log's own failure, not the index's
      this.#leaveToLog();
      throw this.#failed(err);
    }
    if (failure) {
      this.#logger.info({ from: failure.fromSeq, to: this.#indexedThrough + 1, attempts: failure.attempts, downMs: Date.now() - failure.sinceMs }, "audit index caught up with the log");
      this.#failure = this.#failureThrown = undefined;
    }
  }

  /** Feeds the index and the detectors what they lack, in seq order, and raises what they find. */
  async #feed(): Promise<void> {
    await this.#raiseQueued(); // left by a pass that failed
    while (this.#indexedThrough < this.#fromLogThrough) {
      const from = this.#indexedThrough + 1;
      const lines: string[] = [];
      const to = Math.min(this.#fromLogThrough + 1, from + FROM_LOG_BATCH);
      for await (const { line } of this.log.read(from, to)) lines.push(line);
      if (lines.length !== to - from) throw new AuditError(AuditCode.BAD_RANGE, `audit log gave ${lines.length} lines of seqs ${from}..${to}`);
      const stored = this.#screening ? Buffer.from(`${lines.join("\n")}\n`) : undefined;
      await this.#indexBatch(from, from + lines.length, stored ?? lines.map((line) => ({ event: JSON.parse(line) as AuditEvent, line })));
    }
    // Screening may record alerts, which are fed in the same pass.
    while (this.#pendingCount() > 0) {
      if (this.log.durableSize <= this.#pendingLastSeq - this.#pendingCount() + 1) await this.log.flush();
      // Only durable events: an index ahead of the log after a crash is dropped and rebuilt, and
      // a detector must not act on an event a crash could take back.
      const count = this.#pendingCount();
      const from = this.#pendingLastSeq - count + 1;
      const n = Math.min(count, this.log.durableSize - from);
      let batch: Uint8Array | Array<{ event: AuditEvent; line: string }>;
      if (this.#screening) batch = this.#takeStored(n);
      else {
        const lines = this.#pendingLines;
        const events = this.#pendingEvents;
        this.#pendingLines = n === count ? [] : lines.slice(n);
        this.#pendingEvents = n === count ? [] : events.slice(n);
        batch = [];
        for (let i = 0; i < n; i++) batch.push({ event: events[i], line: lines[i] });
      }
      try {
        await this.#indexBatch(from, from + n, batch);
      } catch (err) {
        // Taken from memory: left to the log with what is still pending.
        this.#fromLogThrough = Math.max(this.#fromLogThrough, from + n - 1);
        throw err;
      }
    }
  }

  /**
   * Indexes and screens the events of seqs [from, to) (the screening index takes their stored
   * bytes, else their lines and events), then stores and pushes their alerts.
   */
  async #indexBatch(from: number, to: number, batch: Uint8Array | ReadonlyArray<{ event: AuditEvent; line: string }>): Promise<void> {
    let alerts: Alert[];
    if (batch instanceof Uint8Array) {
      const outcome = await this.#screening!.insertAndScreen(batch);
      if (outcome.leafHashes) this.log.addLeafHashes(from, outcome.leafHashes);
      alerts = this.#screened(outcome);
    } else {
      await this.index.insert(batch);
      alerts = [];
      for (const { event: e } of batch) {
        if (e.type === "alert.raised" || e.type === "audit.query") continue;
        for (const a of this.#screen(e)) alerts.push(a);
      }
    }
    this.#indexedThrough = to - 1;
    for (const alert of alerts) this.#alerts.push({ alert });
    await this.#raiseQueued();
  }

  #pendingCount(): number {
    return this.#screening ? this.#pendingStored.length : this.#pendingLines.length;
  }

  /**
   * Leaves what is pending to the log, from which the index is fed once it takes events again:
   * memory stays bounded however long it refuses them.
   */
  #leaveToLog(): void {
    if (this.#pendingCount() === 0) return;
    this.#fromLogThrough = Math.max(this.#fromLogThrough, this.#pendingLastSeq);
    this.#pendingStored = [];
    this.#pendingBytes = 0;
    this.#pendingLines = [];
    this.#pendingEvents = [];
  }

  /** Records an index failure: when to try again (the pause doubles each time), logged once per attempt. */
  #failed(err: unknown): AuditError {
    const now = Date.now();
    const attempts = (this.#failure?.attempts ?? 0) + 1;
    const pauseMs = Math.min(this.#retry.maxMs, this.#retry.firstMs * 2 ** (attempts - 1));
    const fromSeq = this.#indexedThrough + 1;
    const error = err instanceof Error ? err.message : String(err);
    this.#failure = { fromSeq, attempts, sinceMs: this.#failure?.sinceMs ?? now, retryAtMs: now + pauseMs, error };
    this.#failureThrown = new AuditError(AuditCode.IO, `audit index failed from seq ${fromSeq} (${error}); fed again from the log in ${pauseMs} ms`, { cause: err });
    const fields = { err, fromSeq, attempts, retryInMs: pauseMs };
    if (attempts === 1) this.#logger.error(fields, "audit index failed; the log goes on and feeds it again once it recovers");
    else this.#logger.warn(fields, "audit index still failing");
    return this.#failureThrown;
  }

  /** The first `n` pending stored lines in one buffer of its own (the index worker takes it over, uncopied). */
  #takeStored(n: number): Uint8Array {
    const parts = this.#pendingStored;
    let size = this.#pendingBytes;
    if (n < parts.length) {
      size = 0;
      for (let i = 0; i < n; i++) size += parts[i].length;
    }
    // Its own memory, not zeroed (every byte is written).
    const out = this.#screening?.bytes?.(size) ?? Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (let i = 0; i < n; i++) {
      out.set(parts[i], at);
      at += parts[i].length;
    }
    this.#pendingStored = n === parts.length ? [] : parts.slice(n);
    this.#pendingBytes -= size;
    return out;
  }

  #screen(e: AuditEvent): Alert[] {
    try {
      return this.#surveillance.onEvent(e);
    } catch (err) {
      this.#logger.error({ err, seq: e.seq }, "surveillance detector failed on an event");
      return [];
    }
  }

  /** Alerts of a batch the index screened, its detector failures logged as #screen logs them. */
  #screened(outcome: ScreenOutcome): Alert[] {
    for (const f of outcome.failures) this.#logger.error({ err: new Error(f.message), seq: f.seq }, "surveillance detector failed on an event");
    return outcome.alerts;
  }

  /**
   * Records, stores and pushes the queued alerts. An alert is stored and pushed only once its
   * line is durable: else a crash would reuse its seq, and the detectors, finding it stored,
   * would never raise it again. `logged`: the alerts whose line the log already holds (a
   * restart came between that line and the store), stored under it rather than recorded twice.
   */
  async #raiseQueued(logged?: ReadonlyMap<string, number>): Promise<void> {
    const queue = this.#alerts;
    if (queue.length === 0) return;
    const recorded = new Set<string>();
    for (const q of queue) {
      if (q.seq !== undefined) continue;
      const { alert } = q;
      if (recorded.has(alert.alertId) || (await this.index.alert(alert.alertId))) q.seq = -1; // raised before
      else q.seq = logged?.get(alert.alertId) ?? this.#record(alert);
      recorded.add(alert.alertId);
    }
    // The log's flush, not the trail's: this runs inside the trail's, which would wait on itself.
    await this.log.flush();
    while (queue.length > 0) {
      const { alert, seq = -1 } = queue[0];
      if (seq >= 0) {
        await this.index.saveAlert(alert, seq);
        this.#push({ ...alert, seq, status: "open" });
      }
      queue.shift();
    }
  }

  #record(alert: Alert): number {
    return this.record({
      type: "alert.raised",
      symbol: alert.symbol,
      identityHash: alert.identityHashes[0],
      account: alert.accounts[0],
      reason: alert.summary,
      ruleId: alert.rule,
      detail: { alertId: alert.alertId, severity: alert.severity, identityHashes: alert.identityHashes, accounts: alert.accounts, eventSeqs: alert.eventSeqs },
    }).seq;
  }

  #push(stored: StoredAlert): void {
    this.#logger.warn({ alertId: stored.alertId, rule: stored.rule, symbol: stored.symbol }, "surveillance alert");
    for (const l of this.#alertListeners) {
      try {
        l(stored);
      } catch {
        // a failing listener (closed socket) must not stop the trail
      }
    }
  }

  /** Indexes what the index lacks and re-warms the detectors from recent history. */
  async #catchUp(warmupUs: bigint): Promise<void> {
    const size = this.log.size;
    let indexed = await this.index.lastSeq();
    if (indexed >= size) {
      // The index is ahead of the log: it belongs to another log. Rebuild it.
      this.#logger.warn({ indexed, size }, "audit index ahead of the log; rebuilding");
      await this.index.reset();
      indexed = -1;
    }
    let batch: Array<{ event: AuditEvent; line: string }> = [];
    for await (const { line } of this.log.read(indexed + 1, size)) {
      batch.push({ event: JSON.parse(line) as AuditEvent, line });
      if (batch.length === FROM_LOG_BATCH) {
        await this.index.insert(batch);
        batch = [];
      }
    }
    await this.index.insert(batch);
    this.#indexedThrough = size - 1;
    if (size > indexed + 1) this.#logger.info({ from: indexed + 1, to: size }, "audit index caught up with the log");

    // Detector windows are minutes long: replaying the recent tail restores them; alerts
    // already raised are recognised by their deterministic ids and not raised twice.
    if (size === 0) return;
    const last = await this.log.event(size - 1);
    if (!last) return;
    const since = parseIsoMicros(last.ts) - warmupUs;
    let from = size - 1;
    for (let step = 1024; from > 0; step *= 2) {
      const probe = Math.max(0, from - step);
      const e = await this.log.event(probe);
      from = probe;
      if (!e || parseIsoMicros(e.ts) < since) break;
    }
    const alerts: Alert[] = [];
    const logged = new Map<string, number>();
    const screening = this.index.screening;
    let lines: string[] = [];
    const screenLines = async () => {
      if (lines.length > 0 && screening) alerts.push(...this.#screened(await screening.screen(lines)));
      lines = [];
    };
    for await (const { line } of this.log.read(from, size)) {
      const e = JSON.parse(line) as AuditEvent;
      if (e.type === "alert.raised" && typeof e.detail?.alertId === "string") logged.set(e.detail.alertId, e.seq);
      if (parseIsoMicros(e.ts) < since || e.type === "alert.raised" || e.type === "audit.query") continue;
      if (!screening) alerts.push(...this.#screen(e));
      else if (lines.push(line) >= FROM_LOG_BATCH) await screenLines();
    }
    await screenLines();
    for (const alert of alerts) this.#alerts.push({ alert });
    await this.#raiseQueued(logged);
  }

  get indexedThrough(): number {
    return this.#indexedThrough;
  }

  /** Set while the index refuses events (the log goes on; `indexedThrough` says how far it lags). */
  get indexFailure(): AuditIndexFailure | undefined {
    return this.#failure && { ...this.#failure };
  }
}
