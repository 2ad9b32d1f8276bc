"""Rule tables the domain ships as data (``fee_rules.json``); departments may replace them."""
