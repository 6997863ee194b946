import { pino, type Logger } from "pino";

/** Structured logs; credentials never reach them (redacted at any depth we log them). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "sen-gateway" },
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
  });
}

export type { Logger };
