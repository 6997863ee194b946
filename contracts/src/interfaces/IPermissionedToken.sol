// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC7943Fungible} from "./IERC7943Fungible.sol";

/// @title IPermissionedToken
/// @notice What Sen's settlement vault needs from a permissioned token beyond ERC-20 and
/// ERC-7943: a check-and-attribute call for balances that move *inside* a custodian.
interface IPermissionedToken is IERC20, IERC7943Fungible {
    /// @notice Applies the token's transfer rules to a move of `amount` from `from` to `to`
    /// that happens in a custodian's own books (the tokens stay in the custodian), and
    /// updates per-identity holdings when the token tracks them. The custodian calls it
    /// *after* updating its books, so the token sees `from`'s holdings as the move (and any
    /// fee the custodian took from `from` with it) leaves them.
    /// Requirements: caller is a registered custodian; the token is not paused; `from` can
    /// send; `to` can receive; `from`'s wallet plus custody still cover its frozen amount.
    function custodyTransfer(address from, address to, uint256 amount) external;

    /// @notice Whether `account` is a custodian (e.g. the settlement vault).
    function isCustodian(address account) external view returns (bool);
}
