"""The ``harness`` fixture: every contract test runs once per registered connector."""

from __future__ import annotations

from importlib import import_module

import pytest

from tests.contract.harness import Harness
from tests.contract.harnesses import HARNESSES


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> Harness:
    module_name, _, factory = HARNESSES[request.param].partition(":")
    made: Harness = getattr(import_module(module_name), factory)(request)
    return made
