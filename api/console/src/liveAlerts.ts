import { apiPost } from "./api.ts";
import type { StoredAlert } from "./types.ts";

export type LiveState = "connecting" | "live" | "offline";

type Bullet = { token: string; instanceServers: Array<{ endpoint: string; pingInterval?: number }> };

/**
 * New surveillance alerts as they are raised: KuCoin's websocket handshake (a private bullet
 * token), then Sen's `/compliance/alerts` topic. Reconnects with back-off until stopped.
 */
export function subscribeAlerts(onAlert: (a: StoredAlert) => void, onState: (s: LiveState) => void): () => void {
  let stopped = false;
  let ws: WebSocket | undefined;
  let ping: ReturnType<typeof setInterval> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = 1_000;

  const schedule = () => {
    if (stopped) return;
    onState("offline");
    retry = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30_000);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    onState("connecting");
    let bullet: Bullet;
    try {
      bullet = await apiPost<Bullet>("/api/v1/bullet-private");
    } catch {
      return schedule();
    }
    if (stopped) return;
    const server = bullet.instanceServers[0];
    const socket = new WebSocket(`${server.endpoint}?token=${encodeURIComponent(bullet.token)}&connectId=console-${Date.now()}`);
    ws = socket;
    socket.onmessage = (ev) => {
      let m: { type?: string; id?: string; topic?: string; subject?: string; data?: unknown };
      try {
        m = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (m.type === "welcome") {
        socket.send(JSON.stringify({ id: "alerts", type: "subscribe", topic: "/compliance/alerts", privateChannel: true, response: true }));
      } else if (m.type === "ack" && m.id === "alerts") {
        delay = 1_000;
        onState("live");
      } else if (m.type === "message" && m.topic === "/compliance/alerts" && m.subject === "alert") {
        onAlert(m.data as StoredAlert);
      }
    };
    ping = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ id: String(Date.now()), type: "ping" })), server.pingInterval ?? 18_000);
    socket.onclose = () => {
      clearInterval(ping);
      if (ws === socket) schedule();
    };
  }

  void connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    clearInterval(ping);
    const s = ws;
    ws = undefined;
    s?.close();
  };
}
