// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {PermissionedToken} from "./PermissionedToken.sol";

/// @title CashToken
/// @notice VND settlement token: 0 decimals (1 unit = 1 đồng), transferable only between
/// verified wallets, minted by the payment bank when fiat arrives and burned when it is
/// paid out. Every mint and burn names the bank's reference for reconciliation.
contract CashToken is PermissionedToken {
    bytes32 public constant PAYMENT_BANK_ROLE = keccak256("PAYMENT_BANK_ROLE");

    event FiatDeposited(address indexed to, uint256 amount, bytes32 indexed bankReference);
    event FiatWithdrawn(address indexed from, uint256 amount, bytes32 indexed bankReference);

    constructor(IIdentityRegistry registry, address admin)
        PermissionedToken("Sen VND", "VNDS", 0, registry, admin, false)
    {}

    /// @notice Credits `amount` đồng received in fiat from the holder of `to`.
    function mint(address to, uint256 amount, bytes32 bankReference) external onlyRole(PAYMENT_BANK_ROLE) {
        _privilegedMint(to, amount);
        emit FiatDeposited(to, amount, bankReference);
    }

    /// @notice Burns `amount` đồng the bank paid out in fiat to the holder of `from`.
    /// A pay-out takes the holder's đồng off chain, so it is held to what the holder could
    /// send itself: refused while the token is paused (TokenIsPaused), from an address-frozen
    /// wallet or one whose e-ID is revoked, expired or unbound (ERC7943CannotSend), and above
    /// what the wallet holds over its frozen amount, which covers the wallet and its custody
    /// together (ERC7943InsufficientUnfrozenBalance). What is held back stays on chain, within
    /// reach of the agent's forced transfer and recovery.
    function burn(address from, uint256 amount, bytes32 bankReference) external onlyRole(PAYMENT_BANK_ROLE) {
        // _privilegedBurn skips the holder-side checks (an asset's redemption may take what its
        // holder could not send); a pay-out that skipped them would let fiat leave past a hold.
        if (paused()) revert TokenIsPaused();
        (bool eligible,) = _eligible(from, false);
        if (!eligible) revert ERC7943CannotSend(from);
        uint256 unfrozen = _spendable(from, balanceOf(from));
        if (amount > unfrozen) revert ERC7943InsufficientUnfrozenBalance(from, amount, unfrozen);
        _privilegedBurn(from, amount);
        emit FiatWithdrawn(from, amount, bankReference);
    }
}
