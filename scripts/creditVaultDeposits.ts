import type { PublicClient } from "viem";
import { creditVaultDeposits as credit } from "../api/src/chain/vaultDeposits.ts";
import type { MarketCatalog } from "../api/src/markets/marketCatalog.ts";
import type { TradingService } from "../api/src/trading/tradingService.ts";
import type { SenDeployment } from "./deploy.ts";

/** Credits every vault deposit since the deployment (the seed's deposits, on `npm start`). */
export function creditVaultDeposits(client: PublicClient, deployment: SenDeployment, catalog: MarketCatalog, trading: TradingService): Promise<number> {
  return credit(client, deployment.contracts.SettlementVault, catalog, trading, { fromBlock: BigInt(deployment.startBlock) });
}
