// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDepartmentDirectory, ROLE_HOUSING, ROLE_TAX, ROLE_BANK, ROLE_REGISTRY} from "./IDepartmentDirectory.sol";
import {IFeeSchedule} from "./IFeeSchedule.sol";
import {ILicenceRegistry, STATUS_ACTIVE} from "./ILicenceRegistry.sol";
import {IPropertyRegistry, SHARE_WHOLE} from "./IPropertyRegistry.sol";
import "./ITransferCases.sol" as C;
import {ITransferCases} from "./ITransferCases.sol";

/**
 * @dev Implementation of {ITransferCases}. Departments and their roles come from the
 * directory (the licence registry), fees from the {IFeeSchedule}, titles are moved through the
 * {IPropertyRegistry} this contract is bound to, and money moves in the settlement token.
 */
contract TransferCases is ITransferCases, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Slot 0 of a case: who funded, the state, the deadline and the escrowed amount.
    struct CaseSlot {
        address payer;
        uint8 state;
        uint32 deadline;
        uint56 escrowFen;
    }

    /// @dev A bank's payoff, only for cases transferred with a mortgage (带押过户).
    struct PayoffSlot {
        address bank;
        uint8 rank;
        uint64 amountFen;
    }

    ILicenceRegistry private immutable _licences;
    IPropertyRegistry private immutable _registry;
    IFeeSchedule private immutable _fees;
    IERC20 private immutable _token;

    mapping(bytes32 caseId => CaseSlot) private _cases;
    /// @dev After opening `keccak256(abi.encode(terms))`, after assessment that digest hashed with the assessment.
    mapping(bytes32 caseId => bytes32) private _digests;
    mapping(bytes32 caseId => PayoffSlot) private _payoffs;

    constructor(ILicenceRegistry licences_, IPropertyRegistry registry_, IFeeSchedule fees_, IERC20 token_) {
        _licences = licences_;
        _registry = registry_;
        _fees = fees_;
        _token = token_;
    }

    // ------------------------------------------------------------------ steps

    /// @inheritdoc ITransferCases
    function openCase(Terms calldata terms) external returns (bytes32 caseId) {
        _requireRole(ROLE_HOUSING);
        _checkTerms(terms);
        caseId = caseIdOf(terms.unit, terms.contractHash);
        if (_cases[caseId].state != C.CASE_NONE) revert TransferCasesCaseExists(caseId);
        _cases[caseId] = CaseSlot({
            payer: address(0),
            state: C.CASE_OPEN,
            deadline: uint32(terms.deadline),
            escrowFen: 0
        });
        _digests[caseId] = keccak256(abi.encode(terms));
        _registry.fileContractForCase(terms.unit, terms.contractHash, terms.buyers);
        emit CaseOpened(caseId, terms.unit, msg.sender, terms);
    }

    /// @inheritdoc ITransferCases
    function consentMortgage(bytes32 unit, bytes32 contractHash, uint8 rank, uint64 payoffFen) external {
        _requireRole(ROLE_BANK);
        bytes32 caseId = caseIdOf(unit, contractHash);
        uint8 state = _cases[caseId].state;
        if (state != C.CASE_OPEN && state != C.CASE_ASSESSED) _revertState(caseId, state);
        if (payoffFen != 0) {
            PayoffSlot storage p = _payoffs[caseId];
            if (p.rank != 0) revert TransferCasesPayoffExists(caseId, p.rank);
            _payoffs[caseId] = PayoffSlot({bank: msg.sender, rank: rank, amountFen: payoffFen});
        }
        _registry.consentMortgageForCase(unit, rank, msg.sender);
        emit CaseMortgageConsented(caseId, msg.sender, rank, payoffFen);
    }

    /// @inheritdoc ITransferCases
    function assess(
        Terms calldata terms,
        bytes32 voucherRoot,
        uint32 voucherCount,
        bytes32 voucherType
    ) external returns (Assessment memory assessment) {
        _requireRole(ROLE_TAX);
        bytes32 caseId = caseIdOf(terms.unit, terms.contractHash);
        CaseSlot storage c = _cases[caseId];
        if (c.state != C.CASE_OPEN) _revertState(caseId, c.state);
        _requireBeforeDeadline(caseId, c.deadline);
        bytes32 digest = keccak256(abi.encode(terms));
        if (_digests[caseId] != digest) revert TransferCasesDigestMismatch(caseId);
        _registry.checkCaseStep(terms.unit, terms.buyers);

        IFeeSchedule.FeeLines memory lines = _fees.quote(terms.facts);
        uint64 sellerTaxes = uint64(lines.vat + lines.vatSurcharges + lines.incomeTax);
        uint64 deductions = sellerTaxes + _payoffs[caseId].amountFen;
        uint64 price = terms.facts.priceFen;
        if (deductions > price) revert TransferCasesProceedsShort(caseId, price, deductions);
        assessment = Assessment({
            treasury: msg.sender,
            taxFen: sellerTaxes + uint64(lines.deedTax),
            feeFen: uint64(lines.registrationFee),
            dueFen: price + uint64(lines.deedTax + lines.registrationFee),
            voucherRoot: voucherRoot
        });
        c.state = C.CASE_ASSESSED;
        _digests[caseId] = keccak256(abi.encode(digest, assessment));
        _licences.anchorBatchFor(msg.sender, voucherRoot, voucherCount, voucherType);
        emit CaseAssessed(caseId, lines, assessment, voucherCount);
    }

    /// @inheritdoc ITransferCases
    function fund(
        bytes32 unit,
        bytes32 contractHash,
        bytes32 termsDigest_,
        Assessment calldata assessment
    ) external nonReentrant {
        bytes32 caseId = caseIdOf(unit, contractHash);
        CaseSlot storage c = _cases[caseId];
        if (c.state != C.CASE_ASSESSED) _revertState(caseId, c.state);
        _requireBeforeDeadline(caseId, c.deadline);
        if (_digests[caseId] != keccak256(abi.encode(termsDigest_, assessment))) {
            revert TransferCasesDigestMismatch(caseId);
        }
        uint64 amount = assessment.dueFen;
        c.payer = msg.sender;
        c.state = C.CASE_FUNDED;
        c.escrowFen = uint56(amount);
        _token.safeTransferFrom(msg.sender, address(this), amount);
        emit CaseFunded(caseId, msg.sender, amount);
    }

    /// @inheritdoc ITransferCases
    function settle(
        Terms calldata terms,
        Assessment calldata assessment,
        bytes32 deedVoucherLeaf,
        bytes32[] calldata voucherProof,
        bytes32 certificateLeaf,
        bytes32 certificateType
    ) external nonReentrant {
        _requireRole(ROLE_REGISTRY);
        bytes32 caseId = caseIdOf(terms.unit, terms.contractHash);
        CaseSlot storage c = _cases[caseId];
        if (c.state != C.CASE_FUNDED) _revertState(caseId, c.state);
        _requireBeforeDeadline(caseId, c.deadline);
        if (_digests[caseId] != keccak256(abi.encode(keccak256(abi.encode(terms)), assessment))) {
            revert TransferCasesDigestMismatch(caseId);
        }
        _checkVoucher(caseId, assessment.voucherRoot, deedVoucherLeaf, voucherProof);

        PayoffSlot memory payoff = _payoffs[caseId];
        // A payoff consented after the assessment was not in its proceeds check.
        uint64 proceeds = assessment.dueFen - assessment.taxFen - assessment.feeFen;
        if (payoff.amountFen > proceeds) {
            revert TransferCasesProceedsShort(caseId, terms.facts.priceFen, proceeds + payoff.amountFen);
        }
        uint64 sellerFen = proceeds - payoff.amountFen;
        c.state = C.CASE_SETTLED;
        c.escrowFen = 0;

        _registry.transferTitle(terms.unit, terms.contractHash, terms.buyers, certificateLeaf, payoff.rank);
        _licences.anchorBatchFor(msg.sender, certificateLeaf, 1, certificateType);
        _pay(assessment.treasury, assessment.taxFen);
        _pay(msg.sender, assessment.feeFen);
        _pay(payoff.bank, payoff.amountFen);
        _pay(terms.sellerAccount, sellerFen);
        emit CaseSettled(
            caseId,
            msg.sender,
            assessment.taxFen,
            assessment.feeFen,
            payoff.amountFen,
            sellerFen,
            certificateLeaf
        );
    }

    /// @inheritdoc ITransferCases
    function cancel(bytes32 unit, bytes32 contractHash) external nonReentrant {
        if (!_directory().hasRole(msg.sender, ROLE_HOUSING) && !_directory().hasRole(msg.sender, ROLE_REGISTRY)) {
            revert TransferCasesMissingRole(msg.sender, ROLE_HOUSING | ROLE_REGISTRY);
        }
        _close(unit, contractHash, C.CASE_CANCELLED);
    }

    /// @inheritdoc ITransferCases
    function expire(bytes32 unit, bytes32 contractHash) external nonReentrant {
        bytes32 caseId = caseIdOf(unit, contractHash);
        uint32 deadline = _cases[caseId].deadline;
        if (block.timestamp <= deadline) revert TransferCasesDeadlineNotPassed(caseId, deadline);
        _close(unit, contractHash, C.CASE_EXPIRED);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITransferCases
    function caseIdOf(bytes32 unit, bytes32 contractHash) public pure returns (bytes32) {
        return keccak256(abi.encode(unit, contractHash));
    }

    /// @inheritdoc ITransferCases
    function caseOf(bytes32 caseId) external view returns (CaseView memory) {
        CaseSlot memory c = _cases[caseId];
        PayoffSlot memory p = _payoffs[caseId];
        return CaseView({
            state: c.state,
            deadline: c.deadline,
            payer: c.payer,
            escrowFen: c.escrowFen,
            digest: _digests[caseId],
            payoffBank: p.bank,
            payoffRank: p.rank,
            payoffFen: p.amountFen
        });
    }

    /// @inheritdoc ITransferCases
    function termsDigest(Terms calldata terms) external pure returns (bytes32) {
        return keccak256(abi.encode(terms));
    }

    /// @dev Returns the contracts this one works with: licences (directory), register, fees, token.
    function contracts() external view returns (address, address, address, address) {
        return (address(_licences), address(_registry), address(_fees), address(_token));
    }

    // --------------------------------------------------------------- internal

    function _directory() private view returns (IDepartmentDirectory) {
        return IDepartmentDirectory(address(_licences));
    }

    function _requireRole(uint64 role) private view {
        if (!_directory().hasRole(msg.sender, role)) revert TransferCasesMissingRole(msg.sender, role);
    }

    function _revertState(bytes32 caseId, uint8 state) private pure {
        if (state == C.CASE_NONE) revert TransferCasesUnknownCase(caseId);
        revert TransferCasesWrongState(caseId, state);
    }

    function _requireBeforeDeadline(bytes32 caseId, uint32 deadline) private view {
        if (block.timestamp > deadline) revert TransferCasesDeadlinePassed(caseId, deadline);
    }

    function _checkTerms(Terms calldata terms) private view {
        if (terms.unit == bytes32(0)) revert TransferCasesInvalidTerms("unit");
        if (terms.contractHash == bytes32(0)) revert TransferCasesInvalidTerms("contractHash");
        if (terms.facts.priceFen == 0 || terms.facts.priceFen > type(uint56).max / 2) {
            revert TransferCasesInvalidTerms("price");
        }
        if (terms.sellerAccount == address(0)) revert TransferCasesInvalidTerms("sellerAccount");
        if (terms.deadline <= block.timestamp || terms.deadline > type(uint32).max) {
            revert TransferCasesInvalidTerms("deadline");
        }
        uint256 n = terms.buyers.length;
        if (n == 0 || n > 32) revert TransferCasesInvalidTerms("buyers");
        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            if (terms.buyers[i].commitment == bytes32(0) || terms.buyers[i].share == 0) {
                revert TransferCasesInvalidTerms("buyers");
            }
            total += terms.buyers[i].share;
        }
        if (total != SHARE_WHOLE) revert TransferCasesInvalidTerms("shares");
    }

    function _checkVoucher(bytes32 caseId, bytes32 root, bytes32 leaf, bytes32[] calldata proof) private view {
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert TransferCasesVoucherNotInCase(caseId, leaf);
        (uint8 status, , ) = _licences.statusOf(leaf);
        if (status != STATUS_ACTIVE) revert TransferCasesVoucherNotValid(leaf, status);
    }

    function _pay(address to, uint64 amount) private {
        if (amount != 0) _token.safeTransfer(to, amount);
    }

    function _close(bytes32 unit, bytes32 contractHash, uint8 state) private {
        bytes32 caseId = caseIdOf(unit, contractHash);
        CaseSlot memory c = _cases[caseId];
        if (c.state != C.CASE_OPEN && c.state != C.CASE_ASSESSED && c.state != C.CASE_FUNDED) {
            _revertState(caseId, c.state);
        }
        _cases[caseId] = CaseSlot({payer: c.payer, state: state, deadline: c.deadline, escrowFen: 0});
        // HOUSING may have withdrawn the filing itself: the refund must not depend on it.
        if (_registry.title(unit).contractHash == contractHash) _registry.clearContractForCase(unit, contractHash);
        if (c.escrowFen != 0) _token.safeTransfer(c.payer, c.escrowFen);
        emit CaseClosed(caseId, state, msg.sender, uint64(c.escrowFen));
    }
}
