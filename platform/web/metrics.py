"""Prometheus metrics at /metrics: queue depth, submissions and runs by status, run durations
(all read from the database at scrape time, so any web process shows every worker's data) and
HTTP latency, each app with its own registry.

Served only when HELDOUT_METRICS_TOKEN is set, to `Authorization: Bearer <token>`; label
values come from fixed sets (methods, the app's own route patterns), so no request can grow
the exposition.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from flask.blueprints import BlueprintSetupState
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from heldout.platform.db import Database
from heldout.platform.errors import ServiceUnavailable
from heldout.platform.failures import CATEGORIES
from heldout.platform.models import Run, Submission
from heldout.platform.models.submission import STATUSES

bp = Blueprint("metrics", __name__)

# Runs last seconds to the 10-minute default timeout and beyond; requests last milliseconds.
RUN_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EXTENSION = "heldout_metrics"
# Anything else (random verbs are free to send) is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class DatabaseCollector(Collector):
    """Reads the queue and the runs table on every scrape; `heldout_database_up` 0 if it can't."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        try:
            queued, submissions, failures, runs, durations = self._query()
        except (SQLAlchemyError, ServiceUnavailable):
            yield GaugeMetricFamily(
                "heldout_database_up", "Whether the database answered this scrape.", value=0
            )
            return
        yield GaugeMetricFamily(
            "heldout_database_up", "Whether the database answered this scrape.", value=1
        )
        yield GaugeMetricFamily(
            "heldout_queue_depth", "Submissions waiting for a worker (status queued).", value=queued
        )
        by_status = GaugeMetricFamily(
            "heldout_submissions", "Submissions by status.", labels=["status"]
        )
        for status in sorted(set(STATUSES) | set(submissions)):
            by_status.add_metric([status], submissions.get(status, 0))
        yield by_status
        by_failure = GaugeMetricFamily(
            "heldout_submission_failures",
            "Failed submissions by failure category (challenge_error: the challenge is set up "
            "wrongly; platform_error: ours).",
            labels=["failure"],
        )
        for category in sorted(set(CATEGORIES) | set(failures)):
            by_failure.add_metric([category], failures.get(category, 0))
        yield by_failure
        run_status = GaugeMetricFamily("heldout_runs", "Sandbox runs by status.", labels=["status"])
        for status, count in sorted(runs.items()):
            run_status.add_metric([status], count)
        yield run_status
        histogram = HistogramMetricFamily(
            "heldout_run_duration_seconds",
            "Wall-clock duration of finished sandbox runs, by run status.",
            labels=["status"],
        )
        for status, (count, total, cumulative) in sorted(durations.items()):
            buckets = [
                (str(bound), float(n)) for bound, n in zip(RUN_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(count)))
            histogram.add_metric([status], buckets, sum_value=total)
        yield histogram

    def _query(
        self,
    ) -> tuple[
        int,
        dict[str, int],
        dict[str, int],
        dict[str, int],
        dict[str, tuple[int, float, list[int]]],
    ]:
        bucket_columns = [
            func.sum(case((Run.duration_s <= bound, 1), else_=0)) for bound in RUN_BUCKETS
        ]
        with self.db.session() as session:
            submissions = {
                str(status): int(count)
                for status, count in session.execute(
                    select(Submission.status, func.count()).group_by(Submission.status)
                )
            }
            failures = {
                str(failure): int(count)
                for failure, count in session.execute(
                    select(Submission.failure, func.count())
                    .where(Submission.status == "failed", Submission.failure.is_not(None))
                    .group_by(Submission.failure)
                )
            }
            runs = {
                str(status): int(count)
                for status, count in session.execute(
                    select(Run.status, func.count()).group_by(Run.status)
                )
            }
            rows = session.execute(
                select(Run.status, func.count(), func.sum(Run.duration_s), *bucket_columns)
                .where(Run.duration_s.is_not(None), Run.purpose == "scored")
                .group_by(Run.status)
            ).all()
        durations = {
            str(row[0]): (int(row[1]), float(row[2] or 0.0), [int(n or 0) for n in row[3:]])
            for row in rows
        }
        return submissions.get("queued", 0), submissions, failures, runs, durations


class AppMetrics:
    """One app's registry: the HTTP latency histogram and the database collector."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.database = DatabaseCollector(db)
        self.registry.register(self.database)
        self.http = Histogram(
            "heldout_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route and status.",
            ["method", "route", "status"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        # Per process: run gunicorn with one worker process and threads (docker-compose does),
        # or scrape each process; the database-derived part is the same everywhere.
        return bytes(generate_latest(self.registry))


def app_metrics(app: Flask) -> AppMetrics:
    found: AppMetrics = app.extensions[EXTENSION]
    return found


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    app = state.app
    installed = app.extensions[EXTENSION] = AppMetrics(app.extensions["heldout"].db)

    @app.before_request
    def _start_timer() -> None:
        g.heldout_request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("heldout_request_started", None)
        if started is not None:
            # The route pattern, not the path: ids and tokens must not become label values.
            route = request.url_rule.rule if request.url_rule else "unmatched"
            method = request.method if request.method in METHODS else "other"
            status = response.status_code
            code = str(status) if 100 <= status < 600 else "other"
            installed.http.labels(method, route, code).observe(time.perf_counter() - started)
        return response


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text exposition of this app's registry, for the bearer of the token."""
    token = str(current_app.extensions["heldout"].config["HELDOUT_METRICS_TOKEN"])
    if not token:
        abort(404)
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip(), token):
        return Response(
            "send the metrics token as 'Authorization: Bearer <token>'\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )
    found: AppMetrics = current_app.extensions[EXTENSION]
    body = found.exposition()
    return Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


def scrape(app: Flask) -> dict[str, Any]:
    """Parsed samples of one scrape, keyed `name{label=value,...}` (for tests and tooling)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, Any] = {}
    text = app_metrics(app).exposition().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples
