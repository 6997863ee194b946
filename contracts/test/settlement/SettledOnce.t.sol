// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {SettlementVault} from "../../src/settlement/SettlementVault.sol";
import {SenFixture} from "../fixtures/SenFixture.t.sol";

/// @notice Settlement moves book balances at most once per trade id, and only
/// redistributes them: per token, the sum of all books is unchanged by any batch (fees go
/// to the fee account, the seller's withheld income tax to the tax account), and the vault's
/// token holdings do not move at all.
///
/// Each test builds a random batch from a seed and compares the vault with a reference
/// model computed here (first occurrence of an id settles, later ones are skipped).
contract SettledOnceTest is SenFixture {
    uint256 internal constant START_ASSET = 1_000_000;
    uint256 internal constant START_CASH = 1e15;
    uint256 internal constant MAX_TRADE_ASSET = 10_000;
    uint256 internal constant MAX_TRADE_CASH = 1e10;
    uint256 internal constant MAX_TRADES = 12;
    uint256 internal constant DEFAULT_FEE_CAP_BPS = 100;

    address[] internal _traders;

    function setUp() public {
        _deploySen();
        _traders.push(ALICE);
        _traders.push(BOB);
        _traders.push(CAROL);
        _traders.push(DAVE);
        _traders.push(DAVE2);
        for (uint256 i; i < _traders.length; ++i) {
            _fundInVault(_traders[i], START_ASSET, START_CASH);
        }
    }

    // ---------------------------------------------------------------- batch generation

    /// @dev A pseudo-random, always-affordable trade at a non-zero price, with fees up to the
    /// default cap (1% of the cash amount, rounded up) and the tax at the default rate. Ids are drawn from a small range
    /// around `idBase` (odd or even), so batches straddle the vault's two-ids-per-slot records.
    function _trade(uint256 seed, uint256 i, uint256 idBase) internal view returns (SettlementVault.Trade memory t) {
        uint256 r = uint256(keccak256(abi.encode(seed, i)));
        uint256 n = _traders.length;
        uint256 s = r % n;
        uint256 b = (s + 1 + (r >> 8) % (n - 1)) % n; // never the seller
        // nor the seller's other wallet (DAVE, DAVE2): the vault refuses a trade within one identity
        while (registry.lastIdentityOf(_traders[b]) == registry.lastIdentityOf(_traders[s])) b = (b + 1) % n;
        t.tradeId = idBase + i;
        t.asset = address(asset);
        t.seller = _traders[s];
        t.buyer = _traders[b];
        t.assetAmount = 1 + (r >> 16) % MAX_TRADE_ASSET;
        t.cashAmount = 1 + (r >> 48) % MAX_TRADE_CASH;
        uint256 feeCap = (t.cashAmount * DEFAULT_FEE_CAP_BPS + 9_999) / 10_000;
        t.sellerFee = (r >> 96) % (feeCap + 1);
        t.buyerFee = (r >> 144) % (feeCap + 1);
        t.sellerTax = _taxOf(t.cashAmount);
    }

    function _batch(uint256 seed, uint256 n, uint256 idBase) internal view returns (SettlementVault.Trade[] memory trades) {
        trades = new SettlementVault.Trade[](n);
        for (uint256 i; i < n; ++i) {
            trades[i] = _trade(seed, i, idBase);
        }
    }

    // ---------------------------------------------------------------- reference model

    /// @dev Book balances of every known wallet: [asset books..., cash books...].
    function _books() internal view returns (uint256[] memory b) {
        uint256 w = _wallets.length;
        b = new uint256[](2 * w);
        for (uint256 i; i < w; ++i) {
            b[i] = vault.balanceOf(address(asset), _wallets[i]);
            b[w + i] = vault.balanceOf(address(cash), _wallets[i]);
        }
    }

    function _walletIndex(address wallet) internal view returns (uint256) {
        for (uint256 i; i < _wallets.length; ++i) {
            if (_wallets[i] == wallet) return i;
        }
        revert("unknown wallet");
    }

    /// @dev Applies `trades` to `books` the way the vault should: skip ids already settled
    /// (on chain before the call, or earlier in this batch), move everything else once.
    function _applyModel(uint256[] memory books, SettlementVault.Trade[] memory trades)
        internal
        view
        returns (uint256 settledCount, uint256 feeTotal, uint256 taxTotal)
    {
        uint256 w = _wallets.length;
        for (uint256 i; i < trades.length; ++i) {
            SettlementVault.Trade memory t = trades[i];
            if (vault.isSettled(t.tradeId) || _seenEarlier(trades, i)) continue;
            uint256 s = _walletIndex(t.seller);
            uint256 b = _walletIndex(t.buyer);
            books[s] -= t.assetAmount;
            books[b] += t.assetAmount;
            books[w + b] -= t.cashAmount + t.buyerFee;
            books[w + s] += t.cashAmount - t.sellerFee - t.sellerTax;
            books[w + _walletIndex(FEE)] += t.sellerFee + t.buyerFee;
            books[w + _walletIndex(TAX)] += t.sellerTax;
            feeTotal += t.sellerFee + t.buyerFee;
            taxTotal += t.sellerTax;
            ++settledCount;
        }
    }

    function _seenEarlier(SettlementVault.Trade[] memory trades, uint256 i) internal pure returns (bool) {
        for (uint256 j; j < i; ++j) {
            if (trades[j].tradeId == trades[i].tradeId) return true;
        }
        return false;
    }

    function _assertBooks(uint256[] memory expected, string memory when) internal view {
        uint256[] memory actual = _books();
        for (uint256 i; i < expected.length; ++i) {
            assertEq(actual[i], expected[i], string.concat(when, ": book #", vm.toString(i)));
        }
    }

    function _sum(uint256[] memory books, uint256 from, uint256 to) internal pure returns (uint256 total) {
        for (uint256 i = from; i < to; ++i) {
            total += books[i];
        }
    }

    /// @dev Settles `trades` while recording logs; returns (TradeSettled, TradeAlreadySettled) counts.
    function _settleCounting(SettlementVault.Trade[] memory trades) internal returns (uint256 settled, uint256 skipped) {
        vm.recordLogs();
        vault.settleBatch(trades);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(vault)) continue;
            if (logs[i].topics[0] == SettlementVault.TradeSettled.selector) ++settled;
            if (logs[i].topics[0] == SettlementVault.TradeAlreadySettled.selector) ++skipped;
        }
    }

    // ---------------------------------------------------------------- tests

    /// Settling a random batch twice moves balances once: the second call only skips.
    function testFuzz_settlingABatchTwiceMovesOnce(uint256 seed, uint256 n, uint256 idBase) public {
        n = bound(n, 1, MAX_TRADES);
        idBase = bound(idBase, 0, 1_000);
        SettlementVault.Trade[] memory trades = _batch(seed, n, idBase);
        uint256[] memory expected = _books();
        (uint256 modelSettled,,) = _applyModel(expected, trades);
        assertEq(modelSettled, n, "fresh ids all settle");

        (uint256 settled, uint256 skipped) = _settleCounting(trades);
        assertEq(settled, n, "first call: TradeSettled events");
        assertEq(skipped, 0, "first call: nothing skipped");
        _assertBooks(expected, "after first settlement");
        for (uint256 i; i < n; ++i) {
            assertTrue(vault.isSettled(trades[i].tradeId), "id marked settled");
        }

        (settled, skipped) = _settleCounting(trades);
        assertEq(settled, 0, "second call: no TradeSettled");
        assertEq(skipped, n, "second call: every id skipped");
        _assertBooks(expected, "after resubmission");
    }

    /// A trade id repeated inside one batch with the same content settles only its first occurrence.
    function testFuzz_duplicateIdInsideBatchSettlesOnce(uint256 seed, uint256 n, uint256 first, uint256 copies)
        public
    {
        n = bound(n, 2, MAX_TRADES);
        first = bound(first, 0, n - 2);
        copies = bound(copies, 1, n - 1 - first);
        SettlementVault.Trade[] memory trades = _batch(seed, n, 7);
        for (uint256 k = 1; k <= copies; ++k) {
            trades[first + k] = trades[first];
        }
        uint256[] memory expected = _books();
        (uint256 modelSettled,,) = _applyModel(expected, trades);
        assertEq(modelSettled, n - copies, "model settles each id once");

        (uint256 settled, uint256 skipped) = _settleCounting(trades);
        assertEq(settled, n - copies, "TradeSettled once per id");
        assertEq(skipped, copies, "TradeAlreadySettled for each copy");
        _assertBooks(expected, "after a batch with duplicate ids");
    }

    /// A trade id reused with different content, in the same batch or a later one, reverts the
    /// batch naming that id: a settled id is never silently taken for another trade.
    function testFuzz_reusedIdWithOtherContentReverts(uint256 seed, uint256 n, uint256 reused, uint256 field, bool sameBatch)
        public
    {
        n = bound(n, 2, MAX_TRADES);
        reused = bound(reused, 0, n - 2);
        SettlementVault.Trade[] memory trades = _batch(seed, n, 4_000);
        SettlementVault.Trade memory original = trades[reused];
        SettlementVault.Trade memory changed = _changed(original, field);
        trades[n - 1] = changed;
        bytes memory expected = abi.encodeWithSelector(
            SettlementVault.SettlementTradeFailed.selector,
            original.tradeId,
            abi.encodeWithSelector(
                SettlementVault.SettlementIdReused.selector, original.tradeId, _fingerprint(original), _fingerprint(changed)
            )
        );
        uint256[] memory before = _books();
        if (!sameBatch) {
            SettlementVault.Trade[] memory head = new SettlementVault.Trade[](n - 1);
            for (uint256 i; i < n - 1; ++i) {
                head[i] = trades[i];
            }
            vault.settleBatch(head);
            before = _books();
        }
        vm.expectRevert(expected);
        vault.settleBatch(trades);
        _assertBooks(before, "a reverted batch moves nothing");
        assertEq(vault.isSettled(original.tradeId), !sameBatch, "the id is settled only by the earlier batch");
    }

    /// @dev A copy of `t` (a new struct: memory assignment would alias it) with one field changed.
    function _changed(SettlementVault.Trade memory t, uint256 field) internal pure returns (SettlementVault.Trade memory c) {
        c = SettlementVault.Trade(
            t.tradeId, t.asset, t.seller, t.buyer, t.assetAmount, t.cashAmount, t.sellerFee, t.buyerFee, t.sellerTax
        );
        // The last field is the ninth word of the struct: the fingerprint must cover it.
        field = field % 6;
        if (field == 0) c.assetAmount = t.assetAmount - 1 == 0 ? 2 : t.assetAmount - 1;
        else if (field == 1) c.cashAmount = t.cashAmount + 1;
        else if (field == 2) c.buyerFee = t.buyerFee == 0 ? 1 : 0;
        else if (field == 3) c.seller = _other(t.seller, t.buyer);
        else if (field == 4) c.buyer = _other(t.seller, t.buyer);
        else c.sellerTax = t.sellerTax + 1;
    }

    /// @dev A trader that is neither `a` nor `b`.
    function _other(address a, address b) internal pure returns (address) {
        if (a != ALICE && b != ALICE) return ALICE;
        if (a != BOB && b != BOB) return BOB;
        return CAROL;
    }

    /// @dev The vault's record of a trade's content: the top 128 bits of its keccak, lowest bit set.
    function _fingerprint(SettlementVault.Trade memory t) internal pure returns (bytes16) {
        return bytes16(keccak256(abi.encode(t))) | bytes16(uint128(1));
    }

    /// Resubmitting a prefix of a batch, then the whole batch (a retry after a crash),
    /// ends exactly where settling the whole batch once would.
    function testFuzz_retryAfterPartialBatchEqualsOneSettlement(uint256 seed, uint256 n, uint256 k) public {
        n = bound(n, 1, MAX_TRADES);
        k = bound(k, 0, n);
        SettlementVault.Trade[] memory trades = _batch(seed, n, 300);
        uint256[] memory expected = _books();
        _applyModel(expected, trades);

        SettlementVault.Trade[] memory prefix = new SettlementVault.Trade[](k);
        for (uint256 i; i < k; ++i) {
            prefix[i] = trades[i];
        }
        vault.settleBatch(prefix);
        (uint256 settled, uint256 skipped) = _settleCounting(trades);
        assertEq(settled, n - k, "only the unsettled tail moves");
        assertEq(skipped, k, "the settled prefix is skipped");
        _assertBooks(expected, "after retry");
    }

    /// Per token, settlement only redistributes books: totals are conserved, the fee
    /// account gains exactly the fees, the tax account exactly the tax withheld, and no token
    /// leaves or enters the vault.
    function testFuzz_settlementConservesBookTotals(uint256 seed, uint256 n) public {
        n = bound(n, 1, MAX_TRADES);
        SettlementVault.Trade[] memory trades = _batch(seed, n, 50_000);
        uint256 w = _wallets.length;
        uint256[] memory before = _books();
        uint256 vaultAsset = asset.balanceOf(address(vault));
        uint256 vaultCash = cash.balanceOf(address(vault));
        uint256 feeBefore = vault.balanceOf(address(cash), FEE);
        uint256 taxBefore = vault.balanceOf(address(cash), TAX);
        uint256 fees;
        uint256 tax;
        for (uint256 i; i < n; ++i) {
            fees += trades[i].sellerFee + trades[i].buyerFee;
            tax += trades[i].sellerTax;
        }
        assertEq(tax, _sumFloorTenthPercent(trades), "the batch withholds 0.1% of each sale, rounded down");

        vault.settleBatch(trades);

        uint256[] memory afterBooks = _books();
        assertEq(_sum(afterBooks, 0, w), _sum(before, 0, w), "asset book total conserved");
        assertEq(_sum(afterBooks, w, 2 * w), _sum(before, w, 2 * w), "cash book total conserved");
        assertEq(vault.balanceOf(address(cash), FEE) - feeBefore, fees, "fee account gains the fees");
        assertEq(vault.balanceOf(address(cash), TAX) - taxBefore, tax, "tax account gains the tax");
        assertEq(vault.balanceOf(address(asset), TAX), 0, "no asset tax");
        assertEq(vault.balanceOf(address(asset), FEE), 0, "no asset fees");
        assertEq(asset.balanceOf(address(vault)), vaultAsset, "vault asset holdings unchanged");
        assertEq(cash.balanceOf(address(vault)), vaultCash, "vault cash holdings unchanged");
        assertEq(_sumBooks(address(asset)), asset.balanceOf(address(vault)), "asset books == vault holdings");
        assertEq(_sumBooks(address(cash)), cash.balanceOf(address(vault)), "cash books == vault holdings");
        // Per-identity holdings follow the asset (DAVE and DAVE2 share one identity).
        for (uint256 i; i < w; ++i) {
            bytes32 id = _walletIdentity[i];
            uint256 held;
            for (uint256 j; j < w; ++j) {
                if (_walletIdentity[j] == id) held += afterBooks[j] + asset.balanceOf(_wallets[j]);
            }
            assertEq(asset.identityBalance(id), held, "identity balance follows settlement");
        }
    }

    /// @dev The default rate written out, not read from the vault: 10 bps of each cash amount.
    function _sumFloorTenthPercent(SettlementVault.Trade[] memory trades) internal pure returns (uint256 total) {
        for (uint256 i; i < trades.length; ++i) {
            total += trades[i].cashAmount / 1_000;
        }
    }

    /// One trade that cannot settle (the seller lacks the asset) reverts the whole batch
    /// with the reason: no id is marked, no book moves; the same batch without it then
    /// settles in full.
    function testFuzz_failingTradeRevertsWholeBatch(uint256 seed, uint256 n, uint256 bad) public {
        n = bound(n, 2, MAX_TRADES);
        bad = bound(bad, 0, n - 1);
        SettlementVault.Trade[] memory trades = _batch(seed, n, 900);
        trades[bad].assetAmount = START_ASSET + MAX_TRADE_ASSET * MAX_TRADES + 1; // more than any book can hold
        uint256[] memory before = _books();

        vm.expectRevert(_badTradeRevert(trades, bad));
        vault.settleBatch(trades);

        _assertBooks(before, "after a reverted batch");
        for (uint256 i; i < n; ++i) {
            assertFalse(vault.isSettled(trades[i].tradeId), "no id marked by a reverted batch");
        }

        SettlementVault.Trade[] memory rest = new SettlementVault.Trade[](n - 1);
        for (uint256 i; i < n - 1; ++i) {
            rest[i] = trades[i < bad ? i : i + 1];
        }
        uint256[] memory expected = _books();
        (uint256 modelSettled,,) = _applyModel(expected, rest);
        assertEq(modelSettled, n - 1, "model settles every remaining trade");

        (uint256 settled, uint256 skipped) = _settleCounting(rest);
        assertEq(settled, n - 1, "every remaining trade settles");
        assertEq(skipped, 0, "nothing was marked by the reverted batch");
        _assertBooks(expected, "after the batch without the bad trade");
        for (uint256 i; i < n - 1; ++i) {
            assertTrue(vault.isSettled(rest[i].tradeId), "remaining id marked settled");
        }
        assertFalse(vault.isSettled(trades[bad].tradeId), "the bad trade's id stays unsettled");
    }

    /// @dev The revert `trades[bad]` must raise, from the books the trades before it leave:
    /// the vault debits (and checks) the seller's book before asking any token, and names the
    /// trade, so the reason is always SettlementInsufficientBalance inside SettlementTradeFailed.
    function _badTradeRevert(SettlementVault.Trade[] memory trades, uint256 bad) internal view returns (bytes memory) {
        SettlementVault.Trade[] memory prefix = new SettlementVault.Trade[](bad);
        for (uint256 i; i < bad; ++i) {
            prefix[i] = trades[i];
        }
        uint256[] memory books = _books();
        _applyModel(books, prefix);

        SettlementVault.Trade memory t = trades[bad];
        return abi.encodeWithSelector(
            SettlementVault.SettlementTradeFailed.selector,
            t.tradeId,
            abi.encodeWithSelector(
                SettlementVault.SettlementInsufficientBalance.selector,
                t.seller,
                address(asset),
                books[_walletIndex(t.seller)],
                t.assetAmount
            )
        );
    }
}
