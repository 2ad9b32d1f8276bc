// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @dev Role bits held in a department's `roles` bitmask.
uint64 constant ROLE_ISSUER = 1;
uint64 constant ROLE_REGISTRY = 2;
uint64 constant ROLE_HOUSING = 4;
uint64 constant ROLE_TAX = 8;
uint64 constant ROLE_BANK = 16;
uint64 constant ROLE_COURT = 32;
uint64 constant ROLE_NOTARY = 64;

/**
 * @dev The department directory: departments with their roles, region and node
 * endpoint, their signing keys with append-only validity history, the
 * cross-region trust relations, and the M-of-N council that governs them.
 *
 * Other regnode contracts read roles through this interface.
 */
interface IDepartmentDirectory {
    /// @dev A department as returned by the views.
    struct Department {
        bytes32 code;
        address account;
        uint64 roles;
        bytes32 region;
        string endpoint;
        bool active;
        uint32 index;
    }

    /// @dev A signing key and its validity; `validTo` and `compromisedSince` are 0 when unset.
    struct SigningKey {
        bytes8 kid;
        bytes32 department;
        int16 alg;
        bytes publicKey;
        uint64 validFrom;
        uint64 validTo;
        uint64 compromisedSince;
    }

    /// @dev The caller is not the directory itself acting on a council decision.
    error DepartmentDirectoryOnlyCouncil(address account);

    /// @dev The caller is not a council member.
    error DepartmentDirectoryNotCouncilMember(address account);

    /// @dev The account is already a council member.
    error DepartmentDirectoryAlreadyCouncilMember(address account);

    /// @dev The council member has already approved the proposal.
    error DepartmentDirectoryAlreadyApproved(uint256 id, address member);

    /// @dev No proposal has this id.
    error DepartmentDirectoryUnknownProposal(uint256 id);

    /// @dev The proposal has already been executed.
    error DepartmentDirectoryProposalExecuted(uint256 id);

    /// @dev The proposal has fewer approvals than the threshold.
    error DepartmentDirectoryBelowThreshold(uint256 id, uint256 approvals, uint8 threshold);

    /// @dev The threshold is 0 or larger than the council.
    error DepartmentDirectoryInvalidThreshold(uint8 threshold, uint256 councilSize);

    /// @dev The council member address is invalid (zero, the directory itself, or a duplicate).
    error DepartmentDirectoryInvalidCouncilMember(address account);

    /// @dev No department has this code.
    error DepartmentDirectoryUnknownDepartment(bytes32 code);

    /// @dev No department uses this account.
    error DepartmentDirectoryUnknownAccount(address account);

    /// @dev A department with this code already exists.
    error DepartmentDirectoryDepartmentExists(bytes32 code);

    /// @dev The account already belongs to a department.
    error DepartmentDirectoryAccountInUse(address account);

    /// @dev The department code is zero or longer than 19 bytes.
    error DepartmentDirectoryInvalidCode(bytes32 code);

    /// @dev The department account is the zero address.
    error DepartmentDirectoryInvalidAccount(address account);

    /// @dev The department is not active.
    error DepartmentDirectoryInactiveDepartment(bytes32 code);

    /// @dev A key with this kid was registered before (kids are unique forever).
    error DepartmentDirectoryKeyExists(bytes8 kid);

    /// @dev No key has this kid.
    error DepartmentDirectoryUnknownKey(bytes8 kid);

    /// @dev The key is malformed: zero kid, unsupported algorithm or empty public key.
    error DepartmentDirectoryInvalidKey(bytes8 kid, int16 alg);

    /// @dev The caller may not act on this key.
    error DepartmentDirectoryNotKeyOwner(bytes8 kid, address account);

    /// @dev A compromise time is 0, in the future, or later than the one already declared.
    error DepartmentDirectoryInvalidCompromiseTime(bytes8 kid, uint64 since, uint64 current);

    /// @dev Emitted when a council member proposes an action.
    event ProposalCreated(uint256 indexed id, address indexed proposer, bytes action);

    /// @dev Emitted when a council member approves a proposal (the proposer's own approval included).
    event ProposalApproved(uint256 indexed id, address indexed member, uint256 approvals);

    /// @dev Emitted when a proposal reached the threshold and its action ran.
    event ProposalExecuted(uint256 indexed id);

    /// @dev Emitted when `account` joins the council.
    event CouncilMemberAdded(address indexed account);

    /// @dev Emitted when `account` leaves the council.
    event CouncilMemberRemoved(address indexed account);

    /// @dev Emitted when the council threshold changes.
    event ThresholdChanged(uint8 previousThreshold, uint8 newThreshold);

    /// @dev Emitted when a department is added.
    event DepartmentAdded(
        bytes32 indexed code,
        address indexed account,
        uint64 roles,
        bytes32 region,
        string endpoint,
        uint32 index
    );

    /// @dev Emitted with the full new state whenever a department's account, roles, endpoint or activity changes.
    event DepartmentUpdated(
        bytes32 indexed code,
        address indexed account,
        uint64 roles,
        bytes32 region,
        string endpoint,
        bool active
    );

    /// @dev Emitted when a department opens a new signing key.
    event KeyRegistered(
        bytes32 indexed department,
        bytes8 indexed kid,
        int16 alg,
        bytes publicKey,
        uint64 validFrom
    );

    /// @dev Emitted when a signing key is closed.
    event KeyRetired(bytes32 indexed department, bytes8 indexed kid, uint64 validTo);

    /// @dev Emitted when a signing key is declared compromised from `since`.
    event KeyCompromised(bytes32 indexed department, bytes8 indexed kid, uint64 since);

    /// @dev Emitted when a cross-region trust relation is set or cleared.
    event TrustSet(
        bytes32 indexed verifierRegion,
        bytes32 indexed issuerRegion,
        bytes32 indexed licenceType,
        bool trusted
    );

    /**
     * @dev Proposes `action` (calldata for this contract) to the council and approves it.
     * Executes it at once when the threshold is 1.
     *
     * Requirements:
     *
     * - the caller must be a council member.
     *
     * Emits a {ProposalCreated} event and a {ProposalApproved} event.
     */
    function propose(bytes calldata action) external returns (uint256 id);

    /**
     * @dev Approves proposal `id`; executes its action when the approvals reach the threshold,
     * bubbling up the action's revert reason.
     *
     * Requirements:
     *
     * - the caller must be a council member that has not approved `id` yet.
     * - the proposal must exist and not have been executed.
     *
     * Emits a {ProposalApproved} event, and a {ProposalExecuted} event when it executes.
     */
    function approve(uint256 id) external;

    /**
     * @dev Executes proposal `id` when it already has enough approvals (after a threshold change).
     *
     * Requirements:
     *
     * - the caller must be a council member.
     * - the proposal must exist, not have been executed and have at least threshold approvals
     *   from current members.
     *
     * Emits a {ProposalExecuted} event.
     */
    function execute(uint256 id) external;

    /**
     * @dev Adds a department. Only through the council.
     *
     * Requirements:
     *
     * - `code` must be non-zero, at most 19 bytes (the rest zero) and unused.
     * - `account` must be non-zero and unused.
     *
     * Emits a {DepartmentAdded} event.
     */
    function addDepartment(
        bytes32 code,
        address account,
        uint64 roles,
        bytes32 region,
        string calldata endpoint
    ) external;

    /**
     * @dev Replaces a department's role bitmask. Only through the council.
     *
     * Requirements:
     *
     * - the department must exist.
     *
     * Emits a {DepartmentUpdated} event.
     */
    function setDepartmentRoles(bytes32 code, uint64 roles) external;

    /**
     * @dev Activates or deactivates a department. Only through the council.
     *
     * Requirements:
     *
     * - the department must exist.
     *
     * Emits a {DepartmentUpdated} event.
     */
    function setDepartmentActive(bytes32 code, bool active) external;

    /**
     * @dev Moves a department to a new chain account. Only through the council.
     *
     * Requirements:
     *
     * - the department must exist; `account` must be non-zero and unused.
     *
     * Emits a {DepartmentUpdated} event.
     */
    function setDepartmentAccount(bytes32 code, address account) external;

    /**
     * @dev Sets the caller's department node endpoint.
     *
     * Requirements:
     *
     * - the caller must be a department account.
     *
     * Emits a {DepartmentUpdated} event.
     */
    function setEndpoint(string calldata endpoint) external;

    /**
     * @dev Adds a council member. Only through the council.
     *
     * Requirements:
     *
     * - `account` must be non-zero, not the directory and not a member.
     *
     * Emits a {CouncilMemberAdded} event.
     */
    function addCouncilMember(address account) external;

    /**
     * @dev Removes a council member. Only through the council.
     *
     * Requirements:
     *
     * - `account` must be a member; the council must keep at least threshold members.
     *
     * Emits a {CouncilMemberRemoved} event.
     */
    function removeCouncilMember(address account) external;

    /**
     * @dev Sets the number of approvals a proposal needs. Only through the council.
     *
     * Requirements:
     *
     * - `threshold` must be between 1 and the council size.
     *
     * Emits a {ThresholdChanged} event.
     */
    function setThreshold(uint8 threshold) external;

    /**
     * @dev Records whether verifiers of `verifierRegion` recognise licences of `licenceType`
     * issued in `issuerRegion`. Only through the council.
     *
     * Emits a {TrustSet} event.
     */
    function setTrust(bytes32 verifierRegion, bytes32 issuerRegion, bytes32 licenceType, bool trusted) external;

    /**
     * @dev Closes the caller department's open signing key at `block.timestamp` and opens `kid`
     * from `block.timestamp`.
     *
     * Requirements:
     *
     * - the caller must be an active department account.
     * - `kid` must be non-zero and never registered; `alg` must be -7, -8 or -35; `publicKey` non-empty.
     *
     * Emits a {KeyRetired} event for the closed key (if any) and a {KeyRegistered} event.
     */
    function rotateKey(bytes8 kid, int16 alg, bytes calldata publicKey) external;

    /**
     * @dev Declares key `kid` compromised from `since` and closes it if it is still open.
     * Callable by the owning department or through the council.
     *
     * Requirements:
     *
     * - the key must exist.
     * - `since` must be non-zero, not in the future and earlier than an already declared time.
     *
     * Emits a {KeyCompromised} event, and a {KeyRetired} event when the key was open.
     */
    function declareKeyCompromised(bytes8 kid, uint64 since) external;

    /// @dev Returns the department that uses `account`; reverts when there is none.
    function departmentOf(address account) external view returns (Department memory);

    /// @dev Returns the department with `code`; reverts when there is none.
    function department(bytes32 code) external view returns (Department memory);

    /// @dev Returns the number of departments ever added.
    function departmentCount() external view returns (uint32);

    /// @dev Returns the code of the department with 1-based `index`.
    function departmentCodeAt(uint32 index) external view returns (bytes32);

    /// @dev Returns true when `account` is an active department holding every bit of `role`.
    function hasRole(address account, uint64 role) external view returns (bool);

    /// @dev Returns the code of the active department of `account` holding every bit of `role`, or zero.
    function codeWithRole(address account, uint64 role) external view returns (bytes32);

    /// @dev Returns the number of keys department `code` ever registered.
    function keyCount(bytes32 code) external view returns (uint256);

    /// @dev Returns the kid of department `code`'s `i`-th key, oldest first.
    function keyIdAt(bytes32 code, uint256 i) external view returns (bytes8);

    /// @dev Returns key `kid`; reverts when it is unknown.
    function key(bytes8 kid) external view returns (SigningKey memory);

    /// @dev Returns true when `kid` is open at `t` and `t` is before its compromise time.
    function keyValidAt(bytes8 kid, uint64 t) external view returns (bool);

    /// @dev Returns true when the regions are equal or a trust relation is recorded.
    function isTrusted(bytes32 verifierRegion, bytes32 issuerRegion, bytes32 licenceType)
        external
        view
        returns (bool);

    /// @dev Returns the council members.
    function councilMembers() external view returns (address[] memory);

    /// @dev Returns true when `account` is a council member.
    function isCouncilMember(address account) external view returns (bool);

    /// @dev Returns the number of approvals a proposal needs.
    function threshold() external view returns (uint8);

    /// @dev Returns the number of proposals ever made; ids run from 1 to this number.
    function proposalCount() external view returns (uint256);

    /// @dev Returns proposal `id` with its approvals counted among current members.
    function proposal(uint256 id)
        external
        view
        returns (address proposer, bytes memory action, uint256 approvals, bool executed);

    /// @dev Returns true when `member` approved proposal `id`.
    function hasApproved(uint256 id, address member) external view returns (bool);
}
