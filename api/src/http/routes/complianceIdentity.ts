import { z } from "zod/v4";
import { getAddress, keccak256, parseAbi, toHex, type Hex } from "viem";
import { oneLine } from "../../compliance/audit/trustedAnchor.ts";
import type { AuditEvent } from "../../compliance/audit/auditEvent.ts";
import type { Principal } from "../../auth/types.ts";
import { countryOf } from "../../chain/countries.ts";
import type { AppContext } from "../../context.ts";
import { SenError } from "../../errors/SenError.ts";
import { withoutUrls } from "../../observability/logger.ts";
import type { FailedSettlement } from "../../records/orders.ts";
import { ValidationError } from "../errors.ts";
import { defineRoute, type Route } from "../route.ts";
import { hex32 } from "./compliance.ts";

const registryAbi = parseAbi([
  "struct Identity { uint8 kycLevel; uint16 country; uint8 investorType; uint40 expiresAt; bool revoked; address issuer; }",
  "function identity(bytes32 identityHash) view returns (Identity)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
]);
const ISSUER_ROLE = keccak256(toHex("ISSUER_ROLE"));

/** The registry's INVESTOR_* constants. */
const INVESTOR_TYPES: Readonly<Record<number, string>> = { 1: "retail", 2: "professional", 3: "institutional" };
/** Decree 69/2024's e-ID levels, the registry's kycLevel. */
const KYC_LEVELS: Readonly<Record<number, string>> = { 1: "level 1 (basic e-ID)", 2: "level 2 (full e-ID)" };

/**
 * The vault's refusals in words, by the innermost error of the decoded revert (the vault wraps
 * the token's or the registry's error in SettlementTradeFailed).
 */
const REFUSALS: Readonly<Record<string, string>> = {
  SettlementNotVerified: "A side's e-ID no longer verifies (revoked, expired or its issuer no longer trusted)",
  ERC7943CannotReceive: "The token refuses the buyer as a holder (its e-ID no longer verifies, or a holder rule such as country or investor type)",
  ERC7943CannotSend: "The token refuses to let the seller send it (its e-ID no longer verifies, or the wallet is frozen)",
  ERC7943CannotTransfer: "The token's rules refuse this transfer",
  ERC7943InsufficientUnfrozenBalance: "Part of the seller's tokens are frozen by the token's agent",
  TokenIsPaused: "The token is paused",
  EnforcedPause: "The vault or the token is paused",
  TokenIdentityCapExceeded: "The buyer's identity would hold more than the asset's cap",
  SettlementInsufficientBalance: "A side does not hold enough in the vault",
  SettlementTaxMismatch: "The tax withheld differs from the vault's tax rate",
  SettlementFeeExceedsCap: "A fee is above the vault's cap",
  SettlementDeductionsExceedProceeds: "Fees and tax exceed the sale's proceeds",
  SettlementTokenNotListed: "The token is not listed in the vault",
  SettlementSelfTrade: "Both sides are the same wallet",
  SettlementSelfTradeIdentity: "Both sides are wallets of the same e-ID",
  SettlementInvalidAccount: "A side's account is not a wallet",
  SettlementInvalidPrice: "The trade's amounts are not a valid price",
  SettlementZeroAmount: "The trade's amount is zero",
  TokenInvalidAccount: "A side's account is not valid for the token",
};

/** "SettlementTradeFailed(7, SettlementNotVerified(0xab…))" → the innermost error named in words. */
export function refusalInWords(reason: string): string {
  const names = [...reason.matchAll(/([A-Za-z0-9_]+)\(/g)].map((m) => m[1]);
  for (let i = names.length - 1; i >= 0; i--) if (REFUSALS[names[i]]) return REFUSALS[names[i]];
  return "Refused by the settlement vault";
}

const settlementsQuery = z
  .object({
    status: z.enum(["open", "resolved"]).default("open"),
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

type Side = { account: string; identityHash: string | null };

/**
 * Compliance reads that live elsewhere than the audit index: an e-ID's attributes read from
 * the IdentityRegistry on chain (the one source of truth, never a copy), and the settlement
 * failure queue (open ones from the trading core, resolved ones from the audit trail). Read
 * only: retrying or reversing a settlement stays with operators.
 */
export function complianceIdentityRoutes(ctx: AppContext): Route[] {
  const { audit } = ctx;
  const c = { auth: "signedOrSession", roles: ["compliance"], tag: "compliance" } as const;
  const audited = (principal: Principal | null, ip: string, what: string, detail: Record<string, unknown>) =>
    audit.record({ type: "audit.query", actor: principal!.accountId, account: principal!.accountId, wallet: principal!.accountId, identityHash: principal!.identityHash, ip, reason: what, detail });

  async function identityOnChain(identityHash: Hex) {
    const chain = ctx.chain;
    if (!chain) throw new SenError("COMPLIANCE_NO_CHAIN", "this gateway runs without a chain");
    const { publicClient: client, contracts } = chain;
    const registry = contracts.IdentityRegistry;
    try {
      // The registry keeps a wallet → identity map but cannot list an identity's wallets. The
      // gateway's holder view follows the registry's WalletAdded / WalletRemoved events and
      // re-reads identityOf for each, so it knows the bound wallets without a log scan per
      // request (from the deployment block, thousands of eth_getLogs calls on a long chain).
      // Synced first (new blocks only), then every read is at the view's block, so the
      // attributes, the issuer's trust and the wallets agree.
      const view = ctx.holderView;
      if (view) await view.sync();
      const state = view?.states()[0];
      // Taken before any await: a later poll moves the view on.
      const at = state ? state.block : await client.getBlockNumber({ cacheTime: 0 });
      const wallets = state ? [...state.walletsOf(identityHash.toLowerCase())].map((w) => w.toLowerCase()).sort() : [];
      const [block, id] = await Promise.all([
        client.getBlock({ blockNumber: at }),
        client.readContract({ address: registry, abi: registryAbi, functionName: "identity", args: [identityHash], blockNumber: at }),
      ]);
      if (/^0x0{40}$/.test(id.issuer)) throw new SenError("COMPLIANCE_NOT_FOUND", `No e-ID ${identityHash} in the IdentityRegistry at ${registry}`);
      if (!state) throw new SenError("COMPLIANCE_NO_CHAIN", "this gateway does not follow the chain's holder state (its e-ID wallets)");
      const trusted = await client.readContract({ address: registry, abi: registryAbi, functionName: "hasRole", args: [ISSUER_ROLE, id.issuer], blockNumber: at });
      const now = block.timestamp;
      const expired = BigInt(id.expiresAt) <= now;
      // The registry's own rule (IdentityRegistry._isValid), read at the same block.
      const why: string[] = [];
      if (id.revoked) why.push("revoked");
      if (expired) why.push("expired");
      if (!trusted) why.push("its issuer is no longer trusted");
      return {
        identityHash: identityHash.toLowerCase(),
        registry: getAddress(registry),
        chainId: ctx.config.chainId,
        block: at.toString(),
        blockTime: new Date(Number(now) * 1000).toISOString(),
        verified: why.length === 0,
        notVerifiedBecause: why,
        kycLevel: { level: id.kycLevel, name: KYC_LEVELS[id.kycLevel] ?? `level ${id.kycLevel}` },
        country: countryOf(id.country),
        investorType: { code: id.investorType, name: INVESTOR_TYPES[id.investorType] ?? `type ${id.investorType}` },
        expiresAt: new Date(Number(id.expiresAt) * 1000).toISOString(),
        expired,
        issuer: { address: getAddress(id.issuer), trusted },
        // When and by whom are only in the registry's events, which this route no longer scans
        // (see above); the audit trail and a block explorer have them.
        attestedAt: null,
        revoked: id.revoked,
        revokedBy: null,
        revokedByGovernance: null,
        revokedAt: null,
        // Bound now only: the view forgets a wallet once it is unbound.
        wallets: wallets.map((wallet) => ({ wallet, bound: true, boundAt: null, unboundAt: null })),
      };
    } catch (err) {
      if (err instanceof SenError) throw err;
      // viem's messages can carry the provider's URL (and its key): one line, URLs removed.
      ctx.logger.warn({ error: withoutUrls(oneLine(err)) }, "identity registry read failed");
      throw new SenError("COMPLIANCE_CHAIN_UNAVAILABLE", "the chain did not answer", { cause: err });
    }
  }

  const sideOf = (account: string, fromAudit: string | undefined): Side => ({
    account,
    identityHash: fromAudit ?? ctx.queries.accountOrders(account)[0]?.identityHash ?? null,
  });

  async function openSettlements() {
    const open = [...ctx.queries.failedSettlements()];
    // Each waiting trade's own settlement.failed event (its audit seq and both identities), from the earliest failure on.
    const failedEvents = new Map<string, AuditEvent>();
    if (open.length > 0) {
      const since = new Date(Math.min(...open.map((t) => t.failedAt)) - 1_000).toISOString();
      let page = await audit.index.query({ types: ["settlement.failed"], from: since, limit: 1000, order: "asc" });
      for (;;) {
        for (const e of page.items) if (e.tradeId) failedEvents.set(e.tradeId, e);
        if (!page.nextCursor) break;
        page = await audit.index.query({ types: ["settlement.failed"], from: since, cursor: page.nextCursor, limit: 1000, order: "asc" });
      }
    }
    const item = (t: Readonly<FailedSettlement>) => {
      const m = ctx.catalog.market(t.symbol)!;
      const e = failedEvents.get(t.tradeId);
      return {
        tradeId: t.tradeId,
        symbol: t.symbol,
        size: ctx.format.size(m, t.size),
        amount: ctx.format.amount(m.quote, t.funds),
        currency: m.quote,
        buyer: sideOf(t.buyerAccount, e?.identityHash),
        seller: sideOf(t.sellerAccount, e?.counterpartyIdentityHash),
        tradedAt: new Date(t.createdAt).toISOString(),
        failedAt: new Date(t.failedAt).toISOString(),
        reason: t.reason,
        reasonText: refusalInWords(t.reason),
        auditSeq: e?.seq ?? null,
        jseq: e?.jseq ?? null,
      };
    };
    return { status: "open" as const, asOf: new Date(ctx.now()).toISOString(), items: open.sort((a, b) => a.failedAt - b.failedAt).map(item) };
  }

  async function resolvedSettlements(cursor: string | undefined, limit: number) {
    const page = await audit.index.query({ types: ["settlement.resolved"], cursor, limit, order: "desc" });
    return {
      status: "resolved" as const,
      asOf: new Date(ctx.now()).toISOString(),
      nextCursor: page.nextCursor,
      items: page.items.map((e) => {
        const detail = (e.detail ?? {}) as { action?: string; note?: string };
        return {
          tradeId: e.tradeId ?? "",
          symbol: e.symbol ?? "",
          size: e.qty ?? "",
          amount: e.amount ?? "",
          currency: e.currency ?? "",
          buyer: sideOf(e.account ?? "", e.identityHash),
          seller: sideOf(e.counterpartyAccount ?? "", e.counterpartyIdentityHash),
          reason: e.reason ?? "",
          reasonText: refusalInWords(e.reason ?? ""),
          action: detail.action === "reverse" ? ("reverse" as const) : ("retry" as const),
          by: e.actor ?? "",
          note: detail.note ?? null,
          resolvedAt: e.ts,
          auditSeq: e.seq,
          jseq: e.jseq ?? null,
        };
      }),
    };
  }

  return [
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/identities/:identityHash",
      summary: "An e-ID's attributes read from the IdentityRegistry on chain: KYC level, country, investor type, expiry, issuer, verified or revoked, and the wallets bound to it now (the gateway's chain-fed holder view), all at one block",
      handler: async ({ params, principal, ip }) => {
        const id = hex32.safeParse(params.identityHash);
        if (!id.success) throw new ValidationError("identityHash: a 0x-prefixed 32-byte hex value");
        audited(principal, ip, "identityAttributes", { identityHash: id.data.toLowerCase() });
        return identityOnChain(id.data.toLowerCase() as Hex);
      },
    }),
    defineRoute({
      ...c,
      method: "get",
      path: "/api/v1/compliance/settlements",
      summary: "Settlement failures: open ones waiting for an operator (decoded reason, trade, both sides), or resolved ones (retry or reverse, by whom, note, when), newest first",
      query: settlementsQuery,
      handler: async ({ query, principal, ip }) => {
        const q = query as z.infer<typeof settlementsQuery>;
        audited(principal, ip, "settlements", { ...q });
        // The queue is read from the core now: its audit events (and the resolutions) are indexed up to now too.
        await audit.flush();
        return q.status === "open" ? openSettlements() : resolvedSettlements(q.cursor, q.limit);
      },
    }),
  ];
}
