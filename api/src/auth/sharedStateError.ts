import { AuthCode, AuthError, SenError } from "../errors/SenError.ts";

/**
 * Runs one operation on the shared store (Redis). A refusal of Sen's own (a SenError) passes
 * through; anything else (connection down, command timeout, a stalled server) becomes
 * AUTH_SHARED_STATE_UNAVAILABLE, so the request fails closed (HTTP 503) and is never checked
 * against nothing: a replay is not accepted because Redis did not answer.
 */
export async function shared<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (cause) {
    if (cause instanceof SenError) throw cause;
    throw new AuthError(AuthCode.SHARED_STATE_UNAVAILABLE, `the shared store did not answer (${what}): refused, retry shortly`, {
      cause,
      details: { what },
    });
  }
}
