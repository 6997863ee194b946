// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title AuditAnchor
/// @notice Append-only record of the roots of Sen's off-chain audit log (an RFC 9162 Merkle
/// tree). Each anchor covers the log's sequence range [fromSeq, toSeq) and is readable by
/// anyone: on chain by tree size ({rootAt}), and as the full history in {RootAnchored}
/// events; nothing can be rewritten.
///
/// Design (gas): one new slot per anchor (the root, keyed by tree size) plus one rewritten
/// head slot packing the auditor, the tree size and the time of the latest anchor, so the
/// role check, the contiguity check and the bookkeeping cost a single cold read. The auditor
/// is therefore one address set by the admin rather than an AccessControl role member, and
/// per-anchor times live in the events (the chain's own record of when they were mined).
///
/// Bounds: one anchor covers at most MAX_ANCHOR_RANGE (2^32) records, so a single anchor (a
/// faulty or compromised auditor jumping to toSeq = 2^64 - 1) can never use up the sequence
/// space and end anchoring for good: exhausting it takes 2^32 anchors. A log that grew by
/// more than that between two anchors is anchored in several steps. The auditor is never the
/// zero address, which no one could anchor as.
contract AuditAnchor is AccessControl {
    struct Head {
        address auditor;
        uint64 treeSize; // == toSeq of the latest anchor
        uint32 anchoredAt; // unix seconds of the latest anchor
    }

    /// @notice The most records one anchor may cover (toSeq - fromSeq).
    uint64 public constant MAX_ANCHOR_RANGE = 1 << 32;

    Head private _head;
    mapping(uint64 treeSize => bytes32 root) private _roots;

    event RootAnchored(uint64 indexed fromSeq, uint64 indexed toSeq, bytes32 root, uint256 timestamp);
    event AuditorChanged(address indexed previous, address indexed auditor);

    error AnchorNotAuditor(address caller);
    error AnchorNotContiguous(uint64 expectedFromSeq, uint64 fromSeq);
    error AnchorEmptyRange(uint64 fromSeq, uint64 toSeq);
    error AnchorZeroRoot();
    error AnchorUnknownTreeSize(uint64 treeSize);
    error AnchorRangeTooLarge(uint64 fromSeq, uint64 toSeq, uint64 maxRange);
    error AnchorInvalidAuditor(address auditor);

    constructor(address admin, address auditor_) {
        if (auditor_ == address(0)) revert AnchorInvalidAuditor(auditor_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _head.auditor = auditor_;
        emit AuditorChanged(address(0), auditor_);
    }

    /// @notice Anchors the root of the log's first `toSeq` records; `fromSeq` must be the
    /// previous anchor's `toSeq` (0 for the first), so anchors tile the log with no gap.
    /// Requirements: the auditor; a non-empty range of at most MAX_ANCHOR_RANGE records; a
    /// non-zero root. Emits {RootAnchored}.
    function anchor(uint64 fromSeq, uint64 toSeq, bytes32 root) external {
        Head memory h = _head;
        if (msg.sender != h.auditor) revert AnchorNotAuditor(msg.sender);
        if (fromSeq != h.treeSize) revert AnchorNotContiguous(h.treeSize, fromSeq);
        if (toSeq <= fromSeq) revert AnchorEmptyRange(fromSeq, toSeq);
        if (toSeq - fromSeq > MAX_ANCHOR_RANGE) revert AnchorRangeTooLarge(fromSeq, toSeq, MAX_ANCHOR_RANGE);
        if (root == bytes32(0)) revert AnchorZeroRoot();
        _roots[toSeq] = root;
        _head = Head({auditor: h.auditor, treeSize: toSeq, anchoredAt: uint32(block.timestamp)});
        emit RootAnchored(fromSeq, toSeq, root, block.timestamp);
    }

    /// @notice Hands anchoring to `auditor_`. Requirements: the admin; not the zero address.
    /// Emits {AuditorChanged}.
    function setAuditor(address auditor_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (auditor_ == address(0)) revert AnchorInvalidAuditor(auditor_);
        emit AuditorChanged(_head.auditor, auditor_);
        _head.auditor = auditor_;
    }

    function auditor() external view returns (address) {
        return _head.auditor;
    }

    /// @notice Tree size and time of the latest anchor.
    function latest() external view returns (uint64 treeSize, bytes32 root, uint32 anchoredAt) {
        Head memory h = _head;
        return (h.treeSize, _roots[h.treeSize], h.anchoredAt);
    }

    /// @notice The anchored root of the first `treeSize` records; reverts if none was.
    function rootAt(uint64 treeSize) external view returns (bytes32 root) {
        root = _roots[treeSize];
        if (root == bytes32(0)) revert AnchorUnknownTreeSize(treeSize);
    }
}
