import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const MAIN = path.resolve(import.meta.dirname, "../../src/main.ts");

export type ExchangeProcess = { url: string; child: ChildProcess; kill9(): Promise<void>; stop(): Promise<void> };

/**
 * Runs the real gateway entry point (api/src/main.ts) as a child process and waits until it
 * serves. `nodeFlags`: Node's own options before the entry point (V8 flags NODE_OPTIONS refuses).
 */
export async function spawnExchange(env: Record<string, string>, nodeFlags: readonly string[] = []): Promise<ExchangeProcess> {
  const child = spawn(process.execPath, [...nodeFlags, MAIN], {
    env: { ...process.env, SEN_PORT: "0", SEN_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.pipe(process.stderr);
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exchange did not start: ${stderr}`)), 60_000);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /SEN_READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exchange exited with ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url,
    child,
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
