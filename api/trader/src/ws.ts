import { apiPost } from "../../console/src/api.ts";

type Bullet = { token: string; instanceServers: Array<{ endpoint: string; pingInterval: number }> };
type Handler = (data: any, subject: string) => void;
export type LinkState = "connecting" | "live" | "offline";

/**
 * One KuCoin websocket (public or private, per the bullet route), with its subscriptions: it
 * pings as the bullet says, reconnects with back-off and subscribes again, and calls
 * `onResync` after a reconnect so views reload what they may have missed.
 */
export function openFeed(kind: "public" | "private", onState: (s: LinkState) => void, onResync: () => void) {
  const handlers = new Map<string, Set<Handler>>();
  let ws: WebSocket | null = null;
  let closed = false;
  let ping: ReturnType<typeof setInterval> | undefined;
  let retry = 500;
  let id = 0;
  let first = true;

  const send = (topic: string, type: "subscribe" | "unsubscribe") => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ id: `${type}-${++id}`, type, topic, privateChannel: kind === "private", response: true }));
  };

  const connect = async () => {
    if (closed) return;
    onState("connecting");
    let bullet: Bullet;
    try {
      bullet = await apiPost<Bullet>(kind === "public" ? "/api/v1/bullet-public" : "/api/v1/bullet-private");
    } catch {
      return later();
    }
    const server = bullet.instanceServers[0];
    // The page's origin, not the advertised host: a proxy in front keeps the CSP's 'self' true.
    const url = new URL("/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", bullet.token);
    url.searchParams.set("connectId", `web-${Date.now()}`);
    const socket = new WebSocket(url);
    ws = socket;
    socket.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as { type: string; topic?: string; subject?: string; data?: unknown };
      if (m.type === "welcome") {
        retry = 500;
        onState("live");
        for (const topic of handlers.keys()) send(topic, "subscribe");
        if (!first) onResync();
        first = false;
        ping = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ id: `ping-${++id}`, type: "ping" })), server?.pingInterval ?? 18_000);
      } else if (m.type === "message" && m.topic) {
        for (const h of handlers.get(m.topic) ?? []) h(m.data, m.subject ?? "");
      }
    };
    socket.onclose = () => {
      clearInterval(ping);
      if (ws === socket) ws = null;
      later();
    };
  };
  const later = () => {
    if (closed) return;
    onState("offline");
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 15_000);
  };
  void connect();

  return {
    /** Subscribes `h` to `topic` until the returned function is called. */
    on(topic: string, h: Handler): () => void {
      let set = handlers.get(topic);
      if (!set) {
        set = new Set();
        handlers.set(topic, set);
        send(topic, "subscribe");
      }
      set.add(h);
      return () => {
        set.delete(h);
        if (set.size === 0) {
          handlers.delete(topic);
          send(topic, "unsubscribe");
        }
      };
    },
    close() {
      closed = true;
      clearInterval(ping);
      ws?.close();
    },
  };
}

export type Feed = ReturnType<typeof openFeed>;
