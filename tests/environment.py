"""Loaded with ``-p tests.environment`` before Django's settings are imported.

The settings require a SECRET_KEY and the Vono credentials; the suite makes its own, random
ones, so a leak of them anywhere is detectable (see ``tests/conftest.py``), and a free port
for the simulator the suite starts.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import tempfile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SIM_PORT = int(os.environ.get("VONOSIM_TEST_PORT") or _free_port())
TOKEN = f"tok-{secrets.token_hex(12)}"
KEY = f"key-{secrets.token_hex(12)}"

os.environ.update(
    {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
        "AUDIT_HMAC_KEY": secrets.token_urlsafe(32),
        "AUDIT_HMAC_KEY_ID": "t1",
        "AUDIT_CHECKPOINT_DIR": tempfile.mkdtemp(prefix="vonoportal-checkpoints-"),
        "DEBUG": "false",
        "VONO_BASE_URL": f"http://127.0.0.1:{SIM_PORT}/api",
        "VONO_API_TOKEN": TOKEN,
        "VONO_API_KEY": KEY,
        "VONO_CONNECT_TIMEOUT": "2",
        "VONO_READ_TIMEOUT": "3",
        "VONO_RETRIES": "2",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",  # Playwright's sync API runs an event loop
        "LOG_LEVEL": "DEBUG",
        "LOG_LEVEL_URLLIB3": "DEBUG",  # so the suite sees the lines that would hold the URL
    }
)
os.environ.pop("VONO_CUSTOMER_ID", None)
logging.getLogger("urllib3").setLevel(logging.DEBUG)
