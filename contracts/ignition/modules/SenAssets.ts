import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import SenCore from "./SenCore.ts";

/**
 * The two tokenised assets Sen lists at launch (and in the demo): a government-bond unit
 * and a real-estate fund unit, each listed in the vault and open to Vietnamese verified
 * investors. The document hashes are parameters: on a real deployment they are the
 * SHA-256 of the prospectus and of the custodian's backing-asset certificate. Like SenCore,
 * it leaves the deployer as admin; the `Sen` module hands over.
 */
export default buildModule("SenAssets", (m) => {
  const core = m.useModule(SenCore);
  const deployer = m.getAccount(0);
  const governance = m.getParameter<string>("governance");
  const issuer = m.getParameter<string>("assetIssuer");
  const agent = m.getParameter<string>("agent");
  const VIET_NAM = 704;

  const assets = {
    goldToken: m.contract(
      "AssetToken",
      [
        "Sen Gold (1 g of gold vaulted abroad, issued outside Viet Nam)",
        "GOLD",
        0,
        core.identityRegistry,
        deployer,
        m.getParameter("bondDocumentHash", `0x${"b0".repeat(32)}`),
        m.getParameter("bondDocumentURI", "ipfs://sen-demo/vgb30-prospectus.pdf"),
        false,
      ],
      { id: "GoldToken" },
    ),
    riverToken: m.contract(
      "AssetToken",
      [
        "Saigon Riverside Residences (tokenised project interest)",
        "RIVER",
        0,
        core.identityRegistry,
        deployer,
        m.getParameter("fundDocumentHash", `0x${"f0".repeat(32)}`),
        m.getParameter("fundDocumentURI", "ipfs://sen-demo/sref-prospectus.pdf"),
        true,
      ],
      { id: "RiverToken" },
    ),
  };

  for (const [name, token] of Object.entries(assets)) {
    const role = (constant: string) => m.staticCall(token, constant, [], 0, { id: `${name}${constant}` });
    m.call(token, "setCustodian", [core.vault, true], { id: `${name}Custodian` });
    m.call(token, "setCountriesAllowed", [[VIET_NAM], true], { id: `${name}Countries` });
    m.call(token, "grantRole", [role("ISSUER_ROLE"), issuer], { id: `${name}Issuer` });
    m.call(token, "grantRole", [role("AGENT_ROLE"), agent], { id: `${name}Agent` });
    m.call(token, "grantRole", [role("DEFAULT_ADMIN_ROLE"), governance], { id: `${name}Admin` });
    m.call(core.vault, "setAssetListed", [token, true], { id: `${name}Listed` });
  }
  // The fund is for professional and institutional investors only, 1,000,000 units each at most.
  m.call(assets.riverToken, "setTransferRules", [1, (1 << 2) | (1 << 3), true, 1_000_000n], { id: "fundRules" });
  m.call(assets.goldToken, "setTransferRules", [1, 0, true, 0n], { id: "bondRules" });

  return { ...core, ...assets };
});
