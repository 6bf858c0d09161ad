"""Fixtures of the client's unit tests, around the one fake broker (tests/unit/client_fake.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.client_fake import CLIENT_ENV, FakeServer, running_fake


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A FakeBroker served on 127.0.0.1:0 for the test."""
    with running_fake() as running:
        yield running


@pytest.fixture
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No IBKR_BROKER_* variable of the machine reaches the client under test."""
    for variable in CLIENT_ENV:
        monkeypatch.delenv(variable, raising=False)
