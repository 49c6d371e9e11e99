from __future__ import annotations

import re
from pathlib import Path

import pytest

from heldout.platform.config import SETTINGS, Config
from heldout.platform.errors import ConfigError

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_use_heldout_home(tmp_path: Path) -> None:
    config = Config.from_env({"HELDOUT_HOME": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'heldout.db'}"
    assert config.storage_url == str(tmp_path / "storage")


def test_postgresql_url_uses_psycopg_driver() -> None:
    config = Config.from_env({"HELDOUT_DATABASE_URL": "postgresql://u@h/db"})
    assert config.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HELDOUT_DATABASE_URL", "mysql://x", "sqlite:// or postgresql://"),
        ("HELDOUT_STORAGE_URL", "ftp://x", "s3://bucket"),
        ("HELDOUT_STORAGE_URL", "s3://", "bucket name"),
        ("HELDOUT_MAX_NOTEBOOK_MB", "-3", "positive"),
        ("HELDOUT_LOG_FORMAT", "xml", "text, json"),
        ("HELDOUT_SECURE_COOKIES", "maybe", "true or false"),
    ],
)
def test_bad_value_names_setting_and_fix(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)) as info:
        Config.from_env({name: value})
    assert name in str(info.value)


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    config = Config.from_env({"HELDOUT_HOME": str(tmp_path / "home")})
    first = config.secret_key()
    assert len(first) == 64
    assert config.secret_key() == first
    assert (tmp_path / "home" / "secret_key").stat().st_mode & 0o077 == 0


def test_readme_documents_every_setting() -> None:
    text = README.read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in text, f"README lacks {setting.name}"
        assert setting.help in text, f"README help for {setting.name} is out of date"


def test_s3_bucket_name_is_checked_up_front() -> None:
    with pytest.raises(ConfigError, match="3-63 characters"):
        Config.from_env({"HELDOUT_STORAGE_URL": "s3://b"})
    assert Config.from_env({"HELDOUT_STORAGE_URL": "s3://heldout-prod"}).storage_url
