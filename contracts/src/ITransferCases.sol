// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IFeeSchedule} from "./IFeeSchedule.sol";
import {IPropertyRegistry} from "./IPropertyRegistry.sol";

/// @dev Case states, in the order a case normally goes through them.
uint8 constant CASE_NONE = 0;
uint8 constant CASE_OPEN = 1;
uint8 constant CASE_ASSESSED = 2;
uint8 constant CASE_FUNDED = 3;
uint8 constant CASE_SETTLED = 4;
uint8 constant CASE_CANCELLED = 5;
uint8 constant CASE_EXPIRED = 6;

/**
 * @dev Second-hand home transfers as cases across departments (二手房过户).
 *
 * HOUSING files the sale contract and opens the case ({openCase}); the seller's BANK consents
 * to transfer with its mortgage and names the payoff ({consentMortgage}) unless it released
 * the mortgage on the register; TAX assesses the case from the fee schedule on chain and
 * anchors the case's e-tax vouchers ({assess}); the buyer (or the buyer's bank for them)
 * funds the escrow in the settlement token ({fund}); REGISTRY checks the deed-tax voucher and
 * settles ({settle}): in one transaction the taxes go to the assessing TAX department's
 * account, the registration fee to the REGISTRY account, the payoff to the bank, the rest to
 * the seller; the title moves to the buyers and the new title certificate is anchored.
 * Cancelling ({cancel}) or passing the deadline ({expire}) refunds whoever funded.
 *
 * A case is keyed by `keccak256(abi.encode(unit, contractHash))` and keeps two storage slots
 * (state and a digest); its terms and assessment live in its events, and later steps pass
 * them back as calldata, checked against the digest. Who pays what: the buyer funds the price,
 * the deed tax and the registration fee (`dueFen`); the seller bears VAT, its surcharges and
 * income tax, taken from the price with the mortgage payoff.
 */
interface ITransferCases {
    /// @dev What HOUSING files: the unit, the contract, the fee facts, the buyers and the seller's account.
    struct Terms {
        bytes32 unit;
        bytes32 contractHash;
        IFeeSchedule.CaseFacts facts;
        IPropertyRegistry.Owner[] buyers;
        address sellerAccount;
        uint64 deadline;
    }

    /// @dev What TAX assessed; `treasury` is the assessing TAX department's account.
    struct Assessment {
        address treasury;
        uint64 taxFen;
        uint64 feeFen;
        uint64 dueFen;
        bytes32 voucherRoot;
    }

    /// @dev A case as returned by {caseOf}.
    struct CaseView {
        uint8 state;
        uint64 deadline;
        address payer;
        uint64 escrowFen;
        bytes32 digest;
        address payoffBank;
        uint8 payoffRank;
        uint64 payoffFen;
    }

    /// @dev The caller is not an active department with `role`.
    error TransferCasesMissingRole(address account, uint64 role);

    /// @dev A case for this unit and contract exists already.
    error TransferCasesCaseExists(bytes32 caseId);

    /// @dev No such case.
    error TransferCasesUnknownCase(bytes32 caseId);

    /// @dev The case is in `state`, where this step is not allowed.
    error TransferCasesWrongState(bytes32 caseId, uint8 state);

    /// @dev The terms are unusable: `field` names what is wrong.
    error TransferCasesInvalidTerms(string field);

    /// @dev The terms or assessment passed back do not match what the case recorded.
    error TransferCasesDigestMismatch(bytes32 caseId);

    /// @dev The case's deadline has passed.
    error TransferCasesDeadlinePassed(bytes32 caseId, uint64 deadline);

    /// @dev The case's deadline has not passed yet.
    error TransferCasesDeadlineNotPassed(bytes32 caseId, uint64 deadline);

    /// @dev A mortgage payoff is set for the case already.
    error TransferCasesPayoffExists(bytes32 caseId, uint8 rank);

    /// @dev The price does not cover the seller's taxes and the payoff.
    error TransferCasesProceedsShort(bytes32 caseId, uint64 priceFen, uint64 deductionsFen);

    /// @dev The deed-tax voucher is not among the vouchers anchored at assessment.
    error TransferCasesVoucherNotInCase(bytes32 caseId, bytes32 leaf);

    /// @dev The deed-tax voucher has been suspended or revoked by TAX.
    error TransferCasesVoucherNotValid(bytes32 leaf, uint8 status);

    /// @dev HOUSING opened a case; `terms` is everything later steps pass back.
    event CaseOpened(bytes32 indexed caseId, bytes32 indexed unit, address indexed housing, Terms terms);

    /// @dev The mortgagee bank consented to transfer with its mortgage; `payoffFen` is paid at settlement.
    event CaseMortgageConsented(bytes32 indexed caseId, address indexed bank, uint8 rank, uint64 payoffFen);

    /// @dev TAX assessed the case: the quote's lines and what the case records.
    event CaseAssessed(
        bytes32 indexed caseId,
        IFeeSchedule.FeeLines lines,
        Assessment assessment,
        uint32 voucherCount
    );

    /// @dev `payer` put `amountFen` in escrow.
    event CaseFunded(bytes32 indexed caseId, address indexed payer, uint64 amountFen);

    /// @dev The case settled: who got what, and the new title certificate.
    event CaseSettled(
        bytes32 indexed caseId,
        address indexed registry,
        uint64 taxFen,
        uint64 feeFen,
        uint64 payoffFen,
        uint64 sellerFen,
        bytes32 certificateLeaf
    );

    /// @dev The case ended without transfer (CANCELLED or EXPIRED); `refundFen` went back to the payer.
    event CaseClosed(bytes32 indexed caseId, uint8 state, address indexed by, uint64 refundFen);

    /**
     * @dev Opens a case and files its sale contract on the unit.
     *
     * Requirements:
     *
     * - the caller is an active HOUSING department.
     * - the title is open and not seized, under objection, or under a pre-notice held by none of the buyers.
     * - no contract is filed on the unit; price, area, seller account, buyers (shares summing
     *   to 1,000,000 ppm, non-zero distinct commitments) and a future deadline are given.
     *
     * Emits {CaseOpened} and, on the registry, a CONTRACT_FILED change.
     */
    function openCase(Terms calldata terms) external returns (bytes32 caseId);

    /**
     * @dev The seller's bank consents to transfer with its mortgage of `rank` (带押过户) and
     * names the payoff it is owed from the price (0: the mortgage stays on the unit).
     *
     * Requirements: the caller is the BANK holding the unreleased mortgage of `rank`; the case is
     * OPEN or ASSESSED; one payoff per case.
     *
     * Emits {CaseMortgageConsented} and, on the registry, a MORTGAGE_CONSENTED change.
     */
    function consentMortgage(bytes32 unit, bytes32 contractHash, uint8 rank, uint64 payoffFen) external;

    /**
     * @dev TAX assesses the case from the fee schedule in force on the contract date and
     * anchors the case's `voucherCount` e-tax vouchers (licences of `voucherType`) under
     * `voucherRoot` in its own name.
     *
     * Requirements: the caller is an active TAX department that allowed this contract as its
     * anchor delegate; the case is OPEN and before its deadline; `terms` are the case's; no
     * unit guard (seizure, objection, foreign pre-notice) is up; the price covers the seller's
     * taxes and any payoff.
     *
     * Emits {CaseAssessed} and a {ILicenceRegistry-BatchAnchored} for the vouchers.
     */
    function assess(
        Terms calldata terms,
        bytes32 voucherRoot,
        uint32 voucherCount,
        bytes32 voucherType
    ) external returns (Assessment memory assessment);

    /**
     * @dev Puts `assessment.dueFen` of the caller's settlement tokens in escrow (approve first).
     *
     * Requirements: the case is ASSESSED and before its deadline; `termsDigest` and `assessment`
     * are the case's.
     *
     * Emits {CaseFunded}.
     */
    function fund(bytes32 unit, bytes32 contractHash, bytes32 termsDigest, Assessment calldata assessment) external;

    /**
     * @dev REGISTRY approves and settles the case in one transaction (non-reentrant): checks the
     * deed-tax voucher (in the case's voucher batch, not suspended or revoked), pays the taxes,
     * the registration fee, the payoff and the seller, moves the title to the buyers through
     * {IPropertyRegistry-transferTitle} (which enforces every transfer guard) and anchors the
     * new title certificate `certificateLeaf` (a licence of `certificateType`) in the caller's name.
     *
     * Requirements: the caller is an active REGISTRY department that allowed this contract as
     * its anchor delegate; the case is FUNDED and before its deadline; terms and assessment are
     * the case's; a payoff consented after the assessment fits in the seller's proceeds.
     *
     * Emits {CaseSettled}, a TRANSFERRED change on the registry and a BatchAnchored.
     */
    function settle(
        Terms calldata terms,
        Assessment calldata assessment,
        bytes32 deedVoucherLeaf,
        bytes32[] calldata voucherProof,
        bytes32 certificateLeaf,
        bytes32 certificateType
    ) external;

    /**
     * @dev Cancels the case, refunds the escrow to its payer and clears the filed contract
     * (unless HOUSING has already withdrawn it: the refund never depends on the filing).
     *
     * Requirements: the caller is an active HOUSING or REGISTRY department; the case is not
     * settled or closed.
     *
     * Emits {CaseClosed} with state CANCELLED.
     */
    function cancel(bytes32 unit, bytes32 contractHash) external;

    /**
     * @dev Closes a case whose deadline has passed, refunding the escrow; anyone may call it.
     *
     * Emits {CaseClosed} with state EXPIRED.
     */
    function expire(bytes32 unit, bytes32 contractHash) external;

    /// @dev Returns the case id of a unit and contract hash.
    function caseIdOf(bytes32 unit, bytes32 contractHash) external pure returns (bytes32);

    /// @dev Returns the case `caseId` (state CASE_NONE when unknown).
    function caseOf(bytes32 caseId) external view returns (CaseView memory);

    /// @dev Returns the digest of `terms` that {fund} takes.
    function termsDigest(Terms calldata terms) external pure returns (bytes32);
}
