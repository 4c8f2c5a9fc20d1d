"""Start-up refuses a missing or malformed setting, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.simulator import ROOT

GOOD = {
    "SECRET_KEY": "x" * 50,
    "AUDIT_HMAC_KEY": "a" * 40,
    "DEBUG": "false",
    "VONO_BASE_URL": "https://pbx.example.com.br/api",
    "VONO_API_TOKEN": "t" * 8,
    "VONO_API_KEY": "k" * 8,
}


def _start(**changes: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VONO_", "DATABASE_", "CACHE_", "AUDIT_"))
    }
    env.update(GOOD)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    code = "import django; django.setup(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "vonoportal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_good_settings_start() -> None:
    result = _start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_KEY", None, "SECRET_KEY is required unless DEBUG"),
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("VONO_BASE_URL", None, "VONO_BASE_URL is required"),
        ("VONO_BASE_URL", "pbx.example.com.br/api", "VONO_BASE_URL must be an http(s) URL"),
        ("VONO_API_TOKEN", None, "VONO_API_TOKEN is required"),
        ("VONO_API_KEY", "  ", "VONO_API_KEY is required"),
        ("VONO_CUSTOMER_ID", "três", "VONO_CUSTOMER_ID must be a whole number"),
        ("VONO_CONNECT_TIMEOUT", "soon", "VONO_CONNECT_TIMEOUT must be a number"),
        ("VONO_READ_TIMEOUT", "0", "VONO_READ_TIMEOUT must be at least"),
        ("VONO_RETRIES", "-1", "VONO_RETRIES must be a whole number"),
        ("DATABASE_URL", "nosuchdb://x", "DATABASE_URL is not a valid URL"),
        ("CACHE_URL", "nosuchcache://x", "CACHE_URL is not a valid URL"),
        ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES must be a whole number"),
        ("AUDIT_HMAC_KEY", None, "AUDIT_HMAC_KEY is required unless DEBUG"),
        ("AUDIT_HMAC_KEY", "x" * 50, "AUDIT_HMAC_KEY must differ from SECRET_KEY"),
        ("AUDIT_HMAC_KEY_ID", "a-very-long-key-identifier", "AUDIT_HMAC_KEY_ID must be"),
        ("AUDIT_HMAC_OLD_KEYS", "nokey", "AUDIT_HMAC_OLD_KEYS must read id:key"),
        ("AUDIT_CHECKPOINT_EVERY", "0", "AUDIT_CHECKPOINT_EVERY must be a whole number"),
        ("AUDIO_CACHE_MB", "2 GB", "AUDIO_CACHE_MB must be a whole number"),
        ("AUDIO_CACHE_HOURS", "a day", "AUDIO_CACHE_HOURS must be a number"),
        ("AUDIO_STREAMS_PER_PROCESS", "0", "AUDIO_STREAMS_PER_PROCESS must be a whole number"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(
    name: str, value: str | None, message: str
) -> None:
    result = _start(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_debug_runs_without_a_secret_key() -> None:
    assert _start(SECRET_KEY=None, AUDIT_HMAC_KEY=None, DEBUG="true").returncode == 0
