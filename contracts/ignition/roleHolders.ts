/**
 * Who holds what after Sen's deployment. Every holder is an Ignition `$global` parameter
 * (one value for every module); the deployer only sets the contracts up and renounces every
 * role it held, so it may be none of them.
 */
export const ROLE_HOLDERS = [
  "governance", // DEFAULT_ADMIN_ROLE everywhere, GOVERNANCE_ROLE on the registry
  "kycIssuer", // the registry's trusted e-KYC issuer
  "paymentBank", // mints and burns VND against fiat
  "agent", // AGENT_ROLE on every token, PAUSER_ROLE on the vault
  "settler", // the vault's SETTLER_ROLE
  "withdrawer", // the vault's WITHDRAWER_ROLE
  "auditor", // AuditAnchor's auditor
  "assetIssuer", // ISSUER_ROLE on each asset token
  "feeAccount", // the vault's fee account (no role)
  "taxAccount", // the vault's tax account: income tax withheld from sales, for the State Treasury (no role)
] as const;

export type RoleHolder = (typeof ROLE_HOLDERS)[number];
export type RoleHolders = Record<RoleHolder, `0x${string}`>;

/**
 * The local default: each holder is its own Hardhat test account (#0 deploys), so a local
 * chain is shaped like a public one. The gateway signs settlement, withdrawals and audit
 * anchors with one key (`SEN_CHAIN_KEY`), hence #5 for all three, here only: a public deployment
 * gives the auditor a key of its own (parameters.sepolia.example.json, README "Deploying"), so
 * that the key anchoring the audit log is not one whose actions the log records. The demo's traders are #8
 * and #9, its compliance officer #10 and operator #11. The tax account, #12, holds no role but
 * its vault book takes every sale's tax: no test or demo account trades with it.
 */
export const LOCAL_ROLE_ACCOUNTS: Record<RoleHolder, number> = {
  governance: 1,
  kycIssuer: 2,
  paymentBank: 3,
  agent: 4,
  settler: 5,
  withdrawer: 5,
  auditor: 5,
  feeAccount: 6,
  assetIssuer: 7,
  taxAccount: 12,
};
