import { readFileSync } from "node:fs";
import { z } from "zod/v4";
import { ConfigCode, ConfigError } from "../config/errors.ts";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/).transform((a) => a as `0x${string}`);

/** The addresses written by scripts/deploy.ts (deployments/<chainId>.json). */
export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  startBlock: z.string().regex(/^\d+$/).optional(),
  contracts: z.object({
    IdentityRegistry: address,
    CashToken: address,
    SettlementVault: address,
    AuditAnchor: address,
    GoldToken: address,
    RiverToken: address,
  }),
});
export type Deployment = z.infer<typeof deploymentSchema>;

export function readDeploymentFile(file: string): Deployment {
  const parsed = deploymentSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) throw new ConfigError(ConfigCode.INVALID, `deployment file ${file}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
