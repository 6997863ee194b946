import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before } from "node:test";
import { Redis, type RedisOptions } from "ioredis";
import { freePort } from "./freePort.ts";

/**
 * A real, throw-away redis-server for tests: its own free port, its own temp dir, AOF with
 * fsync on every write (`--appendonly yes --appendfsync always`), no RDB snapshots.
 * `kill9()` + `restart()` simulate a Redis crash: the restart reuses the dir, so the AOF is
 * replayed and every acknowledged write must still be there.
 */
export type RedisServer = {
  url: string;
  port: number;
  dir: string;
  /** SIGTERM and wait (Redis flushes the AOF on a clean shutdown); removes the dir unless keepDir. */
  stop(options?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILL and wait: a crash. The dir is kept. */
  kill9(): Promise<void>;
  /** Starts again on the same port and dir (after kill9 or stop({ keepDir: true })). */
  restart(): Promise<void>;
  /** SIGSTOP: a stalled server (connections stay open, nothing is answered). */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
  /** The running server's process id (undefined while it is down), for a last-resort kill at exit. */
  readonly pid: number | undefined;
};

/** The redis-server binary on PATH, or null: tests then skip with a reason instead of failing. */
export function redisServerPath(): string | null {
  for (const d of (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin", "/usr/local/bin"])) {
    if (d === "") continue;
    const candidate = join(d, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => {
      reply += d.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startRedis(): Promise<RedisServer> {
  const binary = redisServerPath();
  if (binary === null) throw new Error("redis-server not installed");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sen-redis-"));
  let child: ChildProcess | null = null;
  let log = "";

  async function launch(): Promise<void> {
    log = "";
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode", "no"];
    const proc = spawn(binary!, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    proc.stdout!.on("data", (d) => (log = (log + d.toString()).slice(-4000)));
    proc.stderr!.on("data", (d) => (log = (log + d.toString()).slice(-4000)));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}:\n${log}`);
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill("SIGKILL");
    throw new Error(`redis-server did not answer PING on ${port} within 10 s:\n${log}`);
  }

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop(options = {}) {
      if (child !== null) {
        child.kill("SIGTERM");
        await exited(child);
        child = null;
      }
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
    async kill9() {
      if (child !== null) {
        child.kill("SIGKILL");
        await exited(child);
        child = null;
      }
    },
    async pause() {
      child?.kill("SIGSTOP");
    },
    async resume() {
      child?.kill("SIGCONT");
    },
    async restart() {
      if (child !== null) throw new Error("redis-server is still running; kill9() or stop({ keepDir: true }) first");
      await launch();
    },
    get pid() {
      return child?.pid;
    },
  };
}

/** Removes a dir left by stop({ keepDir: true }) or kill9(). */
export function removeRedisDir(server: RedisServer): void {
  rmSync(server.dir, { recursive: true, force: true });
}

/** Why a suite on a real Redis is skipped (no redis-server on PATH), logged once; undefined when it runs. */
export function redisSkip(what: string): string | undefined {
  const skip = redisServerPath() === null ? "redis-server not installed" : undefined;
  if (skip) console.log(`# skipping ${what} tests: ${skip}`);
  return skip;
}

/** A suite's Redis from useRedis(): valid in its tests and in hooks registered after useRedis(). */
export type SuiteRedis = { readonly server: RedisServer; readonly url: string; readonly client: Redis };

/**
 * The setup most suites on Redis share. Call it inside describe(): its before() starts a real
 * redis-server (startRedis) and connects an ioredis client to it, its after() closes the client
 * (`disconnect()`, or `quit()` to wait for replies in flight) and stops the server. Reading a
 * field before that before() ran throws rather than hand out a client of no server.
 */
export function useRedis(options: { client?: RedisOptions; close?: "disconnect" | "quit" } = {}): SuiteRedis {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  before(async () => {
    server = await startRedis();
    client = new Redis(server.url, options.client ?? {});
  });
  after(async () => {
    if (options.close === "quit") await client?.quit();
    else client?.disconnect();
    await server?.stop();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("useRedis: read before its before() hook ran (call useRedis() inside describe)");
    return v;
  };
  return {
    get server() {
      return started(server);
    },
    get url() {
      return started(server).url;
    },
    get client() {
      return started(client);
    },
  };
}
