/**
 * The journal: every accepted command is appended here before it is acknowledged, and the
 * exchange's state (books, ledger, orders) is rebuilt by replaying it after a crash.
 *
 * Records are opaque JSON-serialisable objects to the journal (the trading core owns their
 * meaning); the journal owns ordering, durability and integrity.
 */
export type JournalRecord = Readonly<Record<string, unknown>>;

export type JournalEntry = { seq: bigint; record: JournalRecord };

export type FsyncPolicy =
  /** fsync once per flush (group commit): nothing acknowledged is ever lost. */
  | "always"
  /** fsync at most every `fsyncIntervalMs`; a power loss may lose that window (a process crash loses nothing). */
  | "interval"
  /** leave it to the OS: survives a process crash, not a power loss. */
  | "none";

export interface Journal {
  /** Opens (creating if needed), repairs a torn tail, and returns the last durable sequence (0n when empty). */
  open(): Promise<{ lastSeq: bigint }>;
  /**
   * Appends a record in memory and returns its sequence number (last + 1, gap-free, starting
   * at 1). Synchronous so that the caller's order of appends is the journal's order.
   */
  append(record: JournalRecord): bigint;
  /** Resolves once every record appended so far is durable per the policy. Concurrent calls share one write (group commit). */
  flush(): Promise<void>;
  /** Streams durable records with seq >= fromSeq in order. */
  read(fromSeq?: bigint): AsyncIterable<JournalEntry>;
  close(): Promise<void>;
  /** Counters since open, where the implementation keeps them (both built-in journals do). */
  stats?(): JournalStats;
}

/** A saved snapshot's encoded state (`encodeJson(state)` as UTF-8): `parts` back to back, `length` bytes in all. */
export type SnapshotBody = (parts: readonly Uint8Array[], length: number) => Promise<void>;

/** Periodic snapshots of the whole state let recovery replay only the journal's tail. */
export interface SnapshotStore {
  /**
   * Saves atomically (a crash mid-save leaves the previous snapshot intact). A store that
   * encodes the state (the file store) hands its encoded bytes to `body` once the snapshot is
   * durable, so a second consumer (the split's relay to Redis) need not encode the state again;
   * the bytes are the store's to reuse once `body` resolves, and a rejection fails the save. A
   * store that never calls `body` leaves the caller to encode.
   */
  save(seq: bigint, state: unknown, body?: SnapshotBody): Promise<void>;
  /** The latest complete snapshot, or null. */
  load(): Promise<{ seq: bigint; state: unknown } | null>;
}

/**
 * Counters an implementation may expose (both built-in journals do): they let tests and
 * metrics see group commit at work (many flush() calls, few writes).
 */
export type JournalStats = {
  /** Batches written (file: write() calls; Redis: atomic batch scripts). */
  writes: number;
  /** fsync/fdatasync calls, or writes made durable by O_DSYNC (file journal only; Redis fsyncs by its own AOF policy). */
  fsyncs: number;
  /** Records written. */
  records: number;
  /** Bytes written. */
  bytes: number;
  /**
   * Time from each batch's write starting (a segment roll-over before it included) until it
   * was acknowledged (durable with fsync `always`; for Redis, the batch script's round trip),
   * summed, ms: ÷ writes is how long a batch takes, which every acknowledgement waits for on top
   * of the batch it queued behind.
   */
  commitMs: number;
};
