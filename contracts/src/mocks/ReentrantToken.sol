// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only hostile token: on every transfer, and when the vault asks it to apply its
/// holder rules to a settled trade (custodyTransfer), it calls back into a target (the
/// settlement vault) with prepared calldata, to prove the vault's reentrancy guard holds. The
/// vault lists any token governance lists, so a listed token's code is not to be trusted.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public reentered;
    bytes public lastRevert;

    constructor() ERC20("Hostile", "HST") {
        _mint(msg.sender, 1e30);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    /// @dev Accepts every settled trade, after calling back.
    function custodyTransfer(address, address, uint256) external {
        _reenter();
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        _reenter();
    }

    function _reenter() private {
        if (target != address(0) && !reentered) {
            reentered = true;
            (bool ok, bytes memory ret) = target.call(payload);
            if (!ok) {
                // Bubble the guard's revert so the outer call fails with it.
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}
