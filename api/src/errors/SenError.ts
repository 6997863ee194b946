/**
 * Every failure a module raises is a SenError subclass with a stable `code` from a module
 * table (AUTH_*, RISK_*, JOURNAL_*, ...). Only the edge mappers (http/errors.ts,
 * ws/errors.ts) translate codes into KuCoin's numeric codes and HTTP statuses.
 */
export class SenError extends Error {
  override name: string = "SenError";
  readonly code: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** A module's error: SenError with its code narrowed to the module's table (AuthCode, AuditCode, ...). */
export class CodedError<Code extends string> extends SenError {
  constructor(code: Code, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
  }
}

export const AuthCode = {
  MISSING_HEADERS: "AUTH_MISSING_HEADERS",
  UNKNOWN_KEY: "AUTH_UNKNOWN_KEY",
  KEY_REVOKED: "AUTH_KEY_REVOKED",
  BAD_SIGNATURE: "AUTH_BAD_SIGNATURE",
  BAD_PASSPHRASE: "AUTH_BAD_PASSPHRASE",
  BAD_KEY_VERSION: "AUTH_BAD_KEY_VERSION",
  TIMESTAMP_EXPIRED: "AUTH_TIMESTAMP_EXPIRED",
  REPLAYED: "AUTH_REPLAYED",
  /** Signed before this process started, so possibly accepted by the previous one (no replay across restarts). */
  SIGNED_BEFORE_RESTART: "AUTH_SIGNED_BEFORE_RESTART",
  IP_NOT_ALLOWED: "AUTH_IP_NOT_ALLOWED",
  PERMISSION_DENIED: "AUTH_PERMISSION_DENIED",
  ROLE_FORBIDDEN: "AUTH_ROLE_FORBIDDEN",
  BAD_SESSION: "AUTH_BAD_SESSION",
  SIWE_INVALID: "AUTH_SIWE_INVALID",
  NOT_VERIFIED: "ID_NOT_VERIFIED",
  /** Every key of the account was disabled (e.g. its e-ID was revoked); maps to KuCoin's frozen account. */
  ACCOUNT_DISABLED: "AUTH_ACCOUNT_DISABLED",
  /** Malformed input to an auth operation (bad label, permission, IP range, passphrase, config). */
  INVALID_INPUT: "AUTH_INVALID_INPUT",
  /** The replay guard is at capacity: fail closed rather than forget signatures still in the window. */
  REPLAY_GUARD_FULL: "AUTH_REPLAY_GUARD_FULL",
  /** The API-key file cannot be parsed or decrypted (wrong master key, tampering). */
  STORE_CORRUPT: "AUTH_STORE_CORRUPT",
  /** The shared store (Redis, split roles) did not answer: refused rather than checked against nothing. */
  SHARED_STATE_UNAVAILABLE: "AUTH_SHARED_STATE_UNAVAILABLE",
} as const;
export type AuthCode = (typeof AuthCode)[keyof typeof AuthCode];

export class AuthError extends CodedError<AuthCode> {
  override name = "AuthError" as const;
}

export const JournalCode = {
  CORRUPT: "JOURNAL_CORRUPT",
  CLOSED: "JOURNAL_CLOSED",
  IO: "JOURNAL_IO",
} as const;
export type JournalCode = (typeof JournalCode)[keyof typeof JournalCode];

export class JournalError extends CodedError<JournalCode> {
  override name = "JournalError" as const;
}

/** The split's command bus and lease (api/src/cluster/commandBus.ts, lease.ts). */
export const ClusterCode = {
  /** No reply in time: the command may still be applied (check by clientOid). */
  COMMAND_TIMEOUT: "CLUSTER_COMMAND_TIMEOUT",
  /** The sequencer could not read the command (bad JSON, unknown op, arguments of the wrong shape). */
  BAD_COMMAND: "CLUSTER_BAD_COMMAND",
  /** The client was closed before the reply came. */
  CLIENT_CLOSED: "CLUSTER_CLIENT_CLOSED",
  /** The command could not be queued (Redis unreachable). */
  BUS_IO: "CLUSTER_BUS_IO",
  /** The sequencer lost its lease (another one is active now). */
  LEASE_LOST: "CLUSTER_LEASE_LOST",
  /** Refused by the previous sequencer, whose answer (with its reason) was lost when it failed. */
  REFUSED_BEFORE_FAILOVER: "CLUSTER_REFUSED_BEFORE_FAILOVER",
} as const;
export type ClusterCode = (typeof ClusterCode)[keyof typeof ClusterCode];

/** An edge in front of the sequencer (api/src/cluster/edgeTrading.ts, edgeRole.ts). */
export const EdgeCode = {
  /** Something only the sequencer does was asked of an edge (its route should have been forwarded). */
  SEQUENCER_ONLY: "CLUSTER_SEQUENCER_ONLY",
  /** No sequencer holds the lease: forwarded routes cannot be served. */
  NO_SEQUENCER: "CLUSTER_NO_SEQUENCER",
  /** A command reached the replica itself (TradingService.follower) instead of the bus. */
  REPLICA_READ_ONLY: "CLUSTER_REPLICA_READ_ONLY",
  /** The sequencer answered a request of the edge's own (not a client's) with an error status. */
  SEQUENCER_FAILED: "CLUSTER_SEQUENCER_FAILED",
  /** A request target that is neither a path nor an absolute http(s) URL (`//`): the edge has nothing to forward. */
  BAD_TARGET: "CLUSTER_BAD_TARGET",
} as const;
