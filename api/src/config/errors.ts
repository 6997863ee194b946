import { CodedError } from "../errors/SenError.ts";

/** Refusals to start: the configuration, the data directory or a shipped file is not usable. */
export const ConfigCode = {
  /** An environment value, the pilot's rules file, the deployment file or a combination of them is invalid. */
  INVALID: "CONFIG_INVALID",
  /** Another live process holds the data directory. */
  DATA_DIR_BUSY: "CONFIG_DATA_DIR_BUSY",
  /** A file shipped with Sen (a page, a console asset) is not what the code expects: a broken install. */
  BROKEN_ASSET: "CONFIG_BROKEN_ASSET",
} as const;
export type ConfigCode = (typeof ConfigCode)[keyof typeof ConfigCode];

export class ConfigError extends CodedError<ConfigCode> {
  override name: string = "ConfigError";
}
