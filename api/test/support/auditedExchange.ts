import type { ChainServices } from "../../src/chain/chainServices.ts";
import type { LocalAccount } from "viem";
import { startChain, type ChainFixture } from "./chainFixture.ts";
import { loginAndCreateKey, postJson, startTestChainServices, startTestGateway, type ApiCredentials, type GatewayFixture } from "./gatewayFixture.ts";

export type AuditedExchange = {
  chain: ChainFixture;
  gw: GatewayFixture;
  services: ChainServices;
  officer: ApiCredentials;
  seller: ApiCredentials;
  buyer: ApiCredentials;
  sellerId: string;
  buyerId: string;
};

/**
 * A gateway on a chain served over JSON-RPC (so a verifier run as a child process can read the
 * AuditAnchor), with chain services anchoring every checkpoint at once, checkpoints every 20
 * events or 200 ms, a compliance officer, and a seller holding `gold` GOLD and a buyer holding
 * 100,000,000 VND; the accounts are Hardhat accounts no other suite of the run uses.
 */
export async function startAuditedExchange(o: { name: string; accounts: Record<"officer" | "seller" | "buyer" | "operator", LocalAccount>; gold: string }): Promise<AuditedExchange> {
  const { officer: officerAccount, seller: sellerAccount, buyer: buyerAccount, operator: operatorAccount } = o.accounts;
  const chain = await startChain({ serve: true });
  await chain.attest(officerAccount.address, `${o.name}-officer`);
  const sellerId = await chain.attest(sellerAccount.address, `${o.name}-seller`);
  const buyerId = await chain.attest(buyerAccount.address, `${o.name}-buyer`);
  await chain.attest(operatorAccount.address, `${o.name}-operator`);
  const gw = await startTestGateway(chain, {
    env: {
      SEN_COMPLIANCE: officerAccount.address.toLowerCase(),
      SEN_OPERATORS: operatorAccount.address.toLowerCase(),
      SEN_AUDIT_CHECKPOINT_EVENTS: "20",
      SEN_AUDIT_CHECKPOINT_MS: "200",
      SEN_AUDIT_ANCHOR_MS: "0",
    },
  });
  const services = await startTestChainServices(chain, gw.ctx);
  const officer = await loginAndCreateKey(gw.url, officerAccount, ["General"]);
  const seller = await loginAndCreateKey(gw.url, sellerAccount);
  const buyer = await loginAndCreateKey(gw.url, buyerAccount);
  const op = await loginAndCreateKey(gw.url, operatorAccount, ["General"]);
  await postJson(`${gw.url}/api/v1/sen/operator/deposits`, { accountId: seller.accountId, currency: "GOLD", amount: o.gold, ref: `${o.name}-s` }, op.token);
  await postJson(`${gw.url}/api/v1/sen/operator/deposits`, { accountId: buyer.accountId, currency: "VND", amount: "100000000", ref: `${o.name}-b` }, op.token);
  return { chain, gw, services, officer, seller, buyer, sellerId, buyerId };
}
