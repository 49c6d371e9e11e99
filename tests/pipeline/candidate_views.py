"""Everything one candidate can fetch: the JSON API and the portal with every link it offers."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

# Attributes whose value a browser (or portal.js) fetches from a candidate's pages. Form
# actions are left out: the portal's forms post, and a crawl must not submit anything.
LINK = re.compile(r'(?:href|src|data-poll-url|data-poll-status)="([^"]+)"')
MAX_PAGES = 300


@dataclass
class View:
    url: str
    status: int
    text: str


@dataclass
class CandidateViews:
    """Crawls a candidate's views with their invitation token (API) and session (portal)."""

    base: str
    token: str
    views: list[View] = field(default_factory=list)

    def collect(self, submission_ids: Iterable[int]) -> list[View]:
        api = {"Authorization": f"Bearer {self.token}"}
        for path in ("/api/v1/challenge", "/api/v1/challenge/bundle", "/api/v1/submissions"):
            self._get(requests.get(f"{self.base}{path}", headers=api, timeout=30))
        ids = list(submission_ids)
        for sid in ids:
            url = f"{self.base}/api/v1/submissions/{sid}"
            self._get(requests.get(url, headers=api, timeout=30))
        portal = requests.Session()
        opened = portal.get(f"{self.base}/i/{self.token}", timeout=30)  # follows to /challenge
        assert opened.status_code == 200, (opened.status_code, opened.url)
        self._get(opened)
        seeds = ["/challenge", "/submissions", "/submissions.json", "/explanation"]
        for sid in ids:
            seeds += [
                f"/submissions/{sid}",
                f"/submissions/{sid}.json",
                f"/submissions/{sid}/notebook",
                f"/submissions/{sid}/executed.ipynb",
            ]
        self._crawl(portal, [f"{self.base}{s}" for s in seeds])
        return self.views

    def _crawl(self, portal: requests.Session, seeds: list[str]) -> None:
        todo = list(seeds)
        seen = {v.url for v in self.views}
        while todo and len(seen) < MAX_PAGES:
            url = todo.pop(0)
            if url in seen:
                continue
            seen.add(url)
            view = self._get(portal.get(url, timeout=30, allow_redirects=True))
            for link in LINK.findall(view.text):
                target = urljoin(url, html.unescape(link)).split("#")[0]
                if urlsplit(target).netloc == urlsplit(self.base).netloc and target not in seen:
                    todo.append(target)

    def _get(self, response: requests.Response) -> View:
        body = response.content
        if body[:2] == b"PK":  # a download: search what is inside, member by member
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                text = "\n".join(
                    f"--- {name}\n" + archive.read(name).decode("utf-8", "replace")
                    for name in archive.namelist()
                )
        else:
            text = body.decode("utf-8", "replace")
        view = View(response.url, response.status_code, text)
        self.views.append(view)
        return view


def leaks(views: list[View], marks: set[str]) -> dict[str, list[str]]:
    """Each view's URL with the marks found in it (a few of them, sorted)."""
    found = {}
    for view in views:
        hits = sorted(m for m in marks if m in view.text)
        if hits:
            more = [f"and {len(hits) - 4} more"] if len(hits) > 4 else []
            found[f"{view.url} ({view.status})"] = hits[:4] + more
    return found
