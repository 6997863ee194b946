// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {PermissionedToken} from "./PermissionedToken.sol";

/// @title AssetToken
/// @notice One deployment per tokenised real-world asset (a bond, a fund unit, ...): an
/// ERC-20 / ERC-7943 permissioned token whose holders must be verified e-ID identities
/// meeting the asset's rules, with a hash of the legal prospectus / backing-asset proof.
contract AssetToken is PermissionedToken {
    /// @notice The asset's issuer: mints against real backing and burns on redemption.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    /// @notice keccak/sha-256 hash of the off-chain document proving the backing asset.
    bytes32 public documentHash;
    /// @notice Where that document can be fetched (content-addressed URI recommended).
    string public documentURI;

    event DocumentUpdated(bytes32 indexed documentHash, string documentURI);

    /// @param trackIdentityBalances enables the per-identity cap; fixed for the token's life
    /// because holdings cannot be attributed retroactively.
    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        IIdentityRegistry registry,
        address admin,
        bytes32 documentHash_,
        string memory documentURI_,
        bool trackIdentityBalances
    ) PermissionedToken(name_, symbol_, decimals_, registry, admin, trackIdentityBalances) {
        _setDocument(documentHash_, documentURI_);
    }

    /// @notice Issues `amount` to a verified, eligible wallet.
    function mint(address to, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _privilegedMint(to, amount);
    }

    /// @notice Redeems `amount` from `from` (may take frozen tokens, unfreezing them first).
    function burn(address from, uint256 amount) external onlyRole(ISSUER_ROLE) {
        _privilegedBurn(from, amount);
    }

    function setDocument(bytes32 documentHash_, string calldata documentURI_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDocument(documentHash_, documentURI_);
    }

    function _setDocument(bytes32 documentHash_, string memory documentURI_) private {
        documentHash = documentHash_;
        documentURI = documentURI_;
        emit DocumentUpdated(documentHash_, documentURI_);
    }
}
