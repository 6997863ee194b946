// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC7943Fungible} from "../../src/interfaces/IERC7943Fungible.sol";
import {PermissionedToken} from "../../src/token/PermissionedToken.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice PermissionedToken.recoverBalance (lost wallet -> another wallet of the same
/// identity): the balance, the custody the vault holds for the lost wallet, the frozen amount
/// and the address freeze all move; nothing is created or lost, and per-identity holdings do
/// not change.
contract RecoverBalanceTest is SenFixture {
    uint256 internal constant MAX_AMOUNT = 1e30;

    function setUp() public {
        _deploySen();
    }

    /// Supply, balances and identity holdings are conserved by a recovery.
    function testFuzz_recoveryMovesEverythingAndConservesSupply(uint256 lost, uint256 kept, bool addressFrozen)
        public
    {
        lost = bound(lost, 0, MAX_AMOUNT);
        kept = bound(kept, 0, MAX_AMOUNT);
        if (lost != 0) asset.mint(DAVE, lost);
        if (kept != 0) asset.mint(DAVE2, kept);
        if (addressFrozen) asset.setAddressFrozen(DAVE, true);
        bytes32 id = keccak256("identity:dave");
        uint256 supply = asset.totalSupply();

        asset.recoverBalance(DAVE, DAVE2);

        assertEq(asset.balanceOf(DAVE), 0, "lost wallet emptied");
        assertEq(asset.balanceOf(DAVE2), lost + kept, "new wallet holds both");
        assertEq(asset.totalSupply(), supply, "supply unchanged");
        assertEq(asset.identityBalance(id), lost + kept, "identity holdings unchanged");
        assertFalse(asset.isAddressFrozen(DAVE), "lost wallet's freeze cleared");
        assertEq(asset.isAddressFrozen(DAVE2), addressFrozen, "address freeze carried over");
    }

    /// Only a wallet of the same identity can receive a recovery.
    function testFuzz_recoveryToAnotherIdentityReverts(uint256 amount) public {
        amount = bound(amount, 1, MAX_AMOUNT);
        asset.mint(DAVE, amount);
        vm.expectRevert(abi.encodeWithSelector(PermissionedToken.TokenRecoveryIdentityMismatch.selector, DAVE, ALICE));
        asset.recoverBalance(DAVE, ALICE);
        assertEq(asset.balanceOf(DAVE), amount, "nothing moved");
    }

    /// The two wallets' frozen amounts add up (they were once OR-ed together, which
    /// let frozen tokens become spendable).
    function testFuzz_recoveryAddsFrozenAmounts(uint256 lost, uint256 kept, uint256 lostFrozen, uint256 keptFrozen)
        public
    {
        lost = bound(lost, 1, MAX_AMOUNT);
        kept = bound(kept, 1, MAX_AMOUNT);
        lostFrozen = bound(lostFrozen, 1, lost);
        keptFrozen = bound(keptFrozen, 1, kept);
        asset.mint(DAVE, lost);
        asset.mint(DAVE2, kept);
        asset.setFrozenTokens(DAVE, lostFrozen);
        asset.setFrozenTokens(DAVE2, keptFrozen);

        asset.recoverBalance(DAVE, DAVE2);

        assertEq(asset.getFrozenTokens(DAVE2), lostFrozen + keptFrozen, "frozen amounts add up");
        assertEq(asset.getFrozenTokens(DAVE), 0, "lost wallet's frozen amount cleared");
    }

    /// The concrete case that once went wrong (the amounts were OR-ed: 1 | 1 == 1): both
    /// frozen tokens stay frozen after recovery.
    function test_recoveryKeepsBothFrozenAmounts() public {
        asset.mint(DAVE, 1);
        asset.mint(DAVE2, 1);
        asset.setFrozenTokens(DAVE, 1);
        asset.setFrozenTokens(DAVE2, 1);

        asset.recoverBalance(DAVE, DAVE2);

        assertEq(asset.getFrozenTokens(DAVE2), 2, "1 + 1 frozen");
        vm.prank(DAVE2);
        vm.expectRevert(
            abi.encodeWithSelector(IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, DAVE2, 1, 0)
        );
        asset.transfer(ALICE, 1);
    }

    /// A lost (unbound) wallet's custody leaves the vault to the identity's other wallet, for
    /// both tokens, with its frozen amount; the vault still holds exactly its books.
    function testFuzz_recoveryReturnsCustodyOfAnUnboundWallet(
        uint256 walletAsset,
        uint256 custodyAsset,
        uint256 custodyCash,
        uint256 frozen
    ) public {
        walletAsset = bound(walletAsset, 0, MAX_AMOUNT);
        custodyAsset = bound(custodyAsset, 1, MAX_AMOUNT);
        custodyCash = bound(custodyCash, 1, MAX_AMOUNT);
        frozen = bound(frozen, 0, walletAsset + custodyAsset);
        if (walletAsset != 0) asset.mint(DAVE, walletAsset);
        _fundInVault(DAVE, custodyAsset, custodyCash);
        _fundInVault(ALICE, 5, 5); // someone else's books stay put
        asset.setFrozenTokens(DAVE, frozen);
        bytes32 id = keccak256("identity:dave");
        registry.removeWallet(DAVE);

        asset.recoverBalance(DAVE, DAVE2);
        cash.recoverBalance(DAVE, DAVE2);

        assertEq(vault.balanceOf(address(asset), DAVE), 0, "asset custody left the lost wallet");
        assertEq(vault.balanceOf(address(cash), DAVE), 0, "cash custody left the lost wallet");
        assertEq(asset.balanceOf(DAVE2), walletAsset + custodyAsset, "asset: wallet and custody recovered");
        assertEq(cash.balanceOf(DAVE2), custodyCash, "cash: custody recovered");
        assertEq(asset.getFrozenTokens(DAVE2), frozen, "the frozen amount follows");
        assertEq(asset.identityBalance(id), walletAsset + custodyAsset, "identity holdings unchanged");
        assertEq(asset.balanceOf(address(vault)), _sumBooks(address(asset)), "asset: vault holds its books");
        assertEq(cash.balanceOf(address(vault)), _sumBooks(address(cash)), "cash: vault holds its books");
        assertEq(vault.balanceOf(address(asset), ALICE), 5, "other books untouched");
        assertEq(IERC20(address(cash)).balanceOf(address(vault)), 5, "only ALICE's cash remains");
    }
}
