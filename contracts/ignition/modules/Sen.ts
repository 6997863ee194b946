import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import SenAssets from "./SenAssets.ts";
import SenCore from "./SenCore.ts";

/**
 * The whole deployment (what scripts/deploy.ts runs): SenCore and SenAssets, then, as the
 * last steps, the deployer renounces every role it held for the set-up. Each role was
 * granted to its configured holder by then, so the deployer's key ends with no power over
 * any contract (AuditAnchor never gave it any).
 */
export default buildModule("Sen", (m) => {
  const sen = m.useModule(SenAssets);
  const deployer = m.getAccount(0);
  const held = [
    ["registry", sen.identityRegistry, ["GOVERNANCE_ROLE", "DEFAULT_ADMIN_ROLE"]],
    ["cash", sen.cashToken, ["DEFAULT_ADMIN_ROLE"]],
    ["vault", sen.vault, ["DEFAULT_ADMIN_ROLE"]],
    ["goldToken", sen.goldToken, ["DEFAULT_ADMIN_ROLE"]],
    ["riverToken", sen.riverToken, ["DEFAULT_ADMIN_ROLE"]],
  ] as const;
  for (const [name, contract, roles] of held) {
    for (const role of roles) {
      const id = m.staticCall(contract, role, [], 0, { id: `${name}${role}` });
      // After every set-up call of both modules (the vault lists the assets in SenAssets).
      m.call(contract, "renounceRole", [id, deployer], { id: `${name}Renounce${role}`, after: [SenCore, SenAssets] });
    }
  }
  return sen;
});
