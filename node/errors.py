"""Errors raised by the node's services; ``node/api/errors.py`` maps them to HTTP."""

from __future__ import annotations

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


class Conflict(NodeError):
    """Raised when the request contradicts the current state (e.g. revoking twice)."""

    code = "conflict"
    status = 409


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


class InvalidCaseId(BadRequest):
    """Raised when a case id is not 32 bytes in hex (64 characters)."""

    code = "invalid_case_id"


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
