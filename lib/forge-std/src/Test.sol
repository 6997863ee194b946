// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice A small, self-written base for Hardhat 3 Solidity tests, import-compatible with
/// the parts of forge-std that Sen uses (`import {Test} from "forge-std/Test.sol"`):
/// the cheatcode handle `vm`, assertion helpers that revert with a readable message,
/// `bound` for fuzz inputs, and the invariant-target hooks the runner reads
/// (`targetContracts`, `targetSelectors`, `targetSenders`, `excludeContracts`).
abstract contract Test {
    /// @dev Foundry's marker that a contract is a test suite.
    bool public IS_TEST = true;

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    // ------------------------------------------------------------- assertions

    function fail(string memory message) internal pure {
        revert(string.concat("assertion failed: ", message));
    }

    function assertTrue(bool condition) internal pure {
        if (!condition) fail("expected true");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) fail(message);
    }

    function assertFalse(bool condition) internal pure {
        if (condition) fail("expected false");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) fail(message);
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, " (", vm.toString(left), " != ", vm.toString(right), ")"));
    }

    function assertEq(int256 left, int256 right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, " (", vm.toString(left), " != ", vm.toString(right), ")"));
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, " (", vm.toString(left), " != ", vm.toString(right), ")"));
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, " (", vm.toString(left), " != ", vm.toString(right), ")"));
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) fail(string.concat(message, " (", vm.toString(left), " != ", vm.toString(right), ")"));
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) != keccak256(right)) fail(string.concat(message, " (bytes differ)"));
    }

    function assertNotEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left == right) fail(string.concat(message, " (both ", vm.toString(left), ")"));
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) fail(string.concat(message, " (", vm.toString(left), " > ", vm.toString(right), ")"));
    }

    function assertLt(uint256 left, uint256 right, string memory message) internal pure {
        if (left >= right) fail(string.concat(message, " (", vm.toString(left), " >= ", vm.toString(right), ")"));
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        if (left < right) fail(string.concat(message, " (", vm.toString(left), " < ", vm.toString(right), ")"));
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        if (left <= right) fail(string.concat(message, " (", vm.toString(left), " <= ", vm.toString(right), ")"));
    }

    // ------------------------------------------------------------- fuzz helpers

    /// @notice Maps any `x` into [min, max] by wrapping, so every input stays usable
    /// (unlike `vm.assume`, which discards inputs). Values already inside are unchanged.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) fail("bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    /// @notice A deterministic address labelled `name` in traces.
    function makeAddr(string memory name) internal returns (address account) {
        account = address(uint160(uint256(keccak256(bytes(name)))));
        vm.label(account, name);
    }

    // ------------------------------------------------------------- invariant targets

    /// @notice Functions of `addr` the invariant fuzzer may call (ABI shape read by the runner).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    FuzzSelector[] private _targetedSelectors;

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }
}
