import { pino, stdSerializers, type DestinationStream, type Logger } from "pino";

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;

/**
 * Every URL in `text` as "<url>". A hosted RPC provider's URL carries its API key in the path
 * (https://…/v3/<key>), and viem puts the transport's URL in its errors' message, stack,
 * `url` and `metaMessages`.
 */
export const withoutUrls = (text: string): string => text.replace(URL_IN_TEXT, "<url>");

/** withoutUrls, but a stack frame's file:// path stays: it is this machine's code, and where an error came from. */
const withoutRemoteUrls = (text: string): string => text.replace(URL_IN_TEXT, (url) => (/^file:/i.test(url) ? url : "<url>"));

/** How deep a serialized error's fields are followed (cause chains and viem's nested errors are shallow). */
const MAX_DEPTH = 8;

function scrubbed(value: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof value === "string") return withoutRemoteUrls(value);
  if (value === null || typeof value !== "object") return value;
  // A field nested deeper than this, or a loop, is dropped rather than written unscrubbed.
  if (depth > MAX_DEPTH || seen.has(value)) return "[omitted]";
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => scrubbed(v, depth + 1, seen));
    // What JSON.stringify would write (a URL object its href, a Buffer its bytes), scrubbed.
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") return scrubbed(toJSON.call(value), depth + 1, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubbed(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * pino's error serializer (type, message, stack, cause chain, own fields), then every string
 * in it without URLs: the fields differ by error class (viem's `details`, `shortMessage`,
 * `metaMessages`, `url`, a nested `cause`), so all of them are scrubbed, not a list of names.
 */
function errWithoutUrls(err: unknown): unknown {
  return scrubbed(stdSerializers.err(err as Error), 0, new Set());
}

/**
 * Structured logs; credentials never reach them (redacted at any depth we log them; URLs, which
 * may hold an RPC key, scrubbed from logged errors). `destination`: stdout unless given.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: "sen-gateway" },
    serializers: { err: errWithoutUrls },
    hooks: {
      // Logged with no message of its own, pino takes the error's message, unserialized, as `msg`.
      logMethod(this: Logger, args: Parameters<pino.LogFn>, method: pino.LogFn) {
        const [first] = args as unknown[];
        const err = first instanceof Error ? first : typeof first === "object" && first !== null && (first as { err?: unknown }).err instanceof Error ? (first as { err: Error }).err : undefined;
        if (err && args.length === 1 && (first as { msg?: unknown }).msg === undefined) return method.call(this, first as object, withoutUrls(err.message));
        return method.apply(this, args);
      },
    },
    redact: {
      paths: [
        "req.headers.authorization",
        'req.headers["kc-api-sign"]',
        'req.headers["kc-api-passphrase"]',
        "*.apiSecret",
        "*.passphrase",
        "*.token",
        "*.privateKey",
        "*.masterKey",
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
