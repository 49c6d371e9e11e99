"""Liveness and readiness probes: /healthz (alive) and /readyz (its services answer)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint

from heldout.platform.app import Services
from heldout.platform.errors import EngineUnavailable
from heldout.platform.web import services

bp = Blueprint("health", __name__)

ENGINE_TIMEOUT_S = 3  # a probe must answer quickly even when the engine hangs


def check_database(found: Services) -> None:
    found.db.check()


def check_storage(found: Services) -> None:
    found.storage.check()


def check_docker(found: Services) -> dict[str, Any]:
    """Ping the engine DOCKER_HOST names (the local socket by default, or TLS to a host), and
    say which container runtime notebooks get there."""
    from heldout.sandbox.engine import connect, resolve_runtime
    from heldout.sandbox.errors import SandboxError

    try:
        client = connect(timeout=ENGINE_TIMEOUT_S)
        try:
            return {"runtime": resolve_runtime(client, found.config["HELDOUT_SANDBOX_RUNTIME"])}
        finally:
            client.close()
    except SandboxError as exc:
        raise EngineUnavailable(str(exc)) from None


# What HELDOUT_READY_CHECKS may name; each raises a ServiceUnavailable with a clear message.
CHECKS: dict[str, Callable[[Services], dict[str, Any] | None]] = {
    "database": check_database,
    "storage": check_storage,
    "docker": check_docker,
}


def readiness(found: Services) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Run every configured check; (all ok, per-check detail)."""
    detail: dict[str, dict[str, Any]] = {}
    for name in found.config["HELDOUT_READY_CHECKS"]:
        started = time.perf_counter()
        try:
            facts = CHECKS[name](found)
        except Exception as exc:  # noqa: BLE001  (any failure means "not ready", with its text)
            detail[name] = {"ok": False, "error": str(exc) or type(exc).__name__}
        else:
            detail[name] = {"ok": True, **(facts or {})}
        detail[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return all(check["ok"] for check in detail.values()), detail


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive: the process answers HTTP."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """Ready: 200 when the database, storage and engine answer; 503 naming what is down."""
    ready, detail = readiness(services())
    if ready:
        return {"status": "ready", "checks": detail}, 200
    down = [name for name, check in detail.items() if not check["ok"]]
    return {"status": "unavailable", "down": down, "checks": detail}, 503
