import { Session } from "node:inspector/promises";

/** Share of the sampled time per category (self time, natives charged to their JS caller). */
export type CpuBreakdown = {
  totalMs: number;
  idleShare: number;
  rows: Array<{ category: string; share: number }>;
  /** The functions with the most self time (natives charged to their JS caller), for the log. */
  top: Array<{ where: string; category: string; share: number }>;
};

type ProfileNode = { id: number; callFrame: { functionName: string; url: string }; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

/** Who the CPU time of the gateway process goes to, by code location. */
const CATEGORIES: Array<[string, RegExp]> = [
  ["Express 5 (router, express.raw body reading, res.json / send)", /node_modules\/(express|router|body-parser|raw-body|finalhandler|send|on-finished|content-type|type-is|mime-types|path-to-regexp|qs|iconv-lite|http-errors|statuses|encodeurl|etag|fresh|vary|depd|debug|parseurl|accepts|negotiator|proxy-addr|forwarded|ipaddr\.js|unpipe|destroy|ee-first|media-typer|bytes|cookie|content-disposition|merge-descriptors|methods|utils-merge|serve-static|escape-html|range-parser)\//],
  ["zod validation", /node_modules\/zod\//],
  ["metrics (prom-client)", /node_modules\/(prom-client|tdigest|bintrees)\//],
  ["logging (pino)", /node_modules\/pino/],
  ["Sen auth (signature, key store, replay guard)", /\/api\/src\/auth\//],
  ["Sen HTTP layer (route table, handler, KuCoin format)", /\/api\/src\/http\//],
  ["Sen journal (file journal, record encoding)", /\/api\/src\/journal\//],
  ["matching engine", /\/matching-engine\//],
  ["Sen audit trail (event building, log append, index hand-off, surveillance)", /\/api\/src\/compliance\/(audit|surveillance)\//],
  ["Sen trading core (risk, ledger, orders, market data)", /\/api\/src\/(trading|risk|ledger|marketdata|markets|money|records)\//],
  ["Sen websocket gateway", /\/api\/src\/ws\//],
  ["Node HTTP server (parser, headers, responses)", /^node:(_http|http)|internal\/http/],
  ["Node net, streams and timers", /^node:(net|stream|timers|events|buffer)|internal\/(streams|net|timers|stream_base|event_target|process\/task_queues|buffer)/],
  ["Node crypto", /^node:crypto|internal\/crypto/],
  ["Node fs (journal writes, fsync)", /^node:fs|internal\/fs/],
];

export function categoryOf(url: string): string {
  for (const [name, re] of CATEGORIES) if (re.test(url)) return name;
  if (url.startsWith("node:") || url.includes("internal/")) return "Node core, other";
  if (/node_modules\/(hardhat|@nomicfoundation|viem|ox|abitype)/.test(url)) return "in-process chain (Hardhat, viem)";
  return `other (${url.replace(/^.*\/(node_modules|work\/main)\//, "")})`;
}

/** Runs `during` while the V8 CPU profiler samples this process (1 ms interval). */
export async function profileCpu(during: () => Promise<void>): Promise<CpuBreakdown> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 1000 });
  await session.post("Profiler.start");
  let failure: { error: unknown } | null = null;
  try {
    await during();
  } catch (error) {
    failure = { error };
  }
  const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: Profile };
  session.disconnect();
  if (failure) throw failure.error;
  return breakdown(profile);
}

function breakdown(profile: Profile): CpuBreakdown {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const category = new Map<number, string>();
  const resolve = (id: number): string => {
    const cached = category.get(id);
    if (cached) return cached;
    const n = byId.get(id)!;
    const { functionName, url } = n.callFrame;
    let c: string;
    if (functionName === "(idle)" || url === "node:inspector") c = "(idle)"; // the profiler's own stop/serialise counts as idle
    else if (functionName === "(garbage collector)") c = "V8 garbage collector";
    else if (functionName === "(program)") c = "V8 / native, unattributed";
    else if (url) c = categoryOf(url);
    else {
      // A native (JSON.parse, HMAC digest, a libuv binding): charge it to its JS caller.
      const p = parent.get(id);
      c = p === undefined || byId.get(p)!.callFrame.functionName === "(root)" ? "V8 / native, unattributed" : resolve(p);
    }
    category.set(id, c);
    return c;
  };
  /** The nearest frame with a script location: where a native's time is charged. */
  const frameOf = (id: number): string => {
    const n = byId.get(id)!;
    const { functionName, url } = n.callFrame;
    if (url || functionName.startsWith("(")) return `${functionName || "(anonymous)"} ${url.replace(/^.*\/(node_modules|work\/main)\//, "")}`.trim();
    const p = parent.get(id);
    return p === undefined ? functionName : `${functionName} < ${frameOf(p)}`;
  };
  const ms = new Map<string, number>();
  const byFrame = new Map<string, { category: string; ms: number }>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const c = resolve(profile.samples[i]);
    ms.set(c, (ms.get(c) ?? 0) + dt);
    total += dt;
    if (c !== "(idle)") {
      const f = frameOf(profile.samples[i]);
      const e = byFrame.get(f) ?? { category: c, ms: 0 };
      e.ms += dt;
      byFrame.set(f, e);
    }
  }
  const idle = ms.get("(idle)") ?? 0;
  ms.delete("(idle)");
  const busy = total - idle;
  const rows = [...ms.entries()].map(([category, t]) => ({ category, share: busy > 0 ? t / busy : 0 })).sort((a, b) => b.share - a.share);
  const top = [...byFrame.entries()]
    .map(([where, e]) => ({ where, category: e.category, share: busy > 0 ? e.ms / busy : 0 }))
    .sort((a, b) => b.share - a.share)
    .slice(0, 30);
  return { totalMs: total, idleShare: total > 0 ? idle / total : 0, rows, top };
}
