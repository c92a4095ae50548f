"""Settings come from the environment: the embedded default (SQLite, django-q2's ORM
broker) or the scale-out setup (PostgreSQL, Redis), and a strict production mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from config.settings import BASE_DIR, q_cluster_config

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "q_cluster": sorted(settings.Q_CLUSTER),
    "cache": settings.CACHES["default"]["BACKEND"],
    "debug": settings.DEBUG,
}))
"""

OUR_VARIABLES = (
    "CONTACTSYNC_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "VAR_DIR",
    # Set by the browser tests' session fixture; production checks must not see it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def run_python(tmp_path: Path, code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` with config.settings in a fresh interpreter and a clean environment
    (plus ``env``); var/ is a temporary directory so nothing touches the real one."""
    clean = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *(["-c", code] if code else []), *args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_in(tmp_path: Path, **env: str) -> dict:
    result = run_python(tmp_path, PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_orm_broker_without_redis() -> None:
    config = q_cluster_config("", testing=False)

    assert config["orm"] == "default"
    assert "redis" not in config


def test_redis_broker_when_redis_url_is_set() -> None:
    config = q_cluster_config("redis://127.0.0.1:6379/0", testing=False)

    assert config["redis"] == "redis://127.0.0.1:6379/0"
    assert "orm" not in config


def test_a_task_times_out_before_it_would_be_delivered_again() -> None:
    config = q_cluster_config("", testing=False)

    assert config["timeout"] < config["retry"]


def test_embedded_default_is_sqlite_with_the_orm_broker(tmp_path: Path) -> None:
    found = settings_in(tmp_path)

    assert found["engine"] == "django.db.backends.sqlite3"
    assert "orm" in found["q_cluster"] and "redis" not in found["q_cluster"]
    assert found["debug"] is True
    assert (tmp_path / "var" / "dev-secrets.json").exists()


def test_database_and_redis_urls_switch_to_the_scale_out_setup(tmp_path: Path) -> None:
    found = settings_in(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/contactsync",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert found["engine"] == "django.db.backends.postgresql"
    assert "redis" in found["q_cluster"] and "orm" not in found["q_cluster"]
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    result = run_python(tmp_path, PRINT_SETTINGS, CONTACTSYNC_ENV="production")

    assert result.returncode != 0
    assert "refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEY" in result.stderr
    assert not (tmp_path / "var" / "dev-secrets.json").exists()


def test_production_names_the_one_missing_key(tmp_path: Path) -> None:
    result = run_python(tmp_path, PRINT_SETTINGS, CONTACTSYNC_ENV="production", SECRET_KEY="x" * 60)

    assert result.returncode != 0
    assert "without FIELD_ENCRYPTION_KEY in the environment" in result.stderr


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    result = run_python(
        tmp_path,
        "",
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        CONTACTSYNC_ENV="production",
        SECRET_KEY="k" * 20 + "-this-is-long-and-random-enough-for-the-check-8f2",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    result = run_python(tmp_path, PRINT_SETTINGS, CONTACTSYNC_ENV="staging")

    assert result.returncode != 0
    assert "CONTACTSYNC_ENV must be development, test or production" in result.stderr


def test_development_keys_are_generated_once(tmp_path: Path) -> None:
    settings_in(tmp_path)
    first = (tmp_path / "var" / "dev-secrets.json").read_text()
    settings_in(tmp_path)

    assert (tmp_path / "var" / "dev-secrets.json").read_text() == first
