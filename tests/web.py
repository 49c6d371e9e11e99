"""Reading Flask test responses."""

from __future__ import annotations

from typing import Any

from werkzeug.test import TestResponse


def body(response: TestResponse) -> Any:
    """The response's JSON body; fails the test, showing the response, when it has none."""
    data = response.get_json(silent=True)
    assert data is not None, f"{response.status}: no JSON body: {response.get_data(as_text=True)!r}"
    return data
