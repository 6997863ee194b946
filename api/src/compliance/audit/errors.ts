import { CodedError } from "../../errors/SenError.ts";

export const AuditCode = {
  /** The stored log is not what it should be: a bad line, a gap, a root that does not match its signed checkpoint. */
  TAMPERED: "AUDIT_TAMPERED",
  /** A stored checkpoint does not verify with the configured signing key. */
  KEY_MISMATCH: "AUDIT_KEY_MISMATCH",
  CLOSED: "AUDIT_CLOSED",
  IO: "AUDIT_IO",
  /** A proof, read or export asked for sizes or seqs the log does not have. */
  BAD_RANGE: "AUDIT_BAD_RANGE",
  /** A time that is not a UTC ISO timestamp with at most microseconds. */
  BAD_TIMESTAMP: "AUDIT_BAD_TIMESTAMP",
} as const;
export type AuditCode = (typeof AuditCode)[keyof typeof AuditCode];

export class AuditError extends CodedError<AuditCode> {
  override name = "AuditError" as const;
}
