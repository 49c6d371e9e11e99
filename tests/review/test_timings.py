"""The reviewer's per-cell timings name cells as the sandbox numbers them (from 1)."""

from __future__ import annotations

import re

from flask import Flask

from tests.review.conftest import Seed, login


def test_cell_timings_show_the_sandbox_cell_numbers(app: Flask, seeded: Seed) -> None:
    client = app.test_client()
    login(client, seeded.reviewer)
    page = client.get(f"/review/s/{seeded.submission_id}").get_data(as_text=True)
    table = page.split('class="timings"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    assert cells == [("1", "0.01"), ("2", "1.50")]
