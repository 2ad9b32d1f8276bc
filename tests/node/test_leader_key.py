"""The leader's advisory-lock key names the node's schema, since advisory locks span a database."""

from __future__ import annotations

from node.runtime import leader_lock_key

REGISTRY = "0x" + "ab" * 20


def test_nodes_in_other_schemas_of_one_database_lock_different_keys() -> None:
    assert leader_lock_key("t_a", REGISTRY) != leader_lock_key("t_b", REGISTRY)
    assert leader_lock_key("public", REGISTRY) != leader_lock_key("public", "0x" + "cd" * 20)


def test_workers_of_one_node_compete_for_the_same_key() -> None:
    assert leader_lock_key("t_a", REGISTRY) == leader_lock_key("t_a", REGISTRY.upper().replace("0X", "0x"))
    key = leader_lock_key("public", REGISTRY)
    assert -(2**63) <= key < 2**63  # a PostgreSQL bigint
