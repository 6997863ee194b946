// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Vm
/// @notice The subset of the Foundry cheatcode interface that Sen's Solidity tests use.
/// Hardhat 3 (EDR) answers these calls at the cheatcode address
/// 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D (= address(bytes20(uint160(uint256(
/// keccak256("hevm cheat code")))))). Signatures must match Foundry's exactly: the runner
/// dispatches on the 4-byte selector.
interface Vm {
    /// @notice One event recorded between {recordLogs} and {getRecordedLogs}.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    // ------------------------------------------------------------- caller and time

    /// @notice The next call (only) is made with `msg.sender == sender`.
    function prank(address sender) external;

    /// @notice Every following call is made with `msg.sender == sender` until {stopPrank}.
    function startPrank(address sender) external;

    function stopPrank() external;

    /// @notice Sets `block.timestamp`.
    function warp(uint256 timestamp) external;

    /// @notice Sets `block.number`.
    function roll(uint256 blockNumber) external;

    // ------------------------------------------------------------- expectations

    /// @notice The next call must revert (with anything).
    function expectRevert() external;

    /// @notice The next call must revert with data starting with this selector.
    function expectRevert(bytes4 selector) external;

    /// @notice The next call must revert with exactly this data.
    function expectRevert(bytes calldata revertData) external;

    /// @notice Discards the current fuzz input when `condition` is false.
    function assume(bool condition) external pure;

    // ------------------------------------------------------------- events

    function recordLogs() external;

    function getRecordedLogs() external returns (Log[] memory logs);

    // ------------------------------------------------------------- state

    /// @notice Snapshots the whole EVM state; {revertToState} goes back to it.
    function snapshotState() external returns (uint256 snapshotId);

    function revertToState(uint256 snapshotId) external returns (bool success);

    // ------------------------------------------------------------- keys

    /// @notice The address of a private key.
    function addr(uint256 privateKey) external pure returns (address keyAddress);

    /// @notice Signs `digest` with `privateKey` (secp256k1).
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    function label(address account, string calldata newLabel) external;

    // ------------------------------------------------------------- formatting

    function toString(uint256 value) external pure returns (string memory);

    function toString(int256 value) external pure returns (string memory);

    function toString(address value) external pure returns (string memory);

    function toString(bytes32 value) external pure returns (string memory);

    function toString(bool value) external pure returns (string memory);
}
