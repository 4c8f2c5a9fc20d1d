"""The bulk ZIP download: every entry byte for byte, the manifest, names, limits, scope,
failures half-way through, the stream place, the audit."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import http.client
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audio import streams
from audit.models import AuditEvent
from recordings import vono
from tests import environment, livestack
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

DAY = "2025-06-02"  # a day of the simulator's calendar holding only what a test adds
ZIP_URL = "/recordings/download.zip"


def _raw(sim: SimulatorProcess, record_id: int) -> bytes:
    status, _, body = sim.get(f"id_record={record_id}&is_download=1")
    assert status == 200
    return body


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _archive(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(_body(response)))


def _add_day(sim: SimulatorProcess, count: int, **fields: Any) -> list[dict[str, Any]]:
    """``count`` recordings on DAY, a minute apart, of subscriber 3 unless told."""
    added = []
    for n in range(count):
        calldate = dt.datetime.fromisoformat(f"{DAY}T09:00:00") + dt.timedelta(minutes=n)
        added.append(
            sim.add_recording(
                calldate=calldate.isoformat(),
                duration=fields.get("duration", 20 + n),
                customer_id=fields.get("customer_id", 3),
                source=fields.get("source", f"sup90{n:02d}"),
                destination=fields.get("destination", "(41) 98597-7963"),
                clid=fields.get("clid", "4133334444"),
            )
        )
    return added


def _entry(record: dict[str, Any], stamp: str) -> str:
    return f"{stamp}_sup90{0:02d}_41985977963_{record['record_id']}.mp3"


def _manifest(archive: zipfile.ZipFile) -> list[list[str]]:
    text = archive.read("manifest.csv").decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


UPSTREAM_MODES: dict[str, dict[str, Any]] = {
    "as-documented": {"content_type": "audio/mpeg"},
    "chunked-ignoring-range": {"chunked": True, "honour_range": False},
    "no-length-ignoring-range": {"content_length": False, "honour_range": False},
}


@pytest.fixture(params=list(UPSTREAM_MODES))
def upstream(request: pytest.FixtureRequest, sim: SimulatorProcess) -> SimulatorProcess:
    sim.configure(**UPSTREAM_MODES[request.param])
    return sim


# --- what is inside ---


def test_a_filter_zips_every_recording_byte_for_byte(
    supervisor_client: Client, upstream: SimulatorProcess
) -> None:
    added = _add_day(upstream, 6)
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY})
    assert response["Content-Disposition"] == (
        f'attachment; filename="gravacoes_{DAY}_a_{DAY}.zip"'
    )
    assert response["Cache-Control"] == "private, no-store"
    archive = _archive(response)
    assert archive.testzip() is None
    names = archive.namelist()
    assert names[-1] == "manifest.csv"
    assert len(names) == len(added) + 1
    by_id = {int(name.rsplit("_", 1)[1].removesuffix(".mp3")): name for name in names[:-1]}
    assert set(by_id) == {r["record_id"] for r in added}
    for record in added:
        info = archive.getinfo(by_id[record["record_id"]])
        assert info.compress_type == zipfile.ZIP_STORED  # MP3 does not compress
        assert archive.read(info) == _raw(upstream, record["record_id"])


def test_entries_are_named_by_time_parties_and_id(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record = _add_day(sim, 1, source="+55 (41) 3333-4444", destination="ramal 301/ä")[0]
    archive = _archive(supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY}))
    assert archive.namelist() == [
        f"2025-06-02_090000_+55413333-4444_ramal301_{record['record_id']}.mp3",
        "manifest.csv",
    ]


def test_entry_names_are_safe_for_every_os() -> None:
    from audio.archive import entry_name

    recording = vono.parse_recording(
        {
            "record_id": 7,
            "calldate": "2026-09-30 22:32:42",
            "source": '../"ev<il>\\:*?|',
            "destination": "",
            "duration": 1,
        }
    )
    assert entry_name(recording) == "2026-09-30_223242_evil_x_7.mp3"


def test_the_manifest_lists_each_file_as_the_export_writes_csv(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    added = _add_day(sim, 2, clid='=HYPERLINK("http://x")')
    archive = _archive(supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY}))
    rows = _manifest(archive)
    assert rows[0] == [
        "Arquivo",
        "ID",
        "Data e hora",
        "Origem",
        "Destino",
        "Número exibido (clid)",
        "Duração (s)",
        "Tamanho (bytes)",
        "SHA-256",
        "Assinante",
    ]
    assert len(rows) == 1 + len(added)
    # In the list's order: newest first.
    for row, record in zip(rows[1:], reversed(added), strict=True):
        data = _raw(sim, record["record_id"])
        assert row[0] in archive.namelist()
        assert row[1] == str(record["record_id"])
        assert row[2].startswith("02/06/2025 09:0")
        assert row[4] == "(41) 98597-7963"
        assert row[5].startswith("'=")  # a formula is neutralised
        assert row[6] == str(record["duration"])
        assert row[7] == str(len(data))
        assert row[8] == hashlib.sha256(data).hexdigest()
        assert row[9] == "3"


def test_the_manifest_speaks_the_readers_language(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    _add_day(sim, 1)
    response = supervisor_client.get(
        ZIP_URL, {"date_ini": DAY, "date_end": DAY}, headers={"Accept-Language": "en"}
    )
    assert _manifest(_archive(response))[0][:3] == ["File", "ID", "Date and time"]


def test_chosen_ids_are_zipped_newest_first_as_listed(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    added = _add_day(sim, 4)
    chosen = [added[3]["record_id"], added[0]["record_id"], added[2]["record_id"]]
    archive = _archive(supervisor_client.post(ZIP_URL, {"ids": [str(i) for i in chosen]}))
    ids = [int(n.rsplit("_", 1)[1].removesuffix(".mp3")) for n in archive.namelist()[:-1]]
    assert ids == sorted(chosen, reverse=True)
    for name, record_id in zip(archive.namelist(), ids, strict=False):
        assert archive.read(name) == _raw(sim, record_id)


def test_posting_ids_needs_the_csrf_token(sim: SimulatorProcess, db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("sup", "Supervisores"))
    record_id = _add_day(sim, 1)[0]["record_id"]
    assert client.post(ZIP_URL, {"ids": [str(record_id)]}).status_code == 403
    assert sim.stats()["requests"].get("download", 0) == 0


@pytest.mark.parametrize(
    "ids", [["abc"], ["0"], ["-3"], ["²"], ["9" * 5000], [str(2**60)], ["1", "x"], ["1\x00"]]
)
def test_ids_that_are_not_ids_are_a_400_naming_the_field(
    supervisor_client: Client, sim: SimulatorProcess, ids: list[str]
) -> None:
    response = supervisor_client.post(ZIP_URL, {"ids": ids})
    assert response.status_code == 400
    assert "ids" in response.content.decode()
    assert sim.stats()["requests"] == {}


def test_no_ids_is_a_message_not_an_empty_zip(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.post(ZIP_URL, {})
    assert response.status_code == 400
    assert "Selecione ao menos uma gravação" in response.content.decode()


def test_a_bad_filter_is_a_400_naming_the_field(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get(ZIP_URL, {"date_ini": "2026-02-30"})
    assert response.status_code == 400
    assert "date_ini" in response.content.decode()
    assert sim.stats()["requests"] == {}


def test_an_empty_filter_is_a_message(supervisor_client: Client, sim: SimulatorProcess) -> None:
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY})
    assert response.status_code == 400
    assert "Nenhuma gravação corresponde" in response.content.decode()


# --- limits, said before the first byte ---


def test_more_files_than_the_limit_is_refused_before_any_download(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    settings.ZIP_MAX_FILES = 3
    added = _add_day(sim, 4)
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "São 4 gravações; um ZIP leva no máximo 3." in page
    assert f"date_ini={DAY}" in page  # back to the same filter
    response = supervisor_client.post(ZIP_URL, {"ids": [str(r["record_id"]) for r in added]})
    assert response.status_code == 400
    assert sim.stats()["requests"].get("download", 0) == 0
    assert not AuditEvent.objects.filter(action="download").exists()


def test_more_megabytes_than_the_limit_is_refused_before_any_download(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    settings.ZIP_MAX_MB = 1
    added = _add_day(sim, 2, duration=300)  # 300 s at 32 kbit/s: 1.2 MB each
    for response in (
        supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY}),
        supervisor_client.post(ZIP_URL, {"ids": [str(r["record_id"]) for r in added]}),
    ):
        assert response.status_code == 400
        assert "um ZIP leva no máximo 1,0\xa0MB" in response.content.decode()
    assert sim.stats()["requests"].get("download", 0) == 0


def test_the_limits_come_from_the_environment() -> None:
    from django.conf import settings

    assert settings.ZIP_MAX_FILES == 500
    assert settings.ZIP_MAX_MB == 2048


# --- scope: 404 before the upstream ---


@pytest.fixture
def scoped_client(client: Client, db: None) -> Client:
    client.force_login(make_user("scoped", "Supervisores", customer_id=12))
    return client


def test_a_scoped_user_cannot_zip_another_subscribers_ids(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    own = _add_day(sim, 1, customer_id=12)[0]["record_id"]
    other = _add_day(sim, 1, customer_id=3)[0]["record_id"]
    response = scoped_client.post(ZIP_URL, {"ids": [str(own), str(other)]})
    assert response.status_code == 404
    assert sim.stats()["requests"].get("download", 0) == 0
    assert not AuditEvent.objects.filter(action="download").exists()


def test_a_scoped_user_naming_another_subscriber_gets_404(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    response = scoped_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY, "customer_id": 3})
    assert response.status_code == 404
    assert sim.stats()["requests"] == {}


def test_a_scoped_users_filter_zips_only_their_subscriber(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    own = _add_day(sim, 2, customer_id=12)
    _add_day(sim, 2, customer_id=3)
    archive = _archive(scoped_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY}))
    ids = {int(n.rsplit("_", 1)[1].removesuffix(".mp3")) for n in archive.namelist()[:-1]}
    assert ids == {r["record_id"] for r in own}


def test_qa_may_not_zip(client: Client, sim: SimulatorProcess, db: None) -> None:
    client.force_login(make_user("qa", "Revisores de QA"))
    record_id = _add_day(sim, 1)[0]["record_id"]
    assert client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY}).status_code == 403
    assert client.post(ZIP_URL, {"ids": [str(record_id)]}).status_code == 403
    assert sim.stats()["requests"] == {}


# --- a recording that fails half-way through the archive ---

FAULTS = {
    "truncated body": {"kind": "truncate"},
    "connection reset": {"kind": "reset"},
    "404 mid-way": {"kind": "status", "status": 404},
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_recording_failing_mid_archive_fails_the_whole_download(
    supervisor_client: Client, sim: SimulatorProcess, fault: str
) -> None:
    added = _add_day(sim, 5, duration=120)
    newest = [_raw(sim, r["record_id"]) for r in (added[4], added[3])]
    options = dict(FAULTS[fault])
    # Every download after the second fails: the retry the archive gives it fails too.
    sim.fault(options.pop("kind"), target="download", skip=2, **options)
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY})
    assert response.status_code == 200
    received = b""
    with pytest.raises(vono.VonoError):
        for chunk in response.streaming_content:
            received += chunk
    # What went out holds the first two recordings (newest first), and no end of archive:
    # no reader takes it for a whole ZIP.
    assert all(data in received for data in newest)
    assert b"PK\x05\x06" not in received
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(received))
    failed = AuditEvent.objects.get(action="download", outcome="failed")
    assert failed.record_ids == [added[2]["record_id"]]
    assert failed.details["aborted_at"] == 3


def test_every_file_is_audited_as_a_download(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    added = _add_day(sim, 3)
    response = supervisor_client.get(
        ZIP_URL, {"date_ini": DAY, "date_end": DAY}, HTTP_USER_AGENT="Firefox/140"
    )
    _body(response)
    events = AuditEvent.objects.filter(action="download").order_by("seq")
    assert [e.record_ids for e in events] == [[r["record_id"]] for r in reversed(added)]
    assert {e.outcome for e in events} == {"ok"}
    assert {e.actor_username for e in events} == {"sup"}
    assert {e.user_agent for e in events} == {"Firefox/140"}
    assert {e.details["zip"] for e in events} == {f"gravacoes_{DAY}_a_{DAY}.zip"}
    assert {e.customer_id for e in events} == {3}


# --- the stream place ---


def test_an_archive_holds_a_stream_place_until_it_ends(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    _add_day(sim, 2)
    held = streams.in_use()
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY})
    assert streams.in_use() == held + 1
    _body(response)
    assert streams.in_use() == held


def test_no_stream_place_left_is_a_503_before_anything(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    _add_day(sim, 2)
    settings.AUDIO_STREAMS_PER_PROCESS = streams.in_use()
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert sim.stats()["requests"].get("download", 0) == 0
    assert not AuditEvent.objects.filter(action="download").exists()


# --- ZIP64 ---


def test_beyond_the_zip_limits_the_archive_switches_to_zip64(
    supervisor_client: Client, sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4 GB of test data would take minutes and the disk: the library's 4 GB threshold is
    lowered instead (the one thing patched), so the archive's later offsets need ZIP64."""
    import zipstream.ng

    monkeypatch.setattr(zipstream.ng, "ZIP64_LIMIT", 100_000)
    added = _add_day(sim, 4, duration=60)  # 240 KB each
    body = _body(supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY}))
    assert b"PK\x06\x06" in body  # the ZIP64 end of central directory
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    for name, record in zip(archive.namelist(), reversed(added), strict=False):
        assert archive.read(name) == _raw(sim, record["record_id"])


# --- what a client of the real server sees ---


@pytest.fixture
def live_portal(
    tmp_path: Path, sim: SimulatorProcess
) -> Iterator[tuple[livestack.Server, dict[str, str]]]:
    """gunicorn as in production: the abort must reach the client through a real server."""
    env = livestack.portal_env(
        f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "locmemcache://zip",
        f"http://127.0.0.1:{sim.port}/api",
        environment.TOKEN,
        environment.KEY,
    )
    env["AUDIO_CACHE_DIR"] = str(tmp_path / "audio-cache")
    env["AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    env["AUDIT_HMAC_KEY"] = "zip-live-test-audit-key"
    livestack.manage(env, "migrate", "--noinput", "-v0")
    server = livestack.gunicorn(env, workers=1, threads=4, log=tmp_path / "gunicorn.log").start()
    try:
        server.wait_ready()
        yield server, env
    finally:
        server.stop()


def _fetch(port: int, path: str, session: str) -> tuple[int, dict[str, str], bytes, str]:
    """Status, headers, the bytes received, and how the body ended ("" when complete)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "GET", path, headers={"Host": "127.0.0.1", "Cookie": f"sessionid={session}"}
        )
        response = connection.getresponse()
        received = bytearray()
        ending = ""
        try:
            while block := response.read(65536):
                received += block
        except (http.client.IncompleteRead, ConnectionError) as exc:
            ending = type(exc).__name__
        return response.status, dict(response.getheaders()), bytes(received), ending
    finally:
        connection.close()


def test_through_gunicorn_a_failure_mid_archive_reaches_the_client_as_an_error(
    live_portal: tuple[livestack.Server, dict[str, str]], sim: SimulatorProcess
) -> None:
    server, env = live_portal
    (session,) = livestack.signed_in_sessions(env, "Supervisores", 1, "zip-live")
    added = _add_day(sim, 5, duration=120)
    path = f"{ZIP_URL}?date_ini={DAY}&date_end={DAY}"
    status, headers, body, ending = _fetch(server.port, path, session)
    assert (status, ending) == (200, "")
    assert headers["Transfer-Encoding"] == "chunked"  # no length: the end is the last chunk
    assert len(zipfile.ZipFile(io.BytesIO(body)).namelist()) == len(added) + 1
    for fault, options in FAULTS.items():
        sim.reset()
        added = _add_day(sim, 5, duration=120)
        options = dict(options)
        sim.fault(options.pop("kind"), target="download", skip=2, **options)
        status, headers, body, ending = _fetch(server.port, path, session)
        assert status == 200, fault
        assert ending == "IncompleteRead", f"{fault}: the client must see a failed download"
        assert b"PK\x05\x06" not in body, fault
        sim.clear_faults()


def test_a_list_filter_the_zip_does_not_apply_is_refused_not_ignored(
    supervisor_client: Client, sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter the list may gain before the ZIP learns it must not be dropped silently,
    which would zip more than the list shows. No such field exists, so one is added to the
    form for this test."""
    from django import forms

    from recordings.forms import RecordingFilterForm

    field = forms.CharField(required=False)
    monkeypatch.setitem(RecordingFilterForm.base_fields, "team", field)
    _add_day(sim, 1)
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY, "team": "41"})
    assert response.status_code == 400
    assert "team" in response.content.decode()
    assert sim.stats()["requests"] == {}
    response = supervisor_client.get(ZIP_URL, {"date_ini": DAY, "date_end": DAY, "team": ""})
    assert len(_archive(response).namelist()) == 2


def test_a_client_leaving_mid_archive_gives_back_the_place_and_the_files(
    sim: SimulatorProcess, settings: Any
) -> None:
    """Django closes the body when the client hangs up: half-read or never read at all."""
    import os
    import time

    from audio import archive

    added = _add_day(sim, 3, duration=600)
    recordings = tuple(vono.get_client().get_recording(r["record_id"]) for r in reversed(added))
    manifest = archive.ManifestFormat(header=("a",) * 10, date_format="Y-m-d H:i:s")
    held = streams.in_use()
    for read in (0, 1):
        slot = streams.claim()
        assert slot is not None
        body = archive.ArchiveBody(
            recordings,
            customer_id=None,
            manifest=manifest,
            max_bytes=10**9,
            slot=slot,
            on_failure=lambda *args: None,
        )
        for _ in range(read):
            assert next(body).startswith(b"PK\x03\x04")
        body.close()
        assert streams.in_use() == held
        # The downloads themselves run on for the cache, then let go of their files.
        directory = str(settings.AUDIO_CACHE_DIR)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            open_files = [
                fd
                for fd in os.listdir("/proc/self/fd")
                if os.path.realpath(f"/proc/self/fd/{fd}").startswith(directory)
            ]
            if not open_files:
                break
            time.sleep(0.05)
        assert not open_files


def test_the_lists_evaluation_filter_is_answered_by_the_index_as_on_the_list(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    """The QA app's hook on the list (evaluated or not, a score range): Vono knows nothing of
    evaluations, so the ZIP takes the same rows the list shows, from the local index."""
    from django.utils import timezone

    from index.models import IndexedRecording

    added = _add_day(sim, 3)
    now = timezone.now()
    indexed = [vono.get_client().get_recording(r["record_id"]) for r in added[:2]]
    for call in indexed:
        IndexedRecording.objects.create(
            record_id=call.record_id,
            customer_id=call.customer_id,
            calldate=call.calldate,
            call_day=call.calldate.date(),
            source=call.source,
            destination=call.destination,
            duration=call.duration,
            size=call.size,
            first_seen=now,
            last_seen=now,
        )
    query = {"date_ini": DAY, "date_end": DAY, "evaluation": "not_evaluated"}
    listed = supervisor_client.get("/recordings/", query).context["page"].recordings
    archive = _archive(supervisor_client.get(ZIP_URL, query))
    ids = [int(n.rsplit("_", 1)[1].removesuffix(".mp3")) for n in archive.namelist()[:-1]]
    assert ids == [r.record_id for r in listed] == [added[1]["record_id"], added[0]["record_id"]]
    for name, record_id in zip(archive.namelist(), ids, strict=False):
        assert archive.read(name) == _raw(sim, record_id)
    response = supervisor_client.get(ZIP_URL, {**query, "evaluation": "evaluated"})
    assert response.status_code == 400
    assert "Nenhuma gravação corresponde" in response.content.decode()


def test_a_number_search_zips_the_rows_the_list_shows(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    """The list's index-only filters (here a partial number) select the same rows for the
    ZIP as for the page, from the index, in the page's order."""
    from django.utils import timezone

    from index.sync import _row  # the row exactly as a sync writes it

    added = _add_day(sim, 2) + _add_day(sim, 2, destination="(11) 3030-4455")
    now = timezone.now()
    for record in added:
        _row(vono.get_client().get_recording(record["record_id"]), now).save()
    query = {"date_ini": DAY, "date_end": DAY, "number": "3030-44"}
    listed = supervisor_client.get("/recordings/", query).context["page"].recordings
    assert [r.record_id for r in listed] == [added[3]["record_id"], added[2]["record_id"]]
    archive = _archive(supervisor_client.get(ZIP_URL, query))
    ids = [int(n.rsplit("_", 1)[1].removesuffix(".mp3")) for n in archive.namelist()[:-1]]
    assert ids == [r.record_id for r in listed]
