"""/healthz, /readyz, /metrics and structured logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from heldout.platform.app import create_app
from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.logging import (
    GunicornLogger,
    JsonFormatter,
    configure,
    get_logger,
    log_context,
)
from heldout.platform.models import Run
from heldout.platform.web.metrics import DatabaseCollector, scrape
from tests import factories
from tests.services import free_port

METRICS_TOKEN = "scrape-me"
BEARER = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def _app(env: dict[str, str], **extra: str) -> Flask:
    return create_app({"TESTING": True}, config=Config.from_env({**env, **extra}))


@pytest.fixture
def no_docker_app(env: dict[str, str]) -> Iterator[Flask]:
    application = _app(
        env, HELDOUT_READY_CHECKS="database,storage", HELDOUT_METRICS_TOKEN=METRICS_TOKEN
    )
    yield application
    application.extensions["heldout"].db.dispose()


# ---------------------------------------------------------------- /readyz


def test_readyz_reports_each_configured_check(no_docker_app: Flask) -> None:
    response = no_docker_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["status"] == "ready"
    assert set(response.json["checks"]) == {"database", "storage"}
    assert all(check["ok"] for check in response.json["checks"].values())


@pytest.mark.docker
def test_readyz_checks_the_docker_engine(env: dict[str, str], docker_client: object) -> None:
    application = _app(env)
    response = application.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json is not None
    assert response.json["checks"]["docker"]["ok"] is True
    # make test registers gVisor with the engine, so auto picks it: the second wall is on
    assert response.json["checks"]["docker"]["runtime"] == "runsc"


@pytest.mark.docker
def test_readyz_says_which_runtime_a_setting_picks(
    env: dict[str, str], docker_client: object
) -> None:
    response = _app(env, HELDOUT_SANDBOX_RUNTIME="runc").test_client().get("/readyz")
    assert response.json is not None
    assert response.json["checks"]["docker"]["runtime"] == "runc"
    response = _app(env, HELDOUT_SANDBOX_RUNTIME="kata").test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert "has no runtime 'kata'" in response.json["checks"]["docker"]["error"]


def test_readyz_names_an_unreachable_engine(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")
    application = _app(env, HELDOUT_READY_CHECKS="database,docker")
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["down"] == ["docker"]
    assert "Docker engine" in response.json["checks"]["docker"]["error"]
    assert response.json["checks"]["database"]["ok"] is True


def test_readyz_names_unreachable_storage(env: dict[str, str]) -> None:
    application = _app(
        env,
        HELDOUT_READY_CHECKS="database,storage",
        HELDOUT_STORAGE_URL="s3://heldout",
        HELDOUT_S3_ENDPOINT=f"http://127.0.0.1:{free_port()}",
    )
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["down"] == ["storage"]
    assert "S3" in response.json["checks"]["storage"]["error"]


@pytest.mark.s3
def test_readyz_with_s3_storage(env: dict[str, str], s3_server: object) -> None:
    application = _app(
        env,
        HELDOUT_READY_CHECKS="storage",
        HELDOUT_STORAGE_URL="s3://ready-bucket",
        HELDOUT_S3_ENDPOINT=s3_server.endpoint,  # type: ignore[attr-defined]
        HELDOUT_S3_ACCESS_KEY="testing",
        HELDOUT_S3_SECRET_KEY="testing",
    )
    assert application.test_client().get("/readyz").status_code == 200


def test_ready_checks_setting_rejects_unknown_names() -> None:
    from heldout.platform.errors import ConfigError

    with pytest.raises(ConfigError, match="redis unknown"):
        Config.from_env({"HELDOUT_READY_CHECKS": "database,redis"})


# ---------------------------------------------------------------- /metrics


def test_metrics_read_queue_and_runs_from_the_database(no_docker_app: Flask) -> None:
    db: Database = no_docker_app.extensions["heldout"].db
    with db.session() as session:
        for status in ("queued", "queued", "running", "scored"):
            factories.make_submission(session, status=status)
        scored = factories.make_submission(session, status="scored")
        for attempt, (status, duration) in enumerate(
            [("succeeded", 0.5), ("succeeded", 3.0), ("succeeded", 400.0), ("timed_out", 600.0)]
        ):
            session.add(
                Run(
                    submission_id=scored.id,
                    attempt=attempt,
                    worker="w1",
                    status=status,
                    duration_s=duration,
                )
            )
        session.add(Run(submission_id=scored.id, attempt=9, worker="w1", status="running"))

    response = no_docker_app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    samples = scrape(no_docker_app)
    assert samples["heldout_database_up{}"] == 1
    assert samples["heldout_queue_depth{}"] == 2
    assert samples["heldout_submissions{status=queued}"] == 2
    assert samples["heldout_submissions{status=scored}"] == 2
    assert samples["heldout_submissions{status=failed}"] == 0
    assert samples["heldout_runs{status=succeeded}"] == 3
    assert samples["heldout_runs{status=running}"] == 1
    bucket = "heldout_run_duration_seconds_bucket{le=%s,status=succeeded}"
    assert samples[bucket % "1.0"] == 1
    assert samples[bucket % "5.0"] == 2
    assert samples[bucket % "300.0"] == 2
    assert samples[bucket % "600.0"] == 3
    assert samples[bucket % "+Inf"] == 3
    assert samples["heldout_run_duration_seconds_count{status=succeeded}"] == 3
    assert samples["heldout_run_duration_seconds_sum{status=succeeded}"] == pytest.approx(403.5)
    assert samples["heldout_run_duration_seconds_bucket{le=300.0,status=timed_out}"] == 0
    assert samples["heldout_run_duration_seconds_bucket{le=600.0,status=timed_out}"] == 1


def test_metrics_count_failed_submissions_by_category(no_docker_app: Flask) -> None:
    """Admins see challenge errors (the challenge set up wrongly) on /metrics."""
    db: Database = no_docker_app.extensions["heldout"].db
    with db.session() as session:
        for failure in ("challenge_error", "challenge_error", "notebook_error"):
            factories.make_submission(session, status="failed", failure=failure)
        scored = factories.make_submission(session, status="scored")
        session.add(
            Run(submission_id=scored.id, attempt=1, worker="w", status="succeeded", duration_s=2.0)
        )
        session.add(
            Run(
                submission_id=scored.id,
                attempt=1,
                purpose="candidate",
                worker="w",
                status="succeeded",
                duration_s=2.0,
            )
        )
    samples = scrape(no_docker_app)
    assert samples["heldout_submission_failures{failure=challenge_error}"] == 2
    assert samples["heldout_submission_failures{failure=notebook_error}"] == 1
    assert samples["heldout_submission_failures{failure=platform_error}"] == 0
    # Durations are the scored runs' only; the candidate run is counted among the runs.
    assert samples["heldout_run_duration_seconds_count{status=succeeded}"] == 1
    assert samples["heldout_runs{status=succeeded}"] == 2


def test_metrics_time_http_requests_by_route(no_docker_app: Flask) -> None:
    client = no_docker_app.test_client()
    client.get("/healthz")
    client.get("/healthz")
    client.get("/api/v1/no/such/abc123")
    samples = scrape(no_docker_app)
    key = "heldout_http_request_duration_seconds_count{method=GET,route=%s,status=%s}"
    assert samples[key % ("/healthz", "200")] == 2
    assert samples[key % ("unmatched", "404")] == 1
    assert not any("abc123" in name for name in samples)


def test_metrics_are_not_served_without_a_configured_token(env: dict[str, str]) -> None:
    application = _app(env, HELDOUT_READY_CHECKS="database")
    assert application.test_client().get("/metrics", headers=BEARER).status_code == 404
    application.extensions["heldout"].db.dispose()


def test_metrics_need_the_bearer_token(no_docker_app: Flask) -> None:
    client = no_docker_app.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"heldout_queue_depth" not in wrong.data


def test_random_methods_and_paths_do_not_grow_the_metrics(no_docker_app: Flask) -> None:
    client = no_docker_app.test_client()
    client.get("/healthz")
    before = len(client.get("/metrics", headers=BEARER).data)
    for n in range(300):
        client.open(f"/random/{n}", method=f"X{n:04d}")
        client.open("/healthz", method=f"Y{n:04d}")
    samples = scrape(no_docker_app)
    methods = {key.split("method=")[1].split(",")[0] for key in samples if "method=" in key}
    assert methods <= {"GET", "other"}
    assert len(client.get("/metrics", headers=BEARER).data) < before + 8_000


def test_each_app_has_its_own_registry(env: dict[str, str], tmp_path: Path) -> None:
    first = _app(env, HELDOUT_READY_CHECKS="database")
    second = _app(env, HELDOUT_READY_CHECKS="database")
    first.test_client().get("/healthz")
    key = "heldout_http_request_duration_seconds_count{method=GET,route=/healthz,status=200}"
    assert scrape(first)[key] == 1
    assert key not in scrape(second)
    for application in (first, second):
        application.extensions["heldout"].db.dispose()


def test_metrics_say_when_the_database_is_down() -> None:
    down = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    families = {family.name: family for family in DatabaseCollector(down).collect()}
    assert set(families) == {"heldout_database_up"}
    assert families["heldout_database_up"].samples[0].value == 0
    down.dispose()


# ---------------------------------------------------------------- structured logs


def _capture(log_format: str) -> io.StringIO:
    stream = io.StringIO()
    configure(log_format, stream=stream)
    return stream


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_carry_submission_and_run_ids() -> None:
    stream = _capture("json")
    log = get_logger("heldout.platform.worker.test")
    log.info("run finished", extra={"submission_id": 12, "run_id": 40, "status": "scored"})
    with log_context(submission_id=7, run_id=3):
        log.warning("collecting %s", "outputs")
        with log_context(run_id=4):
            log.error("nested")
    log.info("outside")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "run finished"
    assert (lines[0]["submission_id"], lines[0]["run_id"], lines[0]["status"]) == (12, 40, "scored")
    assert lines[0]["level"] == "info"
    assert lines[0]["logger"] == "heldout.platform.worker.test"
    assert (lines[1]["message"], lines[1]["submission_id"], lines[1]["run_id"]) == (
        "collecting outputs",
        7,
        3,
    )
    assert (lines[2]["submission_id"], lines[2]["run_id"]) == (7, 4)
    assert "submission_id" not in lines[3]


def test_json_logs_keep_the_traceback() -> None:
    stream = _capture("json")
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("t").exception("failed", extra={"submission_id": 1})
    entry = json.loads(stream.getvalue())
    assert "ValueError: boom" in entry["exception"]
    assert entry["submission_id"] == 1


def test_text_logs_append_fields() -> None:
    stream = _capture("text")
    with log_context(submission_id=5):
        get_logger("t").info("queued", extra={"run_id": 9})
    line = stream.getvalue().strip()
    assert line.endswith("INFO t: queued submission_id=5 run_id=9")


def test_configure_reads_the_setting_and_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_LOG_FORMAT", "json")
    stream = io.StringIO()
    configure(stream=stream)
    configure(stream=stream)
    get_logger("t").info("once")
    assert len(stream.getvalue().splitlines()) == 1
    assert json.loads(stream.getvalue())["message"] == "once"


def test_gunicorn_logger_formats_its_logs_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.config import Config as GunicornConfig

    monkeypatch.setenv("HELDOUT_LOG_FORMAT", "json")
    cfg = GunicornConfig()
    cfg.set("accesslog", "-")
    logger = GunicornLogger(cfg)
    assert isinstance(logger.error_log.handlers[0].formatter, JsonFormatter)
    assert isinstance(logger.access_log.handlers[0].formatter, JsonFormatter)


def test_access_logs_redact_invitation_tokens_in_werkzeug_and_gunicorn_records() -> None:
    import logging

    from heldout.platform.logging import RedactInvitations

    werkzeug = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /i/SECRETtoken123 HTTP/1.1", "303"),
        None,
    )
    gunicorn = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s", None, None)
    gunicorn.args = {"r": "GET /i/SECRETtoken123?x=1 HTTP/1.1", "s": "303"}
    for record in (werkzeug, gunicorn):
        assert RedactInvitations().filter(record)
        line = record.getMessage()
        assert "SECRET" not in line and "/i/[redacted]" in line
