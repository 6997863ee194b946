// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A plain OpenZeppelin ERC-20: the gas baseline of `npm run bench:gas`.
contract PlainERC20 is ERC20 {
    constructor() ERC20("Plain", "PLN") {
        _mint(msg.sender, 1e30);
    }
}
