// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";

/// @title IdentityRegistry
/// @notice Trusted e-KYC issuers attest identities (salted e-ID hash + attributes) and bind
/// wallets to them. Every permissioned token and the settlement vault ask this registry.
///
/// Design decisions:
/// - Attributes are packed into one slot and a wallet points at its identity, so a check is
///   two reads plus the issuer's trust (three slots), with no external claim contracts.
/// - An identity is maintained by the issuer that attested it, while that issuer is trusted;
///   governance may revoke any. Removing an issuer voids every identity it attested
///   (isVerified checks its trust) and ends its power to revoke or unbind.
/// - Attestations can be relayed by anyone holding the issuer's EIP-712 signature. Each
///   signature names the identity's version (see {identityVersion}: it changes with every
///   attestation, revocation, lift and wallet change of that identity), so a signature made
///   before a revocation or a downgrade can never be relayed after it to restore the old
///   attributes. Nonces are unordered (a bitmap per issuer, as Permit2's): each is usable
///   once, in any order, so one withheld signature blocks nothing, and an issuer cancels
///   signatures it no longer wants relayed with {invalidateNonces}. A deadline bounds each.
///   Issuers may be contracts (ERC-1271), e.g. a multisig of the e-KYC provider.
/// - A wallet belongs to one identity for good: once unbound (a lost key) it can be bound
///   again only to that identity, and {lastIdentityOf} still names it. Tokens rely on this to
///   attribute holdings (per-identity caps) and to recover a lost wallet's balance, so no
///   rebinding can make either drift.
contract IdentityRegistry is IIdentityRegistry, AccessControl, EIP712 {
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    uint8 public constant INVESTOR_RETAIL = 1;
    uint8 public constant INVESTOR_PROFESSIONAL = 2;
    uint8 public constant INVESTOR_INSTITUTIONAL = 3;

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 identityHash,address wallet,uint8 kycLevel,uint16 country,uint8 investorType,uint40 expiresAt,address issuer,uint256 identityVersion,uint256 nonce,uint256 deadline)"
    );

    mapping(bytes32 identityHash => Identity) private _identities;
    mapping(address wallet => bytes32 identityHash) private _walletIdentity;
    /// @dev Written only when a wallet is unbound (never on the transfer path).
    mapping(address wallet => bytes32 identityHash) private _formerIdentity;
    /// @dev Changes to an identity after its first attestation; its version is this plus one
    /// (zero before it exists), so attesting a new identity writes no extra slot.
    mapping(bytes32 identityHash => uint256) private _changes;
    mapping(address issuer => mapping(uint256 wordPos => uint256 bits)) private _nonceBitmap;
    /// @dev Revocations by governance bind issuers: re-attestation cannot undo them until
    /// governance lifts the block (read only when attesting, never on the transfer path).
    mapping(bytes32 identityHash => bool) private _governanceRevoked;

    constructor(address governance) EIP712("Sen IdentityRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
        _setRoleAdmin(ISSUER_ROLE, GOVERNANCE_ROLE);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Trusts `issuer` to attest identities. Emits {TrustedIssuerAdded}.
    function addIssuer(address issuer) external onlyRole(GOVERNANCE_ROLE) {
        if (_grantRole(ISSUER_ROLE, issuer)) emit TrustedIssuerAdded(issuer);
    }

    /// @notice Stops trusting `issuer`; its attestations stop verifying at once.
    /// Emits {TrustedIssuerRemoved}.
    function removeIssuer(address issuer) external onlyRole(GOVERNANCE_ROLE) {
        if (_revokeRole(ISSUER_ROLE, issuer)) emit TrustedIssuerRemoved(issuer);
    }

    // ---------------------------------------------------------------- attestation

    /// @notice Attests (or re-attests) `identityHash` with the caller as issuer, optionally
    /// binding `wallet`. Requirements: caller is a trusted issuer and, for an existing
    /// identity, its issuer (or the identity's issuer lost trust); `wallet` is unbound and
    /// was never bound to another identity. Emits {IdentityAttested} and, with a wallet,
    /// {WalletAdded}.
    function attest(
        bytes32 identityHash,
        uint8 kycLevel,
        uint16 country,
        uint8 investorType,
        uint40 expiresAt,
        address wallet
    ) external {
        _attest(identityHash, kycLevel, country, investorType, expiresAt, wallet, _msgSender());
    }

    /// @notice Submits an attestation signed off chain by a trusted issuer (EIP-712).
    /// Requirements: not past `deadline`; `nonce` unused by the issuer; `identityVersion` is
    /// the identity's current version (nothing changed it since the issuer signed); the
    /// signature is the issuer's (EOA or ERC-1271). Emits what {attest} emits.
    function attestBySig(Attestation calldata a, bytes calldata signature) external {
        if (block.timestamp > a.deadline) revert IdentityExpiredSignature(a.deadline);
        _useNonce(a.issuer, a.nonce);
        uint256 version = identityVersion(a.identityHash);
        if (a.identityVersion != version) revert IdentityStaleSignature(a.identityHash, a.identityVersion, version);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH,
                    a.identityHash,
                    a.wallet,
                    a.kycLevel,
                    a.country,
                    a.investorType,
                    a.expiresAt,
                    a.issuer,
                    a.identityVersion,
                    a.nonce,
                    a.deadline
                )
            )
        );
        if (!SignatureChecker.isValidSignatureNow(a.issuer, digest, signature)) {
            revert IdentityInvalidSignature(a.issuer);
        }
        _attest(a.identityHash, a.kycLevel, a.country, a.investorType, a.expiresAt, a.wallet, a.issuer);
    }

    /// @notice Marks the caller's nonces `wordPos * 256 + i` used for every bit `i` set in
    /// `mask`, so signatures carrying them can no longer be relayed. Emits {NoncesInvalidated}.
    function invalidateNonces(uint256 wordPos, uint256 mask) external {
        _nonceBitmap[_msgSender()][wordPos] |= mask;
        emit NoncesInvalidated(_msgSender(), wordPos, mask);
    }

    /// @notice Revokes `identityHash`: its wallets stop verifying. Callable by its issuer
    /// while trusted, or by governance (whose revocation the issuer cannot undo).
    /// Emits {IdentityRevoked}.
    function revoke(bytes32 identityHash) external {
        Identity storage id = _identities[identityHash];
        if (id.issuer == address(0)) revert IdentityNotFound(identityHash);
        bool byIssuer = _requireIssuerOrGovernance(identityHash, id.issuer);
        id.revoked = true;
        if (!byIssuer) _governanceRevoked[identityHash] = true;
        _changed(identityHash);
        emit IdentityRevoked(identityHash, _msgSender());
    }

    /// @notice Lets the issuer re-attest an identity governance revoked (after, e.g., a court
    /// order is lifted). The identity stays revoked until the issuer attests it again.
    /// Emits {GovernanceRevocationLifted}.
    function liftGovernanceRevocation(bytes32 identityHash) external onlyRole(GOVERNANCE_ROLE) {
        delete _governanceRevoked[identityHash];
        if (_identities[identityHash].issuer != address(0)) _changed(identityHash);
        emit GovernanceRevocationLifted(identityHash);
    }

    /// @notice Binds another wallet to an existing identity. Callable by its (trusted)
    /// issuer. Emits {WalletAdded}.
    function addWallet(bytes32 identityHash, address wallet) external {
        _requireIssuerOf(identityHash);
        _bindWallet(identityHash, wallet);
        _changed(identityHash);
    }

    /// @notice Unbinds `wallet` from its identity (e.g. a lost key); the registry keeps
    /// whose it was ({lastIdentityOf}). Callable by the identity's issuer while trusted, or
    /// by governance. Emits {WalletRemoved}.
    function removeWallet(address wallet) external {
        bytes32 identityHash = _walletIdentity[wallet];
        if (identityHash == bytes32(0)) revert IdentityWalletNotBound(wallet);
        _requireIssuerOrGovernance(identityHash, _identities[identityHash].issuer);
        delete _walletIdentity[wallet];
        if (_formerIdentity[wallet] != identityHash) _formerIdentity[wallet] = identityHash;
        _changed(identityHash);
        emit WalletRemoved(identityHash, wallet);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IIdentityRegistry
    function isVerified(address wallet) external view returns (bool) {
        bytes32 identityHash = _walletIdentity[wallet];
        return identityHash != bytes32(0) && _isValid(_identities[identityHash]);
    }

    /// @inheritdoc IIdentityRegistry
    function identityOf(address wallet) external view returns (bytes32 identityHash, Identity memory id) {
        identityHash = _walletIdentity[wallet];
        id = _identities[identityHash];
    }

    /// @inheritdoc IIdentityRegistry
    function verifiedIdentityOf(address wallet)
        external
        view
        returns (bytes32 identityHash, uint8 kycLevel, uint16 country, uint8 investorType)
    {
        identityHash = _walletIdentity[wallet];
        if (identityHash == bytes32(0)) return (bytes32(0), 0, 0, 0);
        Identity memory id = _identities[identityHash];
        if (!_isValid(id)) return (bytes32(0), 0, 0, 0);
        return (identityHash, id.kycLevel, id.country, id.investorType);
    }

    /// @inheritdoc IIdentityRegistry
    function identity(bytes32 identityHash) external view returns (Identity memory) {
        return _identities[identityHash];
    }

    /// @inheritdoc IIdentityRegistry
    function lastIdentityOf(address wallet) external view returns (bytes32 identityHash) {
        identityHash = _walletIdentity[wallet];
        if (identityHash == bytes32(0)) identityHash = _formerIdentity[wallet];
    }

    /// @notice The version an attestation of `identityHash` must name to be relayed: 0 before
    /// the identity exists, then one more with every change to it (attestation, revocation,
    /// lift of a governance revocation, wallet bound or unbound).
    function identityVersion(bytes32 identityHash) public view returns (uint256) {
        if (_identities[identityHash].issuer == address(0)) return 0;
        return _changes[identityHash] + 1;
    }

    /// @notice Whether `issuer`'s nonce `nonce` was used or cancelled.
    function isNonceUsed(address issuer, uint256 nonce) external view returns (bool) {
        return _nonceBitmap[issuer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The used/cancelled bits of `issuer`'s nonces `wordPos * 256 .. wordPos * 256 + 255`.
    function nonceBitmap(address issuer, uint256 wordPos) external view returns (uint256) {
        return _nonceBitmap[issuer][wordPos];
    }

    /// @notice The EIP-712 domain separator attestations are signed under.
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _attest(
        bytes32 identityHash,
        uint8 kycLevel,
        uint16 country,
        uint8 investorType,
        uint40 expiresAt,
        address wallet,
        address issuer
    ) private {
        if (!hasRole(ISSUER_ROLE, issuer)) revert IdentityUntrustedIssuer(issuer);
        if (identityHash == bytes32(0)) revert IdentityInvalidHash();
        if (
            kycLevel < 1 || kycLevel > 2 || country == 0 || country > 999 || investorType < INVESTOR_RETAIL
                || investorType > INVESTOR_INSTITUTIONAL || expiresAt <= block.timestamp
        ) revert IdentityInvalidAttributes(kycLevel, country, investorType, expiresAt);
        if (_governanceRevoked[identityHash]) revert IdentityRevokedByGovernance(identityHash);
        address current = _identities[identityHash].issuer;
        if (current != address(0) && current != issuer && hasRole(ISSUER_ROLE, current)) {
            // Another trusted issuer owns this identity; an issuer that lost trust can be
            // replaced by re-attestation from a trusted one.
            revert IdentityNotIssuer(identityHash, issuer);
        }
        if (current != address(0)) _changed(identityHash);
        _identities[identityHash] = Identity({
            kycLevel: kycLevel,
            country: country,
            investorType: investorType,
            expiresAt: expiresAt,
            revoked: false,
            issuer: issuer
        });
        emit IdentityAttested(identityHash, issuer, kycLevel, country, investorType, expiresAt);
        if (wallet != address(0) && _walletIdentity[wallet] != identityHash) _bindWallet(identityHash, wallet);
    }

    function _bindWallet(bytes32 identityHash, address wallet) private {
        if (wallet == address(0)) revert IdentityInvalidWallet(wallet);
        bytes32 bound = _walletIdentity[wallet];
        if (bound != bytes32(0)) revert IdentityWalletAlreadyBound(wallet, bound);
        bytes32 former = _formerIdentity[wallet];
        if (former != bytes32(0) && former != identityHash) revert IdentityWalletFormerlyBound(wallet, former);
        _walletIdentity[wallet] = identityHash;
        emit WalletAdded(identityHash, wallet);
    }

    /// @dev Moves the identity to its next version, voiding signatures made before.
    function _changed(bytes32 identityHash) private {
        ++_changes[identityHash];
    }

    function _useNonce(address issuer, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _nonceBitmap[issuer][nonce >> 8];
        if (bits & bit != 0) revert IdentityNonceUsed(issuer, nonce);
        _nonceBitmap[issuer][nonce >> 8] = bits | bit;
    }

    /// @dev Callers that may revoke or unbind: the identity's issuer while it is trusted (true),
    /// or governance (false).
    function _requireIssuerOrGovernance(bytes32 identityHash, address issuer) private view returns (bool byIssuer) {
        address caller = _msgSender();
        if (caller == issuer) {
            if (hasRole(ISSUER_ROLE, caller)) return true;
            if (!hasRole(GOVERNANCE_ROLE, caller)) revert IdentityUntrustedIssuer(caller);
            return false;
        }
        if (!hasRole(GOVERNANCE_ROLE, caller)) revert IdentityNotIssuer(identityHash, caller);
        return false;
    }

    function _requireIssuerOf(bytes32 identityHash) private view {
        address issuer = _identities[identityHash].issuer;
        if (issuer == address(0)) revert IdentityNotFound(identityHash);
        if (_msgSender() != issuer) revert IdentityNotIssuer(identityHash, _msgSender());
        if (!hasRole(ISSUER_ROLE, issuer)) revert IdentityUntrustedIssuer(issuer);
    }

    function _isValid(Identity memory id) private view returns (bool) {
        return !id.revoked && id.expiresAt > block.timestamp && hasRole(ISSUER_ROLE, id.issuer);
    }
}
