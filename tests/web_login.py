"""Log a test client in through the HTML login form (with its CSRF token)."""

from __future__ import annotations

import re
from typing import Any

from engine.services.setup import DEMO_PASSWORD


def csrf_of(html: str) -> str:
    """The CSRF token in a page's hidden input."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: Any, username: str) -> None:
    """Log in as a demo user through the HTML form."""
    token = csrf_of(client.get("/masuk").get_data(as_text=True))
    response = client.post("/masuk", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
