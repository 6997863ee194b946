/**
 * The websocket edge's refusals, next to http/errors.ts: the error frames KuCoin's clients know
 * (`{ id?, type: "error", code, data }`), the close code of a dropped session and the answers to
 * a refused upgrade. The gateway sends no other error.
 */
export const WsCode = {
  /** Not JSON, or not a message the gateway takes. */
  BAD_MESSAGE: "WS_BAD_MESSAGE",
  /** A private topic on a connection without a token. */
  UNAUTHORIZED: "WS_UNAUTHORIZED",
  TOPIC_NOT_FOUND: "WS_TOPIC_NOT_FOUND",
  /** A topic's opening message (e.g. from the candle store) could not be built. */
  OPENING_FAILED: "WS_OPENING_FAILED",
  /** The account was frozen or the key revoked: KuCoin's frozen-account code, then the socket closes. */
  ACCESS_REVOKED: "WS_ACCESS_REVOKED",
} as const;
export type WsCode = (typeof WsCode)[keyof typeof WsCode];

/** KuCoin's numeric code for each, and the words sent when the caller has none of its own. */
const FRAMES: Record<WsCode, { code: number; data: string }> = {
  [WsCode.BAD_MESSAGE]: { code: 400, data: "bad message" },
  [WsCode.UNAUTHORIZED]: { code: 401, data: "unauthorized" },
  [WsCode.TOPIC_NOT_FOUND]: { code: 404, data: "topic not found" },
  [WsCode.OPENING_FAILED]: { code: 500, data: "opening message failed" },
  [WsCode.ACCESS_REVOKED]: { code: 411100, data: "access revoked" },
};

/** The close code after ACCESS_REVOKED (application range 4000-4999). */
export const CLOSE_ACCESS_REVOKED = 4003;

/** Answers to an upgrade refused before the websocket exists. */
export const UPGRADE_UNAUTHORIZED = "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n";
export const UPGRADE_UNAVAILABLE = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n";

/** One error frame, encoded. */
export function wsErrorFrame(code: WsCode, id?: string, data?: string): string {
  const f = FRAMES[code];
  return JSON.stringify({ id, type: "error", code: f.code, data: data ?? f.data });
}
