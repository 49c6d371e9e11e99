"""Helpers for the reviewer browser tests: a real WebM made by Chromium, sign-in, screenshots."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from tests.review.conftest import PASSWORD

# Chromium records a canvas animation with MediaRecorder: a real VP8 WebM with no tool to
# install. Three seconds, so there is somewhere to seek to.
RECORD_WEBM = """async (ms) => {
  const c = document.createElement('canvas'); c.width = 160; c.height = 120;
  document.body.appendChild(c);
  const ctx = c.getContext('2d');
  const rec = new MediaRecorder(c.captureStream(30), {mimeType: 'video/webm;codecs=vp8'});
  const chunks = [];
  rec.ondataavailable = e => chunks.push(e.data);
  const stopped = new Promise(r => rec.onstop = r);
  rec.start(100);
  const t0 = performance.now();
  await new Promise(resolve => {
    (function frame() {
      const t = performance.now() - t0;
      ctx.fillStyle = `hsl(${(t / 10) % 360}, 80%, 50%)`; ctx.fillRect(0, 0, 160, 120);
      if (t < ms) requestAnimationFrame(frame); else resolve();
    })();
  });
  rec.stop(); await stopped;
  const buf = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let s = ''; for (const b of buf) s += String.fromCharCode(b);
  return btoa(s);
}"""


def record_webm(browser: Any, ms: int = 3000) -> bytes:
    page = browser.new_page()
    try:
        return base64.b64decode(page.evaluate(RECORD_WEBM, ms))
    finally:
        page.close()


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/review/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/review/")


def shot(page: Any, name: str) -> None:
    """Save a screenshot for the docs when REVIEW_SCREENSHOTS names a folder."""
    folder = os.environ.get("REVIEW_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"review-{name}.png"), full_page=False)
