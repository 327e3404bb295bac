"""The race tests at scale (make test-heavy): many more parallel claims and completions over real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask

from tests import race_harness as h

# Races per kind; override with SERTEL_HEAVY_RACES for a longer soak.
HEAVY_RACES = int(os.environ.get("SERTEL_HEAVY_RACES", "500"))


@pytest.fixture
def server(app: Flask) -> Iterator[tuple[Flask, str]]:
    """The app with the probe process and three officers, served on 127.0.0.1 with a free port."""
    with h.probe_registered():
        h.deploy_probe_and_officers(app)
        with h.live_server(app) as base:
            yield app, base


def database_of(app: Flask) -> str:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).split(":", 1)[0]


def test_heavy_parallel_claims_have_one_winner_each(server: tuple[Flask, str]) -> None:
    app, base = server
    task_ids = h.start_probes(app, HEAVY_RACES)
    tokens = h.api_tokens(base)

    tally = h.claim_races(base, tokens, task_ids)

    print(f"\nclaims on {database_of(app)}: {tally.summary()}")
    assert tally.server_errors == 0, tally.bodies_of_failures[:3]
    assert tally.statuses == {200: HEAVY_RACES, 409: HEAVY_RACES * (len(tokens) - 1)}, tally.summary()
    assert set(h.events_per_case(app, "task_claimed").values()) == {1}
    assert h.chain_problems(app) == []


def test_heavy_parallel_completions_have_one_winner_each(server: tuple[Flask, str]) -> None:
    app, base = server
    task_ids = h.start_probes(app, HEAVY_RACES)
    tokens = h.api_tokens(base)

    tally = h.completion_races(base, tokens, task_ids)

    print(f"\ncompletions on {database_of(app)}: {tally.summary()}")
    assert tally.server_errors == 0, tally.bodies_of_failures[:3]
    assert tally.statuses == {200: HEAVY_RACES, 409: HEAVY_RACES * (len(tokens) - 1)}, tally.summary()
    completed = h.events_per_case(app, "task_completed")
    assert len(completed) == HEAVY_RACES and set(completed.values()) == {1}
    assert h.chain_problems(app) == []
