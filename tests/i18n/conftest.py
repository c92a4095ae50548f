"""Fixtures of the translation tests: the page tests' fake apps and connection
(tests/web/conftest.py), and English again after each test, because a request leaves
the language it chose active in the thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation

from tests.web.conftest import auth_a, auth_b, connection, draft, web_apps

__all__ = ["auth_a", "auth_b", "connection", "draft", "web_apps"]


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    translation.activate("en")
