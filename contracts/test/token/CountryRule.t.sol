// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC7943Fungible} from "../../src/interfaces/IERC7943Fungible.sol";
import {PermissionedToken} from "../../src/token/PermissionedToken.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice The token's country rule: with COUNTRY_RULE_ANY every country may receive, with
/// an allow-list only the listed ones, with a block-list all but the listed ones (a real
/// asset issued in Viet Nam lists 704 for foreign investors only). It binds receivers only:
/// a holder whose country the rule refuses may still sell. Checked on every way in (a mint,
/// a wallet transfer, a purchase settled in the vault) and the views, against the predicate
/// written out here.
contract CountryRuleTest is SenFixture {
    address internal constant RECEIVER = address(0xC0C0);
    address internal constant ADMITTED = address(0xAD);

    function setUp() public {
        _deploySen();
    }

    /// Every run draws a rule, a receiver country, whether that country is listed (beside
    /// another country and the receiver's bitmap neighbour, always listed), and checks that the
    /// receiver is admitted exactly when the rule says so, everywhere, while its own sales pass.
    function testFuzz_countryRuleBindsReceiversOnly(uint8 rule, uint16 country, uint16 other, bool listReceiver)
        public
    {
        rule = uint8(bound(rule, 0, 2));
        country = uint16(bound(country, 1, 999));
        other = uint16(bound(other, 1, 999));
        if (other == country) other = country % 999 + 1;
        bool admitted = rule == asset.COUNTRY_RULE_ANY() || listReceiver == (rule == asset.COUNTRY_RULE_ALLOW_LIST());

        // The receiver holds some of the asset (wallet and custody) from before the rule.
        _openToEveryone();
        registry.attest(keccak256("identity:receiver"), KYC_LEVEL_2, country, PROFESSIONAL, uint40(block.timestamp + 365 days), RECEIVER);
        _fundInVault(RECEIVER, 10, 1_000_000);
        asset.mint(RECEIVER, 5);
        _fundInVault(ALICE, 10, 0);
        asset.mint(ALICE, 1); // in its wallet: a sender whatever the rule says of Viet Nam
        // A buyer every rule admits: a listed country under an allow-list, an unlisted one under a block-list.
        uint16 buyerCountry = rule == asset.COUNTRY_RULE_BLOCK_LIST() ? _unlisted(country, other) : other;
        registry.attest(keccak256("identity:admitted"), KYC_LEVEL_2, buyerCountry, PROFESSIONAL, uint40(block.timestamp + 365 days), ADMITTED);
        _fundInVault(ADMITTED, 0, 1_000_000);

        uint16[] memory list = new uint16[](listReceiver ? 3 : 2);
        list[0] = other;
        list[1] = country ^ 1; // the neighbouring bit of the same bitmap word (0 is never an identity's country)
        if (listReceiver) list[2] = country;
        asset.setCountriesListed(list, true);
        asset.setTransferRules(1, ALL_INVESTOR_TYPES, rule, IDENTITY_CAP);
        assertEq(asset.isCountryListed(country), listReceiver, "listed exactly when drawn");

        assertEq(asset.canReceive(RECEIVER), admitted, "canReceive follows the rule");
        assertEq(asset.canTransfer(ALICE, RECEIVER, 1), admitted, "canTransfer follows the rule");
        assertTrue(asset.canSend(RECEIVER), "senders are not bound by the rule");

        bytes memory refused = abi.encodeWithSelector(IERC7943Fungible.ERC7943CannotReceive.selector, RECEIVER);
        if (!admitted) vm.expectRevert(refused);
        asset.mint(RECEIVER, 1);

        if (!admitted) vm.expectRevert(refused);
        vm.prank(ALICE);
        asset.transfer(RECEIVER, 1);

        SettlementVault.Trade[] memory purchase = _trade(1, ALICE, RECEIVER);
        if (!admitted) vm.expectRevert(abi.encodeWithSelector(SettlementVault.SettlementTradeFailed.selector, 1, refused));
        vault.settleBatch(purchase);

        // Whatever the rule says of its country, the receiver may sell what it holds.
        vault.settleBatch(_trade(2, RECEIVER, ADMITTED));
        vm.prank(RECEIVER);
        asset.transfer(ADMITTED, 1);
        assertEq(vault.balanceOf(address(asset), ADMITTED), 1, "bought in custody");
        assertEq(asset.balanceOf(ADMITTED), 1, "received in the wallet");
    }

    /// The deployment's RIVER: a block-list of [704] refuses a Vietnamese investor as
    /// receiver and admits a Singaporean one.
    function test_blockListOfVietNamAdmitsForeignInvestorsOnly() public {
        uint16[] memory vn = new uint16[](1);
        vn[0] = VIET_NAM;
        asset.setTransferRules(1, ALL_INVESTOR_TYPES, asset.COUNTRY_RULE_BLOCK_LIST(), IDENTITY_CAP);
        assertTrue(asset.isCountryListed(VIET_NAM), "704 stays listed from the fixture's allow-list");
        registry.attest(keccak256("identity:sg"), KYC_LEVEL_2, 702, PROFESSIONAL, uint40(block.timestamp + 365 days), RECEIVER);
        assertFalse(asset.canReceive(ALICE), "704 refused");
        assertTrue(asset.canReceive(RECEIVER), "702 admitted");
        vm.expectRevert(abi.encodeWithSelector(IERC7943Fungible.ERC7943CannotReceive.selector, ALICE));
        asset.mint(ALICE, 1);
        asset.mint(RECEIVER, 1);

        asset.setCountriesListed(vn, false);
        assertTrue(asset.canReceive(ALICE), "unlisted, 704 is admitted again");
    }

    function test_unknownCountryRuleIsRefused() public {
        vm.expectRevert(PermissionedToken.TokenInvalidRules.selector);
        asset.setTransferRules(1, ALL_INVESTOR_TYPES, 3, IDENTITY_CAP);
    }

    function _openToEveryone() internal {
        asset.setTransferRules(1, ALL_INVESTOR_TYPES, asset.COUNTRY_RULE_ANY(), IDENTITY_CAP);
        uint16[] memory vn = new uint16[](1);
        vn[0] = VIET_NAM;
        asset.setCountriesListed(vn, false);
    }

    /// @dev A valid country on no list of the run.
    function _unlisted(uint16 country, uint16 other) internal pure returns (uint16 c) {
        for (c = 1; c == country || c == other || c == (country ^ 1); ++c) {}
    }

    function _trade(uint256 tradeId, address seller, address buyer) internal view returns (SettlementVault.Trade[] memory) {
        return _oneTrade(tradeId, seller, buyer, 1, 10_000, 0, 0, _taxOf(10_000));
    }
}
