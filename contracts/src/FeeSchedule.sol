// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IDepartmentDirectory, ROLE_TAX} from "./IDepartmentDirectory.sol";
import {
    IFeeSchedule,
    PROPERTY_RESIDENTIAL,
    PROPERTY_PARKING,
    PROPERTY_NON_RESIDENTIAL,
    OVERRIDE_DEED_LOCAL,
    OVERRIDE_INCOME_DEEMED,
    OVERRIDE_SURCHARGE
} from "./IFeeSchedule.sol";

/**
 * @dev Implementation of {IFeeSchedule}: a separate contract that reads the TAX role from
 * a {IDepartmentDirectory}, so the property and transfer contracts can call {quote}.
 *
 * Every line is one integer product divided with half-up rounding, `(2n + d) / 2d`, the
 * same arithmetic as the Python fee engine. Held years count calendar anniversaries: the
 * `n`-th anniversary of 29 February falls on 28 February in common years.
 */
contract FeeSchedule is IFeeSchedule {
    uint256 private constant RATE_SCALE = 1_000_000;
    uint8 private constant KNOWN_TYPES = 7; // bits of the three PROPERTY_* codes
    uint8 private constant KNOWN_FIELDS = OVERRIDE_DEED_LOCAL | OVERRIDE_INCOME_DEEMED | OVERRIDE_SURCHARGE;

    IDepartmentDirectory private immutable _directory;
    Schedule[] private _schedules;
    mapping(uint32 city => CityOverride[]) private _overrides;

    modifier onlyTax() {
        if (!_directory.hasRole(msg.sender, ROLE_TAX)) revert FeeScheduleNotTax(msg.sender);
        _;
    }

    constructor(IDepartmentDirectory directory_) {
        _directory = directory_;
    }

    /// @inheritdoc IFeeSchedule
    function publishSchedule(Schedule calldata schedule) external onlyTax {
        uint256 count = _schedules.length;
        if (count != 0 && schedule.effectiveFrom <= _schedules[count - 1].effectiveFrom) {
            revert FeeScheduleNotAfterLatest(schedule.effectiveFrom, _schedules[count - 1].effectiveFrom);
        }
        if (!_validSchedule(schedule)) revert FeeScheduleInvalidSchedule(schedule.effectiveFrom);
        _schedules.push(schedule);
        emit SchedulePublished(schedule.effectiveFrom, msg.sender, count);
    }

    /// @inheritdoc IFeeSchedule
    function publishCityOverride(uint32 city, CityOverride calldata override_) external onlyTax {
        if (
            city < 100_000 || city > 999_999 || override_.fields == 0 || override_.fields & ~KNOWN_FIELDS != 0
                || override_.deedLocal > RATE_SCALE || override_.incomeDeemedRate > RATE_SCALE
                || override_.surchargeRate > RATE_SCALE
        ) revert FeeScheduleInvalidOverride(city, override_.effectiveFrom);
        CityOverride[] storage list = _overrides[city];
        uint256 count = list.length;
        if (count != 0 && override_.effectiveFrom <= list[count - 1].effectiveFrom) {
            revert FeeScheduleNotAfterLatest(override_.effectiveFrom, list[count - 1].effectiveFrom);
        }
        list.push(override_);
        emit CityOverridePublished(city, override_.effectiveFrom, msg.sender);
    }

    /// @inheritdoc IFeeSchedule
    function quote(CaseFacts calldata facts) external view returns (FeeLines memory lines) {
        CaseFacts memory f = facts;
        _checkFacts(f);
        Schedule memory s = _inForce(f.contractDay, f.city);
        bool housing = (s.housingReliefTypes >> f.propertyType) & 1 == 1;
        uint256 held = _heldYears(f.acquiredDay, f.contractDay);
        // No overflow: price < 2⁶⁴ and every rate ≤ 10⁶, so every product stays below 2¹⁶⁰.
        unchecked {
            uint256 price = f.priceFen;
            if (!housing || held < s.vatExemptYears) {
                // P × r ÷ (1 + r) with r = vatRate / 10⁶.
                lines.vat = _halfUp(price * s.vatRate, RATE_SCALE + s.vatRate);
            }
            lines.vatSurcharges =
                _halfUp(lines.vat * s.surchargeRate * s.surchargeLeviedShare, RATE_SCALE * RATE_SCALE);
            uint256 base = price - lines.vat;
            lines.deedTax = _halfUp(base * _deedRate(s, f, housing), RATE_SCALE);
            if (!(housing && f.sellerOnlyHome && held >= s.incomeExemptYears)) {
                lines.incomeTax = _incomeTax(s, f, base, lines.vatSurcharges);
            }
            uint256 fee = f.propertyType == PROPERTY_RESIDENTIAL
                ? s.feeResidential
                : f.propertyType == PROPERTY_PARKING ? s.feeParking : s.feeNonResidential;
            lines.registrationFee = fee + uint256(s.feeExtraCertificate) * (f.certificates - 1);
            lines.total = lines.vat + lines.vatSurcharges + lines.deedTax + lines.incomeTax + lines.registrationFee;
        }
    }

    /// @inheritdoc IFeeSchedule
    function scheduleInForce(uint32 day, uint32 city) external view returns (Schedule memory) {
        return _inForce(day, city);
    }

    /// @inheritdoc IFeeSchedule
    function heldYears(uint32 acquiredDay, uint32 day) external pure returns (uint256) {
        return _heldYears(acquiredDay, day);
    }

    /// @inheritdoc IFeeSchedule
    function scheduleCount() external view returns (uint256) {
        return _schedules.length;
    }

    /// @inheritdoc IFeeSchedule
    function scheduleAt(uint256 i) external view returns (Schedule memory) {
        return _schedules[i];
    }

    /// @inheritdoc IFeeSchedule
    function cityOverrideCount(uint32 city) external view returns (uint256) {
        return _overrides[city].length;
    }

    /// @inheritdoc IFeeSchedule
    function cityOverrideAt(uint32 city, uint256 i) external view returns (CityOverride memory) {
        return _overrides[city][i];
    }

    /// @inheritdoc IFeeSchedule
    function directory() external view returns (address) {
        return address(_directory);
    }

    function _checkFacts(CaseFacts memory f) private pure {
        if (f.priceFen == 0) revert FeeScheduleInvalidPrice(f.priceFen);
        if (f.areaCentiM2 == 0) revert FeeScheduleInvalidArea(f.areaCentiM2);
        if (f.contractDay < f.acquiredDay) revert FeeScheduleContractBeforeAcquisition(f.acquiredDay, f.contractDay);
        if (f.buyerHomeNumber == 0) revert FeeScheduleInvalidHomeNumber(f.buyerHomeNumber);
        if (f.certificates == 0) revert FeeScheduleInvalidCertificates(f.certificates);
        if (f.propertyType > PROPERTY_NON_RESIDENTIAL) revert FeeScheduleInvalidPropertyType(f.propertyType);
    }

    function _validSchedule(Schedule calldata s) private pure returns (bool) {
        return s.vatRate <= RATE_SCALE && s.surchargeRate <= RATE_SCALE && s.surchargeLeviedShare <= RATE_SCALE
            && s.deedFirstSmall <= RATE_SCALE && s.deedFirstLarge <= RATE_SCALE && s.deedSecondSmall <= RATE_SCALE
            && s.deedSecondLarge <= RATE_SCALE && s.deedLocal <= RATE_SCALE && s.incomeGainRate <= RATE_SCALE
            && s.incomeDeemedRate <= RATE_SCALE && s.deedAreaThreshold != 0 && s.housingReliefTypes & ~KNOWN_TYPES == 0;
    }

    /// @dev Returns the schedule in force on `day` with `city`'s override (if any is in force) applied.
    function _inForce(uint32 day, uint32 city) private view returns (Schedule memory s) {
        uint256 count = _schedules.length;
        if (count == 0) revert FeeScheduleNoScheduleInForce(day);
        // The last schedule starting on or before `day`; most quotes are for the latest one,
        // so the first schedule is read only when the latest one starts later.
        uint256 lo = count - 1;
        if (_schedules[lo].effectiveFrom > day) {
            if (_schedules[0].effectiveFrom > day) revert FeeScheduleNoScheduleInForce(day);
            // Binary search: `lo` always qualifies, `hi` never does.
            uint256 hi = lo;
            lo = 0;
            while (hi - lo > 1) {
                uint256 mid = (lo + hi) / 2;
                if (_schedules[mid].effectiveFrom <= day) lo = mid;
                else hi = mid;
            }
        }
        s = _schedules[lo];
        if (city == 0) return s;
        CityOverride[] storage list = _overrides[city];
        uint256 n = list.length;
        if (n == 0) revert FeeScheduleUnknownCity(city);
        while (n > 0 && list[n - 1].effectiveFrom > day) --n;
        if (n == 0) return s;
        CityOverride memory o = list[n - 1];
        if (o.fields & OVERRIDE_DEED_LOCAL != 0) s.deedLocal = o.deedLocal;
        if (o.fields & OVERRIDE_INCOME_DEEMED != 0) s.incomeDeemedRate = o.incomeDeemedRate;
        if (o.fields & OVERRIDE_SURCHARGE != 0) s.surchargeRate = o.surchargeRate;
    }

    function _deedRate(Schedule memory s, CaseFacts memory f, bool housing) private pure returns (uint256) {
        if (!housing || f.buyerHomeNumber > 2) return s.deedLocal;
        bool small = f.areaCentiM2 <= s.deedAreaThreshold;
        if (f.buyerHomeNumber == 1) return small ? s.deedFirstSmall : s.deedFirstLarge;
        return small ? s.deedSecondSmall : s.deedSecondLarge;
    }

    function _incomeTax(Schedule memory s, CaseFacts memory f, uint256 base, uint256 surcharges)
        private
        pure
        returns (uint256)
    {
        if (!f.costKnown) return _halfUp(base * s.incomeDeemedRate, RATE_SCALE);
        uint256 deductible = uint256(f.costFen) + surcharges;
        return base > deductible ? _halfUp((base - deductible) * s.incomeGainRate, RATE_SCALE) : 0;
    }

    /// @dev Returns n ÷ d rounded half up (n ≥ 0, d > 0).
    function _halfUp(uint256 n, uint256 d) private pure returns (uint256) {
        unchecked {
            return (2 * n + d) / (2 * d);
        }
    }

    /// @dev Returns the whole years from `acquiredDay` to `day` (0 when `day` is earlier): one more on
    /// each anniversary, the anniversary of 29 February being 28 February in common years.
    function _heldYears(uint32 acquiredDay, uint32 day) private pure returns (uint256 held) {
        if (day < acquiredDay) return 0;
        (uint256 ay, uint256 am, uint256 ad) = _civil(acquiredDay);
        (uint256 y, uint256 m, uint256 d) = _civil(day);
        if (am == 2 && ad == 29 && !_leap(y)) ad = 28;
        unchecked {
            held = y - ay; // y ≥ ay since day ≥ acquiredDay
            if (held > 0 && m * 100 + d < am * 100 + ad) --held;
        }
    }

    function _leap(uint256 y) private pure returns (bool) {
        return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    }

    /// @dev Returns the proleptic Gregorian (year, month, day) of unix day `day` (H. Hinnant's algorithm).
    function _civil(uint32 day) private pure returns (uint256 y, uint256 m, uint256 d) {
        // No overflow or underflow: every intermediate is below 2⁴⁰ and the subtractions are the algorithm's own.
        unchecked {
            uint256 z = uint256(day) + 719_468;
            uint256 era = z / 146_097;
            uint256 doe = z - era * 146_097;
            uint256 yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            uint256 mp = (5 * doy + 2) / 153;
            d = doy - (153 * mp + 2) / 5 + 1;
            m = mp < 10 ? mp + 3 : mp - 9;
            y = yoe + era * 400 + (m <= 2 ? 1 : 0);
        }
    }
}
