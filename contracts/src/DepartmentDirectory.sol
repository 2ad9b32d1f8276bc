// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IDepartmentDirectory} from "./IDepartmentDirectory.sol";

/**
 * @dev Implementation of {IDepartmentDirectory}.
 *
 * `msg.sender -> department` costs one storage read: the account's department index,
 * roles, active flag and code share one slot keyed by address. That is why codes are
 * limited to 19 bytes (ASCII, right-padded with zero bytes to `bytes32`). The rest of a
 * department (region, endpoint) sits behind the index and is read only when needed.
 *
 * Council actions are calls from this contract to itself, made when a proposal
 * collects `threshold` approvals of current council members.
 */
abstract contract DepartmentDirectory is IDepartmentDirectory {
    /// @dev One slot: everything a write path needs to authorise the sender.
    struct AccountSlot {
        uint32 index;
        uint64 roles;
        bool active;
        bytes19 code;
    }

    struct DepartmentData {
        bytes32 code;
        address account;
        bytes32 region;
        string endpoint;
    }

    struct KeyData {
        bytes32 department;
        int16 alg;
        uint64 validFrom;
        uint64 validTo;
        uint64 compromisedSince;
        bytes publicKey;
    }

    struct ProposalData {
        address proposer;
        bool executed;
        bytes action;
    }

    mapping(address account => AccountSlot) private _accounts;
    mapping(uint32 index => DepartmentData) private _departments;
    mapping(bytes32 code => uint32 index) private _indexOf;
    uint32 private _departmentCount;

    mapping(bytes8 kid => KeyData) private _keys;
    mapping(bytes32 code => bytes8[]) private _keyIds;
    mapping(bytes32 code => bytes8) private _openKey;

    mapping(bytes32 verifierRegion => mapping(bytes32 issuerRegion => mapping(bytes32 licenceType => bool)))
        private _trust;

    address[] private _council;
    mapping(address account => bool) private _isCouncilMember;
    uint8 private _threshold;
    uint256 private _proposalCount;
    mapping(uint256 id => ProposalData) private _proposals;
    mapping(uint256 id => mapping(address member => bool)) private _approvals;

    modifier onlyCouncil() {
        if (msg.sender != address(this)) revert DepartmentDirectoryOnlyCouncil(msg.sender);
        _;
    }

    modifier onlyCouncilMember() {
        if (!_isCouncilMember[msg.sender]) revert DepartmentDirectoryNotCouncilMember(msg.sender);
        _;
    }

    constructor(address[] memory council, uint8 threshold_) {
        for (uint256 i = 0; i < council.length; ++i) {
            _addCouncilMember(council[i]);
        }
        _setThreshold(threshold_);
    }

    // ---------------------------------------------------------------- council

    /// @inheritdoc IDepartmentDirectory
    function propose(bytes calldata action) external onlyCouncilMember returns (uint256 id) {
        id = ++_proposalCount;
        _proposals[id] = ProposalData({proposer: msg.sender, executed: false, action: action});
        emit ProposalCreated(id, msg.sender, action);
        _approve(id);
    }

    /// @inheritdoc IDepartmentDirectory
    function approve(uint256 id) external onlyCouncilMember {
        _requirePending(id);
        if (_approvals[id][msg.sender]) revert DepartmentDirectoryAlreadyApproved(id, msg.sender);
        _approve(id);
    }

    /// @inheritdoc IDepartmentDirectory
    function execute(uint256 id) external onlyCouncilMember {
        _requirePending(id);
        uint256 approvals = _countApprovals(id);
        if (approvals < _threshold) revert DepartmentDirectoryBelowThreshold(id, approvals, _threshold);
        _execute(id);
    }

    /// @inheritdoc IDepartmentDirectory
    function addCouncilMember(address account) external onlyCouncil {
        _addCouncilMember(account);
    }

    /// @inheritdoc IDepartmentDirectory
    function removeCouncilMember(address account) external onlyCouncil {
        if (!_isCouncilMember[account]) revert DepartmentDirectoryNotCouncilMember(account);
        uint256 last = _council.length - 1;
        if (last < _threshold) revert DepartmentDirectoryInvalidThreshold(_threshold, last);
        for (uint256 i = 0; i <= last; ++i) {
            if (_council[i] == account) {
                _council[i] = _council[last];
                _council.pop();
                break;
            }
        }
        _isCouncilMember[account] = false;
        emit CouncilMemberRemoved(account);
    }

    /// @inheritdoc IDepartmentDirectory
    function setThreshold(uint8 threshold_) external onlyCouncil {
        _setThreshold(threshold_);
    }

    // ------------------------------------------------------------ departments

    /// @inheritdoc IDepartmentDirectory
    function addDepartment(
        bytes32 code,
        address account,
        uint64 roles,
        bytes32 region,
        string calldata endpoint
    ) external onlyCouncil {
        if (code == bytes32(0) || bytes32(bytes19(code)) != code) revert DepartmentDirectoryInvalidCode(code);
        if (_indexOf[code] != 0) revert DepartmentDirectoryDepartmentExists(code);
        _requireFreeAccount(account);
        uint32 index = ++_departmentCount;
        _indexOf[code] = index;
        _departments[index] = DepartmentData({code: code, account: account, region: region, endpoint: endpoint});
        _accounts[account] = AccountSlot({index: index, roles: roles, active: true, code: bytes19(code)});
        emit DepartmentAdded(code, account, roles, region, endpoint, index);
    }

    /// @inheritdoc IDepartmentDirectory
    function setDepartmentRoles(bytes32 code, uint64 roles) external onlyCouncil {
        uint32 index = _requireIndex(code);
        _accounts[_departments[index].account].roles = roles;
        _emitUpdated(index);
    }

    /// @inheritdoc IDepartmentDirectory
    function setDepartmentActive(bytes32 code, bool active) external onlyCouncil {
        uint32 index = _requireIndex(code);
        _accounts[_departments[index].account].active = active;
        _emitUpdated(index);
    }

    /// @inheritdoc IDepartmentDirectory
    function setDepartmentAccount(bytes32 code, address account) external onlyCouncil {
        uint32 index = _requireIndex(code);
        _requireFreeAccount(account);
        address previous = _departments[index].account;
        _accounts[account] = _accounts[previous];
        delete _accounts[previous];
        _departments[index].account = account;
        _emitUpdated(index);
    }

    /// @inheritdoc IDepartmentDirectory
    function setEndpoint(string calldata endpoint) external {
        uint32 index = _accounts[msg.sender].index;
        if (index == 0) revert DepartmentDirectoryUnknownAccount(msg.sender);
        _departments[index].endpoint = endpoint;
        _emitUpdated(index);
    }

    /// @inheritdoc IDepartmentDirectory
    function setTrust(
        bytes32 verifierRegion,
        bytes32 issuerRegion,
        bytes32 licenceType,
        bool trusted
    ) external onlyCouncil {
        _trust[verifierRegion][issuerRegion][licenceType] = trusted;
        emit TrustSet(verifierRegion, issuerRegion, licenceType, trusted);
    }

    // ------------------------------------------------------------------- keys

    /// @inheritdoc IDepartmentDirectory
    function rotateKey(bytes8 kid, int16 alg, bytes calldata publicKey) external {
        AccountSlot memory slot = _accounts[msg.sender];
        if (slot.index == 0) revert DepartmentDirectoryUnknownAccount(msg.sender);
        bytes32 code = slot.code;
        if (!slot.active) revert DepartmentDirectoryInactiveDepartment(code);
        if (kid == bytes8(0) || publicKey.length == 0 || (alg != -7 && alg != -8 && alg != -35)) {
            revert DepartmentDirectoryInvalidKey(kid, alg);
        }
        if (_keys[kid].department != bytes32(0)) revert DepartmentDirectoryKeyExists(kid);

        uint64 now_ = uint64(block.timestamp);
        bytes8 open = _openKey[code];
        if (open != bytes8(0)) _closeKey(code, open, now_);

        _keys[kid] = KeyData({
            department: code,
            alg: alg,
            validFrom: now_,
            validTo: 0,
            compromisedSince: 0,
            publicKey: publicKey
        });
        _keyIds[code].push(kid);
        _openKey[code] = kid;
        emit KeyRegistered(code, kid, alg, publicKey, now_);
    }

    /// @inheritdoc IDepartmentDirectory
    function declareKeyCompromised(bytes8 kid, uint64 since) external {
        KeyData storage k = _keys[kid];
        bytes32 code = k.department;
        if (code == bytes32(0)) revert DepartmentDirectoryUnknownKey(kid);
        if (msg.sender != address(this) && bytes32(_accounts[msg.sender].code) != code) {
            revert DepartmentDirectoryNotKeyOwner(kid, msg.sender);
        }
        uint64 current = k.compromisedSince;
        if (since == 0 || since > block.timestamp || (current != 0 && since >= current)) {
            revert DepartmentDirectoryInvalidCompromiseTime(kid, since, current);
        }
        k.compromisedSince = since;
        emit KeyCompromised(code, kid, since);
        if (_openKey[code] == kid) _closeKey(code, kid, uint64(block.timestamp));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IDepartmentDirectory
    function departmentOf(address account) external view returns (Department memory) {
        uint32 index = _accounts[account].index;
        if (index == 0) revert DepartmentDirectoryUnknownAccount(account);
        return _department(index);
    }

    /// @inheritdoc IDepartmentDirectory
    function department(bytes32 code) external view returns (Department memory) {
        return _department(_requireIndex(code));
    }

    /// @inheritdoc IDepartmentDirectory
    function departmentCount() external view returns (uint32) {
        return _departmentCount;
    }

    /// @inheritdoc IDepartmentDirectory
    function departmentCodeAt(uint32 index) external view returns (bytes32) {
        return _departments[index].code;
    }

    /// @inheritdoc IDepartmentDirectory
    function hasRole(address account, uint64 role) external view returns (bool) {
        AccountSlot memory slot = _accounts[account];
        return slot.active && role != 0 && slot.roles & role == role;
    }

    /// @inheritdoc IDepartmentDirectory
    function codeWithRole(address account, uint64 role) external view returns (bytes32) {
        AccountSlot memory slot = _accounts[account];
        if (!slot.active || role == 0 || slot.roles & role != role) return bytes32(0);
        return bytes32(slot.code);
    }

    /// @inheritdoc IDepartmentDirectory
    function keyCount(bytes32 code) external view returns (uint256) {
        return _keyIds[code].length;
    }

    /// @inheritdoc IDepartmentDirectory
    function keyIdAt(bytes32 code, uint256 i) external view returns (bytes8) {
        return _keyIds[code][i];
    }

    /// @inheritdoc IDepartmentDirectory
    function key(bytes8 kid) external view returns (SigningKey memory) {
        KeyData storage k = _keys[kid];
        if (k.department == bytes32(0)) revert DepartmentDirectoryUnknownKey(kid);
        return SigningKey({
            kid: kid,
            department: k.department,
            alg: k.alg,
            publicKey: k.publicKey,
            validFrom: k.validFrom,
            validTo: k.validTo,
            compromisedSince: k.compromisedSince
        });
    }

    /// @inheritdoc IDepartmentDirectory
    function keyValidAt(bytes8 kid, uint64 t) external view returns (bool) {
        KeyData storage k = _keys[kid];
        if (k.department == bytes32(0) || t < k.validFrom) return false;
        if (k.validTo != 0 && t >= k.validTo) return false;
        return k.compromisedSince == 0 || t < k.compromisedSince;
    }

    /// @inheritdoc IDepartmentDirectory
    function isTrusted(
        bytes32 verifierRegion,
        bytes32 issuerRegion,
        bytes32 licenceType
    ) external view returns (bool) {
        return verifierRegion == issuerRegion || _trust[verifierRegion][issuerRegion][licenceType];
    }

    /// @inheritdoc IDepartmentDirectory
    function councilMembers() external view returns (address[] memory) {
        return _council;
    }

    /// @inheritdoc IDepartmentDirectory
    function isCouncilMember(address account) external view returns (bool) {
        return _isCouncilMember[account];
    }

    /// @inheritdoc IDepartmentDirectory
    function threshold() external view returns (uint8) {
        return _threshold;
    }

    /// @inheritdoc IDepartmentDirectory
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IDepartmentDirectory
    function proposal(
        uint256 id
    ) external view returns (address proposer, bytes memory action, uint256 approvals, bool executed) {
        ProposalData storage p = _proposals[id];
        if (p.proposer == address(0)) revert DepartmentDirectoryUnknownProposal(id);
        return (p.proposer, p.action, _countApprovals(id), p.executed);
    }

    /// @inheritdoc IDepartmentDirectory
    function hasApproved(uint256 id, address member) external view returns (bool) {
        return _approvals[id][member];
    }

    // --------------------------------------------------------------- internal

    /// @dev Returns the sender's packed department slot (index 0 when it is no department).
    function _accountSlot(address account) internal view returns (AccountSlot memory) {
        return _accounts[account];
    }

    /// @dev Returns the code of the department with `index` (zero for index 0).
    function _codeAt(uint32 index) internal view returns (bytes32) {
        return _departments[index].code;
    }

    function _department(uint32 index) private view returns (Department memory) {
        DepartmentData storage d = _departments[index];
        AccountSlot memory slot = _accounts[d.account];
        return Department({
            code: d.code,
            account: d.account,
            roles: slot.roles,
            region: d.region,
            endpoint: d.endpoint,
            active: slot.active,
            index: index
        });
    }

    function _requireIndex(bytes32 code) private view returns (uint32 index) {
        index = _indexOf[code];
        if (index == 0) revert DepartmentDirectoryUnknownDepartment(code);
    }

    function _requireFreeAccount(address account) private view {
        if (account == address(0)) revert DepartmentDirectoryInvalidAccount(account);
        if (_accounts[account].index != 0) revert DepartmentDirectoryAccountInUse(account);
    }

    function _emitUpdated(uint32 index) private {
        DepartmentData storage d = _departments[index];
        AccountSlot memory slot = _accounts[d.account];
        emit DepartmentUpdated(d.code, d.account, slot.roles, d.region, d.endpoint, slot.active);
    }

    function _closeKey(bytes32 code, bytes8 kid, uint64 at) private {
        _keys[kid].validTo = at;
        delete _openKey[code];
        emit KeyRetired(code, kid, at);
    }

    function _addCouncilMember(address account) private {
        if (account == address(0) || account == address(this) || _isCouncilMember[account]) {
            revert DepartmentDirectoryInvalidCouncilMember(account);
        }
        _council.push(account);
        _isCouncilMember[account] = true;
        emit CouncilMemberAdded(account);
    }

    function _setThreshold(uint8 threshold_) private {
        if (threshold_ == 0 || threshold_ > _council.length) {
            revert DepartmentDirectoryInvalidThreshold(threshold_, _council.length);
        }
        uint8 previous = _threshold;
        _threshold = threshold_;
        emit ThresholdChanged(previous, threshold_);
    }

    function _requirePending(uint256 id) private view {
        ProposalData storage p = _proposals[id];
        if (p.proposer == address(0)) revert DepartmentDirectoryUnknownProposal(id);
        if (p.executed) revert DepartmentDirectoryProposalExecuted(id);
    }

    function _approve(uint256 id) private {
        _approvals[id][msg.sender] = true;
        uint256 approvals = _countApprovals(id);
        emit ProposalApproved(id, msg.sender, approvals);
        if (approvals >= _threshold) _execute(id);
    }

    /// @dev Counts approvals of current members only, so a removed member's approval no longer counts.
    function _countApprovals(uint256 id) private view returns (uint256 approvals) {
        mapping(address => bool) storage approved = _approvals[id];
        uint256 size = _council.length;
        for (uint256 i = 0; i < size; ++i) {
            if (approved[_council[i]]) ++approvals;
        }
    }

    function _execute(uint256 id) private {
        ProposalData storage p = _proposals[id];
        p.executed = true;
        Address.functionCall(address(this), p.action);
        emit ProposalExecuted(id);
    }
}
