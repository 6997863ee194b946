import { ENV_KEYS, type Env } from "./config.ts";

/** The only reader of process.env: everything else gets the validated, frozen config. */
export type { Env };

/** The keys are the config schema's, so a new setting cannot be forgotten here. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return Object.fromEntries(ENV_KEYS.map((k) => [k, source[k]]));
}

/**
 * SEN_* variables in the environment that no setting reads (a typo, or a setting that was
 * removed). `alsoKnown`: the settings of other parts started by the same process (the issuer's).
 */
export function unknownSettings(source: NodeJS.ProcessEnv = process.env, alsoKnown: readonly string[] = []): string[] {
  // SEN_NODE_BOOTSTRAP belongs to scripts/setup.sh, not to the gateway.
  const known = new Set<string>([...ENV_KEYS, ...alsoKnown, "SEN_NODE_BOOTSTRAP"]);
  return Object.keys(source).filter((k) => k.startsWith("SEN_") && !known.has(k));
}
