import type { Hex } from "viem";
import { ISSUER_ERROR, IssuerError } from "./errors.ts";
import type { VerificationProvider, VerificationResult } from "./types.ts";

export const DEVELOPMENT_PROVIDER_NAME = "development (NOT FOR PRODUCTION)";

/**
 * The built-in provider for the local stack and tests: it reads no chip and sees no face, so
 * every result says production: false and every screen shows its name. Any session id passes
 * (face match 97.00%, live, chip verified) except the test hooks:
 *   fail-chip...        chip not verified
 *   fail-face...        face match 42.00%
 *   fail-liveness...    no liveness
 *   fail-unavailable... the provider does not answer (throws)
 */
export class DevelopmentProvider implements VerificationProvider {
  readonly name = DEVELOPMENT_PROVIDER_NAME;
  readonly production = false;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async verify(input: { sessionId: string; chipDataHash: Hex }): Promise<VerificationResult> {
    const s = input.sessionId;
    if (s.startsWith("fail-unavailable")) throw new IssuerError(ISSUER_ERROR.PROVIDER_UNAVAILABLE, "verification", "development provider: unavailable (test hook)");
    return {
      provider: this.name,
      production: false,
      chipVerified: !s.startsWith("fail-chip"),
      faceMatchBps: s.startsWith("fail-face") ? 4_200 : 9_700,
      liveness: !s.startsWith("fail-liveness"),
      checkedAt: this.#now(),
    };
  }
}
