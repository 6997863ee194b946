import { Redis } from "ioredis";
import type { StoredAlert } from "../compliance/audit/auditIndex.ts";
import { decodeJson, encodeJson } from "../journal/jsonCodec.ts";

/**
 * Surveillance alerts from the sequencer (where the audit trail screens records) to the edges'
 * `/compliance/alerts` websocket topic, on a Redis pub/sub channel. Live only, as the topic is
 * in one process: an officer not connected when an alert is raised finds it in the alert
 * queries (forwarded to the sequencer), which read the audit trail.
 */
export const ALERT_CHANNEL = "sen:alerts";

/** The sequencer's side: every alert its audit trail raises is published. Returns the unsubscribe. */
export function publishAlerts(audit: { onAlert(listener: (a: StoredAlert) => void): () => void }, redis: Redis, onError: (err: unknown) => void): () => void {
  return audit.onAlert((a) => {
    redis.publish(ALERT_CHANNEL, encodeJson(a)).catch(onError);
  });
}

export type AlertFeed = {
  /** Listeners as the audit trail's onAlert takes them (the websocket gateway's). */
  onAlert(listener: (a: StoredAlert) => void): () => void;
  /** Resolves once the subscription is in place. */
  readonly ready: Promise<void>;
  close(): void;
};

/** An edge's side: one subscriber connection (pub/sub holds it), alerts handed to local listeners. */
export function subscribeAlerts(url: string, onError: (err: unknown) => void): AlertFeed {
  const listeners = new Set<(a: StoredAlert) => void>();
  // ioredis subscribes again by itself after a reconnect.
  const sub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null });
  sub.on("error", onError);
  sub.on("message", (channel: string, message: string) => {
    if (channel !== ALERT_CHANNEL || listeners.size === 0) return;
    let alert: StoredAlert;
    try {
      alert = decodeJson(message) as StoredAlert;
    } catch (err) {
      onError(err);
      return;
    }
    for (const l of listeners) {
      try {
        l(alert);
      } catch (err) {
        onError(err);
      }
    }
  });
  const ready = sub
    .connect()
    .then(() => sub.subscribe(ALERT_CHANNEL))
    .then(() => undefined);
  ready.catch(onError);
  return {
    onAlert(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready,
    close() {
      listeners.clear();
      sub.disconnect();
    },
  };
}
