// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @dev Owner shares are parts per million; the shares of a title sum to exactly this.
uint32 constant SHARE_WHOLE = 1_000_000;

/// @dev Kinds of change appended to a unit's hash chain (the `kind` of {TitleChanged}).
uint8 constant CHANGE_REGISTERED = 1;
uint8 constant CHANGE_CERTIFICATE_UPDATED = 2;
uint8 constant CHANGE_CONTRACT_FILED = 3;
uint8 constant CHANGE_CONTRACT_CLEARED = 4;
uint8 constant CHANGE_PRE_NOTICE_RECORDED = 5;
uint8 constant CHANGE_PRE_NOTICE_CONSENTED = 6;
uint8 constant CHANGE_PRE_NOTICE_CLEARED = 7;
uint8 constant CHANGE_MORTGAGE_RECORDED = 8;
uint8 constant CHANGE_MORTGAGE_CONSENTED = 9;
uint8 constant CHANGE_MORTGAGE_RELEASED = 10;
uint8 constant CHANGE_SEIZURE_RECORDED = 11;
uint8 constant CHANGE_SEIZURE_RELEASED = 12;
uint8 constant CHANGE_OBJECTION_RECORDED = 13;
uint8 constant CHANGE_OBJECTION_SUIT_FILED = 14;
uint8 constant CHANGE_OBJECTION_CLEARED = 15;
uint8 constant CHANGE_OWNERS_CONSENTED = 16;
uint8 constant CHANGE_CANCELLED = 17;
uint8 constant CHANGE_TRANSFERRED = 18;

/// @dev Bits of {IPropertyRegistry-guardsFor}: each set bit is a guard that refuses a transfer.
uint8 constant GUARD_SEIZED = 1;
uint8 constant GUARD_OBJECTION = 2;
uint8 constant GUARD_PRE_NOTICE = 4;
uint8 constant GUARD_MORTGAGE = 8;
uint8 constant GUARD_OWNER_CONSENT = 16;
uint8 constant GUARD_CANCELLED = 32;

/**
 * @dev The property register: one title per unit, keyed by `keccak256(bytes(unitNumber))`
 * of the 28-character unit number (validated off chain before sending).
 *
 * A title holds its owners as salted commitments with shares, the current title
 * certificate leaf, and its encumbrances: a filed sale contract, a pre-notice, mortgages
 * by rank, a seizure with its queue of waiting seizures, an objection. There is no
 * function an owner can call: titles are written by departments only.
 *
 * Every change appends one link to the unit's hash chain, starting from the unit key:
 * `head = keccak256(abi.encode(previousHead, kind, keccak256(data), block.timestamp))`,
 * and emits {TitleChanged} with `data` itself, so the chain can be recomputed from logs.
 * `data` is the `abi.encode` of the change's fields, documented on each function.
 */
interface IPropertyRegistry {
    /// @dev A co-owner: the salted commitment of their ID number and their share in parts per million.
    struct Owner {
        bytes32 commitment;
        uint32 share;
    }

    /// @dev A title as returned by {title}.
    struct TitleView {
        uint64 registeredAt;
        uint64 updatedAt;
        uint32 changes;
        bool cancelled;
        uint8 mortgageCount;
        uint8 activeMortgages;
        uint32 ownerConsentMask;
        bytes32 certificateLeaf;
        bytes32 contractHash;
        bytes32 head;
    }

    /// @dev A mortgage as returned by {mortgage}; `rank` is its 1-based order of registration.
    struct MortgageView {
        bytes32 mortgagee;
        uint128 amount;
        uint64 recordedAt;
        bool consented;
        bool released;
    }

    /// @dev A seizure as returned by {seizureAt}; `from` is 0 while it waits in the queue.
    struct SeizureView {
        bytes32 court;
        bytes32 orderHash;
        uint64 from;
        uint32 duration;
        bool released;
    }

    /// @dev The caller is not an active department holding `role` in the directory.
    error PropertyRegistryMissingRole(address account, uint64 role);

    /// @dev The unit key is zero.
    error PropertyRegistryInvalidUnit(bytes32 unit);

    /// @dev A title for the unit exists already.
    error PropertyRegistryTitleExists(bytes32 unit);

    /// @dev No title was registered for the unit.
    error PropertyRegistryUnknownTitle(bytes32 unit);

    /// @dev The title is cancelled; it takes no further change.
    error PropertyRegistryTitleCancelled(bytes32 unit);

    /// @dev Owner `index` has a zero or repeated commitment or a zero share, or there are 0 or more than 32 owners.
    error PropertyRegistryInvalidOwner(uint256 index);

    /// @dev The owners' shares sum to `total`, not {SHARE_WHOLE}.
    error PropertyRegistryInvalidShares(uint256 total);

    /// @dev A hash, commitment or leaf that must be set is zero.
    error PropertyRegistryZeroValue();

    /// @dev The consent mask names an owner index the title does not have.
    error PropertyRegistryInvalidOwnerMask(uint32 mask, uint8 ownerCount);

    /// @dev A sale contract is filed on the unit already.
    error PropertyRegistryContractAlreadyFiled(bytes32 unit, bytes32 contractHash);

    /// @dev No sale contract is filed on the unit.
    error PropertyRegistryNoFiledContract(bytes32 unit);

    /// @dev A pre-notice is in force on the unit already.
    error PropertyRegistryPreNoticeExists(bytes32 unit, bytes32 holder);

    /// @dev No pre-notice is in force on the unit.
    error PropertyRegistryNoPreNotice(bytes32 unit);

    /// @dev The expiry is not in the future.
    error PropertyRegistryInvalidExpiry(uint64 expiresAt);

    /// @dev The mortgagee code is not an active department with the BANK role, or the amount is zero.
    error PropertyRegistryInvalidMortgage(bytes32 mortgagee, uint128 amount);

    /// @dev The title already carries the largest number of mortgages a title can ever record.
    error PropertyRegistryTooManyMortgages(bytes32 unit);

    /// @dev No mortgage has this rank, or it is released.
    error PropertyRegistryUnknownMortgage(bytes32 unit, uint8 rank);

    /// @dev The caller's department is not the mortgagee of this mortgage.
    error PropertyRegistryNotMortgagee(bytes32 unit, uint8 rank, bytes32 department);

    /// @dev The duration is 0 or longer than three years.
    error PropertyRegistryInvalidSeizureDuration(uint32 duration);

    /// @dev The seizure queue (active plus waiting) is full.
    error PropertyRegistrySeizureQueueFull(bytes32 unit);

    /// @dev No active or waiting seizure has this order hash.
    error PropertyRegistryUnknownSeizure(bytes32 unit, bytes32 orderHash);

    /// @dev The caller's court did not make this seizure.
    error PropertyRegistryNotSeizingCourt(bytes32 unit, bytes32 orderHash, bytes32 department);

    /// @dev An objection is in force on the unit already.
    error PropertyRegistryObjectionExists(bytes32 unit, bytes32 applicant);

    /// @dev No objection is in force on the unit.
    error PropertyRegistryNoObjection(bytes32 unit);

    /// @dev Guard: the unit is seized by `court` under `orderHash`.
    error PropertyRegistryUnitSeized(bytes32 unit, bytes32 court, bytes32 orderHash);

    /// @dev Guard: an objection is in force (`expiresAt` 0 when a suit was filed).
    error PropertyRegistryUnderObjection(bytes32 unit, uint64 expiresAt);

    /// @dev Guard: a pre-notice is held by someone other than the transferee, without their consent.
    error PropertyRegistryPreNoticeHeld(bytes32 unit, bytes32 holder);

    /// @dev Guard: the mortgage of `rank` is neither released nor consented to by its mortgagee.
    error PropertyRegistryMortgageNotReleased(bytes32 unit, uint8 rank, bytes32 mortgagee);

    /// @dev Guard: co-owner `index` has not consented.
    error PropertyRegistryOwnerNotConsented(bytes32 unit, uint8 index);

    /// @dev The caller is not the transfer-case contract bound with {bindTransferCases}.
    error PropertyRegistryNotTransferCases(address account);

    /// @dev A transfer-case contract is bound already.
    error PropertyRegistryTransferCasesBound(address cases);

    /// @dev The contract filed on the unit is `filed`, not the case's `given`.
    error PropertyRegistryContractMismatch(bytes32 unit, bytes32 filed, bytes32 given);

    /**
     * @dev Emitted after every change of a title with the change's `data`, its time and the
     * unit's new chain `head`.
     */
    event TitleChanged(bytes32 indexed unit, uint8 indexed kind, bytes data, uint64 at, bytes32 head);

    /**
     * @dev Registers the title of `unit` with its `owners` and `certificateLeaf`.
     * `data` = `abi.encode(owners, certificateLeaf)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role.
     * - `unit` must be non-zero and have no title yet; `certificateLeaf` non-zero.
     * - 1 to 32 owners with distinct non-zero commitments and non-zero shares summing to {SHARE_WHOLE}.
     *
     * Emits a {TitleChanged} event of kind REGISTERED.
     */
    function registerTitle(bytes32 unit, Owner[] calldata owners, bytes32 certificateLeaf) external;

    /**
     * @dev Replaces the title certificate leaf (a re-issued certificate). `data` = `abi.encode(leaf)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - `leaf` must be non-zero.
     *
     * Emits a {TitleChanged} event of kind CERTIFICATE_UPDATED.
     */
    function updateCertificate(bytes32 unit, bytes32 leaf) external;

    /**
     * @dev Records a filed sale contract (网签备案); a filed contract blocks another.
     * `data` = `abi.encode(contractHash)`.
     *
     * Requirements:
     *
     * - the caller must hold the HOUSING role; the title must exist and not be cancelled.
     * - `contractHash` must be non-zero and no contract filed.
     *
     * Emits a {TitleChanged} event of kind CONTRACT_FILED.
     */
    function fileContract(bytes32 unit, bytes32 contractHash) external;

    /**
     * @dev Clears the filed sale contract. `data` = `abi.encode(contractHash)` of the cleared one.
     *
     * Requirements:
     *
     * - the caller must hold the HOUSING role; the title must exist and not be cancelled.
     * - a contract must be filed.
     *
     * Emits a {TitleChanged} event of kind CONTRACT_CLEARED.
     */
    function clearContract(bytes32 unit) external;

    /**
     * @dev Records a pre-notice (预告登记) for `holder` until `expiresAt`.
     * `data` = `abi.encode(holder, expiresAt)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - `holder` non-zero, `expiresAt` in the future, no pre-notice in force.
     *
     * Emits a {TitleChanged} event of kind PRE_NOTICE_RECORDED.
     */
    function recordPreNotice(bytes32 unit, bytes32 holder, uint64 expiresAt) external;

    /**
     * @dev Records that the pre-notice holder consented to a transfer to someone else.
     * `data` = `abi.encode(holder)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - a pre-notice must be in force.
     *
     * Emits a {TitleChanged} event of kind PRE_NOTICE_CONSENTED.
     */
    function consentPreNotice(bytes32 unit) external;

    /**
     * @dev Clears the pre-notice in force. `data` = `abi.encode(holder)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - a pre-notice must be in force.
     *
     * Emits a {TitleChanged} event of kind PRE_NOTICE_CLEARED.
     */
    function clearPreNotice(bytes32 unit) external;

    /**
     * @dev Records a mortgage for department `mortgagee` (a BANK) of `amount` fen at the next
     * rank, on the bank's request. `data` = `abi.encode(mortgagee, amount, rank)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - the unit must not be seized.
     * - `mortgagee` must be an active department with the BANK role; `amount` non-zero.
     *
     * Emits a {TitleChanged} event of kind MORTGAGE_RECORDED.
     */
    function recordMortgage(bytes32 unit, bytes32 mortgagee, uint128 amount) external returns (uint8 rank);

    /**
     * @dev The mortgagee consents to a transfer with the mortgage (带押过户).
     * `data` = `abi.encode(mortgagee, rank)`.
     *
     * Requirements:
     *
     * - the caller must hold the BANK role and be the mortgagee of the unreleased mortgage `rank`.
     * - the title must exist and not be cancelled.
     *
     * Emits a {TitleChanged} event of kind MORTGAGE_CONSENTED.
     */
    function consentMortgageTransfer(bytes32 unit, uint8 rank) external;

    /**
     * @dev The mortgagee releases its mortgage (抵押注销). `data` = `abi.encode(mortgagee, rank)`.
     *
     * Requirements:
     *
     * - the caller must hold the BANK role and be the mortgagee of the unreleased mortgage `rank`.
     * - the title must exist and not be cancelled.
     *
     * Emits a {TitleChanged} event of kind MORTGAGE_RELEASED.
     */
    function releaseMortgage(bytes32 unit, uint8 rank) external;

    /**
     * @dev Seizes the unit by court order for `duration` seconds. When another seizure is in
     * force the order waits in the queue (轮候查封) and runs for `duration` from its promotion.
     * `data` = `abi.encode(court, orderHash, duration)`.
     *
     * Requirements:
     *
     * - the caller must hold the COURT role; the title must exist and not be cancelled.
     * - `orderHash` non-zero; `duration` between 1 second and three years.
     * - fewer than 16 active or waiting seizures.
     *
     * Emits a {TitleChanged} event of kind SEIZURE_RECORDED.
     */
    function seize(bytes32 unit, bytes32 orderHash, uint32 duration) external;

    /**
     * @dev Releases the active or a waiting seizure made by the caller's court; the next
     * waiting seizure, in order of filing, is promoted and runs from now.
     * `data` = `abi.encode(court, orderHash)`.
     *
     * Requirements:
     *
     * - the caller must hold the COURT role and be the court that made the seizure.
     * - the title must exist and not be cancelled.
     *
     * Emits a {TitleChanged} event of kind SEIZURE_RELEASED.
     */
    function releaseSeizure(bytes32 unit, bytes32 orderHash) external;

    /**
     * @dev Records an objection (异议登记) by `applicant`; it lapses 15 days later unless a
     * suit is filed. `data` = `abi.encode(applicant, expiresAt)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - `applicant` non-zero; no objection in force.
     *
     * Emits a {TitleChanged} event of kind OBJECTION_RECORDED.
     */
    function recordObjection(bytes32 unit, bytes32 applicant) external;

    /**
     * @dev Records that the objector filed suit in time: the objection no longer lapses.
     * `data` = `abi.encode(applicant, suitHash)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - an objection must be in force; `suitHash` non-zero.
     *
     * Emits a {TitleChanged} event of kind OBJECTION_SUIT_FILED.
     */
    function fileObjectionSuit(bytes32 unit, bytes32 suitHash) external;

    /**
     * @dev Clears the objection in force (withdrawn or decided). `data` = `abi.encode(applicant)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - an objection must be in force.
     *
     * Emits a {TitleChanged} event of kind OBJECTION_CLEARED.
     */
    function clearObjection(bytes32 unit) external;

    /**
     * @dev Records the consent of the co-owners whose indexes are set in `mask`.
     * `data` = `abi.encode(mask)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - `mask` must be non-zero and name only existing owner indexes.
     *
     * Emits a {TitleChanged} event of kind OWNERS_CONSENTED.
     */
    function recordOwnerConsent(bytes32 unit, uint32 mask) external;

    /**
     * @dev Cancels the title (注销). `data` = `abi.encode(reasonHash)`.
     *
     * Requirements:
     *
     * - the caller must hold the REGISTRY role; the title must exist and not be cancelled.
     * - the unit must not be seized nor carry an unreleased mortgage.
     *
     * Emits a {TitleChanged} event of kind CANCELLED.
     */
    function cancelTitle(bytes32 unit, bytes32 reasonHash) external;

    /// @dev Returns the directory the roles are read from.
    /**
     * @dev Binds the transfer-case contract, the only caller of the `...ForCase` functions and
     * of {transferTitle}. Done once, by REGISTRY, when the network is set up.
     *
     * Requirements: the caller has the REGISTRY role; no contract is bound yet; `cases` is not zero.
     */
    function bindTransferCases(address cases) external;

    /**
     * @dev Files the sale contract of a transfer case on the unit (as {fileContract} does for
     * HOUSING), refusing a unit that is seized, under objection, or under a pre-notice held by
     * none of `buyers` without consent: a case cannot even start there.
     *
     * Requirements: the caller is the bound transfer-case contract.
     *
     * Emits a {TitleChanged} event of kind CONTRACT_FILED.
     */
    function fileContractForCase(bytes32 unit, bytes32 contractHash, Owner[] calldata buyers) external;

    /**
     * @dev Clears the case's filed contract when the case is cancelled or expires.
     *
     * Requirements: the caller is the bound transfer-case contract; `contractHash` is the filed one.
     *
     * Emits a {TitleChanged} event of kind CONTRACT_CLEARED.
     */
    function clearContractForCase(bytes32 unit, bytes32 contractHash) external;

    /**
     * @dev Records `bank`'s consent to transfer with its mortgage of `rank` (带押过户), for a
     * transfer-case contract that has checked `bank` is the caller acting in the case.
     *
     * Requirements: the caller is the bound transfer-case contract; `bank`'s department holds
     * the unreleased mortgage of `rank`.
     *
     * Emits a {TitleChanged} event of kind MORTGAGE_CONSENTED.
     */
    function consentMortgageForCase(bytes32 unit, uint8 rank, address bank) external;

    /**
     * @dev Moves the title to `owners` at the settlement of a transfer case: every guard of
     * {checkTransferable} must be down (a pre-notice held by one of `owners` does not block).
     * The mortgage of `releaseRank` (0 for none), paid off by the settlement, is released;
     * other consented mortgages stay on the unit (Civil Code §406). The filed contract, the
     * pre-notice and the owners' consents are cleared and `certificateLeaf` becomes the title
     * certificate.
     *
     * Requirements: the caller is the bound transfer-case contract; `contractHash` is filed;
     * owners as for {registerTitle}.
     *
     * Emits a {TitleChanged} event of kind TRANSFERRED with
     * `abi.encode(contractHash, owners, certificateLeaf, releaseRank)`.
     */
    function transferTitle(
        bytes32 unit,
        bytes32 contractHash,
        Owner[] calldata owners,
        bytes32 certificateLeaf,
        uint8 releaseRank
    ) external;

    /// @dev Returns the bound transfer-case contract (zero before {bindTransferCases}).
    function transferCases() external view returns (address);

    /**
     * @dev Reverts with the guard error when a transfer case may not take a step on the unit:
     * the title is cancelled, seized, under objection, or under a pre-notice held by none of
     * `buyers` without consent. Mortgages and owners' consent are checked at settlement only.
     */
    function checkCaseStep(bytes32 unit, Owner[] calldata buyers) external view;

    function directory() external view returns (address);

    /// @dev Returns the title of `unit`; reverts when there is none.
    function title(bytes32 unit) external view returns (TitleView memory);

    /// @dev Returns the owners of `unit`.
    function owners(bytes32 unit) external view returns (Owner[] memory);

    /// @dev Returns the pre-notice of `unit` (zero holder when none) and whether it is in force now.
    function preNotice(bytes32 unit)
        external
        view
        returns (bytes32 holder, uint64 expiresAt, bool consented, bool inForce);

    /// @dev Returns the objection of `unit` (zero applicant when none) and whether it is in force now.
    function objection(bytes32 unit)
        external
        view
        returns (bytes32 applicant, uint64 expiresAt, bool suitFiled, bool inForce);

    /// @dev Returns mortgage `rank` of `unit`; reverts when there is none.
    function mortgage(bytes32 unit, uint8 rank) external view returns (MortgageView memory);

    /// @dev Returns the number of seizures ever recorded on `unit`.
    function seizureCount(bytes32 unit) external view returns (uint256);

    /// @dev Returns seizure `i` of `unit` as stored (promotions by expiry are applied on the next write);
    /// reverts with {PropertyRegistryUnknownSeizure} (order hash 0) when there is none.
    function seizureAt(bytes32 unit, uint256 i) external view returns (SeizureView memory);

    /**
     * @dev Returns the seizure in force now, with promotions by expiry applied, and the number
     * of seizures waiting behind it.
     */
    function activeSeizure(bytes32 unit)
        external
        view
        returns (bool seized, bytes32 court, bytes32 orderHash, uint64 from, uint64 to, uint256 waiting);

    /// @dev Returns the GUARD_* bits that refuse a transfer of `unit` to `transferee` now.
    function guardsFor(bytes32 unit, bytes32 transferee) external view returns (uint8);

    /**
     * @dev Reverts with the guard error of the first failing guard, in the order seized,
     * objection, pre-notice, mortgage, co-owner consent (after unknown and cancelled titles).
     */
    function checkTransferable(bytes32 unit, bytes32 transferee) external view;
}
