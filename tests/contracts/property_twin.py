"""A unit driven on the contract and in the Python model side by side, compared after every step."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from ledger.domain.errors import PropertyError
from ledger.domain.property import (
    SHARE_WHOLE,
    Cancel,
    Change,
    ClearContract,
    ClearObjection,
    ClearPreNotice,
    ConsentMortgage,
    ConsentPreNotice,
    FileContract,
    FileObjectionSuit,
    RecordMortgage,
    RecordObjection,
    RecordOwnerConsent,
    RecordPreNotice,
    Register,
    ReleaseMortgage,
    ReleaseSeizure,
    Seize,
    UnitState,
    UpdateCertificate,
    apply,
    check_transferable,
    guards,
)
from ledger.domain.property_mirror import TitleEvent, replay
from node.chain.abi import DecodedEvent

from .property_helpers import PropertySetup, recompute_head, state_matches


@dataclass
class Twin:
    """One unit on chain and in :mod:`ledger.domain.property`."""

    setup: PropertySetup
    state: UnitState | None = None
    applied: list[str] = field(default_factory=list)
    # Sent with a fixed gas limit, the chain skips estimating it (a state machine sends many).
    gas: int | None = None
    # False once a change was tried or time passed since the last check.
    fresh: bool = False
    events: list[DecodedEvent] = field(default_factory=list)
    scanned: int = -1

    def _call(self, change: Change) -> tuple[LocalAccount, str, tuple[object, ...]]:
        s = self.setup
        courts = {c: a for c, a in ((b"COURTA", s.court_a), (b"COURTB", s.court_b),
                                    (b"COURTC", s.court_c))}
        banks = {b"BANKA": s.bank_a, b"BANKB": s.bank_b}
        unit = self.state.unit if self.state else b""
        match change:
            case Register(u, owners, leaf):
                return s.registrar, "registerTitle", (
                    u, [(o.commitment, o.share) for o in owners], leaf)
            case UpdateCertificate(leaf):
                return s.registrar, "updateCertificate", (unit, leaf)
            case FileContract(h):
                return s.housing, "fileContract", (unit, h)
            case ClearContract():
                return s.housing, "clearContract", (unit,)
            case RecordPreNotice(holder, expires):
                return s.registrar, "recordPreNotice", (unit, holder, expires)
            case ConsentPreNotice():
                return s.registrar, "consentPreNotice", (unit,)
            case ClearPreNotice():
                return s.registrar, "clearPreNotice", (unit,)
            case RecordMortgage(mortgagee, amount):
                return s.registrar, "recordMortgage", (unit, mortgagee, amount)
            case ConsentMortgage(bank, rank):
                return banks[bank.rstrip(b"\0")], "consentMortgageTransfer", (unit, rank)
            case ReleaseMortgage(bank, rank):
                return banks[bank.rstrip(b"\0")], "releaseMortgage", (unit, rank)
            case Seize(court, order, duration):
                return courts[court.rstrip(b"\0")], "seize", (unit, order, duration)
            case ReleaseSeizure(court, order):
                return courts[court.rstrip(b"\0")], "releaseSeizure", (unit, order)
            case RecordObjection(applicant):
                return s.registrar, "recordObjection", (unit, applicant)
            case FileObjectionSuit(h):
                return s.registrar, "fileObjectionSuit", (unit, h)
            case ClearObjection():
                return s.registrar, "clearObjection", (unit,)
            case RecordOwnerConsent(mask):
                return s.registrar, "recordOwnerConsent", (unit, mask)
            case Cancel(h):
                return s.registrar, "cancelTitle", (unit, h)
        raise TypeError(change)

    def predict(self, change: Change, at: int) -> tuple[UnitState | None, str]:
        """Return the model's state after ``change`` at ``at`` and 'ok', or None and the rule refusing it."""
        self.fresh = False
        try:
            return apply(self.state, change, at), "ok"
        except PropertyError as error:
            return None, error.rule

    def do(self, change: Change, advance: int = 1) -> str:
        """Apply ``change`` ``advance`` seconds after the head block on both; return the rule or 'ok'."""
        at = self.setup.now() + advance
        account, fn, args = self._call(change)
        expected, rule = self.predict(change, at)
        if expected is not None:
            self.setup.register.tx(account, fn, *args, at=at, gas=self.gas)
            self.state = expected
        else:
            with self.setup.register.reverts("PropertyRegistry" + rule):
                self.setup.register.tx(account, fn, *args, at=at, gas=self.gas)
        self.applied.append(f"{type(change).__name__}:{rule}")
        return rule

    def check_if_stale(self, transferees: tuple[bytes, ...]) -> None:
        """Run :meth:`check` unless nothing was tried on the unit and no time passed since the last."""
        if not self.fresh:
            self.check(transferees)
            self.fresh = True

    def wait(self, seconds: int) -> None:
        self.setup.chain.set_next_block_timestamp(self.setup.now() + seconds)
        self.setup.chain.mine()

    def check(self, transferees: tuple[bytes, ...]) -> None:
        """Assert state, hash chain, shares and guards agree between the model and the contract."""
        state = self.state
        assert state is not None
        assert sum(o.share for o in state.owners) == SHARE_WHOLE
        state_matches(self.setup, state)
        head = self.setup.chain.gateway.head().number
        self.events += self.setup.title_changes(state.unit, self.scanned + 1, head)
        self.scanned, events = head, self.events
        assert recompute_head(state.unit, events) == state.head
        # the unit mirrored from the contract's own events is the model's state
        mirrored = replay(state.unit, [TitleEvent(e.args["kind"], e.args["data"], e.args["at"],
                                                  e.args["head"]) for e in events])
        assert mirrored.problem is None and mirrored.chain_valid and mirrored.state == state
        now, reg = self.setup.now(), self.setup.register
        for who in transferees:
            assert reg.view("guardsFor", state.unit, who) == guards(state, who, now)
            try:
                check_transferable(state, who, now)
                rule = None
            except PropertyError as error:
                rule = error.rule
            if rule is None:
                reg.view("checkTransferable", state.unit, who)
            else:
                with reg.reverts("PropertyRegistry" + rule):
                    reg.view("checkTransferable", state.unit, who)

