// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @dev Licence status codes returned by the registry views.
uint8 constant STATUS_ACTIVE = 0;
uint8 constant STATUS_SUSPENDED = 1;
uint8 constant STATUS_REVOKED = 2;
uint8 constant STATUS_NOT_ANCHORED = 3;

/**
 * @dev The e-licence registry: batch anchors (one Merkle root per batch) and the
 * append-only status history of each licence leaf.
 *
 * A leaf is `keccak256(abi.encodePacked(documentDigest))`; batches are
 * OpenZeppelin {MerkleProof} trees (sorted-pair keccak256).
 */
interface ILicenceRegistry {
    /// @dev An anchored batch as returned by {batch}.
    struct Batch {
        bytes32 issuer;
        uint64 anchoredAt;
        uint32 count;
        bytes16 licenceTypeHash;
    }

    /// @dev The caller is not an active department with the ISSUER role.
    error LicenceRegistryNotIssuer(address account);

    /// @dev The root was anchored before.
    error LicenceRegistryBatchExists(bytes32 root);

    /// @dev The root is zero or the count is zero.
    error LicenceRegistryInvalidBatch(bytes32 root, uint32 count);

    /// @dev The root was never anchored.
    error LicenceRegistryUnknownBatch(bytes32 root);

    /// @dev The proof does not lead from the leaf to the root.
    error LicenceRegistryInvalidProof(bytes32 leaf, bytes32 root);

    /// @dev The caller's department (zero when none or inactive) did not anchor the root.
    error LicenceRegistryNotBatchIssuer(bytes32 root, bytes32 department);

    /// @dev The leaf's status history belongs to another department.
    error LicenceRegistryNotLeafIssuer(bytes32 leaf, bytes32 department);

    /// @dev The licence is revoked; revocation is final.
    error LicenceRegistryAlreadyRevoked(bytes32 leaf);

    /// @dev The licence is not suspended.
    error LicenceRegistryNotSuspended(bytes32 leaf);

    /// @dev The licence is already suspended.
    error LicenceRegistryAlreadySuspended(bytes32 leaf);

    /// @dev The caller is not a delegate `account` allowed to anchor in its name.
    error LicenceRegistryNotDelegate(address caller, address account);

    /// @dev Emitted when an issuer anchors a batch of `count` licences under `root`.
    event BatchAnchored(
        bytes32 indexed root,
        bytes32 indexed issuer,
        bytes32 licenceType,
        uint32 count,
        uint64 anchoredAt
    );

    /// @dev Emitted when a licence is suspended.
    event LicenceSuspended(bytes32 indexed leaf, bytes32 indexed root, uint16 reason, uint64 at);

    /// @dev Emitted when a suspended licence is reinstated.
    event LicenceReinstated(bytes32 indexed leaf, bytes32 indexed root, uint64 at);

    /// @dev Emitted when a licence is revoked.
    event LicenceRevoked(bytes32 indexed leaf, bytes32 indexed root, uint16 reason, uint64 at);

    /// @dev `account` allowed (or stopped allowing) `delegate` to anchor batches in its name.
    event AnchorDelegateSet(address indexed account, address indexed delegate, bool allowed);

    /**
     * @dev Anchors a batch of `count` licences of `licenceType` under Merkle `root`.
     *
     * Requirements:
     *
     * - the caller must be an active department with the ISSUER role.
     * - `root` and `count` must be non-zero; `root` must not be anchored yet.
     *
     * Emits a {BatchAnchored} event.
     */
    function anchorBatch(bytes32 root, uint32 count, bytes32 licenceType) external;

    /**
     * @dev Allows (or stops allowing) `delegate`, a contract, to anchor batches in the name of
     * the caller's department account. A transfer-case contract uses this to anchor a new title
     * certificate or a case's tax vouchers in the same transaction as the step that issues them.
     * The permission belongs to the account: a department that changes its account sets it again.
     *
     * Emits an {AnchorDelegateSet} event.
     */
    function setAnchorDelegate(address delegate, bool allowed) external;

    /**
     * @dev Anchors a batch exactly as {anchorBatch} would when called by `account`.
     *
     * Requirements:
     *
     * - `account` must have allowed the caller with {setAnchorDelegate}.
     * - `account` must be an active department with the ISSUER role; the batch is its own.
     *
     * Emits a {BatchAnchored} event naming `account`'s department.
     */
    function anchorBatchFor(address account, bytes32 root, uint32 count, bytes32 licenceType) external;

    /// @dev Returns whether `account` allows `delegate` to anchor in its name.
    function isAnchorDelegate(address account, address delegate) external view returns (bool);

    /**
     * @dev Suspends the licence with `documentDigest`, proved by `proof` to be in `root`.
     *
     * Requirements:
     *
     * - `root` must be anchored by the caller's active department, and `proof` valid.
     * - the licence must be active (not suspended, not revoked).
     *
     * Emits a {LicenceSuspended} event.
     */
    function suspend(bytes32 documentDigest, bytes32 root, bytes32[] calldata proof, uint16 reason) external;

    /**
     * @dev Reinstates the suspended licence with `documentDigest`.
     *
     * Requirements:
     *
     * - `root` must be anchored by the caller's active department, and `proof` valid.
     * - the licence must be suspended.
     *
     * Emits a {LicenceReinstated} event.
     */
    function reinstate(bytes32 documentDigest, bytes32 root, bytes32[] calldata proof) external;

    /**
     * @dev Revokes the licence with `documentDigest`, finally.
     *
     * Requirements:
     *
     * - `root` must be anchored by the caller's active department, and `proof` valid.
     * - the licence must not be revoked.
     *
     * Emits a {LicenceRevoked} event.
     */
    function revoke(bytes32 documentDigest, bytes32 root, bytes32[] calldata proof, uint16 reason) external;

    /// @dev Returns the batch anchored under `root`; reverts when it is unknown.
    function batch(bytes32 root) external view returns (Batch memory);

    /// @dev Returns the current status of `leaf` (0 active, 1 suspended, 2 revoked) and since when.
    function statusOf(bytes32 leaf) external view returns (uint8 status, uint16 reason, uint64 since);

    /// @dev Returns the status of `leaf` in force at `time`.
    function statusAt(bytes32 leaf, uint64 time) external view returns (uint8 status, uint16 reason, uint64 since);

    /// @dev Returns the number of status changes of `leaf`.
    function statusHistoryLength(bytes32 leaf) external view returns (uint256);

    /// @dev Returns the `i`-th status change of `leaf`, oldest first.
    function statusHistoryAt(bytes32 leaf, uint256 i)
        external
        view
        returns (uint8 status, uint16 reason, uint64 at, bytes32 department);

    /**
     * @dev Returns the status at `time` of the licence with `documentDigest` proved in `root`,
     * or 3 (not anchored) when `root` is unknown, anchored after `time`, or the proof fails.
     */
    function verifiedStatusAt(
        bytes32 documentDigest,
        bytes32 root,
        bytes32[] calldata proof,
        uint64 time
    ) external view returns (uint8 status, uint16 reason, uint64 since);
}
