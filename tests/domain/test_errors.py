"""Tests for the domain exception tree."""

from __future__ import annotations

import inspect

from ledger.domain import errors


def _error_classes() -> list[type[errors.DomainError]]:
    return [obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, errors.DomainError)]


def test_every_error_has_a_unique_code_and_is_documented() -> None:
    classes = _error_classes()
    codes = [cls.code for cls in classes]
    assert len(classes) >= 15
    assert len(codes) == len(set(codes))
    doc = errors.__doc__ or ""
    for cls in classes:
        assert cls.code.isidentifier() and cls.code == cls.code.lower()
        assert f"{cls.__name__} " in doc and cls.code in doc, cls.__name__
        assert cls.__doc__ and cls.__doc__.endswith(".") and "\n" not in cls.__doc__


def test_errors_carry_fields() -> None:
    error = errors.InvalidIdentifier("1.2.3", "too short")
    assert (error.value, error.reason, error.code) == ("1.2.3", "too short", "invalid_identifier")
    assert "too short" in str(error)
    transition = errors.InvalidStatusTransition("revoked", "active")
    assert (transition.current, transition.target) == ("revoked", "active")
    assert isinstance(errors.TamperedDocument("x"), errors.DocumentError)
