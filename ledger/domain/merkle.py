"""Merkle trees that OpenZeppelin's ``MerkleProof.verify`` accepts on chain.

Leaves are 32-byte values in the order given (for licences:
``keccak256(document_digest)``). An inner node is
``keccak256(min(a, b) ‖ max(a, b))`` (OpenZeppelin ``Hashes.commutativeKeccak256``),
and an odd node at the end of a level is carried up unchanged, so a proof is
simply the sibling hashes from leaf to root, with no position bits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.domain.canonical import keccak256
from ledger.domain.errors import EmptyMerkleTree, InvalidMerkleLeaf, MerkleIndexOutOfRange

__all__ = ["MerkleTree", "hash_pair", "process_proof", "proof_length", "verify"]


def hash_pair(a: bytes, b: bytes) -> bytes:
    """Return the commutative keccak256 of two nodes (smaller first)."""
    return keccak256(a + b) if a < b else keccak256(b + a)


def _next_level(level: list[bytes]) -> list[bytes]:
    """Hash adjacent pairs of ``level``; an odd last node moves up unchanged."""
    k = keccak256
    left = level[0::2]
    right = level[1::2]
    parents = [k(a + b) if a < b else k(b + a) for a, b in zip(left, right, strict=False)]
    if len(left) > len(right):
        parents.append(left[-1])
    return parents


class MerkleTree:
    """A complete Merkle tree over 32-byte leaves, keeping every level for proofs."""

    __slots__ = ("_levels",)

    def __init__(self, leaves: Iterable[bytes]) -> None:
        level = list(leaves)
        if not level:
            raise EmptyMerkleTree()
        for index, leaf in enumerate(level):
            if type(leaf) is not bytes or len(leaf) != 32:
                raise InvalidMerkleLeaf(index, len(leaf) if isinstance(leaf, bytes) else -1)
        levels = [level]
        while len(level) > 1:
            level = _next_level(level)
            levels.append(level)
        self._levels: tuple[list[bytes], ...] = tuple(levels)

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def root(self) -> bytes:
        """Return the 32-byte root (the only leaf for a one-leaf tree)."""
        return self._levels[-1][0]

    @property
    def leaves(self) -> Sequence[bytes]:
        """Return the leaves in the order given."""
        return tuple(self._levels[0])

    def proof(self, index: int) -> list[bytes]:
        """Return the sibling hashes from leaf ``index`` up to the root."""
        size = len(self._levels[0])
        if type(index) is not int or not 0 <= index < size:
            raise MerkleIndexOutOfRange(index, size)
        proof: list[bytes] = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index >>= 1
        return proof

    def proofs(self) -> list[list[bytes]]:
        """Return the proof of every leaf, in leaf order (much faster than many :meth:`proof`)."""
        # Walk down from the root: a node's proof is its sibling followed by its parent's proof,
        # so each level costs one pass and the copying happens in C tuple concatenation.
        suffixes: list[tuple[bytes, ...]] = [()]
        for level in reversed(self._levels[:-1]):
            count = len(level)
            parent = suffixes
            suffixes = [(level[j ^ 1], *parent[j >> 1]) if j ^ 1 < count else parent[j >> 1] for j in range(count)]
        return list(map(list, suffixes))

    def index_of(self, leaf: bytes) -> int:
        """Return the position of ``leaf`` (the first one when repeated)."""
        try:
            return self._levels[0].index(leaf)
        except ValueError:
            raise MerkleIndexOutOfRange(-1, len(self._levels[0])) from None


def proof_length(index: int, count: int) -> int:
    """Return how many siblings the proof of leaf ``index`` in a tree of ``count`` leaves has.

    The shape is fixed by the two numbers (an odd last node is carried up with no
    sibling), so a proof of any other length cannot come from that batch; a
    one-leaf batch has an empty proof because its leaf is its root.
    """
    if type(index) is not int or type(count) is not int or not 0 <= index < count:
        raise MerkleIndexOutOfRange(index, count)
    length = 0
    while count > 1:
        if index ^ 1 < count:
            length += 1
        index >>= 1
        count = (count + 1) // 2
    return length


def process_proof(proof: Sequence[bytes], leaf: bytes) -> bytes:
    """Fold ``proof`` into ``leaf`` exactly like ``MerkleProof.processProof``."""
    computed = leaf
    k = keccak256
    for index, node in enumerate(proof):
        if type(node) is not bytes or len(node) != 32:
            raise InvalidMerkleLeaf(index, len(node) if isinstance(node, bytes) else -1)
        computed = k(computed + node) if computed < node else k(node + computed)
    return computed


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """Tell whether ``proof`` links ``leaf`` to ``root`` (``MerkleProof.verify``)."""
    if len(leaf) != 32 or len(root) != 32:
        return False
    try:
        return process_proof(proof, leaf) == root
    except InvalidMerkleLeaf:
        return False
