import { ENV_KEYS } from "./config.ts";

/** The only reader of process.env (STYLE.md): every setting Sen understands, raw. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The keys are the config schema's, so a new setting cannot be forgotten here. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  return Object.fromEntries(ENV_KEYS.map((k) => [k, source[k]]));
}
