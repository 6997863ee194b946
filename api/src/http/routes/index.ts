import type { AppContext } from "../../context.ts";
import type { Route } from "../route.ts";
import { accountRoutes } from "./account.ts";
import { auditProofRoutes } from "./auditProofs.ts";
import { auditBundleRoutes } from "./auditBundle.ts";
import { complianceRoutes } from "./compliance.ts";
import { complianceIdentityRoutes } from "./complianceIdentity.ts";
import { complianceReportRoutes } from "./complianceReports.ts";
import { eligibilityRoutes } from "./eligibility.ts";
import { bulletRoutes } from "./bullet.ts";
import { listingRoutes } from "./listings.ts";
import { marketRoutes } from "./market.ts";
import { operatorRoutes } from "./operator.ts";
import { orderRoutes } from "./orders.ts";
import { senAuthRoutes } from "./senAuth.ts";
import { taxReportRoutes } from "./taxReport.ts";
import { ledgerRoutes } from "./ledgers.ts";
import { walletTransactionRoutes } from "./walletTransactions.ts";
import { stopOrderRoutes } from "./stopOrders.ts";
import { orderAlterRoutes } from "./orderAlter.ts";
import { orderBatchRoutes } from "./orderBatch.ts";
import { fundingRoutes } from "./funding.ts";

export function allRoutes(ctx: AppContext): Route[] {
  return [...marketRoutes(ctx), ...accountRoutes(ctx), ...ledgerRoutes(ctx), ...eligibilityRoutes(ctx), ...orderRoutes(ctx), ...stopOrderRoutes(ctx), ...orderAlterRoutes(ctx), ...orderBatchRoutes(ctx), ...fundingRoutes(ctx), ...bulletRoutes(ctx), ...senAuthRoutes(ctx), ...operatorRoutes(ctx), ...listingRoutes(ctx), ...complianceRoutes(ctx), ...complianceIdentityRoutes(ctx), ...complianceReportRoutes(ctx), ...taxReportRoutes(ctx), ...auditProofRoutes(ctx), ...auditBundleRoutes(ctx), ...walletTransactionRoutes(ctx)];
}
