// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ICustodian} from "../interfaces/ICustodian.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {IERC7943Fungible} from "../interfaces/IERC7943Fungible.sol";
import {IPermissionedToken} from "../interfaces/IPermissionedToken.sol";

/// @title PermissionedToken
/// @notice ERC-20 whose every transfer, mint and burn is between wallets verified in the
/// {IdentityRegistry}, with ERC-7943 freezing and forced transfers. Base of {AssetToken}
/// and {CashToken}; subclasses add rules through {_checkIdentity}.
///
/// Roles (least privilege):
/// - DEFAULT_ADMIN_ROLE: governance; grants roles, registers custodians, sets rules.
/// - AGENT_ROLE: the asset's transfer agent; freezes, forces transfers (out of a wallet or
///   out of a custodian's books), recovers lost wallets, pauses.
/// - the minting role of the subclass (issuer / payment bank).
///
/// Custodians (the settlement vault) hold tokens on behalf of verified wallets: they are
/// exempt from identity checks themselves, and the holders' rules are applied to moves in
/// their books through {custodyTransfer}.
///
/// Frozen amounts (ERC-7943) cover what a holder holds in all: its wallet plus the custody
/// every custodian books for it ({ICustodian-balanceOf}). A holder's move out of either (a
/// transfer, a deposit, a sale or purchase settled in custody) must leave the frozen amount
/// covered; withdrawals from custody keep the holdings whole and stay allowed. Custody is
/// only looked up for a holder with a frozen amount, so the common path pays nothing for it.
///
/// Per-identity holdings count each wallet (and its custody) for the identity the registry
/// says it belongs to for good ({IIdentityRegistry-lastIdentityOf}): a wallet is never
/// rebound to another identity, so holdings cannot drift when wallets are unbound.
abstract contract PermissionedToken is ERC20, AccessControl, Multicall, IPermissionedToken {
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");

    /// @dev Top bit: the whole address is frozen; low 255 bits: frozen amount (ERC-7943).
    /// One slot per holder keeps a transfer check to a single read.
    uint256 private constant _ADDRESS_FROZEN = 1 << 255;
    uint256 private constant _AMOUNT_MASK = _ADDRESS_FROZEN - 1;

    IIdentityRegistry public immutable identityRegistry;
    /// @notice Whether per-identity holdings are tracked (needed for a per-identity cap).
    bool public immutable tracksIdentityBalances;
    uint8 private immutable _decimals;

    /// @notice {TransferRules-countryRule}: every country may receive.
    uint8 public constant COUNTRY_RULE_ANY = 0;
    /// @notice {TransferRules-countryRule}: only the listed countries may receive.
    uint8 public constant COUNTRY_RULE_ALLOW_LIST = 1;
    /// @notice {TransferRules-countryRule}: the listed countries may not receive (e.g. a real
    /// asset issued in Viet Nam that only foreign investors may hold lists 704).
    uint8 public constant COUNTRY_RULE_BLOCK_LIST = 2;

    /// @notice Per-token rules on holders' identities, packed in one slot with the pause flag.
    /// @dev Asset rules bind receivers only: a holder whose attributes change may still sell
    /// (exit) but not buy more. Senders must be verified and not frozen.
    struct TransferRules {
        bool paused;
        uint8 minKycLevel; // 0 or 1: any verified identity; 2: level-2 e-ID only
        uint8 investorTypeMask; // bit (1 << investorType); 0 allows every type
        uint8 countryRule; // COUNTRY_RULE_*: how the token's country list binds receivers
        uint128 maxBalancePerIdentity; // 0: no cap; needs tracksIdentityBalances
    }

    mapping(address account => uint256 packed) private _freeze;
    /// @dev Enumerable so that a frozen holder's custody can be summed over every custodian;
    /// membership is still one slot read on the transfer path.
    EnumerableSet.AddressSet private _custodians;
    mapping(bytes32 identityHash => uint256) private _identityBalances;
    mapping(uint256 word => uint256 bits) private _listedCountries;
    TransferRules private _rules;
    /// @dev Set for the duration of an agent or minter operation that may bypass
    /// holder-side rules (ERC-7943 "permissioned context").
    bool private transient _privileged;

    event AddressFrozen(address indexed account, bool frozen, address indexed agent);
    event CustodianSet(address indexed account, bool isCustodian);
    event BalanceRecovered(address indexed lostWallet, address indexed newWallet, bytes32 indexed identityHash, uint256 amount);
    /// @notice The agent's forced transfer of `amount` out of what `custodian` books for `from`
    /// into `to`'s wallet (ERC-7943's {ForcedTransfer} is kept for moves of wallet balances).
    event ForcedCustodyTransfer(address indexed custodian, address indexed from, address indexed to, uint256 amount);
    event TokenPaused(address indexed by);
    event TransferRulesSet(uint8 minKycLevel, uint8 investorTypeMask, uint8 countryRule, uint128 maxBalancePerIdentity);
    event CountryListed(uint16 indexed country, bool listed);
    event TokenUnpaused(address indexed by);

    error TokenIsPaused();
    error TokenNotCustodian(address caller);
    error TokenRecoveryIdentityMismatch(address lostWallet, address newWallet);
    error TokenInvalidAccount(address account);
    error TokenInvalidRules();
    error TokenIdentityCapExceeded(bytes32 identityHash, uint256 balance, uint256 cap);
    error TokenCustodianNotAllowed(address custodian);
    error TokenInvalidFrozenAmount(address account, uint256 amount, uint256 max);

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        IIdentityRegistry registry,
        address admin,
        bool trackIdentityBalances
    ) ERC20(name_, symbol_) {
        identityRegistry = registry;
        _decimals = decimals_;
        tracksIdentityBalances = trackIdentityBalances;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function decimals() public view virtual override returns (uint8) {
        return _decimals;
    }

    // ---------------------------------------------------------------- ERC-7943 views

    /// @inheritdoc IERC7943Fungible
    /// @dev False also when everything `account` holds (wallet + custody) is frozen.
    function canSend(address account) public view returns (bool) {
        if (_custodians.contains(account)) return true;
        (bool ok,) = _eligible(account, false);
        if (!ok) return false;
        uint256 frozen = _freeze[account] & _AMOUNT_MASK;
        return frozen == 0 || balanceOf(account) + _custodyOf(account) > frozen;
    }

    /// @inheritdoc IERC7943Fungible
    function canReceive(address account) public view returns (bool) {
        if (_custodians.contains(account)) return true;
        (bool ok,) = _eligible(account, true);
        return ok;
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev A plain transfer to a custodian is refused (tokens enter custody only through the
    /// custodian's own pull, its deposit, which this view cannot tell apart), so that is false.
    /// The amount must fit in the part of the sender's holdings (wallet + custody) above its
    /// frozen amount, and in its wallet.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool) {
        if (_rules.paused || !canReceive(to) || _custodians.contains(to)) return false;
        bool fromCustodian = _custodians.contains(from);
        uint256 balance = balanceOf(from);
        if (amount > balance) return false;
        if (!fromCustodian) {
            (bool ok,) = _eligible(from, false);
            if (!ok || amount > _spendable(from, balance)) return false;
        }
        if (tracksIdentityBalances && !fromCustodian) {
            (, bytes32 fromId) = _eligible(from, false);
            (, bytes32 toId) = _eligible(to, true);
            uint256 cap = _identityCap();
            if (fromId != toId && cap != 0 && _identityBalances[toId] + amount > cap) return false;
        }
        return true;
    }

    /// @inheritdoc IERC7943Fungible
    function getFrozenTokens(address account) public view returns (uint256) {
        return _freeze[account] & _AMOUNT_MASK;
    }

    function isAddressFrozen(address account) public view returns (bool) {
        return _freeze[account] & _ADDRESS_FROZEN != 0;
    }

    function isCustodian(address account) external view returns (bool) {
        return _custodians.contains(account);
    }

    /// @notice Every registered custodian.
    function custodians() external view returns (address[] memory) {
        return _custodians.values();
    }

    function paused() public view returns (bool) {
        return _rules.paused;
    }

    /// @notice Tokens held by all wallets of `identityHash`, including custody balances.
    /// Only maintained when {tracksIdentityBalances}.
    function identityBalance(bytes32 identityHash) external view returns (uint256) {
        return _identityBalances[identityHash];
    }

    function supportsInterface(bytes4 interfaceId) public view virtual override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC7943Fungible).interfaceId || interfaceId == type(IERC20).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- agent actions

    /// @inheritdoc IERC7943Fungible
    /// @dev The amount covers the wallet and its custody together, and may exceed them (it
    /// then withholds future receipts). Requirements: `amount` fits in 255 bits (the top bit
    /// of the packed slot is the address freeze). Emits {Frozen}.
    function setFrozenTokens(address account, uint256 amount) external onlyRole(AGENT_ROLE) returns (bool) {
        _setFrozenTokens(account, amount);
        return true;
    }

    /// @notice Freezes or unfreezes every token of `account`, including custody moves.
    function setAddressFrozen(address account, bool frozen) external onlyRole(AGENT_ROLE) {
        uint256 packed = _freeze[account];
        _freeze[account] = frozen ? packed | _ADDRESS_FROZEN : packed & _AMOUNT_MASK;
        emit AddressFrozen(account, frozen, _msgSender());
    }

    /// @inheritdoc IERC7943Fungible
    /// @dev Bypasses the sender's eligibility and frozen amounts (unfreezing what it takes,
    /// with a {Frozen} event before the {Transfer}); the receiver must still be eligible.
    /// Never mints or burns: both sides must be real accounts (minting and burning belong to
    /// the subclass's issuing role).
    function forcedTransfer(address from, address to, uint256 amount) public onlyRole(AGENT_ROLE) returns (bool) {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (!canReceive(to)) revert ERC7943CannotReceive(to);
        _unfreezeFor(from, amount);
        _privilegedUpdate(from, to, amount);
        emit ForcedTransfer(from, to, amount);
        return true;
    }

    /// @notice {forcedTransfer} for what `from` holds in `custodian`'s books (a trader's
    /// deposits in the settlement vault): the custodian debits `from`'s book and `amount` of
    /// its token balance goes to `to`'s wallet. The same rules as {forcedTransfer}: `from`'s
    /// eligibility, freezes and frozen amount are bypassed (unfreezing what it takes, custody
    /// counting as holdings), `to` must be able to receive and stays under the per-identity
    /// cap, and a paused token does not stop it. To a wallet, not into `to`'s custody: the
    /// exchange credits custody only for deposits it saw, and a receiver (an escrow, the
    /// court's wallet) need not trade on it.
    /// Requirements: the agent role; `custodian` registered; `to` neither `from` (that would be
    /// a withdrawal, the exchange's) nor a custodian; the custodian not paused and its book of
    /// `from` holding `amount`. Emits {Frozen} when a freeze shrinks, the custodian's event
    /// ({SettlementVault-CustodySeized}), {Transfer} from the custodian and
    /// {ForcedCustodyTransfer}.
    function forcedCustodyTransfer(address custodian, address from, address to, uint256 amount)
        external
        onlyRole(AGENT_ROLE)
        returns (bool)
    {
        if (!_custodians.contains(custodian)) revert TokenNotCustodian(custodian);
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        if (to == address(0)) revert ERC20InvalidReceiver(address(0));
        if (to == from || _custodians.contains(to)) revert TokenInvalidAccount(to);
        if (!canReceive(to)) revert ERC7943CannotReceive(to);
        // Before the debit: the frozen part is what custody and wallet together held above it.
        _unfreezeFor(from, amount);
        ICustodian(custodian).seizeCustody(from, to, amount);
        // Custody stays attributed to `from`'s identity until now (deposits keep attribution),
        // so the per-identity holdings move as for a transfer out of `from`'s wallet.
        if (tracksIdentityBalances) {
            bytes32 fromId = identityRegistry.lastIdentityOf(from);
            bytes32 toId = identityRegistry.lastIdentityOf(to);
            if (fromId != toId) _moveIdentityBalance(fromId, toId, amount);
        }
        ERC20._update(custodian, to, amount);
        emit ForcedCustodyTransfer(custodian, from, to, amount);
        return true;
    }

    /// @notice Moves everything a lost wallet holds to another wallet of the same identity:
    /// its balance, the custody every custodian books for it (paid out to the new wallet),
    /// its frozen amount and its address freeze. The lost wallet may already be unbound in the
    /// registry, which still knows whose it was.
    /// Requirements: both wallets of one identity; the new wallet can receive; when custody is
    /// returned, neither this token nor the custodian is paused.
    /// Emits {Frozen}/{AddressFrozen} for both wallets when a freeze moves, the custodians'
    /// {ICustodian} events, and {BalanceRecovered} with everything moved.
    function recoverBalance(address lostWallet, address newWallet) external onlyRole(AGENT_ROLE) {
        bytes32 lostId = identityRegistry.lastIdentityOf(lostWallet);
        (bytes32 newId,) = identityRegistry.identityOf(newWallet);
        if (lostId == bytes32(0) || lostId != newId || lostWallet == newWallet) {
            revert TokenRecoveryIdentityMismatch(lostWallet, newWallet);
        }
        if (!canReceive(newWallet)) revert ERC7943CannotReceive(newWallet);
        uint256 amount = balanceOf(lostWallet);
        _privilegedUpdate(lostWallet, newWallet, amount);
        uint256 n = _custodians.length();
        for (uint256 i; i < n; ++i) {
            amount += ICustodian(_custodians.at(i)).returnCustody(lostWallet, newWallet);
        }
        // Last, so that an address freeze it carries cannot refuse the custody paid out above.
        uint256 packed = _freeze[lostWallet];
        if (packed != 0) _moveFreeze(lostWallet, newWallet, packed);
        emit BalanceRecovered(lostWallet, newWallet, lostId, amount);
    }

    function pause() external onlyRole(AGENT_ROLE) {
        _rules.paused = true;
        emit TokenPaused(_msgSender());
    }

    function unpause() external onlyRole(AGENT_ROLE) {
        _rules.paused = false;
        emit TokenUnpaused(_msgSender());
    }

    // ---------------------------------------------------------------- governance

    /// @notice Registers or removes a custodian. Requirements: `account` implements
    /// {ICustodian} (its books count towards its holders' frozen amounts); keep the list short,
    /// since a frozen holder's custody is summed over all of them. Emits {CustodianSet}.
    function setCustodian(address account, bool custodian) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert TokenInvalidAccount(account);
        if (custodian) _custodians.add(account);
        else _custodians.remove(account);
        emit CustodianSet(account, custodian);
    }

    /// @notice Sets the holder rules; `countryRule` says how the country list binds receivers
    /// (COUNTRY_RULE_ANY, _ALLOW_LIST or _BLOCK_LIST). Requirements: governance; a KYC level
    /// of at most 2; a known country rule; a cap needs identity tracking.
    /// Emits {TransferRulesSet}.
    function setTransferRules(uint8 minKycLevel, uint8 investorTypeMask, uint8 countryRule, uint128 maxBalancePerIdentity)
        public
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (
            minKycLevel > 2 || countryRule > COUNTRY_RULE_BLOCK_LIST
                || (maxBalancePerIdentity != 0 && !tracksIdentityBalances)
        ) revert TokenInvalidRules();
        TransferRules storage r = _rules;
        r.minKycLevel = minKycLevel;
        r.investorTypeMask = investorTypeMask;
        r.countryRule = countryRule;
        r.maxBalancePerIdentity = maxBalancePerIdentity;
        emit TransferRulesSet(minKycLevel, investorTypeMask, countryRule, maxBalancePerIdentity);
    }

    /// @notice Adds ISO 3166 numeric countries to the token's country list, or removes them.
    /// What a listed country means follows {TransferRules-countryRule}: admitted under an
    /// allow-list, refused under a block-list, nothing while the rule is COUNTRY_RULE_ANY.
    /// Emits {CountryListed} per country.
    function setCountriesListed(uint16[] calldata countries, bool listed) public onlyRole(DEFAULT_ADMIN_ROLE) {
        for (uint256 i; i < countries.length; ++i) {
            uint16 c = countries[i];
            uint256 bit = 1 << (c & 0xff);
            if (listed) _listedCountries[c >> 8] |= bit;
            else _listedCountries[c >> 8] &= ~bit;
            emit CountryListed(c, listed);
        }
    }

    function transferRules() external view returns (TransferRules memory) {
        return _rules;
    }

    function isCountryListed(uint16 country) public view returns (bool) {
        return _listedCountries[country >> 8] & (1 << (country & 0xff)) != 0;
    }

    // ---------------------------------------------------------------- custody

    /// @inheritdoc IPermissionedToken
    /// @dev When `from`'s holdings no longer cover its frozen amount, reverts with
    /// ERC7943InsufficientUnfrozenBalance(from, amount, unfrozen), where `unfrozen` is what
    /// was still unfrozen of `amount` after the custodian's other debits of the same operation.
    function custodyTransfer(address from, address to, uint256 amount) external {
        if (!_custodians.contains(_msgSender())) revert TokenNotCustodian(_msgSender());
        if (_rules.paused) revert TokenIsPaused();
        (bool okFrom, bytes32 fromId) = _eligible(from, false);
        if (!okFrom) revert ERC7943CannotSend(from);
        uint256 frozen = _freeze[from] & _AMOUNT_MASK;
        if (frozen != 0) {
            // The custodian has already debited `from`: what is left must cover the freeze.
            uint256 held = balanceOf(from) + _custodyOf(from);
            if (held < frozen) {
                uint256 before = held + amount;
                revert ERC7943InsufficientUnfrozenBalance(from, amount, before > frozen ? before - frozen : 0);
            }
        }
        (bool okTo, bytes32 toId) = _eligible(to, true);
        if (!okTo) revert ERC7943CannotReceive(to);
        if (tracksIdentityBalances && fromId != toId) _moveIdentityBalance(fromId, toId, amount);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Mint/burn by a privileged role of the subclass: holder-side rules are bypassed
    /// as ERC-7943 permits, but a minted-to wallet must still be able to receive.
    function _privilegedMint(address to, uint256 amount) internal {
        if (!canReceive(to)) revert ERC7943CannotReceive(to);
        _privilegedUpdate(address(0), to, amount);
    }

    function _privilegedBurn(address from, uint256 amount) internal {
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        _unfreezeFor(from, amount);
        _privilegedUpdate(from, address(0), amount);
    }

    function _privilegedUpdate(address from, address to, uint256 amount) private {
        if (_custodians.contains(from)) revert TokenCustodianNotAllowed(from);
        if (_custodians.contains(to)) revert TokenCustodianNotAllowed(to);
        _privileged = true;
        _update(from, to, amount);
        _privileged = false;
    }

    /// @dev The single hook every balance change goes through (OpenZeppelin pattern).
    function _update(address from, address to, uint256 value) internal virtual override {
        bytes32 fromId;
        bytes32 toId;
        bool fromCustodian = from != address(0) && _custodians.contains(from);
        bool toCustodian = to != address(0) && _custodians.contains(to);
        if (!_privileged) {
            if (_rules.paused) revert TokenIsPaused();
            // Tokens enter a custodian only through its own pull (a deposit it books); a plain
            // transfer to it would be stranded outside its books.
            if (toCustodian && _msgSender() != to) revert TokenCustodianNotAllowed(to);
            if (from != address(0) && !fromCustodian) {
                bool ok;
                (ok, fromId) = _eligible(from, false);
                if (!ok) revert ERC7943CannotSend(from);
                if (_freeze[from] & _AMOUNT_MASK != 0) {
                    uint256 balance = balanceOf(from);
                    // Above the balance, ERC20InsufficientBalance says it better.
                    if (value <= balance) {
                        uint256 spendable = _spendable(from, balance);
                        if (value > spendable) revert ERC7943InsufficientUnfrozenBalance(from, value, spendable);
                    }
                }
            }
            if (to != address(0) && !toCustodian) {
                bool ok;
                (ok, toId) = _eligible(to, true);
                if (!ok) revert ERC7943CannotReceive(to);
            }
        }
        // Deposits into and withdrawals from a custodian keep the holder's attribution.
        if (!tracksIdentityBalances || fromCustodian || toCustodian) {
            super._update(from, to, value);
            return;
        }
        // Privileged moves skip the eligibility checks above: ask whose the wallet is for good.
        if (from != address(0) && fromId == bytes32(0)) fromId = identityRegistry.lastIdentityOf(from);
        if (to != address(0) && toId == bytes32(0)) toId = identityRegistry.lastIdentityOf(to);
        super._update(from, to, value);
        if (fromId != toId) _moveIdentityBalance(fromId, toId, value);
    }

    function _moveIdentityBalance(bytes32 fromId, bytes32 toId, uint256 amount) private {
        if (fromId != bytes32(0)) _identityBalances[fromId] -= amount;
        if (toId != bytes32(0)) {
            uint256 next = _identityBalances[toId] + amount;
            uint256 cap = _identityCap();
            if (cap != 0 && next > cap) revert TokenIdentityCapExceeded(toId, next, cap);
            _identityBalances[toId] = next;
        }
    }

    /// @dev Whether `account` may take part in a transfer: verified in the registry, not
    /// frozen, and passing the subclass's rules. Returns its identity hash for reuse.
    function _eligible(address account, bool receiving) internal view returns (bool ok, bytes32 identityHash) {
        if (_freeze[account] & _ADDRESS_FROZEN != 0) return (false, bytes32(0));
        uint8 kycLevel;
        uint16 country;
        uint8 investorType;
        (identityHash, kycLevel, country, investorType) = identityRegistry.verifiedIdentityOf(account);
        if (identityHash == bytes32(0)) return (false, bytes32(0));
        return (_checkIdentity(kycLevel, country, investorType, receiving), identityHash);
    }

    /// @dev The holder rules on a verified identity's attributes (receivers only).
    function _checkIdentity(uint8 kycLevel, uint16 country, uint8 investorType, bool receiving)
        internal
        view
        returns (bool)
    {
        if (!receiving) return true;
        TransferRules memory r = _rules;
        if (kycLevel < r.minKycLevel) return false;
        if (r.investorTypeMask != 0 && r.investorTypeMask & (1 << investorType) == 0) return false;
        // Listed and admitted agree under an allow-list and disagree under a block-list.
        if (r.countryRule != COUNTRY_RULE_ANY && isCountryListed(country) != (r.countryRule == COUNTRY_RULE_ALLOW_LIST)) {
            return false;
        }
        return true;
    }

    function _identityCap() internal view returns (uint256) {
        return _rules.maxBalancePerIdentity;
    }

    function _setFrozenTokens(address account, uint256 amount) internal {
        if (amount > _AMOUNT_MASK) revert TokenInvalidFrozenAmount(account, amount, _AMOUNT_MASK);
        _freeze[account] = (_freeze[account] & _ADDRESS_FROZEN) | amount;
        emit Frozen(account, amount);
    }

    /// @dev Recovery: the lost wallet's freeze is cleared (with events) and added to the new one's.
    function _moveFreeze(address lostWallet, address newWallet, uint256 packed) private {
        delete _freeze[lostWallet];
        if (packed & _AMOUNT_MASK != 0) emit Frozen(lostWallet, 0);
        if (packed & _ADDRESS_FROZEN != 0) emit AddressFrozen(lostWallet, false, _msgSender());
        uint256 target = _freeze[newWallet];
        uint256 amount = (target & _AMOUNT_MASK) + (packed & _AMOUNT_MASK);
        // Saturates rather than reverting (recovery must not be blockable): 2^255 - 1 frozen
        // units already freeze every token there can be.
        if (amount > _AMOUNT_MASK) amount = _AMOUNT_MASK;
        _freeze[newWallet] = (target & _ADDRESS_FROZEN) | (packed & _ADDRESS_FROZEN) | amount;
        emit Frozen(newWallet, amount);
        if (packed & _ADDRESS_FROZEN != 0) emit AddressFrozen(newWallet, true, _msgSender());
    }

    /// @dev What `account` may move out of its wallet holding `balance`: the part of its
    /// holdings (wallet + custody) above its frozen amount, at most the wallet.
    function _spendable(address account, uint256 balance) internal view returns (uint256) {
        uint256 frozen = _freeze[account] & _AMOUNT_MASK;
        if (frozen == 0) return balance;
        uint256 held = balance + _custodyOf(account);
        uint256 free = held > frozen ? held - frozen : 0;
        return _min(free, balance);
    }

    /// @dev What every custodian books for `account` (asked only for holders with a freeze).
    function _custodyOf(address account) private view returns (uint256 total) {
        uint256 n = _custodians.length();
        for (uint256 i; i < n; ++i) {
            total += ICustodian(_custodians.at(i)).balanceOf(address(this), account);
        }
    }

    /// @dev A privileged move may take frozen tokens: reduce the frozen amount by the frozen
    /// part it takes, counting the holder's custody as holdings.
    function _unfreezeFor(address from, uint256 amount) private {
        uint256 frozen = _freeze[from] & _AMOUNT_MASK;
        if (frozen == 0) return;
        uint256 held = balanceOf(from) + _custodyOf(from);
        uint256 unfrozen = held > frozen ? held - frozen : 0;
        if (amount > unfrozen) {
            uint256 needed = amount - unfrozen;
            _setFrozenTokens(from, frozen > needed ? frozen - needed : 0);
        }
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
