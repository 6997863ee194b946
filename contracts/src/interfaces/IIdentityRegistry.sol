// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IIdentityRegistry
/// @notice The e-ID attestations every Sen contract asks. No personal data lives on chain:
/// an identity is a salted hash of the person's e-ID (computed off chain by the e-KYC
/// issuer) plus the few attributes the exchange's rules need.
interface IIdentityRegistry {
    /// @dev Packed in one storage slot (30 bytes) so a transfer check costs one read per party.
    struct Identity {
        uint8 kycLevel; // 1 or 2, the e-ID levels of Decree 69/2024
        uint16 country; // ISO 3166-1 numeric, e.g. 704 for Viet Nam
        uint8 investorType; // see INVESTOR_* constants in IdentityRegistry
        uint40 expiresAt; // unix seconds; the attestation is void from this second on
        bool revoked;
        address issuer; // the e-KYC issuer that attested it
    }

    /// @notice An EIP-712 attestation an issuer signed off chain, submittable by anyone.
    struct Attestation {
        bytes32 identityHash;
        address wallet; // address(0): attest the identity without binding a wallet
        uint8 kycLevel;
        uint16 country;
        uint8 investorType;
        uint40 expiresAt;
        address issuer;
        uint256 identityVersion; // the identity's version when signed: any later change voids it
        uint256 nonce; // unordered: any unused value, see IdentityRegistry.invalidateNonces
        uint256 deadline;
    }

    event TrustedIssuerAdded(address indexed issuer);
    event TrustedIssuerRemoved(address indexed issuer);
    event IdentityAttested(
        bytes32 indexed identityHash,
        address indexed issuer,
        uint8 kycLevel,
        uint16 country,
        uint8 investorType,
        uint40 expiresAt
    );
    event IdentityRevoked(bytes32 indexed identityHash, address indexed by);
    event WalletAdded(bytes32 indexed identityHash, address indexed wallet);
    event WalletRemoved(bytes32 indexed identityHash, address indexed wallet);
    event GovernanceRevocationLifted(bytes32 indexed identityHash);
    event NoncesInvalidated(address indexed issuer, uint256 indexed wordPos, uint256 mask);

    error IdentityInvalidHash();
    error IdentityInvalidAttributes(uint8 kycLevel, uint16 country, uint8 investorType, uint40 expiresAt);
    error IdentityUntrustedIssuer(address issuer);
    error IdentityNotIssuer(bytes32 identityHash, address caller);
    error IdentityNotFound(bytes32 identityHash);
    error IdentityWalletAlreadyBound(address wallet, bytes32 identityHash);
    error IdentityWalletNotBound(address wallet);
    error IdentityInvalidWallet(address wallet);
    error IdentityExpiredSignature(uint256 deadline);
    error IdentityInvalidSignature(address issuer);
    error IdentityRevokedByGovernance(bytes32 identityHash);
    error IdentityStaleSignature(bytes32 identityHash, uint256 signedVersion, uint256 currentVersion);
    error IdentityNonceUsed(address issuer, uint256 nonce);
    error IdentityWalletFormerlyBound(address wallet, bytes32 identityHash);

    /// @notice True when `wallet` is bound to an identity that is attested by a still
    /// trusted issuer, not revoked and not expired.
    function isVerified(address wallet) external view returns (bool);

    /// @notice The identity bound to `wallet` (zero hash and empty record when none),
    /// whether or not it is currently valid.
    function identityOf(address wallet) external view returns (bytes32 identityHash, Identity memory identity);

    /// @notice One call for token rules: the identity hash and attributes of `wallet`, or a
    /// zero hash when the wallet is not currently verified.
    function verifiedIdentityOf(address wallet)
        external
        view
        returns (bytes32 identityHash, uint8 kycLevel, uint16 country, uint8 investorType);

    function identity(bytes32 identityHash) external view returns (Identity memory);

    /// @notice The identity `wallet` is bound to or, once unbound, was last bound to (zero if
    /// never bound). A wallet is never bound to another identity, so this is whose its
    /// tokens are, also after a lost key was unbound: tokens use it to attribute and recover.
    function lastIdentityOf(address wallet) external view returns (bytes32 identityHash);
}
