// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @dev `propertyType` codes of {IFeeSchedule-CaseFacts}.
uint8 constant PROPERTY_RESIDENTIAL = 0;
uint8 constant PROPERTY_PARKING = 1;
uint8 constant PROPERTY_NON_RESIDENTIAL = 2;

/// @dev Bits of {IFeeSchedule-CityOverride} `fields`: which local rates the override replaces.
uint8 constant OVERRIDE_DEED_LOCAL = 1;
uint8 constant OVERRIDE_INCOME_DEEMED = 2;
uint8 constant OVERRIDE_SURCHARGE = 4;

/**
 * @dev The fee schedule the tax department publishes, and the taxes and fees of an
 * individual's resale of a property computed from it, line by line, in fen.
 *
 * Units: rates in parts per million, money in fen, areas in m² × 100, dates as unix
 * day numbers (days since 1970-01-01, calendar dates with no time zone), years as whole
 * calendar years. A schedule is in force from its `effectiveFrom` day until the next
 * one starts; a city override replaces the local rates from its own day on. Each line
 * is rounded half-up to the fen; the rules are those of `ledger/domain/fees.py`, which
 * gives the same amounts to the fen.
 */
interface IFeeSchedule {
    /// @dev Every national rate and fee in force from `effectiveFrom`.
    struct Schedule {
        uint32 effectiveFrom;
        uint32 vatRate;
        uint8 vatExemptYears;
        uint32 surchargeRate;
        uint32 surchargeLeviedShare;
        uint32 deedAreaThreshold;
        uint32 deedFirstSmall;
        uint32 deedFirstLarge;
        uint32 deedSecondSmall;
        uint32 deedSecondLarge;
        uint32 deedLocal;
        uint8 incomeExemptYears;
        uint32 incomeGainRate;
        uint32 incomeDeemedRate;
        uint64 feeResidential;
        uint64 feeParking;
        uint64 feeNonResidential;
        uint64 feeExtraCertificate;
        uint8 housingReliefTypes;
    }

    /// @dev A city's local rates from `effectiveFrom`; `fields` says which ones apply.
    struct CityOverride {
        uint32 effectiveFrom;
        uint8 fields;
        uint32 deedLocal;
        uint32 incomeDeemedRate;
        uint32 surchargeRate;
    }

    /// @dev The facts of one case; `city` 0 means the national rates, `costFen` counts only when `costKnown`.
    struct CaseFacts {
        uint64 priceFen;
        uint32 areaCentiM2;
        uint32 acquiredDay;
        uint32 contractDay;
        uint16 buyerHomeNumber;
        bool sellerOnlyHome;
        bool costKnown;
        uint64 costFen;
        uint8 propertyType;
        uint16 certificates;
        uint32 city;
    }

    /// @dev The lines of a quote in fen.
    struct FeeLines {
        uint256 vat;
        uint256 vatSurcharges;
        uint256 deedTax;
        uint256 incomeTax;
        uint256 registrationFee;
        uint256 total;
    }

    /// @dev The caller is not an active department holding the TAX role.
    error FeeScheduleNotTax(address account);

    /// @dev A schedule or override does not start after the latest one published before it.
    error FeeScheduleNotAfterLatest(uint32 effectiveFrom, uint32 latest);

    /// @dev A schedule holds a rate above 100 %, a zero area threshold or an unknown property type bit.
    error FeeScheduleInvalidSchedule(uint32 effectiveFrom);

    /// @dev A city override has an invalid city code, no fields, unknown fields or a rate above 100 %.
    error FeeScheduleInvalidOverride(uint32 city, uint32 effectiveFrom);

    /// @dev No city override was ever published for `city`.
    error FeeScheduleUnknownCity(uint32 city);

    /// @dev No schedule is in force on `day`.
    error FeeScheduleNoScheduleInForce(uint32 day);

    /// @dev The price is zero.
    error FeeScheduleInvalidPrice(uint64 priceFen);

    /// @dev The area is zero.
    error FeeScheduleInvalidArea(uint32 areaCentiM2);

    /// @dev The contract is dated before the acquisition.
    error FeeScheduleContractBeforeAcquisition(uint32 acquiredDay, uint32 contractDay);

    /// @dev The buyer's home number is zero.
    error FeeScheduleInvalidHomeNumber(uint16 buyerHomeNumber);

    /// @dev The number of certificates is zero.
    error FeeScheduleInvalidCertificates(uint16 certificates);

    /// @dev The property type is not one of the `PROPERTY_*` codes.
    error FeeScheduleInvalidPropertyType(uint8 propertyType);

    /// @dev Emitted when the tax department publishes a national schedule.
    event SchedulePublished(uint32 indexed effectiveFrom, address indexed publisher, uint256 index);

    /// @dev Emitted when the tax department publishes a city override.
    event CityOverridePublished(uint32 indexed city, uint32 indexed effectiveFrom, address indexed publisher);

    /**
     * @dev Appends a national schedule in force from `schedule.effectiveFrom`. Published
     * schedules never change: a correction is a new schedule from a later day.
     *
     * Requirements:
     *
     * - the caller must be an active department with the TAX role in the directory.
     * - `effectiveFrom` must be after the latest schedule's.
     * - every rate at most 1,000,000 (100 %), `deedAreaThreshold` non-zero,
     *   `housingReliefTypes` only bits of known property types.
     *
     * Emits a {SchedulePublished} event.
     */
    function publishSchedule(Schedule calldata schedule) external;

    /**
     * @dev Appends an override of `city`'s local rates in force from `override_.effectiveFrom`.
     *
     * Requirements:
     *
     * - the caller must be an active department with the TAX role in the directory.
     * - `city` must be a 6-digit code (100000..999999).
     * - `effectiveFrom` must be after the city's latest override.
     * - `fields` must be non-zero with only `OVERRIDE_*` bits; the rates at most 1,000,000.
     *
     * Emits a {CityOverridePublished} event.
     */
    function publishCityOverride(uint32 city, CityOverride calldata override_) external;

    /// @dev Returns the taxes and fees of `facts` under the schedule in force on `facts.contractDay`.
    function quote(CaseFacts calldata facts) external view returns (FeeLines memory);

    /// @dev Returns the schedule in force on `day` with `city`'s overrides applied (`city` 0: none).
    function scheduleInForce(uint32 day, uint32 city) external view returns (Schedule memory);

    /// @dev Returns the whole calendar years a property acquired on `acquiredDay` is held on `day`.
    function heldYears(uint32 acquiredDay, uint32 day) external pure returns (uint256);

    /// @dev Returns the number of national schedules published.
    function scheduleCount() external view returns (uint256);

    /// @dev Returns the `i`-th national schedule, oldest first.
    function scheduleAt(uint256 i) external view returns (Schedule memory);

    /// @dev Returns the number of overrides published for `city`.
    function cityOverrideCount(uint32 city) external view returns (uint256);

    /// @dev Returns `city`'s `i`-th override, oldest first.
    function cityOverrideAt(uint32 city, uint256 i) external view returns (CityOverride memory);

    /// @dev Returns the department directory that grants the TAX role.
    function directory() external view returns (address);
}
