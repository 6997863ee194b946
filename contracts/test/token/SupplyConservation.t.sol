// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AssetToken} from "../../src/token/AssetToken.sol";
import {CashToken} from "../../src/token/CashToken.sol";
import {PermissionedToken} from "../../src/token/PermissionedToken.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice The invariant fuzzer's only target. It holds every operator role and turns
/// random inputs into *valid* operations on the real contracts: mints, holder transfers
/// (never above the unfrozen balance), forced transfers, burns, freezes, custody deposits,
/// withdrawals (sometimes replaying an old id) and settlements (sometimes with an already
/// settled trade appended). Because every operation is valid, the suite runs with
/// `failOnRevert`: a revert here means the contracts refused something they must allow.
/// It also checks, per call, that settlement and replays move exactly what they should.
contract SupplyHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant MAX_MINT = 1e24;

    CashToken public immutable cash;
    AssetToken public immutable asset;
    SettlementVault public immutable vault;
    address public immutable feeAccount;

    /// @dev Every wallet that may hold tokens; the fee account is last and never trades.
    address[] public wallets;

    mapping(address token => uint256) public minted;
    mapping(address token => uint256) public burned;

    uint256 public nextTradeId = 1;
    uint256 public nextWithdrawalId = 1;
    SettlementVault.Trade internal _lastTrade;
    address internal _lastWithdrawalWallet;
    address internal _lastWithdrawalToken;
    uint256 internal _lastWithdrawalAmount;

    /// @notice How many calls of each kind did something (for eyeballing coverage).
    mapping(bytes4 selector => uint256) public calls;

    error HandlerMismatch(string what, uint256 actual, uint256 expected);

    constructor(CashToken cash_, AssetToken asset_, SettlementVault vault_, address[] memory wallets_, address fee) {
        cash = cash_;
        asset = asset_;
        vault = vault_;
        wallets = wallets_;
        feeAccount = fee;
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
        amount = _bound(amount, 0, _unfrozen(token, from));
        vm.prank(from);
        token.transfer(to, amount);
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

    function burn(uint256 fromSeed, bool useCash, uint256 amount) external {
        address from = _wallet(fromSeed);
        if (useCash) {
            amount = _bound(amount, 0, _unfrozen(cash, from)); // pay-outs never take frozen cash
            cash.burn(from, amount, bytes32(0));
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
        token.setFrozenTokens(who, _bound(amount, 0, 2 * token.balanceOf(who) + 1));
        // Rarely flip the whole-address freeze, so both kinds of freeze are in play.
        if (toggleAddress < 16) token.setAddressFrozen(who, !token.isAddressFrozen(who));
        ++calls[this.freeze.selector];
    }

    function deposit(uint256 whoSeed, bool useCash, uint256 amount) external {
        address who = _wallet(whoSeed);
        PermissionedToken token = _token(useCash);
        if (token.isAddressFrozen(who)) return;
        uint256 unfrozen = _unfrozen(token, who);
        if (unfrozen == 0) return;
        amount = _bound(amount, 1, unfrozen);
        vm.prank(who);
        token.approve(address(vault), amount);
        vm.prank(who);
        vault.deposit(address(token), amount);
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
        vault.withdraw(nextWithdrawalId++, who, address(token), amount);
        (_lastWithdrawalWallet, _lastWithdrawalToken, _lastWithdrawalAmount) = (who, address(token), amount);
        ++calls[this.withdraw.selector];
    }

    /// Settles one fresh trade, optionally in a batch that also resubmits the previous
    /// trade, and checks that exactly the fresh trade's moves happened.
    function settle(
        uint256 sellerSeed,
        uint256 buyerSeed,
        uint256 assetAmount,
        uint256 cashAmount,
        uint256 sellerFee,
        uint256 buyerFee,
        bool replayLast
    ) external {
        uint256 traders = wallets.length - 1; // not the fee account
        address seller = wallets[sellerSeed % traders];
        address buyer = wallets[(sellerSeed % traders + 1 + buyerSeed % (traders - 1)) % traders];
        if (
            asset.isAddressFrozen(seller) || asset.isAddressFrozen(buyer) || cash.isAddressFrozen(seller)
                || cash.isAddressFrozen(buyer)
        ) return;

        // Within what each party holds unfrozen: a frozen amount covers wallet and custody.
        uint256 sellerAsset = _min(vault.balanceOf(address(asset), seller), _unfrozenTotal(asset, seller));
        uint256 buyerCash = _min(vault.balanceOf(address(cash), buyer), _unfrozenTotal(cash, buyer));
        if (sellerAsset == 0 || buyerCash == 0) return; // no zero-price trades

        SettlementVault.Trade memory t;
        t.tradeId = nextTradeId++;
        t.asset = address(asset);
        t.seller = seller;
        t.buyer = buyer;
        t.assetAmount = _bound(assetAmount, 1, sellerAsset);
        t.cashAmount = _bound(cashAmount, 1, buyerCash);
        uint256 feeCap = (t.cashAmount * 100 + 9_999) / 10_000; // the vault's default 1% cap
        t.buyerFee = _bound(buyerFee, 0, feeCap < buyerCash - t.cashAmount ? feeCap : buyerCash - t.cashAmount);
        t.sellerFee = _bound(sellerFee, 0, feeCap);

        bool replay = replayLast && _lastTrade.tradeId != 0;
        SettlementVault.Trade[] memory batch = new SettlementVault.Trade[](replay ? 2 : 1);
        batch[0] = t;
        if (replay) batch[1] = _lastTrade;

        uint256[6] memory before = _partyBooks(seller, buyer);
        vault.settleBatch(batch);
        uint256[6] memory afterBooks = _partyBooks(seller, buyer);

        _same("seller asset book", afterBooks[0], before[0] - t.assetAmount);
        _same("buyer asset book", afterBooks[1], before[1] + t.assetAmount);
        _same("seller cash book", afterBooks[2], before[2] + t.cashAmount - t.sellerFee);
        _same("buyer cash book", afterBooks[3], before[3] - t.cashAmount - t.buyerFee);
        _same("fee cash book", afterBooks[4], before[4] + t.sellerFee + t.buyerFee);
        _same("fee asset book", afterBooks[5], before[5]);
        _lastTrade = t;
        ++calls[this.settle.selector];
    }

    // ---------------------------------------------------------------- helpers

    function walletCount() external view returns (uint256) {
        return wallets.length;
    }

    function _partyBooks(address seller, address buyer) internal view returns (uint256[6] memory b) {
        b[0] = vault.balanceOf(address(asset), seller);
        b[1] = vault.balanceOf(address(asset), buyer);
        b[2] = vault.balanceOf(address(cash), seller);
        b[3] = vault.balanceOf(address(cash), buyer);
        b[4] = vault.balanceOf(address(cash), feeAccount);
        b[5] = vault.balanceOf(address(asset), feeAccount);
    }

    function _wallet(uint256 seed) internal view returns (address) {
        return wallets[seed % wallets.length];
    }

    function _token(bool useCash) internal view returns (PermissionedToken) {
        return useCash ? PermissionedToken(address(cash)) : PermissionedToken(address(asset));
    }

    function _unfrozen(PermissionedToken token, address who) internal view returns (uint256) {
        uint256 balance = token.balanceOf(who);
        uint256 frozen = token.getFrozenTokens(who);
        return frozen >= balance ? 0 : balance - frozen;
    }

    /// @dev The part of `who`'s holdings (wallet + custody) above its frozen amount.
    function _unfrozenTotal(PermissionedToken token, address who) internal view returns (uint256) {
        uint256 held = token.balanceOf(who) + vault.balanceOf(address(token), who);
        uint256 frozen = token.getFrozenTokens(who);
        return frozen >= held ? 0 : held - frozen;
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
/// - the vault holds exactly the sum of its books (SettlementVault.balanceOf) per token;
/// - the asset's per-identity holdings equal what the identity's wallets hold directly
///   plus in custody (DAVE and DAVE2 share an identity).
/// Checked after every call of an invariant run.
contract SupplyConservationTest is SenFixture {
    SupplyHandler internal handler;

    function setUp() public {
        _deploySen();
        handler = new SupplyHandler(cash, asset, vault, _wallets, FEE);
        _grantOperatorRoles(address(handler));
        targetContract(address(handler));
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
