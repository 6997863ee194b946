import { fork, type ChildProcess } from "node:child_process";

/** A bench helper process (load generator, baseline server, websocket clients) spoken to over IPC. */
export type BenchChild = {
  child: ChildProcess;
  send(message: object): void;
  /** The next message whose `type` is `type` (messages of other types are passed to `onOther`). */
  next<T extends { type: string }>(type: T["type"], timeoutMs?: number): Promise<T>;
  onMessage(listener: (message: { type: string } & Record<string, unknown>) => void): void;
  stop(): Promise<void>;
};

/** Forks `script` (a .ts file run with Node's type stripping) and queues its IPC messages. */
export function forkBenchChild(script: URL, label: string): BenchChild {
  const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const queue: Array<{ type: string } & Record<string, unknown>> = [];
  const waiters: Array<{ type: string; resolve: (m: any) => void; reject: (e: Error) => void }> = [];
  const listeners: Array<(m: { type: string } & Record<string, unknown>) => void> = [];
  let exited: Error | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = new Error(`${label} exited (code ${code}, signal ${signal})`);
      for (const w of waiters.splice(0)) w.reject(exited);
      resolve();
    }),
  );
  child.on("message", (raw) => {
    const m = raw as { type: string } & Record<string, unknown>;
    for (const l of listeners) l(m);
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else queue.push(m);
  });
  return {
    child,
    send(message) {
      child.send(message);
    },
    next<T extends { type: string }>(type: T["type"], timeoutMs = 120_000) {
      const i = queue.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0] as unknown as T);
      if (exited) return Promise.reject(exited);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label}: no "${type}" message within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m as T)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    async stop() {
      if (!exited) child.kill("SIGTERM");
      await exit;
    },
  };
}

/** CPU time of a process between two samples, as a share of one core. */
export type CpuSample = { user: number; system: number; at: number };

export function cpuSample(): CpuSample {
  const u = process.cpuUsage();
  return { user: u.user, system: u.system, at: performance.now() };
}

export function coreShare(from: CpuSample, to: CpuSample): number {
  return cpuMs(from, to) / (to.at - from.at);
}

/** CPU time (user + system) between two samples, in ms. */
export function cpuMs(from: CpuSample, to: CpuSample): number {
  return (to.user - from.user + (to.system - from.system)) / 1000;
}
