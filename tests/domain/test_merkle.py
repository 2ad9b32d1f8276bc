"""Tests for the OpenZeppelin-compatible Merkle tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.canonical import keccak256
from ledger.domain.errors import EmptyMerkleTree, InvalidMerkleLeaf, MerkleIndexOutOfRange
from ledger.domain.merkle import MerkleTree, hash_pair, process_proof, proof_length, verify


def leaf(n: int) -> bytes:
    """Return a deterministic 32-byte leaf."""
    return keccak256(n.to_bytes(8, "big"))


def reference_root(nodes: list[bytes]) -> bytes:
    """Compute the root level by level, written independently of the module."""
    while len(nodes) > 1:
        nxt = []
        for i in range(0, len(nodes) - 1, 2):
            a, b = sorted((nodes[i], nodes[i + 1]))
            nxt.append(keccak256(a + b))
        if len(nodes) % 2:
            nxt.append(nodes[-1])
        nodes = nxt
    return nodes[0]


def test_hash_pair_is_commutative_and_sorted() -> None:
    a, b = leaf(1), leaf(2)
    low, high = sorted((a, b))
    assert hash_pair(a, b) == hash_pair(b, a) == keccak256(low + high)


def test_three_leaves_carry_the_odd_one_up() -> None:
    a, b, c = leaf(1), leaf(2), leaf(3)
    tree = MerkleTree([a, b, c])
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(0) == [b, c]
    assert tree.proof(2) == [hash_pair(a, b)]


def test_single_leaf_is_its_own_root() -> None:
    tree = MerkleTree([leaf(7)])
    assert tree.root == leaf(7)
    assert tree.proof(0) == []
    assert verify([], tree.root, leaf(7))
    assert len(tree) == 1


@pytest.mark.parametrize("size", [2, 3, 5, 7, 9, 17, 33, 100, 129])
def test_odd_and_even_sizes(size: int) -> None:
    leaves = [leaf(i) for i in range(size)]
    tree = MerkleTree(leaves)
    assert tree.root == reference_root(leaves)
    assert tree.proofs() == [tree.proof(i) for i in range(size)]
    for i in range(size):
        assert verify(tree.proof(i), tree.root, leaves[i])
    # Leaves carried up unpaired have short proofs: the last of 2^k + 1 leaves needs one sibling.
    if size in (3, 5, 9, 17, 33, 129):
        assert len(tree.proof(size - 1)) == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.data())
def test_every_proof_round_trips(size: int, data: st.DataObject) -> None:
    leaves = data.draw(st.lists(st.binary(min_size=32, max_size=32), min_size=size, max_size=size))
    tree = MerkleTree(leaves)
    assert tree.root == reference_root(leaves)
    proofs = tree.proofs()
    for index, value in enumerate(leaves):
        assert proofs[index] == tree.proof(index)
        assert process_proof(proofs[index], value) == tree.root
        assert verify(proofs[index], tree.root, value)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 300), st.data())
def test_tampered_proofs_fail(size: int, data: st.DataObject) -> None:
    leaves = [leaf(i) for i in range(size)]
    tree = MerkleTree(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = tree.proof(index)
    assert proof, "every leaf of a tree of two or more has a sibling somewhere"
    position = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    flipped = bytearray(proof[position])
    flipped[bit // 8] ^= 1 << (bit % 8)
    tampered = [*proof[:position], bytes(flipped), *proof[position + 1 :]]
    assert not verify(tampered, tree.root, leaves[index])
    assert not verify(proof[:-1], tree.root, leaves[index])
    assert not verify(proof, tree.root, leaf(size + 1))
    assert not verify(proof, leaf(size + 2), leaves[index])


def test_an_inner_node_is_not_a_leaf_of_the_right_length() -> None:
    leaves = [leaf(i) for i in range(4)]
    tree = MerkleTree(leaves)
    inner = hash_pair(leaves[0], leaves[1])
    # The inner node does verify with the upper proof: this is why licence leaves are
    # keccak256(document_digest) of a 32-byte preimage, never a 64-byte one.
    assert verify([hash_pair(leaves[2], leaves[3])], tree.root, inner)
    assert inner not in tree.leaves


def test_errors() -> None:
    with pytest.raises(EmptyMerkleTree) as empty:
        MerkleTree([])
    assert empty.value.code == "empty_merkle_tree"
    with pytest.raises(InvalidMerkleLeaf) as bad:
        MerkleTree([leaf(1), b"short"])
    assert (bad.value.index, bad.value.length) == (1, 5)
    tree = MerkleTree([leaf(1), leaf(2)])
    for index in (-1, 2):
        with pytest.raises(MerkleIndexOutOfRange) as out:
            tree.proof(index)
        assert out.value.size == 2
    assert not verify([b"\x00" * 31], tree.root, leaf(1))
    assert not verify([], tree.root, b"short")
    with pytest.raises(InvalidMerkleLeaf):
        process_proof([b"x"], leaf(1))


def test_index_of_and_duplicates() -> None:
    leaves = [leaf(1), leaf(2), leaf(1)]
    tree = MerkleTree(leaves)
    assert tree.index_of(leaf(2)) == 1
    assert tree.index_of(leaf(1)) == 0
    assert verify(tree.proof(2), tree.root, leaf(1))
    with pytest.raises(MerkleIndexOutOfRange):
        tree.index_of(leaf(3))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 17, 100, 1024, 1025])
def test_proof_length_follows_the_tree_shape(size: int) -> None:
    tree = MerkleTree([leaf(i) for i in range(size)])
    assert [proof_length(i, size) for i in range(size)] == [len(p) for p in tree.proofs()]


@pytest.mark.parametrize(("index", "count"), [(-1, 3), (3, 3), (0, 0), (True, 2)])
def test_proof_length_refuses_positions_outside_the_tree(index: int, count: int) -> None:
    with pytest.raises(MerkleIndexOutOfRange):
        proof_length(index, count)
