"""The embedded chain backend: py-evm in process, persisted in the node's data folder."""

from node.chain.embedded.chain import DEFAULT_CHAIN_ID, EmbeddedChain, EmbeddedSnapshot

__all__ = ["DEFAULT_CHAIN_ID", "EmbeddedChain", "EmbeddedSnapshot"]
