// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IDepartmentDirectory, ROLE_BANK} from "./IDepartmentDirectory.sol";

/**
 * @dev A deposit token standing in for the payment system: one unit is one fen (2 decimals).
 * Only accounts holding the BANK role in the directory mint (against deposits received)
 * and burn (their own balance, on withdrawal); everyone transfers as with any ERC-20.
 */
contract SettlementToken is ERC20 {
    /// @dev The caller is not an active department with the BANK role.
    error SettlementTokenNotBank(address account);

    IDepartmentDirectory private immutable _directory;

    constructor(IDepartmentDirectory directory_) ERC20("Settlement deposit (CNY fen)", "CNYD") {
        _directory = directory_;
    }

    modifier onlyBank() {
        if (!_directory.hasRole(msg.sender, ROLE_BANK)) revert SettlementTokenNotBank(msg.sender);
        _;
    }

    /// @dev Returns 2: balances are in fen.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @dev Returns the directory the BANK role is read from.
    function directory() external view returns (address) {
        return address(_directory);
    }

    /**
     * @dev Mints `amount` fen to `to` against a deposit the calling bank received.
     *
     * Requirements:
     *
     * - the caller must be an active department with the BANK role.
     * - `to` must not be the zero address.
     *
     * Emits a {Transfer} event from the zero address.
     */
    function mint(address to, uint256 amount) external onlyBank {
        _mint(to, amount);
    }

    /**
     * @dev Burns `amount` fen of the calling bank's own balance (a withdrawal paid out).
     *
     * Requirements:
     *
     * - the caller must be an active department with the BANK role holding at least `amount`.
     *
     * Emits a {Transfer} event to the zero address.
     */
    function burn(uint256 amount) external onlyBank {
        _burn(msg.sender, amount);
    }
}
