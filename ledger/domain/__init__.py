"""Pure domain rules of regnode: identifiers, canonical hashing, e-licences, Merkle trees, status, fees.

Nothing here performs I/O or imports web3, HTTP or SQL libraries (see ``tests/test_layers.py``).
"""
