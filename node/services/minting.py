"""Minting: turn planned licences into documents, digests, leaves and signed QR tokens.

This is the CPU-bound half of issuing (salted field hashes, RFC 8785 digest, COSE
signature, zlib, Base45: ~80 µs a licence, two thirds of it the ECDSA signature and
zlib). :func:`mint` does it in the calling process; :class:`MintingPool` spreads
large requests over worker processes, one per core, so a node issues on every core
while its main process validates requests, writes the database and answers. Workers
hold no database, chain or HTTP state: they get the department's signing key (PEM,
over the pool's pipe) and the planned licences, and return strings. The main process
decides serials, validity and disclosures before any work is sent, and writes every
row in one transaction after.

A worker that fails on an item returns the failure's position instead of raising
across the process boundary; the caller then mints that item itself, so the error
the API reports is the very exception the domain raised.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from ledger.domain.credential import commit_licence
from ledger.domain.disclosure import SALT_BYTES
from ledger.domain.errors import DomainError
from verifiers.cose import Signer
from verifiers.token import claims_payload, seal_tokens

__all__ = ["Issuer", "Minted", "MintingPool", "Planned", "mint"]

Fields = dict[str, str | int]


class Issuer(NamedTuple):
    """Who issues: department code, USCC and region (the same for a whole request)."""

    code: str
    uscc: str
    region: str


#: One licence as the main process settled it: ``(identifier, licence_type, type_name,
#: valid_from, valid_until, fields, disclosed, salts)``, where ``salts`` holds the salts the
#: caller fixed for some fields (field → base64url salt; the rest are drawn) or None.
#: Plain tuples, here and in `Minted`: they cross the process boundary, and pickling a
#: NamedTuple costs a Python ``__new__`` call per licence on each side.
Planned = tuple[str, str, str, int, int | None, Fields, Fields, dict[str, str] | None]

#: What minting returns for one licence, ready for its database row and the reply:
#: ``(identifier, leaf, document_digest, document, disclosures, token)``, leaf and digest in hex.
Minted = tuple[str, str, str, str, str, str]


def mint(signer: Signer, issuer: Issuer, issued_at: int, planned: Sequence[Planned]) -> list[Minted]:
    """Build, sign and encode ``planned`` licences; domain errors propagate.

    Identifiers are trusted to be :class:`~ledger.domain.identifiers.LicenceIdentifier`
    texts (the node builds them); everything else is checked as ``build_licence`` checks it.
    Each stage runs over all of ``planned`` before the next (commit, claims, then
    :func:`~verifiers.token.seal_tokens`' sign, deflate, Base45): the code and tables of
    one stage stay in cache, about a fifth less CPU than finishing licence by licence.
    """
    code, _, region = issuer
    salts = _SaltPool(sum(len(p[5]) for p in planned))
    committed = [
        commit_licence(identifier, issuer, licence_type, type_name, valid_from, valid_until, issued_at, fields,
                       salts, given)
        for identifier, licence_type, type_name, valid_from, valid_until, fields, _, given in planned
    ]
    payloads = [
        claims_payload(identifier, code, region, licence_type, type_name, issued_at, valid_from, valid_until,
                       c.document_digest, disclosed)
        for (identifier, licence_type, type_name, valid_from, valid_until, _, disclosed, _), c
        in zip(planned, committed, strict=True)
    ]
    tokens = seal_tokens(payloads, signer)
    return [
        (p[0], c.leaf.hex(), c.document_digest.hex(), c.canonical, c.disclosures_json, token)
        for p, c, token in zip(planned, committed, tokens, strict=True)
    ]


class _SaltPool:
    """A salt source handing out slices of one ``os.urandom`` draw for a whole chunk of licences.

    One system call instead of one per licence; every field still gets 16 fresh random
    bytes, and no byte is handed out twice (a request beyond the draw gets a short slice,
    which ``commit_licence`` refuses).
    """

    def __init__(self, fields: int) -> None:
        self._random = os.urandom(SALT_BYTES * fields)
        self._taken = 0

    def __call__(self, size: int) -> bytes:
        start = self._taken
        self._taken = start + size
        return self._random[start:self._taken]


def _in_order(signer: Signer, issuer: Issuer, issued_at: int, chunks: list[list[Planned]],
              results: Iterator[list[Minted] | int]) -> Iterator[list[Minted]]:
    for chunk, result in zip(chunks, results, strict=True):
        if isinstance(result, int):  # raise the worker's failure here, as the domain raised it
            mint(signer, issuer, issued_at, [chunk[result]])
            raise RuntimeError("a licence failed to mint in a worker but not in the node")
        yield result


# ---------------------------------------------------------------- worker processes
_WORKER_SIGNERS: dict[bytes, Signer] = {}


def _mint_in_worker(pem: bytes, issuer: Issuer, issued_at: int,
                    planned: list[Planned]) -> list[Minted] | int:
    """Worker entry: mint a chunk, or return the position of the first failing item."""
    signer = _WORKER_SIGNERS.get(pem)
    if signer is None:
        if len(_WORKER_SIGNERS) > 64:
            _WORKER_SIGNERS.clear()
        signer = _WORKER_SIGNERS[pem] = Signer.from_pem(pem)
    try:
        return mint(signer, issuer, issued_at, planned)
    except DomainError:
        for index, item in enumerate(planned):
            try:
                mint(signer, issuer, issued_at, [item])
            except DomainError:
                return index
        raise


def _warm(_: int) -> int:
    return os.getpid()


def _start_worker(parent: int, nice: int) -> None:
    """Worker initializer: lower the worker's CPU priority by ``nice``, then watch the parent.

    Minting is throughput work; the node's own process (requests, database, anchoring)
    is what every request waits on, so on a busy machine the workers give way to it.
    """
    if nice:
        os.nice(nice)
    _watch_parent(parent)


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit when the node that started us is gone (even by kill -9).

    The pool's pipes stay open in every worker, so a worker never sees end-of-file
    when its parent dies; without this it would wait forever as an orphan.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="regnode-parent-watch", daemon=True).start()


@dataclass
class MintingPool:
    """Mints large requests on ``workers`` processes; small ones in the caller.

    The processes start on first use (spawned, so they inherit no threads, open
    files or sockets) and live until :meth:`close`. ``workers=0`` mints everything
    in the calling process.
    """

    workers: int
    threshold: int = 256
    #: How much lower the workers' CPU priority is than the node's (``os.nice``; 0-19).
    nice: int = 0
    _executor: Executor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _pool(self) -> Executor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("spawn")
                executor = ProcessPoolExecutor(self.workers, mp_context=context,
                                               initializer=_start_worker, initargs=(os.getpid(), self.nice))
                list(executor.map(_warm, range(self.workers)))
                self._executor = executor
            return self._executor

    def mint(self, signer: Signer, issuer: Issuer, issued_at: int,
             planned: Sequence[Planned]) -> Iterator[list[Minted]]:
        """Start minting ``planned`` now; return its minted chunks in order (together they match it).

        Small requests are minted before this returns; large ones are handed to the workers
        at once and the iterator waits for each chunk, so the caller may let go of its locks
        while the workers sign.
        """
        if self.workers <= 0 or len(planned) < self.threshold:
            return iter([mint(signer, issuer, issued_at, planned)])
        size = max(64, min(512, -(-len(planned) // (4 * self.workers))))
        chunks = [list(planned[k:k + size]) for k in range(0, len(planned), size)]
        pem = signer.private_pem()
        results = self._pool().map(_mint_in_worker, [pem] * len(chunks), [issuer] * len(chunks),
                                   [issued_at] * len(chunks), chunks)
        return _in_order(signer, issuer, issued_at, chunks, results)

    def close(self) -> None:
        """Stop the worker processes (no-op when none were started)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
