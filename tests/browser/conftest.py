"""Fixtures of the browser tests; each test module starts its own Home Assistant
(`home_assistant`, a module fixture from tests/browser/harness.py) with the alert sources it
needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def loopback_sockets(socket_enabled: None) -> None:
    """The Home Assistant test plugin blocks sockets in every test's set-up, after the
    enable_socket mark is applied: SMTP and the REST API need them."""


@pytest.fixture
def page(home_assistant: Any) -> Iterator[Any]:
    """A browser page logged in as the onboarded user, through the real login form.

    Per test, not per module: Playwright's sync API marks its own event loop as running while
    it is open, and the Home Assistant test plugin's per-test clean-up runs an event loop; so
    Playwright is stopped before each test ends (costs a browser start and a login per test).
    """
    from tests.browser.harness import logged_in_page

    with logged_in_page(home_assistant) as page:
        yield page
