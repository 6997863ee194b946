// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";

/// @title IdentityRegistry
/// @notice Trusted e-KYC issuers attest identities (salted e-ID hash + attributes) and bind
/// wallets to them. Every permissioned token and the settlement vault ask this registry.
///
/// Design decisions:
/// - Attributes are packed into one slot and a wallet points at its identity, so a check is
///   two reads plus the issuer's trust (three slots), with no external claim contracts.
/// - An identity is maintained by the issuer that attested it; governance may revoke any.
///   Removing an issuer voids every identity it attested (isVerified checks its trust).
/// - Attestations can be relayed by anyone holding the issuer's EIP-712 signature; a
///   per-issuer sequential nonce and a deadline make each signature usable once, in time.
///   Issuers may be contracts (ERC-1271), e.g. a multisig of the e-KYC provider.
contract IdentityRegistry is IIdentityRegistry, AccessControl, EIP712, Nonces {
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    uint8 public constant INVESTOR_RETAIL = 1;
    uint8 public constant INVESTOR_PROFESSIONAL = 2;
    uint8 public constant INVESTOR_INSTITUTIONAL = 3;

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 identityHash,address wallet,uint8 kycLevel,uint16 country,uint8 investorType,uint40 expiresAt,address issuer,uint256 nonce,uint256 deadline)"
    );

    mapping(bytes32 identityHash => Identity) private _identities;
    mapping(address wallet => bytes32 identityHash) private _walletIdentity;
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
    /// identity, its issuer. Emits {IdentityAttested} and, with a wallet, {WalletAdded}.
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
    /// Requirements: not past `deadline`; `nonce` is the issuer's next nonce; the signature
    /// is the issuer's (EOA or ERC-1271). Emits what {attest} emits.
    function attestBySig(Attestation calldata a, bytes calldata signature) external {
        if (block.timestamp > a.deadline) revert IdentityExpiredSignature(a.deadline);
        _useCheckedNonce(a.issuer, a.nonce);
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

    /// @notice Revokes `identityHash`: its wallets stop verifying. Callable by its issuer or
    /// governance. Emits {IdentityRevoked}.
    function revoke(bytes32 identityHash) external {
        Identity storage id = _identities[identityHash];
        if (id.issuer == address(0)) revert IdentityNotFound(identityHash);
        address caller = _msgSender();
        if (caller != id.issuer && !hasRole(GOVERNANCE_ROLE, caller)) revert IdentityNotIssuer(identityHash, caller);
        id.revoked = true;
        if (caller != id.issuer) _governanceRevoked[identityHash] = true;
        emit IdentityRevoked(identityHash, caller);
    }

    /// @notice Lets the issuer re-attest an identity governance revoked (after, e.g., a court
    /// order is lifted). The identity stays revoked until the issuer attests it again.
    function liftGovernanceRevocation(bytes32 identityHash) external onlyRole(GOVERNANCE_ROLE) {
        delete _governanceRevoked[identityHash];
        emit GovernanceRevocationLifted(identityHash);
    }

    /// @notice Binds another wallet to an existing identity. Callable by its issuer.
    function addWallet(bytes32 identityHash, address wallet) external {
        _requireIssuerOf(identityHash);
        _bindWallet(identityHash, wallet);
    }

    /// @notice Unbinds `wallet` from its identity (e.g. a lost key). Callable by the
    /// identity's issuer or governance. Emits {WalletRemoved}.
    function removeWallet(address wallet) external {
        bytes32 identityHash = _walletIdentity[wallet];
        if (identityHash == bytes32(0)) revert IdentityWalletNotBound(wallet);
        address caller = _msgSender();
        if (caller != _identities[identityHash].issuer && !hasRole(GOVERNANCE_ROLE, caller)) {
            revert IdentityNotIssuer(identityHash, caller);
        }
        delete _walletIdentity[wallet];
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
        _walletIdentity[wallet] = identityHash;
        emit WalletAdded(identityHash, wallet);
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
