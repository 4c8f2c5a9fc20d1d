"""Where the recordings page's time goes, in-process (no gunicorn), phase by phase.

Usage: .venv/bin/python bench/profile_list.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import KEY, TOKEN, simulator

ROOT = Path(__file__).resolve().parent.parent
N = 300


def ms(fn: Callable[[], object]) -> float:
    for _ in range(20):
        fn()
    samples = []
    for _ in range(N):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> None:
    with simulator() as port:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="vonoportal.settings",
            SECRET_KEY="bench",
            DEBUG="false",
            ALLOWED_HOSTS="localhost",
            VONO_BASE_URL=f"http://127.0.0.1:{port}/api",
            VONO_API_TOKEN=TOKEN,
            VONO_API_KEY=KEY,
            DATABASE_URL="sqlite:///:memory:",
            LOG_LEVEL="WARNING",
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        import http.client
        import json

        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.template.loader import render_to_string
        from django.test import Client, RequestFactory

        from recordings import vono
        from recordings.forms import RecordingFilterForm
        from recordings.scope import Scope
        from recordings.views import _pager

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        from django.test.utils import override_settings

        with override_settings(DEBUG=True):  # a throwaway database: the demo users
            call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        client = Client(HTTP_HOST="localhost")
        client.login(username="supervisor", password="vono-demo")
        url = "/recordings/?date_ini=&date_end=&per_page=100&page=3"
        direct_path = (
            f"/api/recording/{TOKEN}/{KEY}?date_ini=&date_end=&time_ini=&time_end="
            "&start=200&limit=100"
        )
        connection = http.client.HTTPConnection("127.0.0.1", port)

        def direct() -> None:
            connection.request("GET", direct_path)
            connection.getresponse().read()

        connection.request("GET", direct_path)
        body = connection.getresponse().read()
        filters = vono.RecordingFilter()
        api = vono.get_client()
        page = api.list_recordings(filters, start=200, limit=100)
        request = RequestFactory().get(url)
        request.user = get_user_model().objects.get(username="supervisor")
        request.htmx = False  # type: ignore[attr-defined]
        form = RecordingFilterForm(request.GET, scope=Scope())
        form.is_valid()
        context = {
            "form": form,
            "page": page,
            "pager": _pager(form, page),
            "filters": filters,
            "filter_query": "",
            "current_query": "",
            "request": request,
            "user": request.user,
            "perms": None,
        }

        phases = {
            "direct upstream call (http.client)": ms(direct),
            "client.list_recordings (requests + parsing)": ms(
                lambda: api.list_recordings(filters, start=200, limit=100)
            ),
            "json.loads + parse_page (no I/O)": ms(lambda: vono.parse_page(json.loads(body))),
            "template render (100 rows)": ms(
                lambda: render_to_string("recordings/list.html", context, request=request)
            ),
            "whole request through Django's test client": ms(lambda: client.get(url)),
        }
        width = max(map(len, phases))
        for name, value in phases.items():
            print(f"{name:<{width}}  {value:6.2f} ms")


if __name__ == "__main__":
    main()
