// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {DepartmentDirectory} from "./DepartmentDirectory.sol";
import {ROLE_ISSUER} from "./IDepartmentDirectory.sol";
import {
    ILicenceRegistry,
    STATUS_ACTIVE,
    STATUS_SUSPENDED,
    STATUS_REVOKED,
    STATUS_NOT_ANCHORED
} from "./ILicenceRegistry.sol";

/**
 * @dev Implementation of {ILicenceRegistry} joined with the {DepartmentDirectory}, so
 * anchoring authorises the sender with one storage read and stores one slot per batch.
 *
 * A leaf's status history is pinned to the department of its first change: another
 * department cannot alter it even by anchoring a root that contains the same leaf.
 */
contract LicenceRegistry is DepartmentDirectory, ILicenceRegistry {
    /// @dev One slot per anchored batch; `issuerIndex` 0 means not anchored.
    struct BatchSlot {
        uint32 issuerIndex;
        uint64 anchoredAt;
        uint32 count;
        bytes16 licenceTypeHash;
    }

    /// @dev One slot per status change.
    struct StatusEntry {
        uint64 at;
        uint8 status;
        uint16 reason;
        uint32 department;
    }

    mapping(bytes32 root => BatchSlot) private _batches;
    mapping(bytes32 leaf => StatusEntry[]) private _history;
    mapping(address account => mapping(address delegate => bool)) private _delegates;

    constructor(address[] memory council, uint8 threshold_) DepartmentDirectory(council, threshold_) {}

    /// @inheritdoc ILicenceRegistry
    function anchorBatch(bytes32 root, uint32 count, bytes32 licenceType) external {
        _anchor(msg.sender, root, count, licenceType);
    }

    /// @inheritdoc ILicenceRegistry
    function setAnchorDelegate(address delegate, bool allowed) external {
        _delegates[msg.sender][delegate] = allowed;
        emit AnchorDelegateSet(msg.sender, delegate, allowed);
    }

    /// @inheritdoc ILicenceRegistry
    function anchorBatchFor(address account, bytes32 root, uint32 count, bytes32 licenceType) external {
        if (!_delegates[account][msg.sender]) revert LicenceRegistryNotDelegate(msg.sender, account);
        _anchor(account, root, count, licenceType);
    }

    /// @inheritdoc ILicenceRegistry
    function isAnchorDelegate(address account, address delegate) external view returns (bool) {
        return _delegates[account][delegate];
    }

    /// @inheritdoc ILicenceRegistry
    function suspend(bytes32 documentDigest, bytes32 root, bytes32[] calldata proof, uint16 reason) external {
        (bytes32 leaf, uint32 index) = _authorise(documentDigest, root, proof);
        uint8 current = _currentStatus(leaf);
        if (current == STATUS_REVOKED) revert LicenceRegistryAlreadyRevoked(leaf);
        if (current == STATUS_SUSPENDED) revert LicenceRegistryAlreadySuspended(leaf);
        uint64 now_ = _record(leaf, STATUS_SUSPENDED, reason, index);
        emit LicenceSuspended(leaf, root, reason, now_);
    }

    /// @inheritdoc ILicenceRegistry
    function reinstate(bytes32 documentDigest, bytes32 root, bytes32[] calldata proof) external {
        (bytes32 leaf, uint32 index) = _authorise(documentDigest, root, proof);
        uint8 current = _currentStatus(leaf);
        if (current == STATUS_REVOKED) revert LicenceRegistryAlreadyRevoked(leaf);
        if (current != STATUS_SUSPENDED) revert LicenceRegistryNotSuspended(leaf);
        uint64 now_ = _record(leaf, STATUS_ACTIVE, 0, index);
        emit LicenceReinstated(leaf, root, now_);
    }

    /// @inheritdoc ILicenceRegistry
    function revoke(bytes32 documentDigest, bytes32 root, bytes32[] calldata proof, uint16 reason) external {
        (bytes32 leaf, uint32 index) = _authorise(documentDigest, root, proof);
        if (_currentStatus(leaf) == STATUS_REVOKED) revert LicenceRegistryAlreadyRevoked(leaf);
        uint64 now_ = _record(leaf, STATUS_REVOKED, reason, index);
        emit LicenceRevoked(leaf, root, reason, now_);
    }

    /// @inheritdoc ILicenceRegistry
    function batch(bytes32 root) external view returns (Batch memory) {
        BatchSlot memory slot = _batches[root];
        if (slot.issuerIndex == 0) revert LicenceRegistryUnknownBatch(root);
        return Batch({
            issuer: _codeAt(slot.issuerIndex),
            anchoredAt: slot.anchoredAt,
            count: slot.count,
            licenceTypeHash: slot.licenceTypeHash
        });
    }

    /// @inheritdoc ILicenceRegistry
    function statusOf(bytes32 leaf) external view returns (uint8 status, uint16 reason, uint64 since) {
        StatusEntry[] storage history = _history[leaf];
        if (history.length == 0) return (STATUS_ACTIVE, 0, 0);
        StatusEntry memory last = history[history.length - 1];
        return (last.status, last.reason, last.at);
    }

    /// @inheritdoc ILicenceRegistry
    function statusAt(bytes32 leaf, uint64 time) public view returns (uint8 status, uint16 reason, uint64 since) {
        StatusEntry[] storage history = _history[leaf];
        // Upper bound: the first entry later than `time`; the one before it is in force.
        uint256 low = 0;
        uint256 high = history.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (history[mid].at > time) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        if (low == 0) return (STATUS_ACTIVE, 0, 0);
        StatusEntry memory entry = history[low - 1];
        return (entry.status, entry.reason, entry.at);
    }

    /// @inheritdoc ILicenceRegistry
    function statusHistoryLength(bytes32 leaf) external view returns (uint256) {
        return _history[leaf].length;
    }

    /// @inheritdoc ILicenceRegistry
    function statusHistoryAt(
        bytes32 leaf,
        uint256 i
    ) external view returns (uint8 status, uint16 reason, uint64 at, bytes32 department_) {
        StatusEntry memory entry = _history[leaf][i];
        return (entry.status, entry.reason, entry.at, _codeAt(entry.department));
    }

    /// @inheritdoc ILicenceRegistry
    function verifiedStatusAt(
        bytes32 documentDigest,
        bytes32 root,
        bytes32[] calldata proof,
        uint64 time
    ) external view returns (uint8 status, uint16 reason, uint64 since) {
        BatchSlot memory slot = _batches[root];
        bytes32 leaf = keccak256(abi.encodePacked(documentDigest));
        if (slot.issuerIndex == 0 || time < slot.anchoredAt || !MerkleProof.verifyCalldata(proof, root, leaf)) {
            return (STATUS_NOT_ANCHORED, 0, 0);
        }
        return statusAt(leaf, time);
    }

    /// @dev Anchors `root` as a batch of `issuer`'s department.
    function _anchor(address issuer, bytes32 root, uint32 count, bytes32 licenceType) private {
        AccountSlot memory sender = _accountSlot(issuer);
        if (!sender.active || sender.roles & ROLE_ISSUER == 0) revert LicenceRegistryNotIssuer(issuer);
        if (root == bytes32(0) || count == 0) revert LicenceRegistryInvalidBatch(root, count);
        BatchSlot storage slot = _batches[root];
        if (slot.issuerIndex != 0) revert LicenceRegistryBatchExists(root);
        uint64 now_ = uint64(block.timestamp);
        _batches[root] = BatchSlot({
            issuerIndex: sender.index,
            anchoredAt: now_,
            count: count,
            licenceTypeHash: bytes16(keccak256(abi.encode(licenceType)))
        });
        emit BatchAnchored(root, bytes32(sender.code), licenceType, count, now_);
    }

    /// @dev Checks the caller anchored `root`, proves the leaf in it and returns the leaf and department index.
    function _authorise(
        bytes32 documentDigest,
        bytes32 root,
        bytes32[] calldata proof
    ) private view returns (bytes32 leaf, uint32 index) {
        uint32 issuerIndex = _batches[root].issuerIndex;
        if (issuerIndex == 0) revert LicenceRegistryUnknownBatch(root);
        AccountSlot memory sender = _accountSlot(msg.sender);
        if (!sender.active || sender.index != issuerIndex) {
            revert LicenceRegistryNotBatchIssuer(root, sender.active ? bytes32(sender.code) : bytes32(0));
        }
        leaf = keccak256(abi.encodePacked(documentDigest));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert LicenceRegistryInvalidProof(leaf, root);
        StatusEntry[] storage history = _history[leaf];
        if (history.length != 0 && history[0].department != issuerIndex) {
            revert LicenceRegistryNotLeafIssuer(leaf, _codeAt(issuerIndex));
        }
        index = issuerIndex;
    }

    function _currentStatus(bytes32 leaf) private view returns (uint8) {
        StatusEntry[] storage history = _history[leaf];
        return history.length == 0 ? STATUS_ACTIVE : history[history.length - 1].status;
    }

    function _record(bytes32 leaf, uint8 status, uint16 reason, uint32 index) private returns (uint64 now_) {
        now_ = uint64(block.timestamp);
        _history[leaf].push(StatusEntry({at: now_, status: status, reason: reason, department: index}));
    }
}
