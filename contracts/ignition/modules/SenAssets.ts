import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import SenCore from "./SenCore.ts";

/** PermissionedToken.COUNTRY_RULE_*: how a token's country list binds receivers. */
const COUNTRY_RULE = { any: 0, allowList: 1, blockList: 2 } as const;
const VIET_NAM = 704;
const PROFESSIONAL_AND_INSTITUTIONAL = (1 << 2) | (1 << 3);

/**
 * The two crypto-assets Sen lists at launch (and in the demo), under the pilot's rules
 * (Resolution 05/2025/NQ-CP):
 * - GOLD, a gold-backed token issued abroad: an "other crypto-asset", which domestic investors
 *   who already hold it may deposit and trade, as may foreign investors: open to every
 *   verified investor.
 * - RIVER, a tokenised interest in a Vietnamese real-estate project: a tokenised real asset
 *   issued in Viet Nam, which may be offered to and traded among foreign investors only (a
 *   block-list of 704), professional or institutional, 1,000,000 units per identity at most.
 * Each is listed in the vault. The document hashes are parameters: on a real deployment, the
 * SHA-256 of the custodian's proof of the vaulted gold and of the project's prospectus. Like
 * SenCore, it leaves the deployer as admin; the `Sen` module hands over.
 */
export default buildModule("SenAssets", (m) => {
  const core = m.useModule(SenCore);
  const deployer = m.getAccount(0);
  const governance = m.getParameter<string>("governance");
  const issuer = m.getParameter<string>("assetIssuer");
  const agent = m.getParameter<string>("agent");

  const assets = {
    goldToken: m.contract(
      "AssetToken",
      [
        "Sen Gold (1 g of gold vaulted abroad, issued outside Viet Nam)",
        "GOLD",
        0,
        core.identityRegistry,
        deployer,
        m.getParameter("goldDocumentHash", `0x${"60".repeat(32)}`),
        m.getParameter("goldDocumentURI", "ipfs://sen-demo/gold-custody-proof.pdf"),
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
        m.getParameter("riverDocumentHash", `0x${"5e".repeat(32)}`),
        m.getParameter("riverDocumentURI", "ipfs://sen-demo/river-prospectus.pdf"),
        true,
      ],
      { id: "RiverToken" },
    ),
  };

  for (const [name, token] of Object.entries(assets)) {
    const role = (constant: string) => m.staticCall(token, constant, [], 0, { id: `${name}${constant}` });
    m.call(token, "setCustodian", [core.vault, true], { id: `${name}Custodian` });
    m.call(token, "grantRole", [role("ISSUER_ROLE"), issuer], { id: `${name}Issuer` });
    m.call(token, "grantRole", [role("AGENT_ROLE"), agent], { id: `${name}Agent` });
    m.call(token, "grantRole", [role("DEFAULT_ADMIN_ROLE"), governance], { id: `${name}Admin` });
    m.call(core.vault, "setAssetListed", [token, true], { id: `${name}Listed` });
  }
  // GOLD: any verified investor (e-ID level 1 or 2), any type, any country, no cap.
  m.call(assets.goldToken, "setTransferRules", [1, 0, COUNTRY_RULE.any, 0n], { id: "goldRules" });
  // RIVER: foreign professional and institutional investors only, 1,000,000 units each at most.
  m.call(assets.riverToken, "setCountriesListed", [[VIET_NAM], true], { id: "riverCountries" });
  m.call(assets.riverToken, "setTransferRules", [1, PROFESSIONAL_AND_INSTITUTIONAL, COUNTRY_RULE.blockList, 1_000_000n], { id: "riverRules" });

  return { ...core, ...assets };
});
