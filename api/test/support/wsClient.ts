import WebSocket from "ws";

export type WsMessage = Record<string, any>;
export type WsClient = Awaited<ReturnType<typeof connectWs>>;

/**
 * A KuCoin websocket client for tests: connects with a bullet token, keeps every message and
 * waits for the ones asked for. Waiting has a deadline only so that a missing message fails
 * the test instead of hanging it.
 */
export async function connectWs(endpoint: string, token: string, query = "", timeoutMs = 20_000) {
  const ws = new WebSocket(`${endpoint}?token=${token}&connectId=t1${query}`);
  const messages: WsMessage[] = [];
  const waiters = new Set<{ pred: (m: WsMessage) => boolean; resolve: (m: WsMessage) => void; reject: (e: Error) => void }>();
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as WsMessage;
    messages.push(m);
    for (const w of waiters) if (w.pred(m)) w.resolve(m);
  });
  ws.on("close", () => {
    for (const w of waiters) w.reject(new Error("websocket closed while waiting for a message"));
  });
  const next = (pred: (m: WsMessage) => boolean, what = "a websocket message") =>
    new Promise<WsMessage>((resolve, reject) => {
      const found = messages.find(pred);
      if (found) return resolve(found);
      const w = {
        pred,
        resolve: (m: WsMessage) => done(() => resolve(m)),
        reject: (e: Error) => done(() => reject(e)),
      };
      const t = setTimeout(() => w.reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const done = (f: () => void) => {
        clearTimeout(t);
        waiters.delete(w);
        f();
      };
      waiters.add(w);
    });
  await next((m) => m.type === "welcome", "the welcome");
  let id = 0;
  const subscribe = async (topic: string, privateChannel = false) => {
    const sid = `sub-${++id}`;
    ws.send(JSON.stringify({ id: sid, type: "subscribe", topic, privateChannel, response: true }));
    const reply = await next((m) => m.id === sid, `the ack of ${topic}`);
    if (reply.type !== "ack") throw new Error(`subscribe ${topic}: ${JSON.stringify(reply)}`);
  };
  /**
   * Resolves once everything the gateway sent before it read this ping has arrived: the pong
   * is queued behind those messages on the same socket.
   */
  const barrier = async () => {
    const pid = `ping-${++id}`;
    ws.send(JSON.stringify({ id: pid, type: "ping" }));
    await next((m) => m.id === pid && m.type === "pong", "the pong");
  };
  const close = () =>
    new Promise<void>((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      ws.once("close", () => resolve());
      ws.close();
    });
  return { ws, messages, next, subscribe, barrier, close };
}
