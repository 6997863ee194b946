// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice Income tax withheld at settlement: the vault admits a trade's `sellerTax` only if it
/// is exactly floor(cashAmount * rateBps / 10,000) at the rate in force, credits the seller
/// the proceeds net of fee and tax, and books the tax to the tax account.
contract TaxWithholdingTest is SenFixture {
    uint256 internal constant BPS = 10_000;

    function setUp() public {
        _deploySen();
    }

    /// Every run draws a rate (0 to the maximum) and a sale: the tax one đồng above or below
    /// the floor is refused by the trade's id with both amounts, the floor itself settles.
    function testFuzz_taxIsExactlyTheFloorAtTheRateInForce(uint256 cashAmount, uint16 rateBps, bool above) public {
        cashAmount = bound(cashAmount, 1, 1e30);
        rateBps = uint16(bound(rateBps, 0, vault.MAX_TAX_RATE_BPS()));
        vault.setTaxPolicy(TAX, rateBps);
        uint256 tax = cashAmount * rateBps / BPS;
        assertLe(tax * BPS, cashAmount * rateBps, "floor: not above the exact amount");
        assertGt((tax + 1) * BPS, cashAmount * rateBps, "floor: within one dong of it");
        uint256 wrong = above || tax == 0 ? tax + 1 : tax - 1;
        _fundInVault(ALICE, 1, 0);
        _fundInVault(BOB, 0, cashAmount);

        vm.expectRevert(
            abi.encodeWithSelector(
                SettlementVault.SettlementTradeFailed.selector,
                7,
                abi.encodeWithSelector(SettlementVault.SettlementTaxMismatch.selector, tax, wrong)
            )
        );
        vault.settleBatch(_trade(7, cashAmount, wrong));

        vault.settleBatch(_trade(7, cashAmount, tax));
        assertEq(vault.balanceOf(address(cash), ALICE), cashAmount - tax, "seller's proceeds net of the tax");
        assertEq(vault.balanceOf(address(cash), TAX), tax, "the tax account's book");
        assertEq(vault.balanceOf(address(cash), BOB), 0, "the buyer pays the price, no more");
    }

    /// Governance alone sets the policy, within bounds; the rate it sets is the one checked.
    function test_onlyGovernanceSetsTheTaxPolicyWithinBounds() public {
        SettlementVault.TaxPolicy memory p = vault.taxPolicy();
        assertEq(p.account, TAX, "the constructor's tax account");
        assertEq(p.rateBps, vault.DEFAULT_TAX_RATE_BPS(), "the default rate");
        assertEq(p.rateBps, 10, "0.1%");

        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, ALICE, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(ALICE);
        vault.setTaxPolicy(ALICE, 0);
        vm.expectRevert(abi.encodeWithSelector(SettlementVault.SettlementInvalidTaxRate.selector, uint16(1_001)));
        vault.setTaxPolicy(TAX, 1_001);
        vm.expectRevert(abi.encodeWithSelector(SettlementVault.SettlementInvalidAccount.selector, address(0)));
        vault.setTaxPolicy(address(0), 10);

        vm.recordLogs();
        vault.setTaxPolicy(FEE, 1_000);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].topics[0], SettlementVault.TaxPolicySet.selector, "TaxPolicySet");
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(FEE))), "its account");
        assertEq(abi.decode(logs[0].data, (uint16)), 1_000, "its rate");
        _fundInVault(ALICE, 1, 0);
        _fundInVault(BOB, 0, 10_000);
        vault.settleBatch(_trade(1, 10_000, 1_000));
        assertEq(vault.balanceOf(address(cash), FEE), 1_000, "10% booked to the new account");
        assertEq(vault.balanceOf(address(cash), TAX), 0, "nothing to the old one");
    }

    function _trade(uint256 tradeId, uint256 cashAmount, uint256 sellerTax) internal view returns (SettlementVault.Trade[] memory) {
        return _oneTrade(tradeId, ALICE, BOB, 1, cashAmount, 0, 0, sellerTax);
    }
}
