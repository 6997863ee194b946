// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICustodian
/// @notice What a permissioned token asks of a custodian it registered (the settlement vault):
/// the custody balance it books for a holder, so that a frozen amount covers the holder's
/// wallet and custody together, and the ways out for a lost wallet's custody and for custody
/// the token's agent takes by force.
interface ICustodian {
    /// @notice The custody balance of `token` the custodian books for `wallet`.
    function balanceOf(address token, address wallet) external view returns (uint256);

    /// @notice Pays the caller's own custody booked for `fromWallet` out to `toWallet` (the
    /// caller is the token: only a token can move its own books). Returns the amount.
    function returnCustody(address fromWallet, address toWallet) external returns (uint256 amount);

    /// @notice Debits `amount` of the caller's own custody booked for `fromWallet`, which the
    /// caller (the token, on its agent's forced transfer) delivers to `toWallet` out of the
    /// custodian's token balance in the same call. Reverts when the book holds less.
    function seizeCustody(address fromWallet, address toWallet, uint256 amount) external;
}
