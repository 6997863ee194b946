import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");

/** A process of api/src/main.ts with SEN_ROLE=sequencer: the active one or a standby waiting for the lease. */
export type SequencerProcess = {
  node: string;
  child: ChildProcess;
  /** Its URL, once it holds the lease and serves (SEN_READY). Rejects if it exits first. */
  ready: Promise<string>;
  /** Once it waits for the lease (SEN_STANDBY): the hot standby's /health URL, or "" when it has none. */
  standby: Promise<string>;
  exit: Promise<number | null>;
  /** When `ready` resolved (ms since the epoch). */
  readyAt?: number;
  /** The last of its stderr (sequencerRole.ts logs JSON lines there). */
  stderr(): string;
  kill9(): Promise<void>;
};

/**
 * Starts a sequencer with `env` (a SplitCluster's `env("sequencer", node, { shared })`) without
 * waiting: a standby prints SEN_STANDBY and becomes ready only when it takes the lease.
 * `nodeArgs` go before the entry point (an `--import` preload, say).
 */
export function startSequencer(env: Record<string, string>, options: { nodeArgs?: string[] } = {}): SequencerProcess {
  const node = env.SEN_NODE_ID ?? "sequencer";
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN], {
    env: { ...process.env, SEN_PORT: "0", SEN_LOG_LEVEL: "warn", ...env, SEN_ROLE: "sequencer" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const s = { node, child, exit, stderr: () => err } as SequencerProcess;
  s.ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /SEN_READY (\S+)/.exec(out);
      if (m) {
        s.readyAt ??= Date.now();
        resolve(m[1]);
      }
    });
    void exit.then((code) => reject(new Error(`sequencer ${node} exited with ${code} before it was ready:\n${err}`)));
  });
  s.ready.catch(() => undefined);
  s.standby = new Promise<string>((resolve) =>
    child.stdout!.on("data", () => {
      const m = /SEN_STANDBY \S+ ?(\S*)\n/.exec(out);
      if (m) resolve(m[1]);
    }),
  );
  s.kill9 = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exit;
  };
  return s;
}
