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
    /// updates per-identity holdings when the token tracks them.
    /// Requirements: caller is a registered custodian; `from` can send; `to` can receive.
    function custodyTransfer(address from, address to, uint256 amount) external;

    /// @notice Whether `account` is a custodian (e.g. the settlement vault).
    function isCustodian(address account) external view returns (bool);
}
