// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC7943Fungible} from "../../src/interfaces/IERC7943Fungible.sol";
import {PermissionedToken} from "../../src/token/PermissionedToken.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice ERC-7943 frozen amounts: a holder can never spend them (transfer, transferFrom,
/// vault deposit, a sale or a purchase settled in the vault), while the AGENT's
/// forcedTransfer may take them and then lowers the frozen amount by what it took. A frozen
/// amount covers the holder's wallet and its custody in the vault together. Run on both the
/// AssetToken and the CashToken.
contract FrozenBalanceTest is SenFixture {
    uint256 internal constant MAX_AMOUNT = 1e30;

    function setUp() public {
        _deploySen();
    }

    function _token(bool useCash) internal view returns (PermissionedToken) {
        return useCash ? PermissionedToken(address(cash)) : PermissionedToken(address(asset));
    }

    function _mint(PermissionedToken token, address to, uint256 amount) internal {
        if (address(token) == address(cash)) cash.mint(to, amount, bytes32(0));
        else asset.mint(to, amount);
    }

    /// @dev What the holder may spend: the balance above the frozen amount (0 when the
    /// frozen amount is at or above the balance, which ERC-7943 allows).
    function _unfrozen(uint256 balance, uint256 frozen) internal pure returns (uint256) {
        return frozen >= balance ? 0 : balance - frozen;
    }

    /// @dev The revert a holder's move of `amount` must hit, given its balance and frozen amount.
    function _expectedHolderRevert(address holder, uint256 balance, uint256 frozen, uint256 amount)
        internal
        pure
        returns (bytes memory)
    {
        if (amount > balance) {
            return abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, holder, balance, amount);
        }
        return abi.encodeWithSelector(
            IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, holder, amount, _unfrozen(balance, frozen)
        );
    }

    /// A holder's transfer succeeds iff amount <= balance - frozen, and the frozen tokens stay.
    function testFuzz_holderTransferNeverSpendsFrozen(bool useCash, uint256 balance, uint256 frozen, uint256 amount)
        public
    {
        PermissionedToken token = _token(useCash);
        balance = bound(balance, 0, MAX_AMOUNT);
        frozen = bound(frozen, 0, MAX_AMOUNT + 1);
        amount = bound(amount, 0, MAX_AMOUNT + 1);
        if (balance != 0) _mint(token, ALICE, balance);
        token.setFrozenTokens(ALICE, frozen);

        bool allowed = amount <= _unfrozen(balance, frozen);
        assertEq(token.canTransfer(ALICE, BOB, amount), allowed, "canTransfer agrees with the rule");
        if (!allowed) vm.expectRevert(_expectedHolderRevert(ALICE, balance, frozen, amount));
        vm.prank(ALICE);
        token.transfer(BOB, amount);

        uint256 moved = allowed ? amount : 0;
        assertEq(token.balanceOf(ALICE), balance - moved, "sender balance");
        assertEq(token.balanceOf(BOB), moved, "receiver balance");
        assertEq(token.getFrozenTokens(ALICE), frozen, "frozen amount unchanged by a holder transfer");
        if (frozen <= balance) assertGe(token.balanceOf(ALICE), frozen, "frozen tokens still held");
    }

    /// The same rule through an allowance: a spender cannot move frozen tokens either.
    function testFuzz_spenderTransferFromNeverSpendsFrozen(
        bool useCash,
        uint256 balance,
        uint256 frozen,
        uint256 amount
    ) public {
        PermissionedToken token = _token(useCash);
        balance = bound(balance, 1, MAX_AMOUNT);
        frozen = bound(frozen, 0, balance);
        amount = bound(amount, 0, balance);
        _mint(token, ALICE, balance);
        token.setFrozenTokens(ALICE, frozen);
        vm.prank(ALICE);
        token.approve(CAROL, type(uint256).max);

        bool allowed = amount <= balance - frozen;
        if (!allowed) vm.expectRevert(_expectedHolderRevert(ALICE, balance, frozen, amount));
        vm.prank(CAROL);
        token.transferFrom(ALICE, BOB, amount);

        assertEq(token.balanceOf(BOB), allowed ? amount : 0, "receiver balance");
        assertEq(token.getFrozenTokens(ALICE), frozen, "frozen amount unchanged");
        assertGe(token.balanceOf(ALICE), frozen, "frozen tokens still held");
    }

    /// Frozen tokens cannot leave through the vault either: a deposit is a holder transfer.
    function testFuzz_depositNeverTakesFrozen(bool useCash, uint256 balance, uint256 frozen, uint256 amount) public {
        PermissionedToken token = _token(useCash);
        balance = bound(balance, 1, MAX_AMOUNT);
        frozen = bound(frozen, 0, balance);
        amount = bound(amount, 1, balance);
        _mint(token, ALICE, balance);
        token.setFrozenTokens(ALICE, frozen);
        vm.prank(ALICE);
        token.approve(address(vault), amount);

        bool allowed = amount <= balance - frozen;
        if (!allowed) vm.expectRevert(_expectedHolderRevert(ALICE, balance, frozen, amount));
        vm.prank(ALICE);
        vault.deposit(address(token), amount);

        assertEq(vault.balanceOf(address(token), ALICE), allowed ? amount : 0, "custody credit");
        assertEq(token.getFrozenTokens(ALICE), frozen, "frozen amount unchanged");
        assertGe(token.balanceOf(ALICE), frozen, "frozen tokens still held");
    }

    /// An AGENT forcedTransfer may take frozen tokens; the frozen amount then drops by
    /// exactly the frozen part it took, i.e. to min(frozen, remaining balance) when
    /// frozen <= balance, and by `amount` when more was frozen than held.
    function testFuzz_agentForcedTransferTakesFrozenAndUnfreezes(
        bool useCash,
        uint256 balance,
        uint256 frozen,
        uint256 amount
    ) public {
        PermissionedToken token = _token(useCash);
        balance = bound(balance, 0, MAX_AMOUNT);
        frozen = bound(frozen, 0, MAX_AMOUNT + 1);
        amount = bound(amount, 0, balance);
        if (balance != 0) _mint(token, ALICE, balance);
        token.setFrozenTokens(ALICE, frozen);

        assertTrue(token.forcedTransfer(ALICE, BOB, amount), "forcedTransfer returns true");

        uint256 remaining = balance - amount;
        uint256 expectedFrozen;
        if (frozen > balance) expectedFrozen = frozen - amount; // all it took was frozen
        else expectedFrozen = frozen < remaining ? frozen : remaining;
        assertEq(token.balanceOf(ALICE), remaining, "sender balance");
        assertEq(token.balanceOf(BOB), amount, "receiver balance");
        assertEq(token.getFrozenTokens(ALICE), expectedFrozen, "frozen amount after the forced transfer");
        // What stayed spendable for the holder was never reduced by the agent's move
        // beyond what it took: unfrozen' = max(0, unfrozen - amount) when frozen <= balance.
        if (frozen <= balance) {
            uint256 unfrozenBefore = balance - frozen;
            uint256 unfrozenAfter = _unfrozen(remaining, expectedFrozen);
            assertEq(unfrozenAfter, unfrozenBefore > amount ? unfrozenBefore - amount : 0, "unfrozen after");
        }
    }

    /// A forced transfer above the balance reverts and leaves the frozen amount alone.
    function testFuzz_agentForcedTransferAboveBalanceReverts(uint256 balance, uint256 frozen, uint256 excess) public {
        balance = bound(balance, 0, MAX_AMOUNT);
        frozen = bound(frozen, 0, MAX_AMOUNT);
        excess = bound(excess, 1, MAX_AMOUNT);
        if (balance != 0) asset.mint(ALICE, balance);
        asset.setFrozenTokens(ALICE, frozen);

        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, ALICE, balance, balance + excess)
        );
        asset.forcedTransfer(ALICE, BOB, balance + excess);
        assertEq(asset.getFrozenTokens(ALICE), frozen, "frozen amount unchanged");
    }

    /// A non-agent (here the holder itself) cannot force-transfer or unfreeze.
    function testFuzz_onlyAgentForcesOrUnfreezes(uint256 balance, uint256 frozen) public {
        balance = bound(balance, 1, MAX_AMOUNT);
        frozen = bound(frozen, 1, balance);
        asset.mint(ALICE, balance);
        asset.setFrozenTokens(ALICE, frozen);

        bytes memory notAgent =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, ALICE, asset.AGENT_ROLE());
        vm.prank(ALICE);
        vm.expectRevert(notAgent);
        asset.forcedTransfer(ALICE, BOB, balance);
        vm.prank(ALICE);
        vm.expectRevert(notAgent);
        asset.setFrozenTokens(ALICE, 0);
        assertEq(asset.getFrozenTokens(ALICE), frozen, "frozen amount unchanged");
        assertEq(asset.balanceOf(ALICE), balance, "balance unchanged");
    }

    /// The payment bank's burn (fiat pay-out) never takes frozen cash; the asset issuer's
    /// redemption burn may, unfreezing what it takes like a forced transfer.
    function testFuzz_burnRespectsFrozenOnCashOnly(uint256 balance, uint256 frozen, uint256 amount) public {
        balance = bound(balance, 1, MAX_AMOUNT);
        frozen = bound(frozen, 0, balance);
        amount = bound(amount, 0, balance);
        cash.mint(ALICE, balance, bytes32(0));
        cash.setFrozenTokens(ALICE, frozen);
        asset.mint(ALICE, balance);
        asset.setFrozenTokens(ALICE, frozen);

        bool allowed = amount <= balance - frozen;
        if (!allowed) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, ALICE, amount, balance - frozen
                )
            );
        }
        cash.burn(ALICE, amount, bytes32("payout"));
        assertEq(cash.balanceOf(ALICE), allowed ? balance - amount : balance, "cash balance");
        assertEq(cash.getFrozenTokens(ALICE), frozen, "cash frozen amount unchanged");

        asset.burn(ALICE, amount);
        uint256 remaining = balance - amount;
        assertEq(asset.balanceOf(ALICE), remaining, "asset balance");
        assertEq(asset.getFrozenTokens(ALICE), frozen < remaining ? frozen : remaining, "asset frozen after burn");
    }

    /// A frozen address can send nothing, whatever its frozen amount; the agent still can.
    function testFuzz_addressFrozenBlocksAllHolderMoves(uint256 balance, uint256 amount) public {
        balance = bound(balance, 1, MAX_AMOUNT);
        amount = bound(amount, 1, balance);
        asset.mint(ALICE, balance);
        asset.setAddressFrozen(ALICE, true);

        vm.expectRevert(abi.encodeWithSelector(IERC7943Fungible.ERC7943CannotSend.selector, ALICE));
        vm.prank(ALICE);
        asset.transfer(BOB, amount);

        asset.forcedTransfer(ALICE, BOB, amount);
        assertEq(asset.balanceOf(BOB), amount, "agent moved the tokens");
        assertTrue(asset.isAddressFrozen(ALICE), "address stays frozen");
    }

    // ---------------------------------------------------------------- custody

    /// @dev Deposits `custody` of ALICE's `wallet + custody` into the vault, then freezes `frozen`.
    function _holdAndFreeze(PermissionedToken token, uint256 wallet, uint256 custody, uint256 frozen) internal {
        if (wallet + custody != 0) _mint(token, ALICE, wallet + custody);
        if (custody != 0) _deposit(ALICE, token, custody);
        token.setFrozenTokens(ALICE, frozen);
    }

    function _holdings(PermissionedToken token, address who) internal view returns (uint256) {
        return token.balanceOf(who) + vault.balanceOf(address(token), who);
    }

    function _oneTrade(uint256 tradeId, address seller, address buyer, uint256 assetAmount, uint256 cashAmount, uint256 buyerFee)
        internal
        view
        returns (SettlementVault.Trade[] memory)
    {
        return _oneTrade(tradeId, seller, buyer, assetAmount, cashAmount, 0, buyerFee, _taxOf(cashAmount));
    }

    /// A holder's wallet transfer may spend at most (wallet + custody) - frozen. Every run
    /// freezes some custody-backed part and tries one amount above the limit and one within it.
    function testFuzz_walletTransferCountsCustody(
        bool useCash,
        uint256 wallet,
        uint256 custody,
        uint256 unfrozen,
        uint256 over,
        uint256 within
    ) public {
        PermissionedToken token = _token(useCash);
        wallet = bound(wallet, 2, MAX_AMOUNT);
        custody = bound(custody, 1, MAX_AMOUNT);
        unfrozen = bound(unfrozen, 1, wallet - 1);
        uint256 frozen = wallet + custody - unfrozen;
        _holdAndFreeze(token, wallet, custody, frozen);
        assertTrue(token.canSend(ALICE), "something is unfrozen");

        over = bound(over, unfrozen + 1, wallet);
        assertFalse(token.canTransfer(ALICE, BOB, over), "canTransfer refuses frozen units");
        vm.expectRevert(
            abi.encodeWithSelector(IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, ALICE, over, unfrozen)
        );
        vm.prank(ALICE);
        token.transfer(BOB, over);

        within = bound(within, 1, unfrozen);
        assertTrue(token.canTransfer(ALICE, BOB, within), "canTransfer counts the custody as holdings");
        vm.prank(ALICE);
        token.transfer(BOB, within);
        assertEq(token.balanceOf(BOB), within, "receiver balance");
        assertEq(_holdings(token, ALICE), frozen + unfrozen - within, "sender holdings");
        assertEq(token.canSend(ALICE), within < unfrozen, "canSend: false once everything held is frozen");
    }

    /// Asset units frozen in custody are never sold: every run tries a sale above
    /// (wallet + custody) - frozen, refused by its trade id with the token's reason, and one
    /// within it, which settles.
    function testFuzz_frozenAssetInCustodyIsNeverSold(
        uint256 wallet,
        uint256 custody,
        uint256 unfrozen,
        uint256 over,
        uint256 within
    ) public {
        wallet = bound(wallet, 0, MAX_AMOUNT);
        custody = bound(custody, 2, MAX_AMOUNT);
        unfrozen = bound(unfrozen, 1, custody - 1);
        uint256 frozen = wallet + custody - unfrozen;
        _holdAndFreeze(PermissionedToken(address(asset)), wallet, custody, frozen);
        _fundInVault(BOB, 0, custody);

        over = bound(over, unfrozen + 1, custody);
        SettlementVault.Trade[] memory trades = _oneTrade(1, ALICE, BOB, over, over, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                SettlementVault.SettlementTradeFailed.selector,
                1,
                abi.encodeWithSelector(IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, ALICE, over, unfrozen)
            )
        );
        vault.settleBatch(trades);

        within = bound(within, 1, unfrozen);
        vault.settleBatch(_oneTrade(2, ALICE, BOB, within, within, 0));
        assertEq(vault.balanceOf(address(asset), BOB), within, "buyer's custody");
        assertEq(_holdings(asset, ALICE), frozen + unfrozen - within, "frozen units still held");
        assertEq(asset.getFrozenTokens(ALICE), frozen, "settlement never changes the frozen amount");
    }

    /// Đồng frozen in custody never pay for a purchase, fee included: every run tries a
    /// purchase whose price plus fee exceeds the unfrozen amount, and one within it.
    function testFuzz_frozenCashInCustodyNeverPays(
        uint256 wallet,
        uint256 custody,
        uint256 unfrozen,
        uint256 overPrice,
        uint256 withinPrice
    ) public {
        wallet = bound(wallet, 0, MAX_AMOUNT);
        custody = bound(custody, 3, MAX_AMOUNT);
        unfrozen = bound(unfrozen, 2, custody - 1);
        uint256 frozen = wallet + custody - unfrozen;
        _holdAndFreeze(PermissionedToken(address(cash)), wallet, custody, frozen);
        _fundInVault(BOB, 2, 0);

        // Above: price + fee in (unfrozen, custody], the fee within the 1% cap.
        uint256 price = bound(overPrice, unfrozen, custody - 1);
        uint256 fee = price > unfrozen ? 0 : 1;
        SettlementVault.Trade[] memory trades = _oneTrade(1, BOB, ALICE, 1, price, fee);
        vm.expectRevert(_buyerFrozenRevert(wallet + custody, frozen, price, fee));
        vault.settleBatch(trades);

        // Within: price + fee <= unfrozen.
        price = bound(withinPrice, 1, unfrozen - 1);
        fee = _min(_feeCap(price), unfrozen - price);
        vault.settleBatch(_oneTrade(2, BOB, ALICE, 1, price, fee));
        assertEq(vault.balanceOf(address(cash), BOB), price - _taxOf(price), "seller's proceeds net of the tax");
        assertEq(vault.balanceOf(address(cash), FEE), fee, "fee");
        assertGe(_holdings(cash, ALICE), frozen, "frozen cash still held");
    }

    /// @dev Trade 1's failure when ALICE, holding `held`, cannot pay `price + fee`: the token
    /// reports what was still unfrozen of the price once the fee was taken.
    function _buyerFrozenRevert(uint256 held, uint256 frozen, uint256 price, uint256 fee)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            SettlementVault.SettlementTradeFailed.selector,
            1,
            abi.encodeWithSelector(
                IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, ALICE, price, _unfrozen(held - fee, frozen)
            )
        );
    }

    /// @dev The vault's default fee cap: 1% of `cashAmount`, rounded up.
    function _feeCap(uint256 cashAmount) internal pure returns (uint256) {
        return (cashAmount + 99) / 100;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
