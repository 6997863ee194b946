// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice The vault's fee caps: a fee is admitted iff it is at most ceil(cashAmount * cap /
/// 10,000), checked against OpenZeppelin's full-precision Math.mulDiv over the whole uint256
/// range of cash amounts (the vault takes a cheaper path below 2^256 / 10,000); and the
/// exchange's own fees (maker 0.10%, taker 0.20%, charged per order on the running notional
/// and rounded up) always fit the default 1% cap. Every trade also withholds the seller's
/// income tax at the default 0.1% (floor(cashAmount / 1,000)), which the seller's fee must
/// leave room for.
contract FeeCapTest is SenFixture {
    uint256 internal constant BPS = 10_000;

    function setUp() public {
        _deploySen();
    }

    function _trade(uint256 tradeId, uint256 cashAmount, uint256 sellerFee, uint256 buyerFee)
        internal
        view
        returns (SettlementVault.Trade[] memory)
    {
        // 10 bps rounded down: floor(cashAmount * 10 / 10,000) == floor(cashAmount / 1,000).
        return _oneTrade(tradeId, ALICE, BOB, 1, cashAmount, sellerFee, buyerFee, cashAmount / 1_000);
    }

    function _exceeds(uint256 tradeId, uint256 fee, uint256 cashAmount, uint256 capBps) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            SettlementVault.SettlementTradeFailed.selector,
            tradeId,
            abi.encodeWithSelector(SettlementVault.SettlementFeeExceedsCap.selector, fee, cashAmount, capBps)
        );
    }

    /// In every run the fee one unit above the cap is refused on either side, and the fee at
    /// the cap settles on both unless the seller's, with the tax, would exceed the proceeds
    /// (refused; the most that leaves the tax settles instead); `huge` moves the cash amount
    /// past 2^256 / 10,000, where the vault computes both with full-precision division.
    function testFuzz_feeCapIsTheCeilingOfBasisPoints(uint256 cashAmount, uint16 sellerCap, uint16 buyerCap, bool huge)
        public
    {
        cashAmount = huge ? bound(cashAmount, type(uint256).max / BPS + 1, type(uint256).max / 4) : bound(cashAmount, 1, 1e30);
        sellerCap = uint16(bound(sellerCap, 0, BPS));
        buyerCap = uint16(bound(buyerCap, 0, BPS - 1)); // the buyer pays on top: keep room for +1
        vault.setFeeCaps(sellerCap, buyerCap);
        uint256 sellerMax = Math.mulDiv(cashAmount, sellerCap, BPS, Math.Rounding.Ceil);
        uint256 buyerMax = Math.mulDiv(cashAmount, buyerCap, BPS, Math.Rounding.Ceil);
        _fundInVault(ALICE, 1, 0);
        _fundInVault(BOB, 0, cashAmount + buyerMax + 1);

        if (sellerMax < cashAmount) {
            vm.expectRevert(_exceeds(1, sellerMax + 1, cashAmount, sellerCap));
            vault.settleBatch(_trade(1, cashAmount, sellerMax + 1, 0));
        }
        vm.expectRevert(_exceeds(1, buyerMax + 1, cashAmount, buyerCap));
        vault.settleBatch(_trade(1, cashAmount, 0, buyerMax + 1));

        uint256 tax = cashAmount / 1_000;
        uint256 sellerFee = sellerMax;
        if (sellerMax > cashAmount - tax) {
            vm.expectRevert(_deductionsExceed(1, sellerMax, tax, cashAmount));
            vault.settleBatch(_trade(1, cashAmount, sellerMax, buyerMax));
            sellerFee = cashAmount - tax;
        }
        vault.settleBatch(_trade(1, cashAmount, sellerFee, buyerMax));
        assertEq(vault.balanceOf(address(cash), FEE), sellerFee + buyerMax, "both fees taken");
        assertEq(vault.balanceOf(address(cash), TAX), tax, "the tax withheld");
        assertEq(vault.balanceOf(address(cash), ALICE), cashAmount - sellerFee - tax, "seller's proceeds net of fee and tax");
    }

    /// Fee and tax together never take more than the proceeds: with the seller's cap at 100%,
    /// a fee one đồng above `cashAmount - tax` is refused by the trade's id, and the fee that
    /// leaves exactly the tax settles, paying the seller nothing.
    function testFuzz_feeAndTaxNeverExceedTheProceeds(uint256 cashAmount) public {
        cashAmount = bound(cashAmount, 1_000, 1e30); // some tax: at least 1 đồng
        vault.setFeeCaps(uint16(BPS), 0);
        uint256 tax = cashAmount / 1_000;
        _fundInVault(ALICE, 1, 0);
        _fundInVault(BOB, 0, cashAmount);

        vm.expectRevert(_deductionsExceed(1, cashAmount - tax + 1, tax, cashAmount));
        vault.settleBatch(_trade(1, cashAmount, cashAmount - tax + 1, 0));

        vault.settleBatch(_trade(1, cashAmount, cashAmount - tax, 0));
        assertEq(vault.balanceOf(address(cash), ALICE), 0, "nothing left for the seller");
        assertEq(vault.balanceOf(address(cash), TAX), tax, "the tax in full");
        assertEq(vault.balanceOf(address(cash), FEE), cashAmount - tax, "the fee");
    }

    function _deductionsExceed(uint256 tradeId, uint256 sellerFee, uint256 sellerTax, uint256 cashAmount)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            SettlementVault.SettlementTradeFailed.selector,
            tradeId,
            abi.encodeWithSelector(
                SettlementVault.SettlementDeductionsExceedProceeds.selector, sellerFee, sellerTax, cashAmount
            )
        );
    }

    /// The exchange charges each order ceil(running notional * bps / 10,000) minus what it
    /// already paid; whatever fills came before, one fill's fee never exceeds the default cap.
    /// `small` keeps the notional under 10,000 đồng, where rounding up matters most.
    function testFuzz_exchangeFeesFitTheDefaultCap(uint256 earlierNotional, uint256 notional, bool taker, bool small)
        public
    {
        earlierNotional = bound(earlierNotional, 0, small ? 10_000 : 1e24);
        notional = bound(notional, 1, small ? 10_000 : 1e24);
        uint256 bps = taker ? 20 : 10;
        uint256 due = Math.mulDiv(earlierNotional + notional, bps, BPS, Math.Rounding.Ceil)
            - Math.mulDiv(earlierNotional, bps, BPS, Math.Rounding.Ceil);
        _fundInVault(ALICE, 1, 0);
        _fundInVault(BOB, 0, notional + due);

        vault.settleBatch(_trade(1, notional, due, due));
        assertEq(vault.balanceOf(address(cash), FEE), 2 * due, "fees taken");
    }
}
