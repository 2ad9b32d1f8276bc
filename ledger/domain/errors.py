"""Exceptions raised by the pure domain layer.

Every exception derives from :class:`DomainError` and carries a stable,
machine-readable ``code`` class attribute that the HTTP layer maps to a 4xx
response (``node/api/errors.py``). Fields are kept as attributes so that callers
never have to parse messages::

    DomainError                         domain_error
    ├── InvalidIdentifier               invalid_identifier
    │   ├── InvalidUSCC                 invalid_uscc
    │   ├── InvalidUnitNumber           invalid_unit_number
    │   └── InvalidCode                 invalid_code
    ├── InvalidLicence                  invalid_licence
    ├── DocumentError                   document_error
    │   ├── MalformedDocument           malformed_document
    │   └── TamperedDocument            tampered_document
    ├── MerkleError                     merkle_error
    │   ├── EmptyMerkleTree             empty_merkle_tree
    │   ├── InvalidMerkleLeaf           invalid_merkle_leaf
    │   └── MerkleIndexOutOfRange       merkle_index_out_of_range
    ├── StatusError                     status_error
    │   ├── InvalidStatusTransition     invalid_status_transition
    │   ├── UnknownReasonCode           unknown_reason_code
    │   └── StatusHistoryOutOfOrder     status_history_out_of_order
    ├── PropertyError                   property_error
    │   └── TransferRefused             transfer_refused
    └── FeeError                        fee_error
        ├── InvalidFeeFacts             invalid_fee_facts
        │   └── ContractBeforeAcquisition contract_before_acquisition
        ├── UnknownCity                 unknown_city
        ├── NoFeeRuleInForce            no_fee_rule_in_force
        └── InvalidFeeRules             invalid_fee_rules
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base class of every error raised by ``ledger.domain``."""

    code: ClassVar[str] = "domain_error"


class InvalidIdentifier(DomainError):
    """Raised when an e-licence identifier (or another code) is malformed."""

    code: ClassVar[str] = "invalid_identifier"

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(f"{value!r}: {reason}")
        self.value = value
        self.reason = reason


class InvalidUSCC(InvalidIdentifier):
    """Raised when a unified social credit code fails GB 32100."""

    code: ClassVar[str] = "invalid_uscc"


class InvalidUnitNumber(InvalidIdentifier):
    """Raised when a 28-character property unit number is malformed."""

    code: ClassVar[str] = "invalid_unit_number"


class InvalidCode(InvalidIdentifier):
    """Raised when an ASCII code does not fit the on-chain ``bytes32`` form."""

    code: ClassVar[str] = "invalid_code"


class InvalidLicence(DomainError):
    """Raised when the inputs to build an e-licence are invalid."""

    code: ClassVar[str] = "invalid_licence"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DocumentError(DomainError):
    """Base class of errors about a presented e-licence document."""

    code: ClassVar[str] = "document_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedDocument(DocumentError):
    """Raised when a document or presentation does not have the agreed shape."""

    code: ClassVar[str] = "malformed_document"


class TamperedDocument(DocumentError):
    """Raised when a disclosure or digest does not match the committed document."""

    code: ClassVar[str] = "tampered_document"


class MerkleError(DomainError):
    """Base class of Merkle tree errors."""

    code: ClassVar[str] = "merkle_error"


class EmptyMerkleTree(MerkleError):
    """Raised when a Merkle tree is built from no leaves."""

    code: ClassVar[str] = "empty_merkle_tree"

    def __init__(self) -> None:
        super().__init__("a Merkle tree needs at least one leaf")


class InvalidMerkleLeaf(MerkleError):
    """Raised when a leaf or proof element is not exactly 32 bytes."""

    code: ClassVar[str] = "invalid_merkle_leaf"

    def __init__(self, index: int, length: int) -> None:
        super().__init__(f"element {index} is {length} bytes, expected 32")
        self.index = index
        self.length = length


class MerkleIndexOutOfRange(MerkleError):
    """Raised when a proof is asked for a leaf index outside the tree."""

    code: ClassVar[str] = "merkle_index_out_of_range"

    def __init__(self, index: int, size: int) -> None:
        super().__init__(f"leaf index {index} outside a tree of {size} leaves")
        self.index = index
        self.size = size


class StatusError(DomainError):
    """Base class of licence status errors."""

    code: ClassVar[str] = "status_error"


class InvalidStatusTransition(StatusError):
    """Raised when a status change is not allowed from the current status."""

    code: ClassVar[str] = "invalid_status_transition"

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


class UnknownReasonCode(StatusError):
    """Raised when a reason code is not in the table or not allowed for the change."""

    code: ClassVar[str] = "unknown_reason_code"

    def __init__(self, reason: int, target: str) -> None:
        super().__init__(f"reason code {reason} is not allowed for {target}")
        self.reason = reason
        self.target = target


class StatusHistoryOutOfOrder(StatusError):
    """Raised when a status entry is older than the last entry of the history."""

    code: ClassVar[str] = "status_history_out_of_order"

    def __init__(self, previous_at: int, at: int) -> None:
        super().__init__(f"entry at {at} precedes the last entry at {previous_at}")
        self.previous_at = previous_at
        self.at = at


class PropertyError(DomainError):
    """Raised when a change of a property title breaks a register rule."""

    code: ClassVar[str] = "property_error"

    def __init__(self, unit: bytes, rule: str, **fields: object) -> None:
        super().__init__(f"unit 0x{unit.hex()}: {rule} {fields or ''}".rstrip())
        self.unit = unit
        #: The contract's custom error name without the ``PropertyRegistry`` prefix.
        self.rule = rule
        self.fields = fields


class TransferRefused(PropertyError):
    """Raised when a guard refuses the transfer of a property title."""

    code: ClassVar[str] = "transfer_refused"
class FeeError(DomainError):
    """Base class of fee and tax quote errors."""

    code: ClassVar[str] = "fee_error"


class InvalidFeeFacts(FeeError):
    """Raised when the facts of a case cannot be quoted (a price that is not positive, say)."""

    code: ClassVar[str] = "invalid_fee_facts"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ContractBeforeAcquisition(InvalidFeeFacts):
    """Raised when the sale contract is dated before the seller acquired the property."""

    code: ClassVar[str] = "contract_before_acquisition"

    def __init__(self, acquired: str, contract_date: str) -> None:
        super().__init__("contract_date", f"{contract_date} is before the acquisition on {acquired}")
        self.acquired = acquired
        self.contract_date = contract_date


class UnknownCity(FeeError):
    """Raised when a quote names a city the rule tables do not know."""

    code: ClassVar[str] = "unknown_city"

    def __init__(self, city: str) -> None:
        super().__init__(f"no fee rules for city {city!r}")
        self.city = city


class NoFeeRuleInForce(FeeError):
    """Raised when no fee schedule is in force on the contract date."""

    code: ClassVar[str] = "no_fee_rule_in_force"

    def __init__(self, contract_date: str, earliest: str) -> None:
        super().__init__(f"no fee schedule in force on {contract_date} (the earliest starts {earliest})")
        self.contract_date = contract_date
        self.earliest = earliest


class InvalidFeeRules(FeeError):
    """Raised when a fee rule table is malformed or outside what the contract accepts."""

    code: ClassVar[str] = "invalid_fee_rules"

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
