/**
 * Group commit for an append-only file: many `flush()` callers share one write + fdatasync.
 *
 * The owner buffers appends itself and gives `commit`, which writes (and syncs) what is
 * buffered and calls `settle(position)` once everything up to `position` is durable; callers
 * waiting for a position at or below it are then resolved. While a commit is in flight, new
 * flush() calls wait for the next one, which takes everything buffered meanwhile: at most one
 * commit runs at a time, and a burst of N flushes costs about two syncs, not N.
 *
 * A failed commit is sticky: after a failed write or fsync the file's state is unknown (and
 * after a failed fsync the page cache cannot be trusted), so every waiter still waiting is
 * rejected with the error `failed(cause)` maps it to, as is every later wait(); only a
 * restart (which repairs the tail) clears it. Waiters already resolved stay resolved.
 *
 * Positions are whatever the owner counts in (a seq, a size), number or bigint.
 */
export type GroupCommitOptions<P extends number | bigint> = {
  /** True while there is something to commit (records buffered, a sync due). */
  hasWork: () => boolean;
  /** Writes and syncs what is buffered, calling settle() with each position made durable. */
  commit: (settle: (durable: P) => void) => Promise<void>;
  /** The error waiters are rejected with (and the owner's own sticky failure, if it keeps one). */
  failed: (cause: unknown) => Error;
};

type Waiter<P> = { target: P; resolve: () => void; reject: (error: unknown) => void };

export class GroupCommit<P extends number | bigint> {
  readonly #o: GroupCommitOptions<P>;
  #waiters: Waiter<P>[] = [];
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #failure: Error | null = null;

  constructor(options: GroupCommitOptions<P>) {
    this.#o = options;
  }

  /** The error of the commit that failed, once one did. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** True while the commit loop runs. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * A promise resolved once `target` is durable. It only queues: the owner calls start() (it
   * may decide not to, e.g. while closing, when a commit already under way will cover it).
   */
  wait(target: P): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => this.#waiters.push({ target, resolve, reject }));
  }

  /** Runs the commit loop unless it runs already or a commit failed. */
  start(): void {
    if (this.#running || this.#failure) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Resolves once the loop is not running (it may have been started again meanwhile: check `running`). */
  idle(): Promise<void> {
    return this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (this.#o.hasWork()) await this.#o.commit((durable) => this.#settle(durable));
    } catch (cause) {
      this.#failure = this.#o.failed(cause);
      const all = this.#waiters;
      this.#waiters = [];
      for (const w of all) w.reject(this.#failure);
    } finally {
      // Cleared in the same synchronous step as the loop's last hasWork(), so a flush() made
      // by a resolved waiter either finds the loop stopped or its records already taken.
      this.#running = false;
    }
  }

  #settle(durable: P): void {
    if (this.#waiters.length === 0) return;
    const still: Waiter<P>[] = [];
    const ready: Waiter<P>[] = [];
    for (const w of this.#waiters) (w.target <= durable ? ready : still).push(w);
    this.#waiters = still;
    for (const w of ready) w.resolve();
  }
}
