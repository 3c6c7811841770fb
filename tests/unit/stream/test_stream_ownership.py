"""stream.rebalance.Ownership: which taken records a worker may still write after a revocation."""

from __future__ import annotations

import pytest

from stream.rebalance import Ownership


@pytest.mark.parametrize(("revocations", "generation", "held"), [
    pytest.param([], 1, True, id="no-rebalance-yet"),
    pytest.param([0], 1, True, id="first-join-revokes-nothing-delivered"),
    pytest.param([3], 3, False, id="revoked-generation-is-dropped"),
    pytest.param([3], 2, False, id="older-generation-is-dropped"),
    pytest.param([3], 4, True, id="next-assignment-is-held"),
    pytest.param([5, 3], 4, False, id="revocations-never-go-back"),
    pytest.param([3], None, True, id="no-generation-is-written-not-dropped"),
])
def test_records_are_held_until_their_generation_is_revoked(revocations, generation, held):
    ownership = Ownership()
    for revoked in revocations:
        ownership.revoke(revoked)
    assert ownership.holds(generation) is held
    assert ownership.revocations == len(revocations)
