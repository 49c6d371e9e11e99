"""The runtime as the candidate is told it: the image's Python, packages and import names."""

from __future__ import annotations

from flask.testing import FlaskClient

from heldout.platform.runtime import parse_requirements, runtime
from tests.platform.test_api import auth, token  # noqa: F401 (the fixture)
from tests.web import body


def test_runtime_reads_the_python_version_and_every_pin() -> None:
    parsed = parse_requirements("# pinned (Python 3.12, trixie)\nfoo==1.0\n\nBar_baz==2.1\n")
    assert parsed.python == "3.12"
    assert [(p.name, p.version) for p in parsed.packages] == [("foo", "1.0"), ("Bar_baz", "2.1")]


def test_import_names_map_the_usual_mismatches_and_the_standard_library() -> None:
    names = runtime().import_names()
    assert {"sklearn", "dateutil", "PIL", "xgboost", "IPython", "pandas", "lightgbm"} <= names
    assert {"json", "os", "collections", "typing_extensions", "zmq"} <= names
    assert "scikit_learn" not in names and "torch" not in names and "yaml" not in names


def test_api_challenge_lists_the_runtime_with_its_limits(
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    view = body(client.get("/api/v1/challenge", headers=auth(token)))["runtime"]
    assert view["python"] == "3.11"
    assert any(p["name"] == "scikit-learn" for p in view["packages"])
    assert (view["network"], view["installs"]) == (False, False)
    assert view["memory_mb"] == 2048 and view["cpus"] == 1 and view["timeout_s"] == 600
