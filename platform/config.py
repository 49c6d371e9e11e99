"""Every HELDOUT_* setting, with its default and a sentence of help, in one place.

The README's configuration table is checked against `SETTINGS` by a test.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from heldout.platform.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, default (as text) and what it does."""

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _storage_url(text: str) -> str:
    scheme = urlparse(text).scheme
    if text and scheme not in ("", "file", "s3"):
        raise ValueError("must be a directory path, file:///path or s3://bucket")
    if scheme == "s3" and not urlparse(text).netloc:
        raise ValueError("s3:// needs a bucket name, e.g. s3://heldout")
    if scheme == "s3" and not _BUCKET.match(urlparse(text).netloc):
        raise ValueError(
            "the bucket name must be 3-63 characters of lower-case letters, digits, '.' and '-'"
        )
    return text


def _database_url(text: str) -> str:
    if text and not text.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
        raise ValueError("must start with sqlite:// or postgresql://")
    return text


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return text

    return parse


def _subset(*choices: str) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in choices]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} unknown; use a comma list of {', '.join(choices)}"
            )
        return names

    return parse


def _proxies(text: str) -> int | tuple[Any, ...]:
    """A count of proxy hops in front of every request, or the proxies' addresses/networks."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in text.split(",")
            if part.strip()
        )
    except ValueError:
        raise ValueError(
            "must be a number of proxy hops (e.g. 1) or a comma list of proxy addresses "
            "or networks (e.g. 10.0.0.5,172.16.0.0/12)"
        ) from None


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HELDOUT_HOME",
        "./instance",
        "Directory for the embedded SQLite database, local storage and the secret key.",
    ),
    Setting(
        "HELDOUT_DATABASE_URL",
        "",
        "SQLAlchemy URL; empty means sqlite:///$HELDOUT_HOME/heldout.db.",
        _database_url,
    ),
    Setting(
        "HELDOUT_STORAGE_URL",
        "",
        "Where files live: empty means $HELDOUT_HOME/storage; s3://bucket uses S3.",
        _storage_url,
    ),
    Setting(
        "HELDOUT_S3_ENDPOINT",
        "http://127.0.0.1:9000",
        "S3 endpoint the platform talks to (MinIO in docker-compose).",
    ),
    Setting(
        "HELDOUT_S3_PUBLIC_ENDPOINT",
        "",
        "S3 endpoint browsers reach, used to sign video URLs; empty means the same.",
    ),
    Setting("HELDOUT_S3_ACCESS_KEY", "", "S3 access key."),
    Setting("HELDOUT_S3_SECRET_KEY", "", "S3 secret key."),
    Setting("HELDOUT_S3_REGION", "us-east-1", "S3 region used for signing."),
    Setting(
        "HELDOUT_SECRET_KEY",
        "",
        "Signs sessions; empty means a random key kept in $HELDOUT_HOME/secret_key.",
    ),
    Setting(
        "HELDOUT_BASE_URL",
        "http://127.0.0.1:5000",
        "Public URL of the web app, used in invitation links.",
    ),
    Setting(
        "HELDOUT_SANDBOX_IMAGE",
        "",
        "Runtime image for notebooks; empty means the locally built content-hash tag.",
    ),
    Setting(
        "HELDOUT_SANDBOX_BACKEND", "docker", "Sandbox backend name (registry).", _choice("docker")
    ),
    Setting(
        "HELDOUT_SANDBOX_RUNTIME",
        "auto",
        "Container runtime for notebooks: auto picks gVisor's runsc when the engine has it "
        "registered, else the engine's default; or name one (runsc, runc, ...).",
    ),
    Setting(
        "HELDOUT_SANDBOX_WARM",
        "true",
        "Keep warm sandbox containers (two per worker slot) started ahead; each is used once.",
        _flag,
    ),
    Setting(
        "HELDOUT_MAX_NOTEBOOK_MB", "20", "Largest notebook a candidate may upload.", _positive_int
    ),
    Setting(
        "HELDOUT_MAX_VIDEO_MB",
        "2048",
        "Largest explanation video a candidate may upload.",
        _positive_int,
    ),
    Setting(
        "HELDOUT_LEASE_SECONDS",
        "60",
        "How long a worker's claim on a submission lasts without a heartbeat.",
        _positive_int,
    ),
    Setting(
        "HELDOUT_WORKER_GRACE_SECONDS",
        "30",
        "On SIGTERM a worker finishes its runs for this long, then hands the rest back.",
        _positive_int,
    ),
    Setting(
        "HELDOUT_MAX_ATTEMPTS",
        "5",
        "Platform-error retries before a submission fails as platform_error.",
        _positive_int,
    ),
    Setting(
        "HELDOUT_CANDIDATE_RUN",
        "always",
        "When the worker also runs a notebook on the candidate's own bundle, for the details "
        "they see: always, failed (only when the scored run failed) or never.",
        _choice("always", "failed", "never"),
    ),
    Setting("HELDOUT_INVITE_DAYS", "30", "Days an invitation stays valid.", _positive_int),
    Setting(
        "HELDOUT_SMTP_URL",
        "",
        "smtp://user:pass@host:port to e-mail invitations and each submission's result (once); "
        "empty means print invitations only and send nothing.",
    ),
    Setting("HELDOUT_MAIL_FROM", "heldout@localhost", "Sender address of Heldout's e-mails."),
    Setting("HELDOUT_LOG_FORMAT", "text", "Log lines as text or json.", _choice("text", "json")),
    Setting(
        "HELDOUT_READY_CHECKS",
        "database,storage,docker",
        "What /readyz checks, comma-separated; drop docker where no engine is reachable (web).",
        _subset("database", "storage", "docker"),
    ),
    Setting(
        "HELDOUT_TRUSTED_PROXIES",
        "0",
        "Proxies whose X-Forwarded-For/-Proto are believed: a hop count, or their addresses "
        "or networks, comma-separated; 0 believes none.",
        _proxies,
    ),
    Setting(
        "HELDOUT_RATELIMIT_STORAGE",
        "database",
        "Where rate limits count: database (shared by every web process) or memory:// (one "
        "process only).",
        _choice("database", "memory://"),
    ),
    Setting(
        "HELDOUT_METRICS_TOKEN",
        "",
        "Bearer token Prometheus sends to read /metrics; empty means /metrics is not served.",
    ),
    Setting(
        "HELDOUT_SECURE_COOKIES",
        "false",
        "Mark cookies Secure (set when served over HTTPS).",
        _flag,
    ),
)


@dataclass(frozen=True)
class Config:
    """Parsed settings; build with `Config.from_env()`."""

    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read and validate every setting, raising one clear ConfigError for a bad value."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.name, setting.default)
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.name}={raw!r}: {exc}. {setting.help}") from None
        return cls(values)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def home(self) -> Path:
        return Path(self.values["HELDOUT_HOME"]).resolve()

    @property
    def database_url(self) -> str:
        url: str = self.values["HELDOUT_DATABASE_URL"]
        if not url:
            return f"sqlite:///{self.home / 'heldout.db'}"
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def storage_url(self) -> str:
        url: str = self.values["HELDOUT_STORAGE_URL"]
        return url or str(self.home / "storage")

    def secret_key(self) -> str:
        """The configured secret, or one generated once and kept in HELDOUT_HOME."""
        configured: str = self.values["HELDOUT_SECRET_KEY"]
        if configured:
            return configured
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race; use its key
                return path.read_text().strip()
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip()


def markdown_table() -> str:
    """The README's configuration table (`python -m heldout.platform.config`)."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    rows += [f"| `{s.name}` | `{s.default}` | {s.help} |" for s in SETTINGS]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())  # noqa: T201
