// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ICustodian} from "../interfaces/ICustodian.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {IPermissionedToken} from "../interfaces/IPermissionedToken.sol";

/// @title SettlementVault
/// @notice Custody and delivery-versus-payment settlement for Sen. Traders deposit asset
/// and VND cash tokens; the exchange settles batches of matched trades by moving balances
/// in the vault's books, each trade atomically (asset to the buyer, cash to the seller,
/// fees to the fee account, the seller's withheld income tax to the tax account) and at most
/// once; withdrawals pay out to the trader's own verified wallet.
///
/// Design decisions:
/// - Settlement moves book balances, not tokens: a trade costs a handful of warm storage
///   writes, and the token's holder rules are still applied through
///   {IPermissionedToken-custodyTransfer} (both parties verified, not frozen, eligible, and
///   the payer's frozen amount still covered by its wallet plus custody). The vault debits
///   (and checks) the books first and asks the tokens after, so the tokens see the books as
///   the trade leaves them.
/// - Every per-trade failure reverts the whole batch with one error,
///   `SettlementTradeFailed(tradeId, reason)`, where `reason` is the ABI-encoded error that
///   refused the trade: the vault's own (SettlementInsufficientBalance, SettlementIdReused,
///   SettlementSelfTrade, SettlementInvalidPrice, SettlementFeeExceedsCap,
///   SettlementTaxMismatch, SettlementDeductionsExceedProceeds, SettlementTokenNotListed) or
///   the one a token raised (ERC7943CannotSend/Receive, ERC7943InsufficientUnfrozenBalance,
///   TokenIsPaused, TokenIdentityCapExceeded, ...). The gateway decodes the one error to
///   find the trade and why, whatever refused it. Only what refuses any batch reverts without
///   a trade id: the vault's pause (EnforcedPause), the settler's role, reentrancy.
/// - Trade and withdrawal ids are the exchange's sequential numbers. Each settled id records
///   a 128-bit fingerprint of its content (the top bits of the keccak of the trade struct, or
///   of the withdrawal's wallet, token and amount), two ids per slot: a resubmission with
///   identical content is skipped with an event, so a batch retried after a crash never moves
///   anything twice, and a reused id with other content reverts (SettlementIdReused) instead
///   of being taken for the trade settled under it.
/// - Fees are capped in basis points of the trade's cash amount, rounded up (as the
///   exchange rounds its own fees), with caps set by governance; a trade must move some
///   asset for some cash (no zero price).
/// - Personal income tax is withheld from every sale as for a securities transfer (Resolution
///   05/2025/NQ-CP's crypto-asset pilot): `rateBps` of the trade's cash amount, 0.1% by
///   default, rounded down to a whole đồng. The exchange computes it and the vault checks it
///   to the đồng, so the ledger and the vault cannot drift apart by rounding; the batch's tax
///   is credited to the tax account's book, from which it is paid to the State Treasury.
/// - Withdrawals are executed by the exchange (WITHDRAWER_ROLE) on the trader's request
///   because the exchange's ledger holds funds for open orders; they can only go to the
///   wallet that owns the balance, and that wallet must still be verified. The custody of a
///   lost (unbound) wallet leaves through the token's audited agent recovery instead
///   ({PermissionedToken-recoverBalance} calls {returnCustody}), and custody that a court
///   order or a sanction takes leaves through the token agent's forced transfer
///   ({PermissionedToken-forcedCustodyTransfer} calls {seizeCustody}).
/// - A trade's two wallets must belong to two identities: one person on both sides through
///   two wallets bound to its one e-ID is a wash trade, which the matching engine's
///   self-trade prevention already keeps apart by identity; the vault holds the same rule.
contract SettlementVault is AccessControl, Pausable, ReentrancyGuardTransient, ICustodian {
    using SafeERC20 for IERC20;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant WITHDRAWER_ROLE = keccak256("WITHDRAWER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint16 public constant MAX_FEE_CAP_BPS = 10_000;
    /// @notice 1% a side: admits the exchange's maker 0.10% and taker 0.20%, rounded up.
    uint16 public constant DEFAULT_FEE_CAP_BPS = 100;
    /// @notice 0.1% of each sale's value: personal income tax on a securities transfer, which
    /// the pilot applies to crypto-asset transfers.
    uint16 public constant DEFAULT_TAX_RATE_BPS = 10;
    /// @notice 10%: a hundred times the statutory rate leaves room for any change of the law
    /// while a mistaken or hostile setting still cannot take a seller's whole proceeds.
    uint16 public constant MAX_TAX_RATE_BPS = 1_000;
    uint256 private constant _BPS = 10_000;

    /// @notice A matched trade: `seller` delivers `assetAmount` of `asset` to `buyer`, who
    /// pays `cashAmount` đồng; `buyerFee` is paid on top, `sellerFee` and the income tax
    /// withheld, `sellerTax`, out of the proceeds.
    struct Trade {
        uint256 tradeId;
        address asset;
        address seller;
        address buyer;
        uint256 assetAmount;
        uint256 cashAmount;
        uint256 sellerFee;
        uint256 buyerFee;
        uint256 sellerTax;
    }

    /// @dev One slot, read once per batch.
    struct FeePolicy {
        address account;
        uint16 sellerCapBps;
        uint16 buyerCapBps;
    }

    /// @notice Where withheld income tax is booked and at what rate. One slot, read once per
    /// batch.
    struct TaxPolicy {
        address account;
        uint16 rateBps;
    }

    IIdentityRegistry public immutable identityRegistry;
    IERC20 public immutable cash;
    uint256 public depositCount;

    FeePolicy private _fees;
    TaxPolicy private _tax;
    mapping(address token => bool) private _listed;
    mapping(address token => mapping(address wallet => uint256)) private _balances;
    /// @dev Content fingerprints of settled trades and done withdrawals: id's fingerprint is
    /// the (id & 1) half of slot id >> 1; zero means not yet.
    mapping(uint256 pair => uint256) private _settled;
    mapping(uint256 pair => uint256) private _withdrawn;

    event AssetListed(address indexed asset, bool listed);
    event FeeAccountChanged(address indexed feeAccount);
    event FeeCapsSet(uint16 sellerCapBps, uint16 buyerCapBps);
    event TaxPolicySet(address indexed account, uint16 rateBps);
    event Deposited(uint256 indexed depositId, address indexed wallet, address indexed token, uint256 amount);
    event Withdrawn(uint256 indexed withdrawalId, address indexed wallet, address indexed token, uint256 amount);
    event TradeSettled(
        uint256 indexed tradeId,
        address indexed seller,
        address indexed buyer,
        address asset,
        uint256 assetAmount,
        uint256 cashAmount,
        uint256 sellerFee,
        uint256 buyerFee,
        uint256 sellerTax
    );
    event TradeAlreadySettled(uint256 indexed tradeId);
    event WithdrawalAlreadyDone(uint256 indexed withdrawalId);
    event CustodyReturned(address indexed token, address indexed fromWallet, address indexed toWallet, uint256 amount);
    /// @notice `token`'s agent took `amount` of `fromWallet`'s custody for `toWallet`'s wallet.
    event CustodySeized(address indexed token, address indexed fromWallet, address indexed toWallet, uint256 amount);

    /// @notice Trade `tradeId` of a batch cannot settle; `reason` is the encoded error why.
    error SettlementTradeFailed(uint256 tradeId, bytes reason);
    error SettlementIdReused(uint256 id, bytes16 settled, bytes16 submitted);
    error SettlementTokenNotListed(address token);
    error SettlementNotVerified(address wallet);
    error SettlementZeroAmount();
    error SettlementInvalidPrice(uint256 assetAmount, uint256 cashAmount);
    error SettlementSelfTrade(address wallet);
    /// @notice The trade's two wallets are bound to one identity: one person on both sides.
    error SettlementSelfTradeIdentity(address seller, address buyer, bytes32 identityHash);
    error SettlementFeeExceedsCap(uint256 fee, uint256 cashAmount, uint256 capBps);
    error SettlementInvalidFeeCap(uint16 capBps);
    error SettlementTaxMismatch(uint256 expected, uint256 submitted);
    error SettlementDeductionsExceedProceeds(uint256 sellerFee, uint256 sellerTax, uint256 cashAmount);
    error SettlementInvalidTaxRate(uint16 rateBps);
    error SettlementInsufficientBalance(address wallet, address token, uint256 balance, uint256 needed);
    error SettlementInvalidAccount(address account);

    /// @param taxAccount_ where withheld income tax is booked, at DEFAULT_TAX_RATE_BPS until
    /// governance sets another rate ({setTaxPolicy}).
    constructor(IIdentityRegistry registry, IERC20 cashToken, address admin, address feeAccount_, address taxAccount_) {
        if (feeAccount_ == address(0)) revert SettlementInvalidAccount(feeAccount_);
        identityRegistry = registry;
        cash = cashToken;
        _fees = FeePolicy({account: feeAccount_, sellerCapBps: DEFAULT_FEE_CAP_BPS, buyerCapBps: DEFAULT_FEE_CAP_BPS});
        _listed[address(cashToken)] = true;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit AssetListed(address(cashToken), true);
        emit FeeAccountChanged(feeAccount_);
        emit FeeCapsSet(DEFAULT_FEE_CAP_BPS, DEFAULT_FEE_CAP_BPS);
        _setTaxPolicy(taxAccount_, DEFAULT_TAX_RATE_BPS);
    }

    // ---------------------------------------------------------------- traders

    /// @notice Moves `amount` of `token` from the caller's verified wallet into custody,
    /// credited to the caller. Emits {Deposited} with a sequential id the exchange uses to
    /// credit its ledger exactly once.
    function deposit(address token, uint256 amount) external nonReentrant whenNotPaused {
        if (!_listed[token]) revert SettlementTokenNotListed(token);
        if (amount == 0) revert SettlementZeroAmount();
        if (!identityRegistry.isVerified(msg.sender)) revert SettlementNotVerified(msg.sender);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        // Credit what actually arrived, whatever the token does on transfer.
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        _balances[token][msg.sender] += received;
        emit Deposited(depositCount++, msg.sender, token, received);
    }

    // ---------------------------------------------------------------- exchange

    /// @notice Pays `amount` of `token` out of `wallet`'s custody balance to `wallet`
    /// itself. `withdrawalId` makes the call idempotent: a repeated id with the same wallet,
    /// token and amount is skipped ({WithdrawalAlreadyDone}); with anything else it reverts.
    /// Requirements: the withdrawer role; not paused; `wallet` verified and its book covers
    /// `amount`. Emits {Withdrawn}.
    function withdraw(uint256 withdrawalId, address wallet, address token, uint256 amount)
        external
        onlyRole(WITHDRAWER_ROLE)
        nonReentrant
        whenNotPaused
    {
        bytes16 fingerprint = _fingerprintOf(keccak256(abi.encode(wallet, token, amount)));
        bytes16 done = _recorded(_withdrawn, withdrawalId);
        if (done != 0) {
            if (done != fingerprint) revert SettlementIdReused(withdrawalId, done, fingerprint);
            emit WithdrawalAlreadyDone(withdrawalId);
            return;
        }
        if (amount == 0) revert SettlementZeroAmount();
        if (!identityRegistry.isVerified(wallet)) revert SettlementNotVerified(wallet);
        _record(_withdrawn, withdrawalId, fingerprint);
        _debit(token, wallet, amount);
        IERC20(token).safeTransfer(wallet, amount);
        emit Withdrawn(withdrawalId, wallet, token, amount);
    }

    /// @notice Settles `trades` delivery-versus-payment: each trade either settles whole or
    /// reverts the batch with `SettlementTradeFailed(tradeId, reason)` (see the contract's
    /// notes for the reasons). An id already settled with the same content is skipped with
    /// {TradeAlreadySettled}. The seller receives `cashAmount - sellerFee - sellerTax`; fees
    /// and tax are booked to their accounts once per batch.
    /// Requirements: the settler role; not paused; per trade, `sellerTax` exactly
    /// floor(cashAmount * rateBps / 10,000) (whole đồng, rounded down) at the rate in force,
    /// and `sellerFee + sellerTax` at most `cashAmount`.
    /// Emits {TradeSettled} per settled trade.
    function settleBatch(Trade[] calldata trades) external onlyRole(SETTLER_ROLE) nonReentrant whenNotPaused {
        FeePolicy memory fees = _fees;
        TaxPolicy memory tax = _tax;
        uint256 totalFees;
        uint256 totalTax;
        for (uint256 i; i < trades.length; ++i) {
            Trade calldata t = trades[i];
            bytes16 fingerprint = _fingerprintOf(t);
            bytes16 settled = _recorded(_settled, t.tradeId);
            if (settled != 0) {
                if (settled != fingerprint) {
                    _fail(t.tradeId, abi.encodeWithSelector(SettlementIdReused.selector, t.tradeId, settled, fingerprint));
                }
                emit TradeAlreadySettled(t.tradeId);
                continue;
            }
            _checkTrade(t, fees, tax.rateBps);
            _record(_settled, t.tradeId, fingerprint);
            _moveBooks(t);
            _applyHolderRules(t);
            totalFees += t.sellerFee + t.buyerFee;
            totalTax += t.sellerTax;
            emit TradeSettled(
                t.tradeId, t.seller, t.buyer, t.asset, t.assetAmount, t.cashAmount, t.sellerFee, t.buyerFee, t.sellerTax
            );
        }
        if (totalFees != 0) _balances[address(cash)][fees.account] += totalFees;
        if (totalTax != 0) _balances[address(cash)][tax.account] += totalTax;
    }

    // ---------------------------------------------------------------- tokens

    /// @inheritdoc ICustodian
    /// @dev Moves only the calling token's own books (`msg.sender` is the token), so no
    /// other caller can touch them; the token decides whose wallet is whose. Nothing leaves a
    /// paused vault. Emits {CustodyReturned} when there was custody to return.
    function returnCustody(address fromWallet, address toWallet) external nonReentrant returns (uint256 amount) {
        address token = msg.sender;
        amount = _balances[token][fromWallet];
        if (amount == 0) return 0;
        _requireNotPaused();
        if (toWallet == address(0) || toWallet == fromWallet) revert SettlementInvalidAccount(toWallet);
        delete _balances[token][fromWallet];
        IERC20(token).safeTransfer(toWallet, amount);
        emit CustodyReturned(token, fromWallet, toWallet, amount);
    }

    /// @inheritdoc ICustodian
    /// @dev Only the calling token's own books (`msg.sender` is the token), checked like a
    /// withdrawal's debit; the token moves the tokens themselves in the same call, so the
    /// vault's balance falls with its books. Nothing leaves a paused vault, as for
    /// {returnCustody}: a pause is the exchange's stop while its books are in doubt.
    /// Emits {CustodySeized}.
    function seizeCustody(address fromWallet, address toWallet, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert SettlementZeroAmount();
        if (toWallet == address(0) || toWallet == fromWallet) revert SettlementInvalidAccount(toWallet);
        _debit(msg.sender, fromWallet, amount);
        emit CustodySeized(msg.sender, fromWallet, toWallet, amount);
    }

    // ---------------------------------------------------------------- admin

    function setAssetListed(address asset, bool listed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (asset == address(0) || asset == address(cash)) revert SettlementInvalidAccount(asset);
        _listed[asset] = listed;
        emit AssetListed(asset, listed);
    }

    function setFeeAccount(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert SettlementInvalidAccount(account);
        _fees.account = account;
        emit FeeAccountChanged(account);
    }

    /// @notice Caps the fee each side may pay per trade, in basis points of its cash amount
    /// (rounded up). Requirements: governance; each cap at most 10,000 (100%).
    /// Emits {FeeCapsSet}.
    function setFeeCaps(uint16 sellerCapBps, uint16 buyerCapBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (sellerCapBps > MAX_FEE_CAP_BPS) revert SettlementInvalidFeeCap(sellerCapBps);
        if (buyerCapBps > MAX_FEE_CAP_BPS) revert SettlementInvalidFeeCap(buyerCapBps);
        _fees.sellerCapBps = sellerCapBps;
        _fees.buyerCapBps = buyerCapBps;
        emit FeeCapsSet(sellerCapBps, buyerCapBps);
    }

    /// @notice Sets where withheld income tax is booked and its rate in basis points of each
    /// sale's cash amount. Takes effect for the next batch: a trade the exchange matched at the
    /// old rate then fails with SettlementTaxMismatch, so change it while the exchange holds
    /// settlement back. Requirements: governance; `account` not zero; `rateBps` at most
    /// MAX_TAX_RATE_BPS. Emits {TaxPolicySet}.
    function setTaxPolicy(address account, uint16 rateBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTaxPolicy(account, rateBps);
    }

    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICustodian
    function balanceOf(address token, address wallet) external view returns (uint256) {
        return _balances[token][wallet];
    }

    function feeAccount() external view returns (address) {
        return _fees.account;
    }

    function feeCaps() external view returns (uint16 sellerCapBps, uint16 buyerCapBps) {
        FeePolicy memory fees = _fees;
        return (fees.sellerCapBps, fees.buyerCapBps);
    }

    function taxPolicy() external view returns (TaxPolicy memory) {
        return _tax;
    }

    function isListed(address token) external view returns (bool) {
        return _listed[token];
    }

    function isSettled(uint256 tradeId) external view returns (bool) {
        return _recorded(_settled, tradeId) != 0;
    }

    function isWithdrawn(uint256 withdrawalId) external view returns (bool) {
        return _recorded(_withdrawn, withdrawalId) != 0;
    }

    // ---------------------------------------------------------------- internals

    function _checkTrade(Trade calldata t, FeePolicy memory fees, uint16 taxRateBps) private view {
        if (!_listed[t.asset] || t.asset == address(cash)) {
            _fail(t.tradeId, abi.encodeWithSelector(SettlementTokenNotListed.selector, t.asset));
        }
        if (t.seller == t.buyer) _fail(t.tradeId, abi.encodeWithSelector(SettlementSelfTrade.selector, t.seller));
        // lastIdentityOf reads one slot, the one the tokens' checks of the same wallet read
        // next (then warm). A wallet never bound (zero) is the tokens' to refuse.
        bytes32 sellerId = identityRegistry.lastIdentityOf(t.seller);
        if (sellerId != bytes32(0) && sellerId == identityRegistry.lastIdentityOf(t.buyer)) {
            _fail(t.tradeId, abi.encodeWithSelector(SettlementSelfTradeIdentity.selector, t.seller, t.buyer, sellerId));
        }
        if (t.assetAmount == 0 || t.cashAmount == 0) {
            _fail(t.tradeId, abi.encodeWithSelector(SettlementInvalidPrice.selector, t.assetAmount, t.cashAmount));
        }
        _checkFee(t.tradeId, t.sellerFee, t.cashAmount, fees.sellerCapBps);
        _checkFee(t.tradeId, t.buyerFee, t.cashAmount, fees.buyerCapBps);
        uint256 tax = _taxOf(t.cashAmount, taxRateBps);
        if (t.sellerTax != tax) {
            _fail(t.tradeId, abi.encodeWithSelector(SettlementTaxMismatch.selector, tax, t.sellerTax));
        }
        // The fee check above keeps sellerFee within cashAmount.
        if (t.sellerTax > t.cashAmount - t.sellerFee) {
            _fail(
                t.tradeId,
                abi.encodeWithSelector(
                    SettlementDeductionsExceedProceeds.selector, t.sellerFee, t.sellerTax, t.cashAmount
                )
            );
        }
    }

    /// @dev floor(cashAmount * rateBps / 10,000): whole đồng, rounded down.
    function _taxOf(uint256 cashAmount, uint16 rateBps) private pure returns (uint256) {
        if (cashAmount <= type(uint256).max / _BPS) {
            // rateBps <= MAX_TAX_RATE_BPS < 10,000: the product cannot overflow.
            unchecked {
                return cashAmount * rateBps / _BPS;
            }
        }
        return Math.mulDiv(cashAmount, rateBps, _BPS);
    }

    /// @dev fee <= ceil(cashAmount * capBps / 10,000); with caps at most 100%, this also keeps
    /// the seller's fee within its proceeds.
    function _checkFee(uint256 tradeId, uint256 fee, uint256 cashAmount, uint16 capBps) private pure {
        if (fee == 0) return;
        bool over;
        if (fee > cashAmount) {
            over = true;
        } else if (cashAmount <= type(uint256).max / MAX_FEE_CAP_BPS) {
            // fee <= ceil(x / 10,000)  <=>  fee * 10,000 - 9,999 <= x; no term can overflow
            // (1 <= fee <= cashAmount < 2^256 / 10,000) and a mulDiv costs far more.
            unchecked {
                over = fee * MAX_FEE_CAP_BPS - (MAX_FEE_CAP_BPS - 1) > cashAmount * capBps;
            }
        } else {
            over = fee > Math.mulDiv(cashAmount, capBps, MAX_FEE_CAP_BPS, Math.Rounding.Ceil);
        }
        if (over) _fail(tradeId, abi.encodeWithSelector(SettlementFeeExceedsCap.selector, fee, cashAmount, capBps));
    }

    /// @dev Debits (checking) before it credits, all before any token is asked.
    function _moveBooks(Trade calldata t) private {
        _debitForTrade(t.tradeId, t.asset, t.seller, t.assetAmount);
        _balances[t.asset][t.buyer] += t.assetAmount;
        uint256 paid;
        unchecked {
            paid = t.cashAmount + t.buyerFee;
        }
        // An overflowing sum is more than any book can hold.
        _debitForTrade(t.tradeId, address(cash), t.buyer, paid < t.cashAmount ? type(uint256).max : paid);
        // _checkTrade: sellerFee + sellerTax <= cashAmount.
        _balances[address(cash)][t.seller] += t.cashAmount - t.sellerFee - t.sellerTax;
    }

    /// @dev Both tokens' holder rules on both parties; a token's refusal fails the trade by id.
    function _applyHolderRules(Trade calldata t) private {
        try IPermissionedToken(t.asset).custodyTransfer(t.seller, t.buyer, t.assetAmount) {}
        catch (bytes memory reason) {
            _fail(t.tradeId, reason);
        }
        try IPermissionedToken(address(cash)).custodyTransfer(t.buyer, t.seller, t.cashAmount) {}
        catch (bytes memory reason) {
            _fail(t.tradeId, reason);
        }
    }

    function _debitForTrade(uint256 tradeId, address token, address wallet, uint256 amount) private {
        uint256 balance = _balances[token][wallet];
        if (balance < amount) {
            _fail(
                tradeId,
                abi.encodeWithSelector(SettlementInsufficientBalance.selector, wallet, token, balance, amount)
            );
        }
        unchecked {
            _balances[token][wallet] = balance - amount;
        }
    }

    function _debit(address token, address wallet, uint256 amount) private {
        uint256 balance = _balances[token][wallet];
        if (balance < amount) revert SettlementInsufficientBalance(wallet, token, balance, amount);
        unchecked {
            _balances[token][wallet] = balance - amount;
        }
    }

    function _setTaxPolicy(address account, uint16 rateBps) private {
        if (account == address(0)) revert SettlementInvalidAccount(account);
        if (rateBps > MAX_TAX_RATE_BPS) revert SettlementInvalidTaxRate(rateBps);
        _tax = TaxPolicy({account: account, rateBps: rateBps});
        emit TaxPolicySet(account, rateBps);
    }

    function _fail(uint256 tradeId, bytes memory reason) private pure {
        revert SettlementTradeFailed(tradeId, reason);
    }

    /// @dev The keccak of the trade exactly as ABI-encoded (a static struct is its 9 words in
    /// calldata), hashed in place instead of re-encoding it.
    function _fingerprintOf(Trade calldata t) private pure returns (bytes16) {
        bytes32 h;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, t, 0x120)
            h := keccak256(ptr, 0x120)
        }
        return _fingerprintOf(h);
    }

    /// @dev The top 128 bits, lowest bit set so that a recorded fingerprint is never zero.
    function _fingerprintOf(bytes32 h) private pure returns (bytes16) {
        return bytes16(h) | bytes16(uint128(1));
    }

    function _recorded(mapping(uint256 => uint256) storage records, uint256 id) private view returns (bytes16) {
        return bytes16(uint128(records[id >> 1] >> ((id & 1) << 7)));
    }

    function _record(mapping(uint256 => uint256) storage records, uint256 id, bytes16 fingerprint) private {
        records[id >> 1] |= uint256(uint128(fingerprint)) << ((id & 1) << 7);
    }
}
