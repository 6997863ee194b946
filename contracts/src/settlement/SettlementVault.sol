// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {IPermissionedToken} from "../interfaces/IPermissionedToken.sol";

/// @title SettlementVault
/// @notice Custody and delivery-versus-payment settlement for Sen. Traders deposit asset
/// and VND cash tokens; the exchange settles batches of matched trades by moving balances
/// in the vault's books, each trade atomically (asset to the buyer, cash to the seller,
/// fees to the fee account) and at most once; withdrawals pay out to the trader's own
/// verified wallet.
///
/// Design decisions:
/// - Settlement moves book balances, not tokens: a trade costs a handful of warm storage
///   writes, and the token's holder rules are still applied through
///   {IPermissionedToken-custodyTransfer} (both parties verified, not frozen, eligible).
/// - Trade and withdrawal ids are the exchange's sequential numbers, recorded in bitmaps
///   (one slot per 256 ids); a resubmitted settled id is skipped with an event, so a batch
///   retried after a crash never moves anything twice.
/// - Withdrawals are executed by the exchange (WITHDRAWER_ROLE) on the trader's request
///   because the exchange's ledger holds funds for open orders; they can only go to the
///   wallet that owns the balance, and that wallet must still be verified.
contract SettlementVault is AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using BitMaps for BitMaps.BitMap;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant WITHDRAWER_ROLE = keccak256("WITHDRAWER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice A matched trade: `seller` delivers `assetAmount` of `asset` to `buyer`, who
    /// pays `cashAmount` đồng; `buyerFee` is paid on top and `sellerFee` out of the proceeds.
    struct Trade {
        uint256 tradeId;
        address asset;
        address seller;
        address buyer;
        uint256 assetAmount;
        uint256 cashAmount;
        uint256 sellerFee;
        uint256 buyerFee;
    }

    IIdentityRegistry public immutable identityRegistry;
    IERC20 public immutable cash;
    address public feeAccount;
    uint256 public depositCount;

    mapping(address token => bool) private _listed;
    mapping(address token => mapping(address wallet => uint256)) private _balances;
    BitMaps.BitMap private _settled;
    BitMaps.BitMap private _withdrawn;

    event AssetListed(address indexed asset, bool listed);
    event FeeAccountChanged(address indexed feeAccount);
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
        uint256 buyerFee
    );
    event TradeAlreadySettled(uint256 indexed tradeId);
    event WithdrawalAlreadyDone(uint256 indexed withdrawalId);

    error SettlementTokenNotListed(address token);
    error SettlementNotVerified(address wallet);
    error SettlementZeroAmount();
    error SettlementSelfTrade(uint256 tradeId, address wallet);
    error SettlementFeeExceedsProceeds(uint256 tradeId, uint256 cashAmount, uint256 sellerFee);
    error SettlementInsufficientBalance(address wallet, address token, uint256 balance, uint256 needed);
    error SettlementInvalidAccount(address account);

    constructor(IIdentityRegistry registry, IERC20 cashToken, address admin, address feeAccount_) {
        if (feeAccount_ == address(0)) revert SettlementInvalidAccount(feeAccount_);
        identityRegistry = registry;
        cash = cashToken;
        feeAccount = feeAccount_;
        _listed[address(cashToken)] = true;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit AssetListed(address(cashToken), true);
        emit FeeAccountChanged(feeAccount_);
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
    /// itself. `withdrawalId` makes the call idempotent: a repeated id is skipped.
    function withdraw(uint256 withdrawalId, address wallet, address token, uint256 amount)
        external
        onlyRole(WITHDRAWER_ROLE)
        nonReentrant
        whenNotPaused
    {
        if (_withdrawn.get(withdrawalId)) {
            emit WithdrawalAlreadyDone(withdrawalId);
            return;
        }
        if (amount == 0) revert SettlementZeroAmount();
        if (!identityRegistry.isVerified(wallet)) revert SettlementNotVerified(wallet);
        _withdrawn.set(withdrawalId);
        _debit(token, wallet, amount);
        IERC20(token).safeTransfer(wallet, amount);
        emit Withdrawn(withdrawalId, wallet, token, amount);
    }

    /// @notice Settles `trades` delivery-versus-payment. Each trade either settles whole or
    /// reverts the batch with the reason; already settled ids are skipped.
    function settleBatch(Trade[] calldata trades) external onlyRole(SETTLER_ROLE) nonReentrant whenNotPaused {
        IPermissionedToken cashToken = IPermissionedToken(address(cash));
        address fees = feeAccount;
        uint256 totalFees;
        for (uint256 i; i < trades.length; ++i) {
            Trade calldata t = trades[i];
            if (_settled.get(t.tradeId)) {
                emit TradeAlreadySettled(t.tradeId);
                continue;
            }
            if (!_listed[t.asset] || t.asset == address(cash)) revert SettlementTokenNotListed(t.asset);
            if (t.seller == t.buyer) revert SettlementSelfTrade(t.tradeId, t.seller);
            if (t.sellerFee > t.cashAmount) revert SettlementFeeExceedsProceeds(t.tradeId, t.cashAmount, t.sellerFee);
            _settled.set(t.tradeId);

            // Holder rules of both tokens for both parties (verified, not frozen, eligible).
            IPermissionedToken(t.asset).custodyTransfer(t.seller, t.buyer, t.assetAmount);
            cashToken.custodyTransfer(t.buyer, t.seller, t.cashAmount);

            _debit(t.asset, t.seller, t.assetAmount);
            _balances[t.asset][t.buyer] += t.assetAmount;
            _debit(address(cash), t.buyer, t.cashAmount + t.buyerFee);
            _balances[address(cash)][t.seller] += t.cashAmount - t.sellerFee;
            totalFees += t.sellerFee + t.buyerFee;
            emit TradeSettled(
                t.tradeId, t.seller, t.buyer, t.asset, t.assetAmount, t.cashAmount, t.sellerFee, t.buyerFee
            );
        }
        if (totalFees != 0) _balances[address(cash)][fees] += totalFees;
    }

    // ---------------------------------------------------------------- admin

    function setAssetListed(address asset, bool listed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (asset == address(0) || asset == address(cash)) revert SettlementInvalidAccount(asset);
        _listed[asset] = listed;
        emit AssetListed(asset, listed);
    }

    function setFeeAccount(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert SettlementInvalidAccount(account);
        feeAccount = account;
        emit FeeAccountChanged(account);
    }

    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    function balanceOf(address token, address wallet) external view returns (uint256) {
        return _balances[token][wallet];
    }

    function isListed(address token) external view returns (bool) {
        return _listed[token];
    }

    function isSettled(uint256 tradeId) external view returns (bool) {
        return _settled.get(tradeId);
    }

    function isWithdrawn(uint256 withdrawalId) external view returns (bool) {
        return _withdrawn.get(withdrawalId);
    }

    // ---------------------------------------------------------------- internals

    function _debit(address token, address wallet, uint256 amount) private {
        uint256 balance = _balances[token][wallet];
        if (balance < amount) revert SettlementInsufficientBalance(wallet, token, balance, amount);
        unchecked {
            _balances[token][wallet] = balance - amount;
        }
    }
}
