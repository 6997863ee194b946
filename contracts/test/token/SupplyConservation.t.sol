// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IERC7943Fungible} from "../../src/interfaces/IERC7943Fungible.sol";
import {IIdentityRegistry} from "../../src/interfaces/IIdentityRegistry.sol";
import {AssetToken} from "../../src/token/AssetToken.sol";
import {CashToken} from "../../src/token/CashToken.sol";
import {PermissionedToken} from "../../src/token/PermissionedToken.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice The invariant fuzzer's only target. It holds every operator role and turns
/// random inputs into *valid* operations on the real contracts: mints, holder transfers
/// (never above the unfrozen amount), forced transfers out of wallets and out of custody,
/// burns, freezes, custody deposits,
/// withdrawals (sometimes replaying an old id), settlements (sometimes with an already
/// settled trade appended) withholding income tax at the rate in force, changes of that
/// rate, and recoveries of a wallet with its custody. Because every
/// operation is valid, the suite runs with `failOnRevert`: a revert here means the contracts
/// refused something they must allow. It also checks, per call, that settlement and replays
/// move exactly what they should, that a sale of frozen units in custody is refused with the
/// exact reason, and counts every holder operation that shrank what a frozen amount covers.
contract SupplyHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant MAX_MINT = 1e24;

    CashToken public immutable cash;
    AssetToken public immutable asset;
    SettlementVault public immutable vault;
    address public immutable feeAccount;
    address public immutable taxAccount;

    /// @dev Every wallet that may hold tokens; the fee and tax accounts are last and never trade.
    address[] public wallets;

    mapping(address token => uint256) public minted;
    mapping(address token => uint256) public burned;

    uint256 public nextTradeId = 1;
    uint256 public nextWithdrawalId = 1;
    SettlementVault.Trade internal _lastTrade;
    address internal _lastWithdrawalWallet;
    address internal _lastWithdrawalToken;
    uint256 internal _lastWithdrawalAmount;

    /// @notice How many calls of each kind did something (asserted by the invariants).
    mapping(bytes4 selector => uint256) public calls;
    /// @notice Income tax withheld by the settlements, and how many of them withheld some.
    uint256 public taxWithheld;
    uint256 public taxedTrades;
    /// @notice Holder operations (transfers, deposits, withdrawals, settlements, pay-outs)
    /// after which a payer held fewer of its frozen units (wallet + custody) than before.
    uint256 public frozenCoverageBreaches;

    error HandlerMismatch(string what, uint256 actual, uint256 expected);
    error HandlerUnexpectedRevert(bytes reason);

    constructor(CashToken cash_, AssetToken asset_, SettlementVault vault_, address[] memory wallets_, address fee, address tax) {
        cash = cash_;
        asset = asset_;
        vault = vault_;
        wallets = wallets_;
        feeAccount = fee;
        taxAccount = tax;
    }

    // ---------------------------------------------------------------- actions

    function mint(uint256 toSeed, bool useCash, uint256 amount) external {
        address to = _wallet(toSeed);
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(to)) return; // cannot receive
        amount = _bound(amount, 0, MAX_MINT);
        if (useCash) cash.mint(to, amount, bytes32(nextWithdrawalId));
        else asset.mint(to, amount);
        minted[address(token)] += amount;
        ++calls[this.mint.selector];
    }

    function transfer(uint256 fromSeed, uint256 toSeed, bool useCash, uint256 amount) external {
        address from = _wallet(fromSeed);
        address to = _wallet(toSeed);
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(from) || token.isAddressFrozen(to)) return;
        amount = _bound(amount, 0, _spendable(token, from));
        uint256 covered = _covered(token, from);
        vm.prank(from);
        token.transfer(to, amount);
        _checkCovered(token, from, covered);
        ++calls[this.transfer.selector];
    }

    function forcedTransfer(uint256 fromSeed, uint256 toSeed, bool useCash, uint256 amount) external {
        address from = _wallet(fromSeed);
        address to = _wallet(toSeed);
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(to)) return;
        amount = _bound(amount, 0, token.balanceOf(from)); // may take frozen tokens
        token.forcedTransfer(from, to, amount);
        ++calls[this.forcedTransfer.selector];
    }

    /// The agent's forced transfer out of `from`'s custody into `to`'s wallet: exactly that
    /// much leaves the book and reaches the wallet, and the freeze shrinks by the frozen part
    /// taken, as forcedTransfer's does.
    function forcedCustodyTransfer(uint256 fromSeed, uint256 toSeed, bool useCash, uint256 amount) external {
        address from = _wallet(fromSeed);
        address to = _wallet(toSeed);
        PermissionedToken token = _token(useCash);
        if (from == to || token.isAddressFrozen(to)) return;
        uint256 book = vault.balanceOf(address(token), from);
        if (book == 0) return;
        amount = _bound(amount, 1, book); // may take frozen tokens
        uint256 frozen = token.getFrozenTokens(from);
        uint256 unfrozen = _unfrozenTotal(token, from);
        uint256 held = token.balanceOf(to);
        token.forcedCustodyTransfer(address(vault), from, to, amount);
        _same("seized: book debited", vault.balanceOf(address(token), from), book - amount);
        _same("seized: receiver's wallet credited", token.balanceOf(to), held + amount);
        uint256 taken = amount > unfrozen ? amount - unfrozen : 0;
        _same("seized: freeze shrinks by the frozen part taken", token.getFrozenTokens(from), frozen - _min(frozen, taken));
        ++calls[this.forcedCustodyTransfer.selector];
    }

    function burn(uint256 fromSeed, bool useCash, uint256 amount) external {
        address from = _wallet(fromSeed);
        if (useCash) {
            if (cash.isAddressFrozen(from)) return; // nor anything of an address-frozen wallet
            amount = _bound(amount, 0, _spendable(cash, from)); // pay-outs never take frozen cash
            uint256 covered = _covered(cash, from);
            cash.burn(from, amount, bytes32(0));
            _checkCovered(cash, from, covered);
        } else {
            amount = _bound(amount, 0, asset.balanceOf(from)); // redemption may
            asset.burn(from, amount);
        }
        burned[address(_token(useCash))] += amount;
        ++calls[this.burn.selector];
    }

    function freeze(uint256 whoSeed, bool useCash, uint256 amount, uint8 toggleAddress) external {
        address who = _wallet(whoSeed);
        PermissionedToken token = _token(useCash);
        token.setFrozenTokens(who, _bound(amount, 0, 2 * _holdings(token, who) + 1));
        // Rarely flip the whole-address freeze, so both kinds of freeze are in play.
        if (toggleAddress < 16) token.setAddressFrozen(who, !token.isAddressFrozen(who));
        ++calls[this.freeze.selector];
    }

    function deposit(uint256 whoSeed, bool useCash, uint256 amount) external {
        address who = _wallet(whoSeed);
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(who)) return;
        uint256 spendable = _spendable(token, who);
        if (spendable == 0) return;
        amount = _bound(amount, 1, spendable);
        uint256 covered = _covered(token, who);
        vm.prank(who);
        token.approve(address(vault), amount);
        vm.prank(who);
        vault.deposit(address(token), amount);
        _checkCovered(token, who, covered);
        ++calls[this.deposit.selector];
    }

    function withdraw(uint256 whoSeed, bool useCash, uint256 amount, bool replayLast) external {
        if (replayLast && _lastWithdrawalWallet != address(0)) {
            // A resubmitted withdrawal id is a no-op, whatever is still in the books.
            address w = _lastWithdrawalWallet;
            address t = _lastWithdrawalToken;
            uint256 book = vault.balanceOf(t, w);
            uint256 held = IERC20(t).balanceOf(w);
            // Even when the book no longer covers it or the wallet is now frozen.
            vault.withdraw(nextWithdrawalId - 1, w, t, _lastWithdrawalAmount);
            _same("replayed withdrawal: book", vault.balanceOf(t, w), book);
            _same("replayed withdrawal: wallet", IERC20(t).balanceOf(w), held);
            ++calls[bytes4(keccak256("withdrawReplay"))];
            return;
        }
        address who = _wallet(whoSeed);
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(who)) return; // cannot receive the pay-out
        uint256 available = vault.balanceOf(address(token), who);
        if (available == 0) return;
        amount = _bound(amount, 1, available);
        uint256 covered = _covered(token, who);
        vault.withdraw(nextWithdrawalId++, who, address(token), amount);
        _checkCovered(token, who, covered);
        (_lastWithdrawalWallet, _lastWithdrawalToken, _lastWithdrawalAmount) = (who, address(token), amount);
        ++calls[this.withdraw.selector];
    }

    /// Settles one fresh trade, optionally in a batch that also resubmits the previous
    /// trade, and checks that exactly the fresh trade's moves happened. Amounts stay within
    /// what the parties hold unfrozen (wallet + custody), fees within the default 1% cap; the
    /// seller's tax is floor(cash * rate / 10,000) at the rate in force.
    function settle(
        uint256 sellerSeed,
        uint256 buyerSeed,
        uint256 assetAmount,
        uint256 cashAmount,
        uint256 sellerFee,
        uint256 buyerFee,
        bool replayLast
    ) external {
        (address seller, address buyer) = _parties(sellerSeed, buyerSeed);
        if (
            asset.isAddressFrozen(seller) || asset.isAddressFrozen(buyer) || cash.isAddressFrozen(seller)
                || cash.isAddressFrozen(buyer)
        ) return;
        uint256 maxAsset = _min(vault.balanceOf(address(asset), seller), _unfrozenTotal(asset, seller));
        uint256 maxCash = _min(vault.balanceOf(address(cash), buyer), _unfrozenTotal(cash, buyer));
        if (maxAsset == 0 || maxCash == 0) return;

        SettlementVault.Trade memory t;
        t.tradeId = nextTradeId++;
        t.asset = address(asset);
        t.seller = seller;
        t.buyer = buyer;
        t.assetAmount = _bound(assetAmount, 1, maxAsset);
        t.cashAmount = _bound(cashAmount, 1, maxCash);
        uint256 feeCap = (t.cashAmount * 100 + 9_999) / 10_000;
        t.buyerFee = _bound(buyerFee, 0, _min(feeCap, maxCash - t.cashAmount));
        t.sellerFee = _bound(sellerFee, 0, feeCap);
        t.sellerTax = _taxOf(t.cashAmount);

        bool replay = replayLast && _lastTrade.tradeId != 0;
        SettlementVault.Trade[] memory batch = new SettlementVault.Trade[](replay ? 2 : 1);
        batch[0] = t;
        if (replay) batch[1] = _lastTrade;

        uint256[8] memory before = _partyBooks(seller, buyer);
        uint256 sellerCovered = _covered(asset, seller);
        uint256 buyerCovered = _covered(cash, buyer);
        vault.settleBatch(batch);
        uint256[8] memory afterBooks = _partyBooks(seller, buyer);

        _same("seller asset book", afterBooks[0], before[0] - t.assetAmount);
        _same("buyer asset book", afterBooks[1], before[1] + t.assetAmount);
        _same("seller cash book", afterBooks[2], before[2] + t.cashAmount - t.sellerFee - t.sellerTax);
        _same("buyer cash book", afterBooks[3], before[3] - t.cashAmount - t.buyerFee);
        _same("fee cash book", afterBooks[4], before[4] + t.sellerFee + t.buyerFee);
        _same("fee asset book", afterBooks[5], before[5]);
        _same("tax cash book", afterBooks[6], before[6] + t.sellerTax);
        _same("tax asset book", afterBooks[7], before[7]);
        _checkCovered(asset, seller, sellerCovered);
        _checkCovered(cash, buyer, buyerCovered);
        _lastTrade = t;
        taxWithheld += t.sellerTax;
        if (t.sellerTax != 0) ++taxedTrades;
        ++calls[this.settle.selector];
    }

    /// Governance changes the income tax rate (anywhere from 0 to the vault's maximum); the
    /// settlements that follow withhold at the new rate.
    function setTaxRate(uint256 rateBps) external {
        uint16 rate = uint16(_bound(rateBps, 0, vault.MAX_TAX_RATE_BPS()));
        vault.setTaxPolicy(taxAccount, rate);
        _same("tax rate in force", vault.taxPolicy().rateBps, rate);
        ++calls[this.setTaxRate.selector];
    }

    /// Freezes part of a seller's holdings (an agent action), then tries to sell more of its
    /// custody than is left unfrozen: the vault must refuse the trade by its id with the
    /// asset's ERC7943InsufficientUnfrozenBalance, moving nothing.
    function settleFrozen(uint256 sellerSeed, uint256 buyerSeed, uint256 unfrozenSeed, uint256 excess) external {
        (address seller, address buyer) = _parties(sellerSeed, buyerSeed);
        if (asset.isAddressFrozen(seller) || asset.isAddressFrozen(buyer) || cash.isAddressFrozen(buyer)) return;
        uint256 book = vault.balanceOf(address(asset), seller);
        if (book == 0 || vault.balanceOf(address(cash), buyer) == 0) return;
        uint256 free = _bound(unfrozenSeed, 0, book - 1);
        asset.setFrozenTokens(seller, _holdings(asset, seller) - free);

        SettlementVault.Trade memory t;
        t.tradeId = nextTradeId; // not consumed: the batch must revert
        t.asset = address(asset);
        t.seller = seller;
        t.buyer = buyer;
        t.assetAmount = _bound(excess, free + 1, book);
        t.cashAmount = 1;
        t.sellerTax = _taxOf(1);
        SettlementVault.Trade[] memory batch = new SettlementVault.Trade[](1);
        batch[0] = t;
        bytes memory expected = abi.encodeWithSelector(
            SettlementVault.SettlementTradeFailed.selector,
            t.tradeId,
            abi.encodeWithSelector(
                IERC7943Fungible.ERC7943InsufficientUnfrozenBalance.selector, seller, t.assetAmount, free
            )
        );
        uint256[8] memory before = _partyBooks(seller, buyer);
        try vault.settleBatch(batch) {
            revert HandlerMismatch("frozen custody was sold", t.assetAmount, free);
        } catch (bytes memory reason) {
            if (keccak256(reason) != keccak256(expected)) revert HandlerUnexpectedRevert(reason);
        }
        uint256[8] memory afterBooks = _partyBooks(seller, buyer);
        for (uint256 i; i < 8; ++i) {
            _same("a refused trade moves no book", afterBooks[i], before[i]);
        }
        ++calls[this.settleFrozen.selector];
    }

    /// The agent recovers DAVE's or DAVE2's wallet *and custody* (both of one identity) into
    /// the other wallet.
    function recover(bool useCash, bool fromDave2) external {
        uint256 n = wallets.length;
        // DAVE and DAVE2 are the two wallets before the fee and tax accounts (SenFixture order).
        address lost = wallets[fromDave2 ? n - 3 : n - 4];
        address kept = wallets[fromDave2 ? n - 4 : n - 3];
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(kept)) return; // a frozen address cannot receive
        uint256 total = _holdings(token, lost) + _holdings(token, kept);
        token.recoverBalance(lost, kept);
        _same("recovered: nothing left behind", _holdings(token, lost), 0);
        _same("recovered: holdings moved whole", _holdings(token, kept), total);
        ++calls[this.recover.selector];
    }

    // ---------------------------------------------------------------- helpers

    function walletCount() external view returns (uint256) {
        return wallets.length;
    }

    function _partyBooks(address seller, address buyer) internal view returns (uint256[8] memory b) {
        b[0] = vault.balanceOf(address(asset), seller);
        b[1] = vault.balanceOf(address(asset), buyer);
        b[2] = vault.balanceOf(address(cash), seller);
        b[3] = vault.balanceOf(address(cash), buyer);
        b[4] = vault.balanceOf(address(cash), feeAccount);
        b[5] = vault.balanceOf(address(asset), feeAccount);
        b[6] = vault.balanceOf(address(cash), taxAccount);
        b[7] = vault.balanceOf(address(asset), taxAccount);
    }

    /// @dev floor(cashAmount * rate / 10,000) at the vault's rate in force.
    function _taxOf(uint256 cashAmount) internal view returns (uint256) {
        return Math.mulDiv(cashAmount, vault.taxPolicy().rateBps, 10_000);
    }

    function _wallet(uint256 seed) internal view returns (address) {
        return wallets[seed % wallets.length];
    }

    function _token(bool useCash) internal view returns (PermissionedToken) {
        return useCash ? PermissionedToken(address(cash)) : PermissionedToken(address(asset));
    }

    function _parties(uint256 sellerSeed, uint256 buyerSeed) internal view returns (address seller, address buyer) {
        uint256 traders = wallets.length - 2; // not the fee or tax account
        uint256 s = sellerSeed % traders;
        uint256 b = (s + 1 + buyerSeed % (traders - 1)) % traders;
        // nor two wallets of one identity (DAVE, DAVE2): the vault refuses that as a wash trade
        IIdentityRegistry registry = asset.identityRegistry();
        while (registry.lastIdentityOf(wallets[b]) == registry.lastIdentityOf(wallets[s])) b = (b + 1) % traders;
        (seller, buyer) = (wallets[s], wallets[b]);
    }

    /// @dev What `who` holds of `token`: its wallet plus its custody in the vault.
    function _holdings(PermissionedToken token, address who) internal view returns (uint256) {
        return token.balanceOf(who) + vault.balanceOf(address(token), who);
    }

    /// @dev The holdings above the frozen amount (which covers wallet and custody together).
    function _unfrozenTotal(PermissionedToken token, address who) internal view returns (uint256) {
        uint256 held = _holdings(token, who);
        uint256 frozen = token.getFrozenTokens(who);
        return frozen >= held ? 0 : held - frozen;
    }

    /// @dev What the holder may move out of its wallet.
    function _spendable(PermissionedToken token, address who) internal view returns (uint256) {
        return _min(token.balanceOf(who), _unfrozenTotal(token, who));
    }

    /// @dev The frozen units `who` still holds: min(frozen amount, wallet + custody).
    function _covered(PermissionedToken token, address who) internal view returns (uint256) {
        return _min(token.getFrozenTokens(who), _holdings(token, who));
    }

    function _checkCovered(PermissionedToken token, address who, uint256 before) internal {
        if (_covered(token, who) < before) ++frozenCoverageBreaches;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (x >= min && x <= max) return x;
        return min + x % (max - min + 1);
    }

    function _same(string memory what, uint256 actual, uint256 expected) internal pure {
        if (actual != expected) revert HandlerMismatch(what, actual, expected);
    }
}

/// @notice Supply conservation under random sequences of every balance-changing operation:
/// - each token's totalSupply equals the sum of all balances (wallets and the vault) and
///   equals everything minted minus everything burned;
/// - the vault holds exactly the sum of its books (SettlementVault.balanceOf) per token,
///   the fee and tax accounts' included, whatever sequence of deposits, settlements (with
///   tax withheld at changing rates), withdrawals and recoveries ran;
/// - no holder operation (transfer, deposit, withdrawal, settlement, pay-out) shrinks what a
///   frozen amount covers, counting the wallet and its custody together;
/// - the asset's per-identity holdings equal what the identity's wallets hold directly
///   plus in custody (DAVE and DAVE2 share an identity).
/// Checked after every call of an invariant run.
contract SupplyConservationTest is SenFixture {
    SupplyHandler internal handler;

    function setUp() public {
        _deploySen();
        handler = new SupplyHandler(cash, asset, vault, _wallets, FEE, TAX);
        _grantOperatorRoles(address(handler));
        vault.grantRole(vault.DEFAULT_ADMIN_ROLE(), address(handler)); // sets the tax rate
        targetContract(address(handler));
    }

    /// The handler's actions are not vacuous: driven by hand, each one acts (none returns
    /// early), a sale of frozen custody is refused, and the checks above hold throughout.
    function test_handlerActionsAllAct() public {
        // wallets: ALICE 0, BOB 1, CAROL 2, DAVE 3, DAVE2 4, FEE 5, TAX 6
        handler.mint(0, false, 1_000);
        handler.mint(1, true, 1_000_000);
        handler.mint(3, false, 500);
        handler.mint(3, true, 500);
        handler.deposit(0, false, 1_000);
        handler.deposit(1, true, 1_000_000);
        handler.deposit(3, false, 400);
        handler.deposit(3, true, 400);
        handler.transfer(3, 4, false, 50);
        handler.settleFrozen(0, 0, 100, 500); // ALICE (all 1,000 in custody) -> BOB, 100 unfrozen: refused
        handler.freeze(0, false, 900, 255); // ALICE: 900 frozen
        handler.settle(0, 0, 60, 5_000, 50, 50, false);
        handler.settle(0, 0, 40, 5_000, 50, 50, true); // and the previous trade resubmitted
        handler.setTaxRate(1_000); // 10%: the next sale withholds 500 of 5,000
        handler.settle(1, 3, 1, 5_000, 0, 0, false); // BOB sells to ALICE
        handler.withdraw(6, true, 1, false); // the tax account pays some out
        handler.withdraw(1, false, 10, false);
        handler.withdraw(0, false, 0, true); // replay
        handler.forcedTransfer(3, 2, false, 10);
        handler.forcedCustodyTransfer(0, 2, false, 100); // of ALICE's custody (901, 900 frozen) to CAROL
        handler.burn(3, true, 50);
        handler.recover(false, false); // DAVE's asset, wallet and custody -> DAVE2
        handler.recover(true, true); // DAVE2's cash -> DAVE

        bytes4[14] memory acted = [
            handler.forcedCustodyTransfer.selector,
            handler.mint.selector,
            handler.deposit.selector,
            handler.transfer.selector,
            handler.freeze.selector,
            handler.settleFrozen.selector,
            handler.settle.selector,
            handler.withdraw.selector,
            bytes4(keccak256("withdrawReplay")),
            handler.forcedTransfer.selector,
            handler.burn.selector,
            handler.recover.selector,
            handler.recover.selector,
            handler.setTaxRate.selector
        ];
        for (uint256 i; i < acted.length; ++i) {
            assertGt(handler.calls(acted[i]), 0, "every handler action acted");
        }
        assertEq(handler.calls(handler.settle.selector), 3, "every settlement");
        assertEq(handler.taxWithheld(), 5 + 5 + 500, "0.1% of two sales, then 10% of one");
        assertEq(vault.balanceOf(address(cash), TAX), 510 - 1, "the tax account's book, less its pay-out");
        assertEq(vault.balanceOf(address(asset), DAVE), 0, "DAVE's custody was recovered");
        assertEq(asset.balanceOf(DAVE2), 450 + 50 - 10, "DAVE2 holds DAVE's wallet and custody");
        assertEq(asset.getFrozenTokens(ALICE), 900 - 99, "1 of the 100 seized was unfrozen");
        assertEq(asset.balanceOf(CAROL), 10 + 100, "CAROL holds the forced transfers");
        invariant_vaultHoldsExactlyItsBooks();
        invariant_holdersNeverMoveFrozenUnits();
        invariant_identityHoldingsFollowWallets();
        invariant_totalSupplyIsSumOfBalances();
    }

    /**
     * hardhat-config: invariant.runs = 64
     * hardhat-config: invariant.depth = 64
     * hardhat-config: invariant.failOnRevert = true
     */
    function invariant_totalSupplyIsSumOfBalances() public view {
        assertEq(asset.totalSupply(), _sumBalances(IERC20(address(asset))), "asset: totalSupply == sum of balances");
        assertEq(cash.totalSupply(), _sumBalances(IERC20(address(cash))), "cash: totalSupply == sum of balances");
        assertEq(asset.totalSupply(), handler.minted(address(asset)) - handler.burned(address(asset)), "asset: minted - burned");
        assertEq(cash.totalSupply(), handler.minted(address(cash)) - handler.burned(address(cash)), "cash: minted - burned");
    }

    /**
     * hardhat-config: invariant.runs = 64
     * hardhat-config: invariant.depth = 64
     * hardhat-config: invariant.failOnRevert = true
     */
    function invariant_vaultHoldsExactlyItsBooks() public view {
        assertEq(asset.balanceOf(address(vault)), _sumBooks(address(asset)), "asset: vault balance == sum of books");
        assertEq(cash.balanceOf(address(vault)), _sumBooks(address(cash)), "cash: vault balance == sum of books");
    }

    /**
     * hardhat-config: invariant.runs = 64
     * hardhat-config: invariant.depth = 64
     * hardhat-config: invariant.failOnRevert = true
     */
    function invariant_holdersNeverMoveFrozenUnits() public view {
        assertEq(handler.frozenCoverageBreaches(), 0, "a holder operation took frozen units (wallet + custody)");
    }

    /**
     * hardhat-config: invariant.runs = 64
     * hardhat-config: invariant.depth = 64
     * hardhat-config: invariant.failOnRevert = true
     */
    function invariant_identityHoldingsFollowWallets() public view {
        uint256 total;
        for (uint256 i; i < _wallets.length; ++i) {
            bytes32 id = _walletIdentity[i];
            uint256 held;
            for (uint256 j; j < _wallets.length; ++j) {
                if (_walletIdentity[j] != id) continue;
                held += asset.balanceOf(_wallets[j]) + vault.balanceOf(address(asset), _wallets[j]);
            }
            assertEq(asset.identityBalance(id), held, "identity balance == wallets + custody");
            if (i == 0 || _walletIdentity[i - 1] != id) total += held; // DAVE2 follows DAVE
        }
        assertEq(total, asset.totalSupply(), "identity balances sum to the supply");
    }
}
