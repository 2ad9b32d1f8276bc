"""Pure domain rules of regnode: identifiers, canonical hashing, e-licences, Merkle trees, status, fees.

Nothing here imports web3, HTTP or SQL libraries (see ``tests/test_layers.py``) or performs
I/O beyond reading its own packaged data tables (``ledger/domain/data``).
"""
