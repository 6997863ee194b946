import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { BaseError, ContractFunctionRevertedError, keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { eligibilityRefusal, sendRefusal, transferRefusal, type HolderRefusal } from "../src/risk/holderRules.ts";
import { hardhatAccount, startChain, type ChainFixture } from "./support/chainFixture.ts";
import { startTestGateway, type GatewayFixture } from "./support/gatewayFixture.ts";

/** Funded accounts (#8 and up hold no role): A and B share e-ID X, C has Y, D has Z from a second issuer. */
const WALLETS = [14, 15, 17, 18];
const ISSUER2 = 19;
const COUNTRIES = [704, 840, 392] as const;
/** Expiries sit half a step between the points time jumps to, so the chain's clock is never near one. */
const STEP = 10_000n;

type Op =
  | { k: "rules"; token: number; minKyc: number; mask: number; countryRule: number; cap: bigint }
  | { k: "country"; token: number; country: number; listed: boolean }
  | { k: "pause"; token: number; paused: boolean }
  | { k: "freeze"; token: number; wallet: number; frozen: boolean }
  | { k: "frozenAmount"; token: number; wallet: number; amount: bigint }
  | { k: "attest"; identity: number; kyc: number; country: number; type: number; steps: bigint }
  | { k: "revoke"; identity: number }
  | { k: "issuer"; trusted: boolean }
  | { k: "mint"; token: number; wallet: number; amount: bigint }
  | { k: "deposit"; token: number; wallet: number; amount: bigint }
  | { k: "time"; steps: bigint };

const token = fc.integer({ min: 0, max: 2 });
const wallet = fc.integer({ min: 0, max: WALLETS.length - 1 });
const identity = fc.integer({ min: 0, max: 2 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // countryRule: PermissionedToken.COUNTRY_RULE_* (any, allow-list, block-list).
  { weight: 2, arbitrary: fc.record({ k: fc.constant("rules" as const), token, minKyc: fc.integer({ min: 0, max: 2 }), mask: fc.integer({ min: 0, max: 15 }), countryRule: fc.integer({ min: 0, max: 2 }), cap: fc.constantFrom(0n, 40n, 150n, 10_000n) }) },
  fc.record({ k: fc.constant("country" as const), token, country: fc.constantFrom(...COUNTRIES), listed: fc.boolean() }),
  fc.record({ k: fc.constant("pause" as const), token, paused: fc.boolean() }),
  fc.record({ k: fc.constant("freeze" as const), token, wallet, frozen: fc.boolean() }),
  fc.record({ k: fc.constant("frozenAmount" as const), token, wallet, amount: fc.constantFrom(0n, 5n, 20n, 60n, 1_000n) }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant("attest" as const), identity, kyc: fc.constantFrom(1, 2), country: fc.constantFrom(...COUNTRIES), type: fc.constantFrom(1, 2, 3), steps: fc.bigInt({ min: 1n, max: 4n }) }) },
  fc.record({ k: fc.constant("revoke" as const), identity }),
  fc.record({ k: fc.constant("issuer" as const), trusted: fc.boolean() }),
  { weight: 3, arbitrary: fc.record({ k: fc.constant("mint" as const), token, wallet, amount: fc.bigInt({ min: 1n, max: 50n }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("deposit" as const), token, wallet, amount: fc.bigInt({ min: 1n, max: 30n }) }) },
  fc.record({ k: fc.constant("time" as const), steps: fc.bigInt({ min: 1n, max: 2n }) }),
);

/**
 * For random holder rules, e-ID attributes, freezes, balances, custody and time, the gateway's
 * view of the chain (its state as read, evaluated by risk/holderRules.ts) gives the verdicts
 * the contracts give themselves: canReceive, canSend and canTransfer on every token, wallet and
 * pair. The view is the same one the gateway checks orders with, fed by the contracts' events.
 */
describe("the gateway's holder rules equal the contracts' own (property)", () => {
  let chain: ChainFixture;
  let gw: GatewayFixture;

  before(async () => {
    chain = await startChain();
    gw = await startTestGateway(chain);
  });
  after(async () => {
    await gw?.close();
    await chain?.close();
  });

  it("canReceive, canSend and canTransfer agree after any sequence of rule, e-ID, freeze, balance and time changes", { timeout: 600_000 }, async () => {
    const d = chain.deployment.contracts;
    const clients = await chain.connection.viem.getWalletClients();
    const as = (w: (typeof clients)[number]) => ({ client: { wallet: w } });
    const tokenAddresses = [d.GoldToken, d.RiverToken, d.CashToken];
    // The rules, freezes and pause every token shares (PermissionedToken), as the role holder that may change them.
    const at = (role: keyof ChainFixture["wallets"]) => Promise.all(tokenAddresses.map((a) => chain.connection.viem.getContractAt("PermissionedToken", a, as(chain.wallets[role]))));
    const admin = await at("governance");
    const agent = await at("agent");
    const goldIssuer = await chain.connection.viem.getContractAt("AssetToken", d.GoldToken, as(chain.wallets.assetIssuer));
    const riverIssuer = await chain.connection.viem.getContractAt("AssetToken", d.RiverToken, as(chain.wallets.assetIssuer));
    const bank = await chain.connection.viem.getContractAt("CashToken", d.CashToken, as(chain.wallets.paymentBank));
    const registryAsGovernance = await chain.connection.viem.getContractAt("IdentityRegistry", d.IdentityRegistry, as(chain.wallets.governance));
    const registryAsIssuer2 = await chain.connection.viem.getContractAt("IdentityRegistry", d.IdentityRegistry, as(clients[ISSUER2]));
    const vault = await chain.connection.viem.getContractAt("SettlementVault", d.SettlementVault);
    const wallets = WALLETS.map((i) => hardhatAccount(i).address);
    const provider = chain.connection.provider;
    const mined = async (hash: Hex) => {
      await chain.publicClient.waitForTransactionReceipt({ hash });
    };

    // X: A and B; Y: C (both by the e-KYC issuer); Z: D, by a second issuer that may lose trust.
    const ids = ["x", "y", "z"].map((l) => keccak256(toHex(`holder-property:${l}`)));
    const t0 = (await chain.publicClient.getBlock()).timestamp;
    const expiry = async (steps: bigint) => {
      const now = (await chain.publicClient.getBlock()).timestamp;
      return Number(t0 + STEP / 2n + ((now - t0) / STEP + steps) * STEP);
    };
    const far = await expiry(40n);
    await mined(await chain.registry.write.attest([ids[0], 2, 704, 2, far, wallets[0]]));
    await mined(await chain.registry.write.addWallet([ids[0], wallets[1]]));
    await mined(await chain.registry.write.attest([ids[1], 2, 704, 2, far, wallets[2]]));
    await mined(await registryAsGovernance.write.addIssuer([hardhatAccount(ISSUER2).address]));
    await mined(await registryAsIssuer2.write.attest([ids[2], 2, 704, 2, far, wallets[3]]));
    const registryOf = (i: number) => (i === 2 ? registryAsIssuer2 : chain.registry);

    let applied = 0;
    let reverted = 0;
    const send = async (tx: () => Promise<Hex>) => {
      try {
        await mined(await tx());
        applied++;
      } catch (err) {
        // What the contracts refuse (a mint to an ineligible wallet, a revoked issuer attesting) is part of the game.
        if (!(err instanceof BaseError && err.walk((e) => e instanceof ContractFunctionRevertedError))) throw err;
        reverted++;
      }
    };
    const run = async (op: Op) => {
      switch (op.k) {
        case "rules":
          return send(() => admin[op.token].write.setTransferRules([op.minKyc, op.mask, op.countryRule, op.token === 1 ? op.cap : 0n]));
        case "country":
          return send(() => admin[op.token].write.setCountriesListed([[op.country], op.listed]));
        case "pause":
          return send(() => (op.paused ? agent[op.token].write.pause() : agent[op.token].write.unpause()));
        case "freeze":
          return send(() => agent[op.token].write.setAddressFrozen([wallets[op.wallet], op.frozen]));
        case "frozenAmount":
          return send(() => agent[op.token].write.setFrozenTokens([wallets[op.wallet], op.amount]));
        case "attest": {
          const expiresAt = await expiry(op.steps);
          return send(() => registryOf(op.identity).write.attest([ids[op.identity], op.kyc, op.country, op.type, expiresAt, zeroAddress]));
        }
        case "revoke":
          return send(() => registryOf(op.identity).write.revoke([ids[op.identity]]));
        case "issuer":
          return send(() => (op.trusted ? registryAsGovernance.write.addIssuer([hardhatAccount(ISSUER2).address]) : registryAsGovernance.write.removeIssuer([hardhatAccount(ISSUER2).address])));
        case "mint": {
          const to = wallets[op.wallet];
          return send(() => (op.token === 0 ? goldIssuer.write.mint([to, op.amount]) : op.token === 1 ? riverIssuer.write.mint([to, op.amount]) : bank.write.mint([to, op.amount, keccak256(toHex(`p-${applied}-${reverted}`))])));
        }
        case "deposit": {
          const account = clients[WALLETS[op.wallet]].account;
          await send(() => admin[op.token].write.approve([d.SettlementVault, op.amount], { account }));
          return send(() => vault.write.deposit([tokenAddresses[op.token], op.amount], { account }));
        }
        case "time":
          await provider.request({ method: "evm_increaseTime", params: [Number(op.steps * STEP)] });
          await provider.request({ method: "evm_mine", params: [] });
          return;
      }
    };

    const view = gw.ctx.holderView!;
    const seen = new Set<string>();
    const outcomes = { receive: [0, 0], send: [0, 0], transfer: [0, 0] };
    let custodyUnderFreeze = 0;
    /** Country refusals by the rule that made them: a country not on an allow-list, or one on a block-list. */
    const countryRefusals = { allowList: 0, blockList: 0 };
    const note = (kind: keyof typeof outcomes, ok: boolean, r: HolderRefusal | null) => {
      outcomes[kind][ok ? 1 : 0]++;
      if (r) seen.add(r.code);
      if (r?.code === "RISK_HOLDER_COUNTRY") countryRefusals[/may not be received/.test(r.message) ? "blockList" : "allowList"]++;
    };

    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8, size: "max" }), async (ops) => {
        for (const op of ops) await run(op);
        await view.sync();
        const s = view.states()[0];
        const blockNumber = s.block;
        const mismatches: string[] = [];
        for (let t = 0; t < 3; t++) {
          const address = tokenAddresses[t];
          const token = address.toLowerCase();
          const read = (functionName: "canReceive" | "canSend" | "canTransfer", args: readonly unknown[]) =>
            chain.publicClient.readContract({ address, abi: admin[t].abi, functionName, args: args as never, blockNumber }) as Promise<boolean>;
          for (const w of wallets) {
            const key = w.toLowerCase();
            // Custody decides: the wallet alone would not cover the frozen amount.
            const frozen = s.frozenTokens(token, key);
            if (frozen >= s.balanceOf(token, key) && s.balanceOf(token, key) + s.custodyOf(token, key) > frozen) custodyUnderFreeze++;
            const [receive, canSend] = await Promise.all([read("canReceive", [w]), read("canSend", [w])]);
            const r = eligibilityRefusal(s, token, key, true, s.timestamp);
            const snd = sendRefusal(s, token, key, s.timestamp);
            note("receive", receive, r);
            note("send", canSend, snd);
            if (receive !== (r === null)) mismatches.push(`token ${t} canReceive(${w}) = ${receive}, view: ${r?.code ?? "ok"}`);
            if (canSend !== (snd === null)) mismatches.push(`token ${t} canSend(${w}) = ${canSend}, view: ${snd?.code ?? "ok"}`);
          }
          for (const from of wallets) {
            const balance = s.balanceOf(token, from.toLowerCase());
            for (const to of wallets) {
              if (from === to) continue;
              for (const amount of new Set([1n, balance / 2n, balance, balance + 1n])) {
                const ok = await read("canTransfer", [from, to, amount]);
                const r = transferRefusal(s, token, from.toLowerCase(), to.toLowerCase(), amount, s.timestamp);
                note("transfer", ok, r);
                if (ok !== (r === null)) mismatches.push(`token ${t} canTransfer(${from}, ${to}, ${amount}) = ${ok}, view: ${r?.code ?? "ok"} ${r?.message ?? ""}`);
              }
            }
          }
        }
        assert.deepEqual(mismatches, [], `at block ${blockNumber} after ${JSON.stringify(ops, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`);
      }),
      {
        numRuns: 60,
        // Run first, on the fresh chain: rules that a random walk meets rarely once e-IDs lapse.
        examples: [
          [[{ k: "attest", identity: 0, kyc: 1, country: 704, type: 2, steps: 4n }, { k: "rules", token: 0, minKyc: 2, mask: 0, countryRule: 0, cap: 0n }]],
          [
            [
              { k: "rules", token: 1, minKyc: 0, mask: 0, countryRule: 0, cap: 10_000n },
              { k: "mint", token: 1, wallet: 2, amount: 30n },
              { k: "mint", token: 1, wallet: 0, amount: 30n },
              { k: "rules", token: 1, minKyc: 0, mask: 0, countryRule: 0, cap: 40n },
            ],
          ],
          [
            [
              { k: "mint", token: 0, wallet: 2, amount: 40n },
              { k: "deposit", token: 0, wallet: 2, amount: 30n },
              { k: "frozenAmount", token: 0, wallet: 2, amount: 35n },
            ],
          ],
          [[{ k: "pause", token: 1, paused: true }, { k: "freeze", token: 2, wallet: 0, frozen: true }, { k: "mint", token: 2, wallet: 0, amount: 5n }, { k: "rules", token: 2, minKyc: 0, mask: 1 << 1, countryRule: 0, cap: 0n }]],
          // RIVER as deployed (a block-list of 704), then as an allow-list of the same list.
          [[{ k: "rules", token: 1, minKyc: 0, mask: 0, countryRule: 2, cap: 0n }, { k: "attest", identity: 1, kyc: 2, country: 840, type: 2, steps: 4n }]],
          [[{ k: "rules", token: 1, minKyc: 0, mask: 0, countryRule: 1, cap: 0n }, { k: "country", token: 1, country: 704, listed: false }]],
          [[{ k: "revoke", identity: 1 }, { k: "issuer", trusted: false }]],
          [[{ k: "attest", identity: 0, kyc: 2, country: 704, type: 2, steps: 1n }, { k: "time", steps: 2n }]],
        ],
      },
    );

    // It must have met every rule, both verdicts of every view, and the contracts' refusals.
    assert.ok(applied > 0 && reverted > 0, `applied ${applied}, reverted ${reverted}`);
    for (const [kind, [no, yes]] of Object.entries(outcomes)) assert.ok(no > 0 && yes > 0, `${kind}: ${no} refused, ${yes} allowed`);
    const expected = ["RISK_TOKEN_PAUSED", "RISK_HOLDER_FROZEN", "RISK_HOLDER_FROZEN_AMOUNT", "RISK_IDENTITY_NOT_VERIFIED", "RISK_IDENTITY_REVOKED", "RISK_IDENTITY_EXPIRES", "RISK_HOLDER_KYC_LEVEL", "RISK_HOLDER_INVESTOR_TYPE", "RISK_HOLDER_COUNTRY", "RISK_HOLDER_CAP", "RISK_INSUFFICIENT_FUNDS"];
    assert.deepEqual(expected.filter((c) => !seen.has(c)), [], "rules never exercised");
    assert.ok(custodyUnderFreeze > 0, "a frozen amount covered only thanks to custody");
    assert.ok(countryRefusals.allowList > 0 && countryRefusals.blockList > 0, `country refusals: ${JSON.stringify(countryRefusals)}`);
  });
});
