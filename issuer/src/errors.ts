/**
 * The issuer's refusals, one code table (the HTTP edge maps codes to statuses). A message
 * names the field and what is wrong, never the personal data itself.
 */
export const ISSUER_ERROR = {
  BAD_INPUT: "ISSUER_BAD_INPUT",
  DUPLICATE: "ISSUER_DUPLICATE",
  REQUEST_KEY_REUSED: "ISSUER_REQUEST_KEY_REUSED",
  WALLET_BOUND: "ISSUER_WALLET_BOUND",
  IDENTITY_PENDING: "ISSUER_IDENTITY_PENDING",
  PROOF_REQUIRED: "ISSUER_PROOF_REQUIRED",
  BAD_PROOF: "ISSUER_BAD_PROOF",
  VERIFICATION_FAILED: "ISSUER_VERIFICATION_FAILED",
  PROVIDER_UNAVAILABLE: "ISSUER_PROVIDER_UNAVAILABLE",
  NOT_FOUND: "ISSUER_NOT_FOUND",
  WRONG_STATUS: "ISSUER_WRONG_STATUS",
  NOT_OFFICER: "ISSUER_NOT_OFFICER",
  /** An officer deciding an application of their own wallet or their own identity. */
  SELF_REVIEW: "ISSUER_SELF_REVIEW",
  CHAIN_FAILED: "ISSUER_CHAIN_FAILED",
  PII_KEY_UNKNOWN: "ISSUER_PII_KEY_UNKNOWN",
  PII_CORRUPT: "ISSUER_PII_CORRUPT",
  CONFIG: "ISSUER_CONFIG",
} as const;
export type IssuerErrorCode = (typeof ISSUER_ERROR)[keyof typeof ISSUER_ERROR];

export class IssuerError extends Error {
  override readonly name = "IssuerError";
  readonly code: IssuerErrorCode;
  readonly field: string | undefined;
  constructor(code: IssuerErrorCode, field: string | undefined, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}
