"""Errors of the platform, and the one place they are drawn as a tree.

    HeldoutError                      root of everything the platform raises on purpose
    ├── ConfigError                   a HELDOUT_* setting is malformed
    ├── ServiceUnavailable            a service the platform needs does not answer
    │   ├── DatabaseUnavailable
    │   ├── StorageUnavailable
    │   └── EngineUnavailable         the Docker engine (the sandbox's SandboxError, re-raised)
    ├── NotFound                      an id, slug or key that does not exist
    ├── PermissionDenied              the caller may not touch this object
    ├── InvalidInput                  a user-supplied value or file is unacceptable
    │   ├── LimitReached              a quota (submissions, rate) is used up
    │   └── Conflict                  the request clashes with what is already there

The pure packages keep their own roots so that they depend on nothing of ours:
`heldout.sandbox.SandboxError`, `heldout.graders.GradingError` and
`heldout.challenges.ChallengeError`. `DOMAIN_ERRORS` lists every root the CLI and the
web layer translate into a clear message; the web layer maps them to HTTP statuses in
`heldout.platform.web.errors`.
"""

from __future__ import annotations


class HeldoutError(Exception):
    """Root of the platform's deliberate errors; `str()` is a message for humans."""


class ConfigError(HeldoutError):
    """A HELDOUT_* setting is malformed."""


class ServiceUnavailable(HeldoutError):
    """A service the platform needs does not answer."""


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached or migrated."""


class StorageUnavailable(ServiceUnavailable):
    """The file storage (local directory or S3) cannot be reached."""


class EngineUnavailable(ServiceUnavailable):
    """The Docker engine cannot be reached."""


class NotFound(HeldoutError):
    """An id, slug or storage key that does not exist."""


class PermissionDenied(HeldoutError):
    """The caller may not touch this object."""


class InvalidInput(HeldoutError):
    """A user-supplied value or file is unacceptable."""


class LimitReached(InvalidInput):
    """A quota is used up; `retry_after` says in how many seconds to try again (HTTP 429's
    Retry-After), when a wait helps."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Conflict(InvalidInput):
    """The request clashes with what is already there (say so, and how to override it)."""
