import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Sen's core contracts: the e-ID registry, the VND cash token, the settlement vault and
 * the audit anchor, wired together, with every role granted to its holder (`$global`
 * parameters, see ../roleHolders.ts; none has a default, so a missing one stops the deploy
 * before any transaction). The deployer administers during set-up and still holds its
 * admin roles when this module ends: deploy the `Sen` module, which hands them over.
 */
export default buildModule("SenCore", (m) => {
  const deployer = m.getAccount(0);
  const governance = m.getParameter<string>("governance");
  const kycIssuer = m.getParameter<string>("kycIssuer");
  const paymentBank = m.getParameter<string>("paymentBank");
  const agent = m.getParameter<string>("agent");
  const settler = m.getParameter<string>("settler");
  const withdrawer = m.getParameter<string>("withdrawer");
  const auditor = m.getParameter<string>("auditor");
  const feeAccount = m.getParameter<string>("feeAccount");
  const taxAccount = m.getParameter<string>("taxAccount");

  const identityRegistry = m.contract("IdentityRegistry", [deployer]);
  m.call(identityRegistry, "addIssuer", [kycIssuer]);
  m.call(identityRegistry, "grantRole", [m.staticCall(identityRegistry, "GOVERNANCE_ROLE"), governance], { id: "registryGovernance" });
  m.call(identityRegistry, "grantRole", [m.staticCall(identityRegistry, "DEFAULT_ADMIN_ROLE"), governance], { id: "registryAdmin" });

  const cashToken = m.contract("CashToken", [identityRegistry, deployer]);
  const vault = m.contract("SettlementVault", [identityRegistry, cashToken, deployer, feeAccount, taxAccount]);
  // Income tax withheld from each sale, in basis points (Resolution 05/2025/NQ-CP: 0.1%, as
  // for securities). Set while the deployer still administers the vault, so a deployment
  // states its rate whatever the contract's default.
  const taxRateBps = m.getParameter("taxRateBps", 10);
  m.call(vault, "setTaxPolicy", [taxAccount, taxRateBps], { id: "vaultTaxPolicy" });
  // Needs no set-up by the deployer: governance administers it from the start.
  const auditAnchor = m.contract("AuditAnchor", [governance, auditor]);

  m.call(cashToken, "setCustodian", [vault, true]);
  m.call(cashToken, "grantRole", [m.staticCall(cashToken, "PAYMENT_BANK_ROLE"), paymentBank], { id: "cashBank" });
  m.call(cashToken, "grantRole", [m.staticCall(cashToken, "AGENT_ROLE"), agent], { id: "cashAgent" });
  m.call(cashToken, "grantRole", [m.staticCall(cashToken, "DEFAULT_ADMIN_ROLE"), governance], { id: "cashAdmin" });
  m.call(vault, "grantRole", [m.staticCall(vault, "SETTLER_ROLE"), settler], { id: "vaultSettler" });
  m.call(vault, "grantRole", [m.staticCall(vault, "WITHDRAWER_ROLE"), withdrawer], { id: "vaultWithdrawer" });
  m.call(vault, "grantRole", [m.staticCall(vault, "PAUSER_ROLE"), agent], { id: "vaultPauser" });
  m.call(vault, "grantRole", [m.staticCall(vault, "DEFAULT_ADMIN_ROLE"), governance], { id: "vaultAdmin" });

  return { identityRegistry, cashToken, vault, auditAnchor };
});
