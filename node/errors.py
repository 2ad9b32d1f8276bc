"""Errors raised by the node's services; ``node/api/errors.py`` maps them to HTTP."""

from __future__ import annotations

import re
from typing import Any


class NodeError(Exception):
    """Root of the errors a node service raises on purpose."""

    code = "node_error"
    status = 400

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class BadRequest(NodeError):
    """Raised when a request is well-formed JSON but its content is unacceptable."""

    code = "bad_request"


class NotFound(NodeError):
    """Raised when the named licence, batch or department does not exist here."""

    code = "not_found"
    status = 404


class UnknownTitle(NotFound):
    """Raised when no title of the unit is in this node's index (the contract's ``unknown_title``)."""

    code = "unknown_title"


class TitleNotHeld(NotFound):
    """Raised when this registry node holds no certificate of a unit's current title."""

    code = "title_not_held"


class NotAnchored(NodeError):
    """Raised when a licence or batch exists here but its anchoring is not indexed yet."""

    code = "not_anchored"
    status = 404


class Unauthorized(NodeError):
    """Raised when a department endpoint is called without a valid token."""

    code = "unauthorized"
    status = 401


class Forbidden(NodeError):
    """Raised when the caller's department may not do what it asked."""

    code = "forbidden"
    status = 403


class MissingRole(Forbidden):
    """Raised when the caller's department lacks the on-chain role a node step requires."""

    code = "missing_role"


class Conflict(NodeError):
    """Raised when the request contradicts the current state (e.g. revoking twice)."""

    code = "conflict"
    status = 409


class WrongState(Conflict):
    """Raised when a case is not in the state a step needs (the node's own check, as the contract's)."""

    code = "wrong_state"


class InsufficientBalance(Conflict):
    """Raised when a department's settlement-token balance does not cover what it must pay."""

    code = "insufficient_balance"


class Unavailable(NodeError):
    """Raised when the chain or database cannot serve the request now; retry later."""

    code = "unavailable"
    status = 503


class ContractRefused(NodeError):
    """Raised when a contract reverts with a named guard (custom error)."""

    code = "contract_refused"
    status = 409

    def __init__(self, error_name: str, args: dict[str, Any] | None = None) -> None:
        super().__init__(f"the contract refused: {error_name}", guard=error_name,
                         args=args or {})
        self.error_name = error_name


# How a contract's custom errors become API codes: the contract's own name and these domain
# prefixes of inherited errors are stripped (the first that matches), the rest snake-cased.
# A contract that calls another (TransferCases → PropertyRegistry) passes the callee's error up,
# so every contract's prefix is stripped whichever contract was called.
ERROR_PREFIXES: tuple[str, ...] = ("DepartmentDirectory", "PropertyRegistry", "TransferCases",
                                   "LicenceRegistry", "FeeSchedule", "SettlementToken")
# The HTTP status of a stripped error name: the first pattern that matches the whole name
# wins; anything else is a refusal by the current state (409). "Not<party>" names the caller
# not being the party that may act (the mortgagee, the seizing court, the issuer …).
_PARTY = r"(\w*(Issuer|Mortgagee|Court|Bank|Tax|Housing|Registry|Owner|Member|Party|Seller|Buyer))"
REVERT_STATUS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"MissingRole|Only\w+|Not{_PARTY}"), 403),
    (re.compile(r"Unknown\w*"), 404),  # UnknownTitle, UnknownMortgage, UnknownSeizure
    (re.compile(r"Invalid\w*|ZeroValue|DigestMismatch"), 400),  # bad input the contract checks itself
)


def revert_code(contract: str, error_name: str) -> tuple[str, int]:
    """Return the API code and HTTP status of custom error ``error_name`` of ``contract``.

    ``PropertyRegistryUnitSeized`` → ``unit_seized`` (409), ``PropertyRegistryMissingRole``
    → ``missing_role`` (403), ``PropertyRegistryUnknownTitle`` → ``unknown_title`` (404),
    ``PropertyRegistryInvalidShares`` → ``invalid_shares`` (400). An empty name (a bare
    revert or a selector the ABI does not know) and ``Error(string)`` are ``reverted``,
    ``Panic(uint256)`` is ``panic``, both 409.
    """
    if not error_name or error_name == "Error":
        return "reverted", 409
    if error_name == "Panic":
        return "panic", 409
    bare = error_name
    for prefix in (contract, *ERROR_PREFIXES):
        if error_name.startswith(prefix) and len(error_name) > len(prefix):
            bare = error_name[len(prefix):]
            break
    code = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", bare).lower()
    for pattern, status in REVERT_STATUS:
        if pattern.fullmatch(bare):
            return code, status
    return code, 409


class ContractReverted(NodeError):
    """Raised when a contract refuses a department's call; ``code`` names its custom error.

    The body carries the contract, the full error name and its decoded arguments
    (bytes as hex), so a client can tell *which* seizure or mortgage stood in the way.
    """

    def __init__(self, contract: str, error_name: str, args: dict[str, Any] | None = None,
                 **fields: Any) -> None:
        code, status = revert_code(contract, error_name)
        shown = error_name or "revert"
        super().__init__(f"{contract} refused the call: {shown}", contract=contract,
                         error=error_name or None, args=jsonable(args or {}), **fields)
        self.code = code
        self.status = status
        self.error_name = error_name
        self.error_args = args or {}


def jsonable(value: Any) -> Any:
    """Return ``value`` with bytes as hex text (in nested dicts and lists too), ready for JSON."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class InvalidCaseId(BadRequest):
    """Raised when a case id is not 32 bytes in hex (64 characters)."""

    code = "invalid_case_id"


class BuyerDisclosureMissing(BadRequest):
    """Raised when a buyer of a case presents no disclosure of their owner commitment at settlement."""

    code = "buyer_disclosure_missing"


class BuyerDisclosureUnexpected(BadRequest):
    """Raised when a disclosure presented at settlement names no buyer of the case, or one twice."""

    code = "buyer_disclosure_unexpected"


class BuyerDisclosureMismatch(BadRequest):
    """Raised when a buyer's disclosure does not hash to their commitment in the case's terms."""

    code = "buyer_disclosure_mismatch"


class DeedVoucherRequired(BadRequest):
    """Raised when settlement needs the deed-tax voucher's QR because this node does not hold TAX's batch."""

    code = "deed_voucher_required"


class DeedVoucherInvalid(Conflict):
    """Raised when the deed-tax voucher presented does not verify ``valid`` (the verdict says why)."""

    code = "deed_voucher_invalid"


class DeedVoucherNotForCase(BadRequest):
    """Raised when the voucher presented is not the deed-tax voucher in the case's assessed batch."""

    code = "deed_voucher_not_for_case"


class InvalidWebhookUrl(BadRequest):
    """Raised when a webhook URL is not an absolute http(s) URL the node can post to."""

    code = "invalid_webhook_url"


class WebhookHostNotAllowed(BadRequest):
    """Raised when a webhook URL names a host outside the node's ``webhook_hosts``."""

    code = "webhook_host_not_allowed"


class WebhookNotFound(NotFound):
    """Raised when the named webhook subscription does not exist for this subject and department."""

    code = "webhook_not_found"


class WebhookLimitReached(Conflict):
    """Raised when a department already has ``webhook_limit`` active subscriptions on a subject."""

    code = "webhook_limit_reached"


class InvalidLastEventId(BadRequest):
    """Raised when ``Last-Event-ID`` or ``after`` is not a non-negative event id."""

    code = "invalid_last_event_id"


class NotCouncilMember(Forbidden):
    """Raised when the calling department holds no council seat on this node."""

    code = "not_council_member"


class NotAdmitted(Conflict):
    """Raised when a joining department acts on chain before the council has added it."""

    code = "not_admitted"


class KeyAlreadyRegistered(Conflict):
    """Raised when a department that already signs with a registered key asks to register its first."""

    code = "key_already_registered"


class NoPendingKey(NotFound):
    """Raised when a department has no signing key waiting to be registered."""

    code = "no_pending_key"
