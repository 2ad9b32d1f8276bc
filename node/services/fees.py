"""Fee quotes: which rule table a node quotes from (``fee_rules_file`` or the packaged one).

The demo's TAX publishes the same table on chain (``node.services.bootstrap``,
``node.chain.fee_schedule.publish_calls``), so the contract quotes what the node quotes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ledger.domain.fee_rules import FeeRules, default_fee_rules, load_fee_rules
from ledger.domain.fees import FeeFacts, FeeQuote, quote
from node.config import ConfigError, Settings

__all__ = ["node_rules", "quote_case", "rules_from_file"]


@cache
def rules_from_file(path: str) -> FeeRules:
    """Return the rule table in the JSON file ``path`` (read once per process)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read fee_rules_file {path}: {exc}") from None
    return load_fee_rules(text)


def node_rules(settings: Settings) -> FeeRules:
    """Return the rule table the node quotes from: ``fee_rules_file`` or the packaged one."""
    return rules_from_file(settings.fee_rules_file) if settings.fee_rules_file else default_fee_rules()


def quote_case(settings: Settings, facts: FeeFacts) -> FeeQuote:
    """Return the quote of ``facts`` under the node's rule table."""
    return quote(facts, node_rules(settings))
