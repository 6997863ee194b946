/**
 * The rules of the issuer's flow (issue #15): applications in, officer decisions out, the chain
 * reached only through the IssuancePort and only after every check passed. State changes are
 * compare-and-set on the application's status, so two officers (or a retried request) cannot
 * issue twice, and nothing is marked issued unless the chain call succeeded.
 *
 * Personal data lives only in the vault's ciphertext; errors, audit events and the clear
 * columns carry attributes (status, provider, investor type, nationality) and hashes, never
 * the ID number, name or date of birth.
 *
 * Renewal is not an operation of its own: the applicant submits a fresh application (a new
 * provider verification) and its approval re-attests with the new expiry.
 */
import { randomUUID } from "node:crypto";
import { getAddress, isAddress, isHex, verifyMessage, type Address, type Hex } from "viem";
import { checkApplication } from "./application.ts";
import { IssuerError, ISSUER_ERROR, type IssuerErrorCode } from "./errors.ts";
import { identityHash } from "./identityHash.ts";
import type { PiiVault } from "./piiVault.ts";
import type { IssuerStore, IssuerStoreOps, StoredApplication } from "./store.ts";
import { INVESTOR_TYPE_CODE, type Application, type ApplicationInput, type InvestorType, type IssuancePort, type VerificationProvider } from "./types.ts";

/** The provider's evidence must reach these to be accepted. */
export const MIN_FACE_MATCH_BPS = 9_000;
/** IdentityRegistry accepts KYC levels 1 and 2. */
export const KYC_LEVELS = [1, 2] as const;
const MAX_UINT40 = 2 ** 40 - 1;
const DAY_MS = 86_400_000;

/**
 * How long personal data is kept once it is no longer needed for a live attestation (Decree
 * 13/2023 art. 2 and 44: no longer than the purpose needs). The clock starts when the
 * application is rejected, when the identity is revoked, or when an issued attestation lapses
 * without renewal by that application. Five years because the Law on Anti-Money Laundering
 * (14/2022/QH15, art. 12) has customer identification records kept five years after the
 * relationship ends, and the exchange relies on this issuer's records for that; an issuer
 * under a shorter duty sets SEN_ISSUER_RETENTION_DAYS lower. Erasure on request does not wait.
 */
export const DEFAULT_RETENTION_DAYS = 1825;

export type IssuerAuditEvent = {
  type: "application.submitted" | "application.approved" | "application.issued" | "application.rejected" | "identity.revoked" | "pii.read" | "pii.erased" | "pii.purged" | "review.refused";
  at: number;
  /** The wallet that acted, or "retention" for the purge of data past its retention period. */
  actor: Address | "retention";
  applicationId?: string;
  identityHash?: Hex;
  wallet?: Address;
  provider?: string;
  providerProduction?: boolean;
  why?: string;
  txHash?: Hex;
  /** Why a decision was refused (review.refused). */
  code?: IssuerErrorCode;
};

export type IssuerServiceDeps = {
  store: IssuerStore;
  vault: PiiVault;
  /** The issuer's secret identity salt (identityHash.ts), 32+ bytes. */
  salt: Uint8Array;
  provider: VerificationProvider;
  port: IssuancePort;
  /** Wallets holding the issuer officer role. */
  officers: readonly Address[];
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** Every submission, decision and personal-data read; never given personal data. */
  audit: (event: IssuerAuditEvent) => void;
  /** Days personal data is kept once no longer needed (purgeExpired); DEFAULT_RETENTION_DAYS when absent. */
  retentionDays?: number;
};

/** A signature by a wallet already bound to the identity, over addWalletMessage(newWallet). */
export type AddWalletProof = { signer: Address; signature: Hex };
export type Decision = { kycLevel: number; investorType: InvestorType; expiresAt: number };
export type PersonalRecord = { application: Application; data: ApplicationInput };

/** The fixed message a bound wallet signs to bind `newWallet` to the same identity. */
export function addWalletMessage(newWallet: Address): string {
  return `Sen e-KYC: I bind wallet ${getAddress(newWallet)} to my verified identity.`;
}

const OPEN = ["submitted", "approved"] as const;
const bad = (field: string, message: string) => new IssuerError(ISSUER_ERROR.BAD_INPUT, field, `${field}: ${message}`);

function walletOf(value: unknown, field = "wallet"): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) throw bad(field, "must be an Ethereum address");
  return getAddress(value);
}

function text(value: unknown, field: string, min: number, max: number): string {
  if (typeof value !== "string" || value.trim().length < min || value.length > max) throw bad(field, `must be ${min} to ${max} characters`);
  return value.trim();
}

/** What an applicant or officer may see of an application: everything but the ciphertext and the idempotency key. */
export function publicView(a: StoredApplication): Application {
  const { requestKey: _k, piiKid: _i, piiBlob: _b, ...rest } = a;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Application;
}

export class IssuerService {
  readonly #d: IssuerServiceDeps;
  readonly #officers: Set<Address>;

  constructor(deps: IssuerServiceDeps) {
    this.#d = deps;
    this.#officers = new Set(deps.officers.map((o) => getAddress(o)));
  }

  #officer(officer: unknown): Address {
    const o = walletOf(officer, "officer");
    if (!this.#officers.has(o)) throw new IssuerError(ISSUER_ERROR.NOT_OFFICER, "officer", "officer: this wallet does not hold the issuer officer role");
    return o;
  }

  async #get(id: unknown): Promise<StoredApplication> {
    const a = typeof id === "string" ? await this.#d.store.get(id) : undefined;
    if (!a) throw new IssuerError(ISSUER_ERROR.NOT_FOUND, "id", "id: no such application");
    return a;
  }

  /**
   * Refusals about the signed-in wallet's own applications: they tell the caller only what its
   * own wallet holds, so they may be said before the provider has proven who the caller is.
   */
  async #walletRefusals(wallet: Address, idHash: Hex, store: IssuerStoreOps = this.#d.store): Promise<void> {
    const mine = await store.byWallet(wallet);
    if (mine.some((a) => (OPEN as readonly string[]).includes(a.status)))
      throw new IssuerError(ISSUER_ERROR.DUPLICATE, "wallet", "wallet: an application of this wallet is already under review");
    if (mine.some((a) => a.status === "issued" && a.identityHash !== idHash))
      throw new IssuerError(ISSUER_ERROR.WALLET_BOUND, "wallet", "wallet: already bound to another identity");
  }

  /**
   * Every refusal that depends only on what is stored, the identity's too; run after the
   * provider and again inside the insert transaction. The identity's refusals say that someone
   * else applied with this ID number: said to anyone who typed it, they would tell a stranger
   * whether a person is applying (Decree 13/2023), so only the verified person hears them.
   */
  async #storedRefusals(wallet: Address, idHash: Hex, store: IssuerStoreOps = this.#d.store): Promise<{ kind: Application["kind"]; boundWallets: Address[] }> {
    await this.#walletRefusals(wallet, idHash, store);
    const same = await store.byIdentity(idHash);
    if (same.some((a) => a.wallet !== wallet && (OPEN as readonly string[]).includes(a.status)))
      throw new IssuerError(ISSUER_ERROR.IDENTITY_PENDING, "idNumber", "idNumber: an application for this identity from another wallet is under review; wait for its decision");
    const boundWallets = [...new Set(same.filter((a) => a.status === "issued" && a.wallet !== wallet).map((a) => a.wallet))];
    const selfIssued = same.some((a) => a.status === "issued" && a.wallet === wallet);
    return { kind: boundWallets.length > 0 && !selfIssued ? "add-wallet" : "new-identity", boundWallets };
  }

  /**
   * An applicant's submission. Idempotent by requestKey: the same submission again returns the
   * same application; the key reused for anything else is refused.
   */
  async submit(wallet: unknown, input: unknown, requestKey: unknown, proof?: unknown): Promise<Application> {
    const { store, vault, provider, port, clock } = this.#d;
    const w = walletOf(wallet);
    if (typeof requestKey !== "string" || !/^[A-Za-z0-9_.:-]{8,128}$/.test(requestKey))
      throw bad("requestKey", "must be 8 to 128 letters, digits or _ . : -");
    const now = clock();
    const checked = checkApplication(input, now);
    if (!checked.ok) throw new IssuerError(ISSUER_ERROR.BAD_INPUT, checked.field, checked.message);
    const value = checked.value;
    if (value.verification.provider !== provider.name)
      throw bad("verification.provider", "this issuer verifies through another provider");
    const idHash = identityHash(value.idNumber, this.#d.salt);

    const replay = await this.#replay(w, idHash, value, requestKey);
    if (replay) return replay;
    await this.#walletRefusals(w, idHash);

    const onChain = await port.identityOf(w);
    if (onChain && onChain.identityHash.toLowerCase() !== idHash.toLowerCase())
      throw new IssuerError(ISSUER_ERROR.WALLET_BOUND, "wallet", "wallet: already bound to another identity on chain");

    // The person is proven (chip, face, liveness) before anything about their identity's other wallets is said.
    let result;
    try {
      result = await provider.verify({ sessionId: value.verification.sessionId, chipDataHash: value.chipDataHash, idNumber: value.idNumber, wallet: w });
    } catch (cause) {
      throw new IssuerError(ISSUER_ERROR.PROVIDER_UNAVAILABLE, "verification", `verification: the provider ${provider.name} did not answer; try again`, { cause });
    }
    if (!result.chipVerified) throw new IssuerError(ISSUER_ERROR.VERIFICATION_FAILED, "chipDataHash", "chipDataHash: the provider could not verify the identity card's chip");
    if (!(result.faceMatchBps >= MIN_FACE_MATCH_BPS))
      throw new IssuerError(ISSUER_ERROR.VERIFICATION_FAILED, "verification", `verification: the face match (${result.faceMatchBps} bps) is below the required ${MIN_FACE_MATCH_BPS} bps`);
    if (!result.liveness) throw new IssuerError(ISSUER_ERROR.VERIFICATION_FAILED, "verification", "verification: the liveness check failed");

    const { kind, boundWallets } = await this.#storedRefusals(w, idHash);
    if (kind === "add-wallet") await this.#checkProof(w, boundWallets, proof);

    const id = randomUUID();
    const sealed = vault.encrypt(id, value);
    const app: StoredApplication = {
      id, wallet: w, identityHash: idHash, status: "submitted", kind, submittedAt: now,
      provider: result.provider, providerProduction: result.production, verification: result,
      investorType: value.investorType, nationality: value.nationality,
      requestKey, piiKid: sealed.kid, piiBlob: sealed.blob,
    };
    // Between the awaits above another request may have landed: decide again, atomically with the insert.
    const stored = await store.transaction(async (tx) => {
      const again = await this.#replay(w, idHash, value, requestKey, tx);
      if (again) return again;
      const now2 = await this.#storedRefusals(w, idHash, tx);
      if (now2.kind !== kind) throw new IssuerError(ISSUER_ERROR.IDENTITY_PENDING, "idNumber", "idNumber: this identity changed while the application was checked; submit again");
      await tx.insert(app);
      return publicView(app);
    });
    if (stored.id === id)
      this.#d.audit({ type: "application.submitted", at: now, actor: w, applicationId: id, identityHash: idHash, wallet: w, provider: app.provider, providerProduction: app.providerProduction });
    return stored;
  }

  async #replay(w: Address, idHash: Hex, value: ApplicationInput, requestKey: string, store: IssuerStoreOps = this.#d.store): Promise<Application | undefined> {
    const prior = await store.byRequestKey(requestKey);
    if (!prior) return undefined;
    const same = prior.wallet === w && prior.identityHash === idHash && prior.piiBlob !== null &&
      JSON.stringify(this.#d.vault.decrypt(prior.id, prior.piiKid!, prior.piiBlob)) === JSON.stringify(value);
    if (!same) throw new IssuerError(ISSUER_ERROR.REQUEST_KEY_REUSED, "requestKey", "requestKey: already used for a different submission");
    return publicView(prior);
  }

  async #checkProof(w: Address, boundWallets: Address[], proof: unknown): Promise<void> {
    if (proof === undefined || proof === null)
      throw new IssuerError(ISSUER_ERROR.PROOF_REQUIRED, "proof", "proof: this identity is already verified with another wallet; sign the binding message with that wallet");
    const p = proof as Partial<AddWalletProof>;
    const signer = walletOf(p.signer, "proof.signer");
    if (typeof p.signature !== "string" || !isHex(p.signature) || p.signature.length > 2 + 2 * 1024) throw bad("proof.signature", "must be a 0x hex signature");
    if (!boundWallets.includes(signer)) throw new IssuerError(ISSUER_ERROR.BAD_PROOF, "proof.signer", "proof.signer: not a wallet bound to this identity");
    let valid = false;
    try {
      valid = await verifyMessage({ address: signer, message: addWalletMessage(w), signature: p.signature });
    } catch {
      valid = false; // a malformed signature is just not a valid one
    }
    if (!valid) throw new IssuerError(ISSUER_ERROR.BAD_PROOF, "proof.signature", "proof.signature: not proof.signer's signature of the binding message for this wallet");
  }

  /** The applicant's applications, newest last; no personal data. */
  async status(wallet: unknown): Promise<Application[]> {
    return (await this.#d.store.byWallet(walletOf(wallet))).map(publicView);
  }

  /** The applicant's own personal data (Decree 13/2023 right of access); the read is recorded like an officer's. */
  async myData(wallet: unknown): Promise<PersonalRecord[]> {
    const w = walletOf(wallet);
    const records: PersonalRecord[] = [];
    for (const a of await this.#d.store.byWallet(w)) if (a.piiBlob !== null) records.push(await this.#open(a, w, "applicant", "the applicant's own request"));
    return records;
  }

  async #open(a: StoredApplication, reader: Address, role: "officer" | "applicant", why: string): Promise<PersonalRecord> {
    const data = this.#d.vault.decrypt(a.id, a.piiKid!, a.piiBlob!) as ApplicationInput;
    const at = this.#d.clock();
    await this.#d.store.recordRead({ applicationId: a.id, reader, role, why, readAt: at });
    this.#d.audit({ type: "pii.read", at, actor: reader, applicationId: a.id, why });
    return { application: publicView(a), data };
  }

  /** The officers' review queue: submitted applications with the provider that verified each; no personal data. */
  async queue(): Promise<Application[]> {
    return (await this.#d.store.byStatus("submitted")).map(publicView);
  }

  /** An officer reads an application's personal data, saying why; recorded in pii_reads and the audit. */
  async read(officer: unknown, id: unknown, why: unknown): Promise<PersonalRecord> {
    const o = this.#officer(officer);
    const reason = text(why, "why", 3, 500);
    const a = await this.#get(id);
    if (a.piiBlob === null) throw new IssuerError(ISSUER_ERROR.WRONG_STATUS, "id", "id: this application's personal data was erased");
    return this.#open(a, o, "officer", reason);
  }

  /**
   * Four eyes: an officer never decides their own case, whether it comes from their own wallet
   * or from another wallet of their identity (an add-wallet or a renewal after a revocation).
   * Their identity is any that a wallet of theirs was bound to: issued, or issued before a
   * revocation or an erasure (txHash says it was issued). The attempt is audited, as decisions are.
   */
  async #refuseOwnCase(officer: Address, a: StoredApplication, action: "approve" | "reject"): Promise<void> {
    const own = a.wallet === officer || (await this.#d.store.byWallet(officer)).some((b) => b.identityHash === a.identityHash && b.txHash !== undefined);
    if (!own) return;
    this.#d.audit({ type: "review.refused", at: this.#d.clock(), actor: officer, applicationId: a.id, identityHash: a.identityHash, wallet: a.wallet, code: ISSUER_ERROR.SELF_REVIEW });
    throw new IssuerError(ISSUER_ERROR.SELF_REVIEW, "id", `id: this application is of your own wallet or identity; another officer must ${action} it`);
  }

  /** Approval: signs and relays the attestation (or binds the added wallet); issued only once the chain call succeeded. */
  async approve(officer: unknown, id: unknown, decision: unknown): Promise<Application> {
    const o = this.#officer(officer);
    const { store, port, clock } = this.#d;
    const a = await this.#get(id);
    await this.#refuseOwnCase(o, a, "approve");
    if (a.status !== "submitted") throw new IssuerError(ISSUER_ERROR.WRONG_STATUS, "id", `id: the application is ${a.status}, not submitted`);
    const d = (decision ?? {}) as Partial<Decision>;
    const now = clock();
    let patch: { kycLevel: number; investorType: InvestorType; expiresAt: number };
    let sibling: StoredApplication | undefined;
    if (a.kind === "add-wallet") {
      // The identity's attributes are already on chain; the added wallet shares them.
      sibling = (await store.byIdentity(a.identityHash)).find((s) => s.status === "issued" && s.wallet !== a.wallet);
      if (!sibling) throw new IssuerError(ISSUER_ERROR.WRONG_STATUS, "id", "id: the identity this wallet would join is no longer issued");
      patch = { kycLevel: sibling.kycLevel!, investorType: sibling.investorType, expiresAt: sibling.expiresAt! };
    } else {
      if (!(KYC_LEVELS as readonly unknown[]).includes(d.kycLevel)) throw bad("kycLevel", `must be one of ${KYC_LEVELS.join(", ")}`);
      if (d.investorType === undefined || !(d.investorType in INVESTOR_TYPE_CODE)) throw bad("investorType", "must be retail, professional or institutional");
      if (d.investorType !== "retail" && d.investorType !== a.investorType)
        throw bad("investorType", `the applicant gave evidence for ${a.investorType}, not ${d.investorType}`);
      if (!Number.isSafeInteger(d.expiresAt) || d.expiresAt! <= Math.floor(now / 1000) || d.expiresAt! > MAX_UINT40)
        throw bad("expiresAt", "must be a future time in unix seconds");
      patch = { kycLevel: d.kycLevel as number, investorType: d.investorType, expiresAt: d.expiresAt! };
    }
    // Claim the application first: a second approval (another officer, a retry) finds it no longer submitted.
    if (!(await store.update(a.id, ["submitted"], { status: "approved", decidedAt: now, decidedBy: o, ...patch })))
      throw new IssuerError(ISSUER_ERROR.WRONG_STATUS, "id", "id: the application was decided meanwhile");
    this.#d.audit({ type: "application.approved", at: now, actor: o, applicationId: a.id, identityHash: a.identityHash, wallet: a.wallet });
    let txHash: Hex;
    try {
      ({ txHash } = a.kind === "add-wallet"
        ? await port.addWallet(a.identityHash, a.wallet)
        : await port.attest({ identityHash: a.identityHash, wallet: a.wallet, kycLevel: patch.kycLevel, country: a.nationality, investorType: INVESTOR_TYPE_CODE[patch.investorType], expiresAt: patch.expiresAt }));
    } catch (cause) {
      await store.update(a.id, ["approved"], { status: "submitted", decidedAt: undefined, decidedBy: undefined, kycLevel: undefined, expiresAt: undefined, investorType: a.investorType });
      throw new IssuerError(ISSUER_ERROR.CHAIN_FAILED, undefined, "chain: the attestation was not recorded on chain; the application stays in the queue", { cause });
    }
    await store.update(a.id, ["approved"], { status: "issued", txHash });
    this.#d.audit({ type: "application.issued", at: clock(), actor: o, applicationId: a.id, identityHash: a.identityHash, wallet: a.wallet, txHash });
    return publicView((await store.get(a.id))!);
  }

  /** Rejection with a reason the applicant sees; nothing reaches the chain. */
  async reject(officer: unknown, id: unknown, reason: unknown): Promise<Application> {
    const o = this.#officer(officer);
    const why = text(reason, "reason", 3, 500);
    const a = await this.#get(id);
    await this.#refuseOwnCase(o, a, "reject");
    const now = this.#d.clock();
    if (!(await this.#d.store.update(a.id, ["submitted"], { status: "rejected", decidedAt: now, decidedBy: o, reason: why })))
      throw new IssuerError(ISSUER_ERROR.WRONG_STATUS, "id", `id: the application is ${a.status}, not submitted`);
    this.#d.audit({ type: "application.rejected", at: now, actor: o, applicationId: a.id, wallet: a.wallet });
    return publicView((await this.#d.store.get(a.id))!);
  }

  /** Revokes an identity on chain (the exchange's kill switch follows); every issued application of it becomes revoked with the reason. */
  async revoke(officer: unknown, identity: unknown, reason: unknown): Promise<{ txHash: Hex; applications: Application[] }> {
    const o = this.#officer(officer);
    if (typeof identity !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(identity)) throw bad("identityHash", "must be 0x followed by 64 hex digits");
    const why = text(reason, "reason", 3, 500);
    const idHash = identity.toLowerCase() as Hex;
    const { store, port, clock } = this.#d;
    const issued = (await store.byIdentity(idHash)).filter((a) => a.status === "issued");
    if (issued.length === 0) throw new IssuerError(ISSUER_ERROR.NOT_FOUND, "identityHash", "identityHash: no issued identity with this hash");
    let txHash: Hex;
    try {
      ({ txHash } = await port.revoke(idHash));
    } catch (cause) {
      throw new IssuerError(ISSUER_ERROR.CHAIN_FAILED, undefined, "chain: the revocation was not recorded on chain; nothing changed", { cause });
    }
    const now = clock();
    const applications = await store.transaction(async (tx) => {
      for (const a of issued) await tx.update(a.id, ["issued"], { status: "revoked", decidedAt: now, decidedBy: o, reason: why });
      return Promise.all(issued.map(async (a) => publicView((await tx.get(a.id))!)));
    });
    this.#d.audit({ type: "identity.revoked", at: now, actor: o, identityHash: idHash, txHash });
    return { txHash, applications };
  }

  /**
   * Erasure at the applicant's request: personal data deleted, status erased, the attestation
   * revoked on chain (the on-chain hash stays; without the salt it names no one).
   *
   * A wallet that was bound to an identity (an application of it issued, or issued and later
   * revoked by an officer) erases the whole identity: every wallet's applications of it are the
   * same person's data, and an officer's revocation does not make them someone else's. A wallet
   * never bound (its applications only submitted or rejected) erases only its own: it has not
   * proven it is the person, and someone who typed another's ID number must not be able to
   * erase that person's data.
   */
  async erase(wallet: unknown): Promise<{ erased: number; txHash?: Hex }> {
    const w = walletOf(wallet);
    const { store, port, clock } = this.#d;
    const mine = await store.byWallet(w);
    if (mine.length === 0) throw new IssuerError(ISSUER_ERROR.NOT_FOUND, "wallet", "wallet: no applications for this wallet");
    const identities = [...new Set(mine.filter((a) => a.status === "issued" || a.status === "revoked").map((a) => a.identityHash))];
    const targets = new Map(mine.map((a) => [a.id, a]));
    for (const h of identities) for (const a of await store.byIdentity(h)) targets.set(a.id, a);
    if ([...targets.values()].some((a) => a.status === "approved"))
      throw new IssuerError(ISSUER_ERROR.WRONG_STATUS, "wallet", "wallet: an approval is being recorded on chain; ask again in a minute");
    // Any identity still live on chain (through this wallet or another of the person's) is revoked first.
    const live = [...new Set([...targets.values()].filter((a) => a.status === "issued").map((a) => a.identityHash))];
    let txHash: Hex | undefined;
    for (const h of live) {
      try {
        ({ txHash } = await port.revoke(h));
      } catch (cause) {
        throw new IssuerError(ISSUER_ERROR.CHAIN_FAILED, undefined, "chain: the revocation was not recorded on chain; nothing was erased", { cause });
      }
    }
    const now = clock();
    const erased = await store.transaction(async (tx) => {
      let n = 0;
      for (const a of targets.values()) {
        if (a.status === "erased") continue;
        if (await tx.update(a.id, ["submitted", "rejected", "issued", "revoked"], { status: "erased", piiKid: null, piiBlob: null, decidedAt: now, reason: "erased at the applicant's request" })) n++;
      }
      return n;
    });
    this.#d.audit({ type: "pii.erased", at: now, actor: w, wallet: w, identityHash: identities[0], txHash });
    return { erased, txHash };
  }

  /**
   * Retention (Decree 13/2023): erases the personal data of applications kept longer than
   * `retentionDays` after it stopped being needed — rejected or revoked that long ago, or an
   * issued attestation lapsed that long ago. The status, attributes and hash stay (the record
   * of what was decided); only the ciphertext goes. Data still within the period, and every
   * submitted or approved application, is untouched, so running it at any time (at start, daily,
   * twice) erases exactly what the rule says. `now` is milliseconds since the epoch.
   */
  async purgeExpired(now: number): Promise<{ purged: number }> {
    if (!Number.isSafeInteger(now) || now < 0) throw bad("now", "must be milliseconds since the epoch");
    const { store } = this.#d;
    const cutoff = now - (this.#d.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
    const due = await store.pastRetention(cutoff, Math.floor(cutoff / 1000));
    const purged = await store.transaction(async (tx) => {
      const done: StoredApplication[] = [];
      // Compare-and-set on the status seen: one decided differently meanwhile (a renewal revoked, an erasure) is left to its new rule.
      for (const a of due) if (await tx.update(a.id, [a.status], { piiKid: null, piiBlob: null })) done.push(a);
      return done;
    });
    for (const a of purged) this.#d.audit({ type: "pii.purged", at: now, actor: "retention", applicationId: a.id, identityHash: a.identityHash, wallet: a.wallet });
    return { purged: purged.length };
  }

  /**
   * Issued attestations lapsing within `withinSeconds` (for reminders): one per wallet, the
   * latest, so an attestation renewed by a newer application is not reminded of.
   */
  async expiring(withinSeconds: unknown): Promise<Application[]> {
    if (!Number.isSafeInteger(withinSeconds) || (withinSeconds as number) < 0) throw bad("withinSeconds", "must be a whole number of seconds, 0 or more");
    const now = Math.floor(this.#d.clock() / 1000);
    const { store } = this.#d;
    const out: Application[] = [];
    for (const a of await store.expiring(now, now + (withinSeconds as number))) {
      const renewed = (await store.byWallet(a.wallet)).some((b) => b.status === "issued" && b.identityHash === a.identityHash && (b.expiresAt ?? 0) > (a.expiresAt ?? 0));
      if (!renewed) out.push(publicView(a));
    }
    return out;
  }

  /** Re-encrypts every stored personal-data record under the vault's current key; returns how many changed. */
  async rotatePii(): Promise<number> {
    const { store, vault } = this.#d;
    return store.transaction(async (tx) => {
      let n = 0;
      for (const status of ["submitted", "approved", "rejected", "issued", "revoked"] as const) {
        for (const a of await tx.byStatus(status)) {
          if (a.piiBlob === null || a.piiKid === vault.currentKid) continue;
          const sealed = vault.reencrypt(a.id, a.piiKid!, a.piiBlob);
          if (await tx.update(a.id, [a.status], { piiKid: sealed.kid, piiBlob: sealed.blob })) n++;
        }
      }
      return n;
    });
  }
}
