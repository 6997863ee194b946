import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Sen's core contracts: the e-ID registry, the VND cash token, the settlement vault and
 * the audit anchor, wired together. Every role holder is a module parameter so a public
 * deployment can give each role its own key (least privilege); locally they all default
 * to the first account.
 */
export default buildModule("SenCore", (m) => {
  const deployer = m.getAccount(0);
  const governance = m.getParameter("governance", deployer);
  const kycIssuer = m.getParameter("kycIssuer", deployer);
  const paymentBank = m.getParameter("paymentBank", deployer);
  const agent = m.getParameter("agent", deployer);
  const settler = m.getParameter("settler", deployer);
  const withdrawer = m.getParameter("withdrawer", deployer);
  const auditor = m.getParameter("auditor", deployer);
  const feeAccount = m.getParameter("feeAccount", deployer);

  // The deployer administers during set-up; on a public network, governance is then given
  // DEFAULT_ADMIN_ROLE and the deployer renounces it (README, "Deploying to a testnet").
  const identityRegistry = m.contract("IdentityRegistry", [deployer]);
  m.call(identityRegistry, "addIssuer", [kycIssuer]);
  m.call(identityRegistry, "grantRole", [m.staticCall(identityRegistry, "GOVERNANCE_ROLE"), governance], {
    id: "registryGovernance",
  });

  const cashToken = m.contract("CashToken", [identityRegistry, deployer]);
  const vault = m.contract("SettlementVault", [identityRegistry, cashToken, deployer, feeAccount]);
  const auditAnchor = m.contract("AuditAnchor", [governance, auditor]);

  m.call(cashToken, "setCustodian", [vault, true]);
  m.call(cashToken, "grantRole", [m.staticCall(cashToken, "PAYMENT_BANK_ROLE"), paymentBank], { id: "cashBank" });
  m.call(cashToken, "grantRole", [m.staticCall(cashToken, "AGENT_ROLE"), agent], { id: "cashAgent" });
  m.call(vault, "grantRole", [m.staticCall(vault, "SETTLER_ROLE"), settler], { id: "vaultSettler" });
  m.call(vault, "grantRole", [m.staticCall(vault, "WITHDRAWER_ROLE"), withdrawer], { id: "vaultWithdrawer" });
  m.call(vault, "grantRole", [m.staticCall(vault, "PAUSER_ROLE"), agent], { id: "vaultPauser" });

  return { identityRegistry, cashToken, vault, auditAnchor };
});
