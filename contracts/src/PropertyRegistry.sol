// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IDepartmentDirectory, ROLE_REGISTRY, ROLE_HOUSING, ROLE_BANK, ROLE_COURT} from "./IDepartmentDirectory.sol";
import "./IPropertyRegistry.sol" as P;
import {IPropertyRegistry} from "./IPropertyRegistry.sol";

/**
 * @dev Implementation of {IPropertyRegistry}, a contract of its own that reads roles from a
 * deployed {IDepartmentDirectory} (the LicenceRegistry address), so the directory and the
 * licence registry stay unchanged and the register can be redeployed alone.
 *
 * Writes that need only a role ask the directory's `hasRole` (one cold call, one slot);
 * writes that must know *which* bank or court (mortgages, seizures) read the caller's
 * department code with `departmentOf`. Mortgages and seizures name departments by code,
 * not account, so a department that moves to a new account keeps its mortgages.
 *
 * Seizures whose term ended are promoted lazily: views apply the promotion, the next write
 * on the unit stores it.
 */
contract PropertyRegistry is IPropertyRegistry {
    uint32 private constant MAX_SEIZURE_DURATION = 3 * 365 days;
    uint64 private constant OBJECTION_PERIOD = 15 days;
    uint256 private constant MAX_OWNERS = 32;
    uint256 private constant MAX_PENDING_SEIZURES = 16;

    struct OwnerSlot {
        bytes32 commitment;
        uint32 share;
    }

    struct MortgageSlot {
        bytes19 mortgagee;
        bool consented;
        bool released;
        uint64 recordedAt;
        uint128 amount;
    }

    struct SeizureSlot {
        bytes19 court;
        bool released;
        uint32 duration;
        uint64 from;
        bytes32 orderHash;
    }

    struct Title {
        // slot 0: what most writes and guards read
        uint64 registeredAt;
        uint64 updatedAt;
        uint32 changes;
        bool cancelled;
        uint8 mortgageCount;
        uint8 activeMortgages;
        uint8 ownerCount;
        uint32 ownerConsentMask;
        uint32 seizureHead;
        bytes32 head;
        bytes32 certificateLeaf;
        bytes32 contractHash;
        bytes32 preNoticeHolder;
        // one slot the transfer guards read first: with no pre-notice, objection or seizure
        // recorded they need nothing else (holder and applicant are read only when one is)
        uint64 preNoticeExpiresAt;
        bool preNoticeConsented;
        uint64 objectionExpiresAt;
        bool objectionSuitFiled;
        uint32 seizureCount;
        bytes32 objectionApplicant;
        OwnerSlot[] owners;
        MortgageSlot[] mortgages;
        mapping(uint256 index => SeizureSlot) seizures;
    }

    IDepartmentDirectory private immutable _directory;
    mapping(bytes32 unit => Title) private _titles;
    address private _cases;

    constructor(IDepartmentDirectory directory_) {
        _directory = directory_;
    }

    // ------------------------------------------------------------ registry

    /// @inheritdoc IPropertyRegistry
    function registerTitle(bytes32 unit, Owner[] calldata owners_, bytes32 certificateLeaf) external {
        _requireRole(ROLE_REGISTRY);
        if (unit == bytes32(0)) revert PropertyRegistryInvalidUnit(unit);
        Title storage t = _titles[unit];
        if (t.registeredAt != 0) revert PropertyRegistryTitleExists(unit);
        if (certificateLeaf == bytes32(0)) revert PropertyRegistryZeroValue();
        _setOwners(t, owners_);
        t.registeredAt = uint64(block.timestamp);
        t.head = unit;
        t.certificateLeaf = certificateLeaf;
        _append(unit, t, P.CHANGE_REGISTERED, abi.encode(owners_, certificateLeaf));
    }

    /// @inheritdoc IPropertyRegistry
    function updateCertificate(bytes32 unit, bytes32 leaf) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (leaf == bytes32(0)) revert PropertyRegistryZeroValue();
        t.certificateLeaf = leaf;
        _append(unit, t, P.CHANGE_CERTIFICATE_UPDATED, abi.encode(leaf));
    }

    /// @inheritdoc IPropertyRegistry
    function recordPreNotice(bytes32 unit, bytes32 holder, uint64 expiresAt) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (holder == bytes32(0)) revert PropertyRegistryZeroValue();
        if (expiresAt <= block.timestamp) revert PropertyRegistryInvalidExpiry(expiresAt);
        if (_preNoticeInForce(t)) revert PropertyRegistryPreNoticeExists(unit, t.preNoticeHolder);
        t.preNoticeHolder = holder;
        t.preNoticeExpiresAt = expiresAt;
        t.preNoticeConsented = false;
        _append(unit, t, P.CHANGE_PRE_NOTICE_RECORDED, abi.encode(holder, expiresAt));
    }

    /// @inheritdoc IPropertyRegistry
    function consentPreNotice(bytes32 unit) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (!_preNoticeInForce(t)) revert PropertyRegistryNoPreNotice(unit);
        t.preNoticeConsented = true;
        _append(unit, t, P.CHANGE_PRE_NOTICE_CONSENTED, abi.encode(t.preNoticeHolder));
    }

    /// @inheritdoc IPropertyRegistry
    function clearPreNotice(bytes32 unit) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (!_preNoticeInForce(t)) revert PropertyRegistryNoPreNotice(unit);
        bytes32 holder = t.preNoticeHolder;
        delete t.preNoticeHolder;
        delete t.preNoticeExpiresAt;
        delete t.preNoticeConsented;
        _append(unit, t, P.CHANGE_PRE_NOTICE_CLEARED, abi.encode(holder));
    }

    /// @inheritdoc IPropertyRegistry
    function recordMortgage(bytes32 unit, bytes32 mortgagee, uint128 amount) external returns (uint8 rank) {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        _settleSeizures(t);
        if (t.seizureHead < t.seizureCount) _revertSeized(unit, t, t.seizureHead);
        if (amount == 0 || !_isBank(mortgagee)) revert PropertyRegistryInvalidMortgage(mortgagee, amount);
        if (t.mortgageCount == type(uint8).max) revert PropertyRegistryTooManyMortgages(unit);
        rank = ++t.mortgageCount;
        ++t.activeMortgages;
        t.mortgages.push(MortgageSlot({
            mortgagee: bytes19(mortgagee),
            consented: false,
            released: false,
            recordedAt: uint64(block.timestamp),
            amount: amount
        }));
        _append(unit, t, P.CHANGE_MORTGAGE_RECORDED, abi.encode(mortgagee, amount, rank));
    }

    /// @inheritdoc IPropertyRegistry
    function recordObjection(bytes32 unit, bytes32 applicant) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (applicant == bytes32(0)) revert PropertyRegistryZeroValue();
        if (_objectionInForce(t)) revert PropertyRegistryObjectionExists(unit, t.objectionApplicant);
        uint64 expiresAt = uint64(block.timestamp) + OBJECTION_PERIOD;
        t.objectionApplicant = applicant;
        t.objectionExpiresAt = expiresAt;
        t.objectionSuitFiled = false;
        _append(unit, t, P.CHANGE_OBJECTION_RECORDED, abi.encode(applicant, expiresAt));
    }

    /// @inheritdoc IPropertyRegistry
    function fileObjectionSuit(bytes32 unit, bytes32 suitHash) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (!_objectionInForce(t)) revert PropertyRegistryNoObjection(unit);
        if (suitHash == bytes32(0)) revert PropertyRegistryZeroValue();
        t.objectionSuitFiled = true;
        _append(unit, t, P.CHANGE_OBJECTION_SUIT_FILED, abi.encode(t.objectionApplicant, suitHash));
    }

    /// @inheritdoc IPropertyRegistry
    function clearObjection(bytes32 unit) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        if (!_objectionInForce(t)) revert PropertyRegistryNoObjection(unit);
        bytes32 applicant = t.objectionApplicant;
        delete t.objectionApplicant;
        delete t.objectionExpiresAt;
        delete t.objectionSuitFiled;
        _append(unit, t, P.CHANGE_OBJECTION_CLEARED, abi.encode(applicant));
    }

    /// @inheritdoc IPropertyRegistry
    function recordOwnerConsent(bytes32 unit, uint32 mask) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        uint8 count = t.ownerCount;
        if (mask == 0 || (count < 32 && mask >> count != 0)) revert PropertyRegistryInvalidOwnerMask(mask, count);
        t.ownerConsentMask |= mask;
        _append(unit, t, P.CHANGE_OWNERS_CONSENTED, abi.encode(mask));
    }

    /// @inheritdoc IPropertyRegistry
    function cancelTitle(bytes32 unit, bytes32 reasonHash) external {
        _requireRole(ROLE_REGISTRY);
        Title storage t = _open(unit);
        _settleSeizures(t);
        if (t.seizureHead < t.seizureCount) _revertSeized(unit, t, t.seizureHead);
        if (t.activeMortgages != 0) _revertFirstMortgage(unit, t, false);
        t.cancelled = true;
        _append(unit, t, P.CHANGE_CANCELLED, abi.encode(reasonHash));
    }

    // ------------------------------------------------------------- housing

    /// @inheritdoc IPropertyRegistry
    function fileContract(bytes32 unit, bytes32 contractHash) external {
        _requireRole(ROLE_HOUSING);
        Title storage t = _open(unit);
        if (contractHash == bytes32(0)) revert PropertyRegistryZeroValue();
        if (t.contractHash != bytes32(0)) revert PropertyRegistryContractAlreadyFiled(unit, t.contractHash);
        t.contractHash = contractHash;
        _append(unit, t, P.CHANGE_CONTRACT_FILED, abi.encode(contractHash));
    }

    /// @inheritdoc IPropertyRegistry
    function clearContract(bytes32 unit) external {
        _requireRole(ROLE_HOUSING);
        Title storage t = _open(unit);
        bytes32 contractHash = t.contractHash;
        if (contractHash == bytes32(0)) revert PropertyRegistryNoFiledContract(unit);
        delete t.contractHash;
        _append(unit, t, P.CHANGE_CONTRACT_CLEARED, abi.encode(contractHash));
    }

    // --------------------------------------------------------- transfer cases

    /// @inheritdoc IPropertyRegistry
    function bindTransferCases(address cases) external {
        _requireRole(ROLE_REGISTRY);
        if (_cases != address(0)) revert PropertyRegistryTransferCasesBound(_cases);
        if (cases == address(0)) revert PropertyRegistryZeroValue();
        _cases = cases;
    }

    /// @inheritdoc IPropertyRegistry
    function fileContractForCase(bytes32 unit, bytes32 contractHash, Owner[] calldata buyers) external {
        _requireCases();
        Title storage t = _open(unit);
        _checkCaseStep(unit, t, buyers);
        if (contractHash == bytes32(0)) revert PropertyRegistryZeroValue();
        if (t.contractHash != bytes32(0)) revert PropertyRegistryContractAlreadyFiled(unit, t.contractHash);
        t.contractHash = contractHash;
        _append(unit, t, P.CHANGE_CONTRACT_FILED, abi.encode(contractHash));
    }

    /// @inheritdoc IPropertyRegistry
    function clearContractForCase(bytes32 unit, bytes32 contractHash) external {
        _requireCases();
        Title storage t = _existing(unit);
        _requireFiled(unit, t, contractHash);
        delete t.contractHash;
        _append(unit, t, P.CHANGE_CONTRACT_CLEARED, abi.encode(contractHash));
    }

    /// @inheritdoc IPropertyRegistry
    function consentMortgageForCase(bytes32 unit, uint8 rank, address bank) external {
        _requireCases();
        bytes19 code = _codeOf(bank, ROLE_BANK);
        Title storage t = _open(unit);
        MortgageSlot storage m = _ownMortgage(unit, t, rank, code);
        m.consented = true;
        _append(unit, t, P.CHANGE_MORTGAGE_CONSENTED, abi.encode(bytes32(code), rank));
    }

    /// @inheritdoc IPropertyRegistry
    function transferTitle(
        bytes32 unit,
        bytes32 contractHash,
        Owner[] calldata owners_,
        bytes32 certificateLeaf,
        uint8 releaseRank
    ) external {
        _requireCases();
        Title storage t = _open(unit);
        _requireFiled(unit, t, contractHash);
        if (certificateLeaf == bytes32(0)) revert PropertyRegistryZeroValue();
        _settleSeizures(t);
        _checkCaseStep(unit, t, owners_);
        if (_mortgageBlocks(t)) _revertFirstMortgage(unit, t, true);
        _requireOwnersConsented(unit, t);
        if (releaseRank != 0) {
            if (releaseRank > t.mortgageCount) revert PropertyRegistryUnknownMortgage(unit, releaseRank);
            MortgageSlot storage m = t.mortgages[releaseRank - 1];
            if (m.released) revert PropertyRegistryUnknownMortgage(unit, releaseRank);
            m.released = true;
            --t.activeMortgages;
        }
        delete t.owners;
        _setOwners(t, owners_);
        t.ownerConsentMask = 0;
        delete t.contractHash;
        if (t.preNoticeExpiresAt != 0) { // set together with the holder, and cleared with it
            delete t.preNoticeHolder;
            delete t.preNoticeExpiresAt;
            delete t.preNoticeConsented;
        }
        t.certificateLeaf = certificateLeaf;
        _append(unit, t, P.CHANGE_TRANSFERRED, abi.encode(contractHash, owners_, certificateLeaf, releaseRank));
    }

    // ---------------------------------------------------------------- bank

    /// @inheritdoc IPropertyRegistry
    function consentMortgageTransfer(bytes32 unit, uint8 rank) external {
        bytes19 bank = _callerCode(ROLE_BANK);
        Title storage t = _open(unit);
        MortgageSlot storage m = _ownMortgage(unit, t, rank, bank);
        m.consented = true;
        _append(unit, t, P.CHANGE_MORTGAGE_CONSENTED, abi.encode(bytes32(bank), rank));
    }

    /// @inheritdoc IPropertyRegistry
    function releaseMortgage(bytes32 unit, uint8 rank) external {
        bytes19 bank = _callerCode(ROLE_BANK);
        Title storage t = _open(unit);
        MortgageSlot storage m = _ownMortgage(unit, t, rank, bank);
        m.released = true;
        --t.activeMortgages;
        _append(unit, t, P.CHANGE_MORTGAGE_RELEASED, abi.encode(bytes32(bank), rank));
    }

    // --------------------------------------------------------------- court

    /// @inheritdoc IPropertyRegistry
    function seize(bytes32 unit, bytes32 orderHash, uint32 duration) external {
        bytes19 court = _callerCode(ROLE_COURT);
        Title storage t = _open(unit);
        if (orderHash == bytes32(0)) revert PropertyRegistryZeroValue();
        if (duration == 0 || duration > MAX_SEIZURE_DURATION) revert PropertyRegistryInvalidSeizureDuration(duration);
        _settleSeizures(t);
        uint256 n = t.seizureCount;
        if (n - t.seizureHead >= MAX_PENDING_SEIZURES) revert PropertyRegistrySeizureQueueFull(unit);
        t.seizures[n] = SeizureSlot({
            court: court,
            released: false,
            duration: duration,
            from: t.seizureHead == n ? uint64(block.timestamp) : 0,
            orderHash: orderHash
        });
        t.seizureCount = uint32(n + 1);
        _append(unit, t, P.CHANGE_SEIZURE_RECORDED, abi.encode(bytes32(court), orderHash, duration));
    }

    /// @inheritdoc IPropertyRegistry
    function releaseSeizure(bytes32 unit, bytes32 orderHash) external {
        bytes19 court = _callerCode(ROLE_COURT);
        Title storage t = _open(unit);
        _settleSeizures(t);
        uint256 n = t.seizureCount;
        for (uint256 i = t.seizureHead; i < n; ++i) {
            SeizureSlot storage s = t.seizures[i];
            if (s.released || s.orderHash != orderHash) continue;
            if (s.court != court) revert PropertyRegistryNotSeizingCourt(unit, orderHash, bytes32(court));
            s.released = true;
            _settleSeizures(t);
            _append(unit, t, P.CHANGE_SEIZURE_RELEASED, abi.encode(bytes32(court), orderHash));
            return;
        }
        revert PropertyRegistryUnknownSeizure(unit, orderHash);
    }

    // --------------------------------------------------------------- views

    /// @inheritdoc IPropertyRegistry
    function directory() external view returns (address) {
        return address(_directory);
    }

    /// @inheritdoc IPropertyRegistry
    function title(bytes32 unit) external view returns (TitleView memory) {
        Title storage t = _existing(unit);
        return TitleView({
            registeredAt: t.registeredAt,
            updatedAt: t.updatedAt,
            changes: t.changes,
            cancelled: t.cancelled,
            mortgageCount: t.mortgageCount,
            activeMortgages: t.activeMortgages,
            ownerConsentMask: t.ownerConsentMask,
            certificateLeaf: t.certificateLeaf,
            contractHash: t.contractHash,
            head: t.head
        });
    }

    /// @inheritdoc IPropertyRegistry
    function owners(bytes32 unit) external view returns (Owner[] memory list) {
        OwnerSlot[] storage stored = _titles[unit].owners;
        list = new Owner[](stored.length);
        for (uint256 i = 0; i < stored.length; ++i) {
            list[i] = Owner({commitment: stored[i].commitment, share: stored[i].share});
        }
    }

    /// @inheritdoc IPropertyRegistry
    function preNotice(bytes32 unit)
        external
        view
        returns (bytes32 holder, uint64 expiresAt, bool consented, bool inForce)
    {
        Title storage t = _titles[unit];
        return (t.preNoticeHolder, t.preNoticeExpiresAt, t.preNoticeConsented, _preNoticeInForce(t));
    }

    /// @inheritdoc IPropertyRegistry
    function objection(bytes32 unit)
        external
        view
        returns (bytes32 applicant, uint64 expiresAt, bool suitFiled, bool inForce)
    {
        Title storage t = _titles[unit];
        return (t.objectionApplicant, t.objectionExpiresAt, t.objectionSuitFiled, _objectionInForce(t));
    }

    /// @inheritdoc IPropertyRegistry
    function mortgage(bytes32 unit, uint8 rank) external view returns (MortgageView memory) {
        Title storage t = _titles[unit];
        if (rank == 0 || rank > t.mortgageCount) revert PropertyRegistryUnknownMortgage(unit, rank);
        MortgageSlot storage m = t.mortgages[rank - 1];
        return MortgageView({
            mortgagee: bytes32(m.mortgagee),
            amount: m.amount,
            recordedAt: m.recordedAt,
            consented: m.consented,
            released: m.released
        });
    }

    /// @inheritdoc IPropertyRegistry
    function seizureCount(bytes32 unit) external view returns (uint256) {
        return _titles[unit].seizureCount;
    }

    /// @inheritdoc IPropertyRegistry
    function seizureAt(bytes32 unit, uint256 i) external view returns (SeizureView memory) {
        Title storage t = _titles[unit];
        if (i >= t.seizureCount) revert PropertyRegistryUnknownSeizure(unit, bytes32(0));
        SeizureSlot storage s = t.seizures[i];
        return SeizureView({
            court: bytes32(s.court),
            orderHash: s.orderHash,
            from: s.from,
            duration: s.duration,
            released: s.released
        });
    }

    /// @inheritdoc IPropertyRegistry
    function activeSeizure(bytes32 unit)
        external
        view
        returns (bool seized, bytes32 court, bytes32 orderHash, uint64 from, uint64 to, uint256 waiting)
    {
        Title storage t = _titles[unit];
        (uint256 head, uint64 start) = _seizureState(t);
        uint256 n = t.seizureCount;
        if (head == n) return (false, bytes32(0), bytes32(0), 0, 0, 0);
        SeizureSlot storage s = t.seizures[head];
        for (uint256 i = head + 1; i < n; ++i) {
            if (!t.seizures[i].released) ++waiting;
        }
        return (true, bytes32(s.court), s.orderHash, start, start + s.duration, waiting);
    }

    /// @inheritdoc IPropertyRegistry
    function guardsFor(bytes32 unit, bytes32 transferee) external view returns (uint8 guards) {
        Title storage t = _existing(unit);
        if (t.cancelled) guards |= P.GUARD_CANCELLED;
        (uint256 head, ) = _seizureState(t);
        if (head < t.seizureCount) guards |= P.GUARD_SEIZED;
        if (_objectionInForce(t)) guards |= P.GUARD_OBJECTION;
        if (_preNoticeBlocks(t, transferee)) guards |= P.GUARD_PRE_NOTICE;
        if (_mortgageBlocks(t)) guards |= P.GUARD_MORTGAGE;
        if (_ownersBlock(t)) guards |= P.GUARD_OWNER_CONSENT;
    }

    /// @inheritdoc IPropertyRegistry
    function transferCases() external view returns (address) {
        return _cases;
    }

    /// @inheritdoc IPropertyRegistry
    function checkCaseStep(bytes32 unit, Owner[] calldata buyers) external view {
        Title storage t = _open(unit);
        _checkCaseStep(unit, t, buyers);
    }

    function checkTransferable(bytes32 unit, bytes32 transferee) external view {
        Title storage t = _open(unit);
        (uint256 head, ) = _seizureState(t);
        if (head < t.seizureCount) _revertSeized(unit, t, head);
        if (_objectionInForce(t)) {
            revert PropertyRegistryUnderObjection(unit, t.objectionSuitFiled ? 0 : t.objectionExpiresAt);
        }
        if (_preNoticeBlocks(t, transferee)) revert PropertyRegistryPreNoticeHeld(unit, t.preNoticeHolder);
        if (_mortgageBlocks(t)) _revertFirstMortgage(unit, t, true);
        _requireOwnersConsented(unit, t);
    }

    // ------------------------------------------------------------ internal

    function _append(bytes32 unit, Title storage t, uint8 kind, bytes memory data) private {
        uint64 now_ = uint64(block.timestamp);
        bytes32 head = keccak256(abi.encode(t.head, kind, keccak256(data), now_));
        t.head = head;
        t.updatedAt = now_;
        ++t.changes;
        emit TitleChanged(unit, kind, data, now_, head);
    }

    function _requireRole(uint64 role) private view {
        if (!_directory.hasRole(msg.sender, role)) revert PropertyRegistryMissingRole(msg.sender, role);
    }

    /// @dev Returns the caller's department code when it is active and holds `role`.
    function _callerCode(uint64 role) private view returns (bytes19) {
        return _codeOf(msg.sender, role);
    }

    function _codeOf(address account, uint64 role) private view returns (bytes19) {
        bytes32 code = _directory.codeWithRole(account, role);
        if (code == bytes32(0)) revert PropertyRegistryMissingRole(account, role);
        return bytes19(code);
    }

    function _requireCases() private view {
        if (msg.sender != _cases || msg.sender == address(0)) revert PropertyRegistryNotTransferCases(msg.sender);
    }

    function _requireFiled(bytes32 unit, Title storage t, bytes32 contractHash) private view {
        if (t.contractHash != contractHash || contractHash == bytes32(0)) {
            revert PropertyRegistryContractMismatch(unit, t.contractHash, contractHash);
        }
    }

    function _setOwners(Title storage t, Owner[] calldata owners_) private {
        uint256 n = owners_.length;
        if (n == 0 || n > MAX_OWNERS) revert PropertyRegistryInvalidOwner(n);
        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            Owner calldata o = owners_[i];
            if (o.commitment == bytes32(0) || o.share == 0) revert PropertyRegistryInvalidOwner(i);
            for (uint256 j = 0; j < i; ++j) {
                if (owners_[j].commitment == o.commitment) revert PropertyRegistryInvalidOwner(i);
            }
            total += o.share;
            t.owners.push(OwnerSlot({commitment: o.commitment, share: o.share}));
        }
        if (total != P.SHARE_WHOLE) revert PropertyRegistryInvalidShares(total);
        t.ownerCount = uint8(n);
    }

    /// @dev The case guards: seized, under objection, under a pre-notice none of `buyers` holds.
    function _checkCaseStep(bytes32 unit, Title storage t, Owner[] calldata buyers) private view {
        (uint256 head, ) = _seizureState(t);
        if (head < t.seizureCount) _revertSeized(unit, t, head);
        if (_objectionInForce(t)) {
            revert PropertyRegistryUnderObjection(unit, t.objectionSuitFiled ? 0 : t.objectionExpiresAt);
        }
        if (_preNoticeInForce(t) && !t.preNoticeConsented) {
            bytes32 holder = t.preNoticeHolder;
            uint256 n = buyers.length;
            uint256 i = 0;
            while (i < n && buyers[i].commitment != holder) ++i;
            if (i == n) revert PropertyRegistryPreNoticeHeld(unit, holder);
        }
    }

    function _requireOwnersConsented(bytes32 unit, Title storage t) private view {
        if (!_ownersBlock(t)) return;
        uint32 mask = t.ownerConsentMask;
        for (uint8 i = 0; i < t.ownerCount; ++i) {
            if (mask & (uint32(1) << i) == 0) revert PropertyRegistryOwnerNotConsented(unit, i);
        }
    }

    function _isBank(bytes32 code) private view returns (bool) {
        try _directory.department(code) returns (IDepartmentDirectory.Department memory d) {
            return d.active && d.roles & ROLE_BANK == ROLE_BANK;
        } catch {
            return false;
        }
    }

    function _existing(bytes32 unit) private view returns (Title storage t) {
        t = _titles[unit];
        if (t.registeredAt == 0) revert PropertyRegistryUnknownTitle(unit);
    }

    function _open(bytes32 unit) private view returns (Title storage t) {
        t = _existing(unit);
        if (t.cancelled) revert PropertyRegistryTitleCancelled(unit);
    }

    function _ownMortgage(
        bytes32 unit,
        Title storage t,
        uint8 rank,
        bytes19 bank
    ) private view returns (MortgageSlot storage m) {
        if (rank == 0 || rank > t.mortgageCount) revert PropertyRegistryUnknownMortgage(unit, rank);
        m = t.mortgages[rank - 1];
        if (m.released) revert PropertyRegistryUnknownMortgage(unit, rank);
        if (m.mortgagee != bank) revert PropertyRegistryNotMortgagee(unit, rank, bytes32(bank));
    }

    function _preNoticeInForce(Title storage t) private view returns (bool) {
        return block.timestamp < t.preNoticeExpiresAt && t.preNoticeHolder != bytes32(0);
    }

    function _preNoticeBlocks(Title storage t, bytes32 transferee) private view returns (bool) {
        return _preNoticeInForce(t) && t.preNoticeHolder != transferee && !t.preNoticeConsented;
    }

    function _objectionInForce(Title storage t) private view returns (bool) {
        return (t.objectionSuitFiled || block.timestamp < t.objectionExpiresAt) && t.objectionApplicant != bytes32(0);
    }

    function _mortgageBlocks(Title storage t) private view returns (bool) {
        if (t.activeMortgages == 0) return false;
        uint256 n = t.mortgages.length;
        for (uint256 i = 0; i < n; ++i) {
            MortgageSlot storage m = t.mortgages[i];
            if (!m.released && !m.consented) return true;
        }
        return false;
    }

    function _ownersBlock(Title storage t) private view returns (bool) {
        uint8 count = t.ownerCount;
        uint32 all = count == 32 ? type(uint32).max : (uint32(1) << count) - 1;
        return t.ownerConsentMask & all != all;
    }

    /// @dev Reverts naming the first unreleased mortgage (skipping consented ones when `skipConsented`).
    function _revertFirstMortgage(bytes32 unit, Title storage t, bool skipConsented) private view {
        uint256 n = t.mortgages.length;
        for (uint256 i = 0; i < n; ++i) {
            MortgageSlot storage m = t.mortgages[i];
            if (m.released || (skipConsented && m.consented)) continue;
            revert PropertyRegistryMortgageNotReleased(unit, uint8(i + 1), bytes32(m.mortgagee));
        }
    }

    function _revertSeized(bytes32 unit, Title storage t, uint256 head) private view {
        SeizureSlot storage s = t.seizures[head];
        revert PropertyRegistryUnitSeized(unit, bytes32(s.court), s.orderHash);
    }

    /**
     * @dev Returns the index of the seizure in force now (the queue length when none) and its
     * start. A waiting seizure starts when the one before it is released (stored on that write)
     * or when its term ends (computed here).
     */
    function _seizureState(Title storage t) private view returns (uint256 head, uint64 from) {
        uint256 n = t.seizureCount;
        uint64 carry = uint64(block.timestamp);
        for (head = t.seizureHead; head < n; ++head) {
            SeizureSlot storage s = t.seizures[head];
            if (s.released) continue;
            from = s.from == 0 ? carry : s.from;
            uint64 end = from + s.duration;
            if (block.timestamp < end) return (head, from);
            carry = end;
        }
        return (n, 0);
    }

    /// @dev Stores the promotions {_seizureState} computes.
    function _settleSeizures(Title storage t) private {
        (uint256 head, uint64 from) = _seizureState(t);
        if (head != t.seizureHead) t.seizureHead = uint32(head);
        if (head < t.seizureCount && t.seizures[head].from == 0) t.seizures[head].from = from;
    }
}
