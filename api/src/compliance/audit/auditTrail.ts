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
};

/**
 * The audit trail as the rest of the gateway sees it: `record` appends an event to the
 * tamper-evident log; a background loop makes appended events durable, feeds them to the
 * query index (in seq order, so the index is always a prefix of the log) and to the
 * market-abuse detectors, whose alerts are themselves recorded (`alert.raised`), stored
 * for the compliance queue and pushed to listeners (the compliance websocket topic). With
 * the default SQLite index the detectors run in its worker thread (`AuditIndex.screening`),
 * off the sequencer's thread, on the lines it parses for the index anyway.
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
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(o: AuditTrailOptions) {
    this.log = o.log;
    this.index = o.index;
    this.#screening = o.index.screening;
    this.#logger = o.logger;
    if (this.#screening?.hashesLeaves) this.log.deferLeafHashing();
  }

  static async open(o: AuditTrailOptions): Promise<AuditTrail> {
    const trail = new AuditTrail(o);
    await trail.#catchUp(o.surveillanceWarmupUs ?? 15n * 60n * 1_000_000n);
    const every = o.flushEveryMs ?? 50;
    trail.#timer = setInterval(() => void trail.flush().catch((err: unknown) => trail.#logger.error({ err }, "audit flush failed")), every);
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

  onAlert(listener: (a: StoredAlert) => void): () => void {
    this.#alertListeners.add(listener);
    return () => this.#alertListeners.delete(listener);
  }

  /** Makes everything recorded so far durable, indexed and screened. Calls are serialised. */
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
    // Screening may record alerts, which are drained in the same pass.
    while (this.#pendingLines.length > 0 || this.#pendingStored.length > 0) {
      const lines = this.#pendingLines;
      const events = this.#pendingEvents;
      const lastSeq = this.#pendingLastSeq;
      this.#pendingLines = [];
      this.#pendingEvents = [];
      let alerts: Alert[];
      if (this.#screening) {
        // The pending lines are consecutive seqs ending at lastSeq (every append comes through here).
        const from = lastSeq - this.#pendingStored.length + 1;
        const outcome = await this.#screening.insertAndScreen(this.#takeStored());
        if (outcome.leafHashes) this.log.addLeafHashes(from, outcome.leafHashes);
        alerts = this.#screened(outcome);
      } else {
        await this.index.insert(events.map((event, i) => ({ event, line: lines[i] })));
        alerts = [];
        for (const e of events) {
          if (e.type === "alert.raised" || e.type === "audit.query") continue;
          for (const a of this.#screen(e)) alerts.push(a);
        }
      }
      this.#indexedThrough = lastSeq;
      for (const a of alerts) await this.#raise(a);
      if (this.#pendingLines.length > 0 || this.#pendingStored.length > 0) await this.log.flush();
    }
  }

  /** The pending stored lines in one buffer of its own (the index worker takes it over, uncopied). */
  #takeStored(): Uint8Array {
    const parts = this.#pendingStored;
    // Its own memory, not zeroed (every byte is written).
    const out = this.#screening?.bytes?.(this.#pendingBytes) ?? Buffer.allocUnsafeSlow(this.#pendingBytes);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    this.#pendingStored = [];
    this.#pendingBytes = 0;
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

  async #raise(alert: Alert): Promise<void> {
    if (await this.index.alert(alert.alertId)) return; // raised before a restart
    const e = this.record({
      type: "alert.raised",
      symbol: alert.symbol,
      identityHash: alert.identityHashes[0],
      account: alert.accounts[0],
      reason: alert.summary,
      ruleId: alert.rule,
      detail: { alertId: alert.alertId, severity: alert.severity, identityHashes: alert.identityHashes, accounts: alert.accounts, eventSeqs: alert.eventSeqs },
    });
    await this.index.saveAlert(alert, e.seq);
    const stored: StoredAlert = { ...alert, seq: e.seq, status: "open" };
    this.#logger.warn({ alertId: alert.alertId, rule: alert.rule, symbol: alert.symbol }, "surveillance alert");
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
      if (batch.length === 5_000) {
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
    const screening = this.index.screening;
    let lines: string[] = [];
    const screenLines = async () => {
      if (lines.length > 0 && screening) alerts.push(...this.#screened(await screening.screen(lines)));
      lines = [];
    };
    for await (const { line } of this.log.read(from, size)) {
      const e = JSON.parse(line) as AuditEvent;
      if (parseIsoMicros(e.ts) < since || e.type === "alert.raised" || e.type === "audit.query") continue;
      if (!screening) alerts.push(...this.#screen(e));
      else if (lines.push(line) >= 5_000) await screenLines();
    }
    await screenLines();
    for (const a of alerts) await this.#raise(a);
  }

  get indexedThrough(): number {
    return this.#indexedThrough;
  }
}
