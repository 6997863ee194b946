/**
 * The websocket subscribers of `npm run bench:api`, in their own process (forked by
 * apiWsFanout.ts): N KuCoin websocket clients subscribed to one level2 topic. Each l2update is
 * stamped on receipt with preciseNow() (wall clock, sub-ms, comparable with the gateway
 * process's stamps on the same machine) before anything else is done with it.
 *
 * IPC: {type:"connect"} -> {type:"ready"}; {type:"reset"} -> {type:"reset"} (forget the warm-up's
 * messages and restart the CPU clock; gap checking carries on); {type:"report", events} -> {type:"result"}, where
 * events maps l2 sequence numbers to the gateway's stamps of that change.
 */
import WebSocket from "ws";
import { cpuMs, cpuSample, coreShare, type CpuSample } from "./apiChild.ts";
import { percentiles, preciseNow, SampleBuffer, type Percentiles } from "./apiPercentiles.ts";

export type WsConnectRequest = { type: "connect"; url: string; clients: number; topic: string };
export type WsReady = { type: "ready"; connected: number; connectMs: number };
/** Flattened triples: sequence, engine-apply stamp, publish stamp (ms, preciseNow clock). */
export type WsReportRequest = { type: "report"; events: number[] };
export type WsResetRequest = { type: "reset" };
export type WsResult = {
  type: "result";
  clients: number;
  /** Clients whose socket closed or failed before the report (cut off as slow consumers or otherwise). */
  closed: number;
  messages: number;
  /** First to last l2update receipt over all clients, in ms. */
  spanMs: number;
  /** Receipt minus the engine-apply stamp of the message's first change (sequenceStart). */
  fromApplyMs: Percentiles;
  /** Receipt minus the publish stamp (journal acknowledged, event handed to the websocket gateway). */
  fromPublishMs: Percentiles;
  /** Messages whose sequenceStart was not stamped (changes the orchestrator did not cause). */
  unmatched: number;
  /** Messages not starting at the previous message's sequenceEnd + 1, over all clients. */
  gaps: number;
  clientCores: number;
  clientCpuMs: number;
};

const sequenceStart = new SampleBuffer();
const receipts = new SampleBuffer();
let closed = 0;
let gaps = 0;
let cpuFrom: CpuSample | null = null;

/** Reads `"name":<integer>` from a message without parsing the whole JSON (hot path). */
function intField(text: string, name: string): number {
  const i = text.indexOf(`"${name}":`);
  if (i < 0) return -1;
  return Number.parseInt(text.slice(i + name.length + 3, i + name.length + 23), 10);
}

function connectOne(url: string, topic: string, id: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}&connectId=bench-${id}`);
    let lastEnd = -1;
    let subscribed = false;
    ws.on("message", (data) => {
      const at = preciseNow();
      const text = data.toString();
      if (subscribed) {
        const start = intField(text, "sequenceStart");
        if (start < 0) return;
        sequenceStart.push(start);
        receipts.push(at);
        if (lastEnd >= 0 && start !== lastEnd + 1) gaps++;
        lastEnd = intField(text, "sequenceEnd");
      } else if (text.includes('"type":"welcome"')) {
        ws.send(JSON.stringify({ id: "s", type: "subscribe", topic, privateChannel: false, response: true }));
      } else if (text.includes('"type":"ack"')) {
        subscribed = true;
        resolve(ws);
      }
    });
    ws.once("error", (err) => {
      if (!subscribed) reject(err);
    });
    ws.once("close", () => {
      if (subscribed) closed++;
      else reject(new Error(`client ${id} closed before subscribing`));
    });
  });
}

let sockets: WebSocket[] = [];

process.on("message", async (raw) => {
  const m = raw as WsConnectRequest | WsResetRequest | WsReportRequest;
  if (m.type === "connect") {
    const t0 = performance.now();
    const batch = 50;
    for (let i = 0; i < m.clients; i += batch) {
      const n = Math.min(batch, m.clients - i);
      sockets.push(...(await Promise.all(Array.from({ length: n }, (_, j) => connectOne(m.url, m.topic, i + j)))));
    }
    cpuFrom = cpuSample();
    process.send!({ type: "ready", connected: sockets.length, connectMs: performance.now() - t0 } satisfies WsReady);
  } else if (m.type === "reset") {
    sequenceStart.clear();
    receipts.clear();
    cpuFrom = cpuSample();
    process.send!({ type: "reset" });
  } else if (m.type === "report") {
    const cpuTo = cpuSample();
    const clientCores = coreShare(cpuFrom!, cpuTo);
    const clientCpuMs = cpuMs(cpuFrom!, cpuTo);
    const apply = new Map<number, number>();
    const publish = new Map<number, number>();
    for (let i = 0; i < m.events.length; i += 3) {
      apply.set(m.events[i], m.events[i + 1]);
      publish.set(m.events[i], m.events[i + 2]);
    }
    const n = sequenceStart.length;
    const fromApply = new Float64Array(n);
    const fromPublish = new Float64Array(n);
    let matched = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    const starts = sequenceStart.values;
    const at = receipts.values;
    for (let i = 0; i < n; i++) {
      first = Math.min(first, at[i]);
      last = Math.max(last, at[i]);
      const a = apply.get(starts[i]);
      const p = publish.get(starts[i]);
      if (a === undefined || p === undefined) continue;
      fromApply[matched] = at[i] - a;
      fromPublish[matched] = at[i] - p;
      matched++;
    }
    const result: WsResult = {
      type: "result",
      clients: sockets.length,
      closed,
      messages: n,
      spanMs: n > 0 ? last - first : 0,
      fromApplyMs: percentiles(fromApply, matched),
      fromPublishMs: percentiles(fromPublish, matched),
      unmatched: n - matched,
      gaps,
      clientCores,
      clientCpuMs,
    };
    for (const ws of sockets) ws.terminate();
    sockets = [];
    process.send!(result, () => process.exit(0));
  }
});
