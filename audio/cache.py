"""A bounded on-disk cache of recordings, shared by every process on one host.

Recordings never change, so one upstream download serves playback, seeking, the waveform
and downloads. Per recording, in the cache directory:

- ``<id>.mp3``: the complete recording; it appears by an atomic rename, never half-written.
- ``<id>.part``: the download in progress, growing; readers follow it as it grows.
- ``<id>.json``: what readers need to follow: state (filling, done, failed), the total length
  once known, the part file's inode (so a reader never follows a stale part), or the error.
- ``<id>.lock``: held (``flock``) by whichever thread of whichever process is downloading. The
  kernel releases it when that process dies, so a dead download is seen as dead.

Nothing is kept in memory between requests: any process may serve any request. Files are
kept ``AUDIO_CACHE_HOURS`` after their download at most (they are personal data) and the
least recently used go first beyond ``AUDIO_CACHE_MB``. A deleted recording is purged.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from audio.ranges import parse_content_range
from recordings import vono

logger = logging.getLogger(__name__)

WRITE_CHUNK = vono.DOWNLOAD_CHUNK
READ_CHUNK = 256 * 1024
# The listing's sizes are rounded to two decimals of their unit (``7,03 Mb``): a body of
# unstated length below this share of that size was cut short, not rounded.
SHORTFALL = 0.97
_POLL_FIRST, _POLL_MAX = 0.005, 0.05  # seconds between looks at a growing file
_SETTLING = 60.0  # seconds a just-completed file is evicted last

# Errors a download can end with, by name in the state file, so any process can re-raise them.
_ERRORS: dict[str, type[vono.VonoError]] = {
    "not_found": vono.VonoNotFound,
    "timeout": vono.VonoTimeout,
    "unavailable": vono.VonoUnavailable,
    "protocol": vono.VonoProtocolError,
}


def _error_kind(exc: vono.VonoError) -> str:
    if isinstance(exc, vono.VonoRejected):
        return "rejected"
    for kind, cls in _ERRORS.items():
        if type(exc) is cls:
            return kind
    return "unavailable" if isinstance(exc, vono.VonoUnavailable) else "protocol"


class CacheGone(vono.VonoUnavailable):
    """The file being read was purged (its recording deleted) or its download died."""


@dataclass(frozen=True, slots=True)
class _Paths:
    complete: Path
    part: Path
    state: Path
    lock: Path


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically: a reader sees the old or the new content, never half."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class AudioCache:
    """The cache in one directory. Thread-safe and process-safe; holds no state of its own."""

    def __init__(
        self, directory: Path, *, max_bytes: int, max_age: float, stall_timeout: float
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_age = max_age  # seconds
        self.stall_timeout = stall_timeout  # seconds a reader waits for a silent download
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def paths(self, record_id: int) -> _Paths:
        base = self.directory / str(int(record_id))
        return _Paths(
            complete=base.with_suffix(".mp3"),
            part=base.with_suffix(".part"),
            state=base.with_suffix(".json"),
            lock=base.with_suffix(".lock"),
        )

    # -- reading ----------------------------------------------------------------------------

    def open(
        self, record_id: int, *, customer_id: int | None, expected_size: int | None = None
    ) -> CachedRecording:
        """The recording's bytes: from the cache, or followed while a download fills it.

        The caller has already checked that this user may see this recording: the cache is
        keyed by id alone, so that check is what keeps a recording within its scope.
        ``expected_size`` is the listing's (rounded) size: a download of unstated length
        that ends far short of it was cut, and is not kept. Raises a VonoError when the
        download fails before it begins.
        """
        paths = self.paths(record_id)
        deadline = time.monotonic() + self.stall_timeout
        starts = 0
        while True:
            found = self._open_complete(paths)
            if found is not None:
                return found
            # The lock first, then the state: a download that ends in between has written
            # its final state before letting go of the lock.
            alive = _filler_alive(paths.lock)
            state = _read_json(paths.state) or {}
            if alive:
                if state.get("state") == "filling" and state.get("answered"):
                    following = self._open_part(paths, state)
                    if following is not None:
                        return following
            else:
                found = self._open_complete(paths)  # it may have been completed just now
                if found is not None:
                    return found
                if starts and state.get("state") == "failed":
                    raise _failure(state)
                if starts and state.get("state") == "filling":
                    raise CacheGone("The recording's download stopped")
                if starts >= 2:  # done twice and gone twice: evicted as soon as it landed
                    raise CacheGone("The recording could not be kept long enough to read")
                starts += 1
                self._start_fill(record_id, customer_id, expected_size)
                continue
            if time.monotonic() > deadline:
                raise vono.VonoTimeout("The recording's download did not start in time")
            time.sleep(_POLL_FIRST)

    def prefetch(
        self, record_id: int, *, customer_id: int | None, expected_size: int | None = None
    ) -> None:
        """Start downloading a recording that will be read soon, without waiting for it.

        Same contract as ``open``: the caller has checked that this user may see it. Nothing
        happens when it is cached or some process is downloading it already; a failure is
        left in the state file, and the ``open`` that follows tries once more.
        """
        paths = self.paths(record_id)
        if not paths.complete.exists() and not _filler_alive(paths.lock):
            self._start_fill(record_id, customer_id, expected_size)

    def _open_complete(self, paths: _Paths) -> CachedRecording | None:
        try:
            fd = os.open(paths.complete, os.O_RDONLY)
        except FileNotFoundError:
            return None
        stat = os.fstat(fd)
        if time.time() - stat.st_mtime > self.max_age:
            os.close(fd)
            _unlink(paths.complete)
            return None
        # Least recently used goes first: the access time is the use, the modification time
        # stays the download's (the age limit counts from it).
        with contextlib.suppress(OSError):
            os.utime(paths.complete, ns=(time.time_ns(), stat.st_mtime_ns))
        return CachedRecording(self, paths, fd, total=stat.st_size, complete=True)

    def _open_part(self, paths: _Paths, state: dict[str, Any]) -> CachedRecording | None:
        try:
            fd = os.open(paths.part, os.O_RDONLY)
        except FileNotFoundError:
            return None
        if os.fstat(fd).st_ino != state.get("inode"):
            os.close(fd)  # a stale part, or one replaced since the state was read
            return None
        total = state.get("total")
        return CachedRecording(
            self, paths, fd, total=total if isinstance(total, int) else None, complete=False
        )

    # -- filling ----------------------------------------------------------------------------

    def _start_fill(
        self, record_id: int, customer_id: int | None, expected_size: int | None
    ) -> None:
        """Start downloading, unless some thread of some process already is."""
        paths = self.paths(record_id)
        lock_fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            return
        try:
            if paths.complete.exists():
                raise FileExistsError  # another download finished meanwhile
            _unlink(paths.part)
            part_fd = os.open(paths.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
            return
        inode = os.fstat(part_fd).st_ino
        _write_json(paths.state, {"state": "filling", "total": None, "inode": inode})
        thread = threading.Thread(
            target=self._fill,
            args=(record_id, customer_id, expected_size, paths, lock_fd, part_fd, inode),
            name=f"audio-fill-{record_id}",
            daemon=True,
        )
        thread.start()

    def _fill(
        self,
        record_id: int,
        customer_id: int | None,
        expected_size: int | None,
        paths: _Paths,
        lock_fd: int,
        part_fd: int,
        inode: int,
    ) -> None:
        """Download the whole recording into its part file, then rename it into place.

        Asks for ``bytes=0-``: an upstream that honours Range then states the length in
        Content-Range even when it sends no Content-Length, so readers can answer ranges
        before the download ends. The download runs to the end even if the listener who
        started it leaves: the next listener, the waveform and the download use it.
        """
        written = 0
        try:
            with vono.get_client().open_recording(
                record_id, customer_id=customer_id, range_header="bytes=0-"
            ) as stream:
                total = _stated_total(stream)
                chunks: Iterator[bytes]
                if stream.status == 416:  # an empty recording has no byte 0
                    total, chunks = 0, iter(())
                else:
                    chunks = stream.chunks
                _write_json(
                    paths.state,
                    {"state": "filling", "total": total, "inode": inode, "answered": True},
                )
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        done = os.write(part_fd, view)
                        view = view[done:]
                    written += len(chunk)
                    if os.fstat(part_fd).st_nlink == 0:
                        logger.info("recording %s: purged while downloading; stopped", record_id)
                        return
                    if total is not None and written > total:
                        raise vono.VonoProtocolError("The recording is longer than announced")
            if total is not None and written != total:
                raise vono.VonoProtocolError("The recording's download was cut short")
            if total is None and expected_size and written < expected_size * SHORTFALL:
                # Without a length or chunked coding, a cut connection looks like the end.
                raise vono.VonoProtocolError("The recording's download ended short of its size")
            if not _is_inode(paths.part, inode):
                logger.info("recording %s: purged while downloading; not kept", record_id)
                return
            _write_json(paths.state, {"state": "done", "total": written, "inode": inode})
            os.utime(part_fd)  # just used, and downloaded now: the newest for LRU and for age
            try:
                os.rename(paths.part, paths.complete)
            except FileNotFoundError:
                logger.info("recording %s: purged while downloading; not kept", record_id)
        except (vono.VonoError, OSError) as exc:
            if isinstance(exc, OSError):  # the disk, not the upstream: say so in the log
                logger.error("recording %s: cannot write the audio cache: %s", record_id, exc)
                exc = vono.VonoUnavailable("The audio cache cannot be written")
            else:
                logger.warning("recording %s: download failed: %s", record_id, exc)
            if _is_inode(paths.part, inode):
                _write_json(
                    paths.state,
                    {"state": "failed", "error": _error_kind(exc), "message": _message(exc)}
                    | {"inode": inode},
                )
                _unlink(paths.part)
        finally:
            os.close(part_fd)
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
        self.prune()

    # -- keeping it small -------------------------------------------------------------------

    def purge(self, record_ids: list[int]) -> None:
        """Forget recordings at once (they were deleted upstream), downloads in progress too.

        A download in progress finds its part file gone when it ends and keeps nothing; its
        readers stop.
        """
        for record_id in record_ids:
            paths = self.paths(record_id)
            for path in (paths.part, paths.complete, paths.state):
                _unlink(path)

    def prune(self) -> dict[str, int]:
        """Drop files past their age, then the least recently used beyond the size limit."""
        now = time.time()
        kept: list[tuple[bool, float, int, Path]] = []
        expired = evicted = 0
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return {"expired": 0, "evicted": 0}
        for entry in entries:
            if not entry.name.endswith(".mp3"):
                continue
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue
            path = Path(entry.path)
            if now - stat.st_mtime > self.max_age:
                self._drop(path)
                expired += 1
            else:
                # A file downloaded just now goes after the others: its readers may still be
                # learning that it is complete.
                settling = now - stat.st_mtime < _SETTLING
                kept.append((settling, stat.st_atime, stat.st_size, path))
        size = sum(s for _, _, s, _ in kept)
        for _, _, file_size, path in sorted(kept):
            if size <= self.max_bytes:
                break
            self._drop(path)
            size -= file_size
            evicted += 1
        for entry in entries:  # parts whose download died with its process
            stem = entry.name.removesuffix(".part")
            if entry.name.endswith(".part") and stem.isdigit():
                paths = self.paths(int(stem))
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > self.stall_timeout and not _filler_alive(
                        paths.lock
                    ):
                        _unlink(paths.part)
        return {"expired": expired, "evicted": evicted}

    def _drop(self, complete: Path) -> None:
        _unlink(complete)  # readers that have it open keep reading: the inode lives on
        _unlink(complete.with_suffix(".json"))


def _stated_total(stream: vono.RecordingStream) -> int | None:
    """The full length, if the upstream said it; a 206 must hold the whole recording."""
    if stream.status == 206:
        span = parse_content_range(stream.content_range)
        if span is None or span[0] != 0:
            raise vono.VonoProtocolError("The Vono API answered another range than asked")
        if span[2] is not None and span[1] != span[2] - 1:
            raise vono.VonoProtocolError("The Vono API sent part of the recording only")
        return span[2]
    if stream.status == 200:
        return stream.content_length
    return 0


def _filler_alive(lock: Path) -> bool:
    """Whether some thread of some process holds the download lock."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EACCES)
    finally:
        os.close(fd)  # closing releases a shared lock we may have taken
    return False


def _is_inode(path: Path, inode: int) -> bool:
    try:
        return path.stat().st_ino == inode
    except FileNotFoundError:
        return False


def _message(exc: vono.VonoError) -> str:
    return exc.reason if isinstance(exc, vono.VonoRejected) else str(exc)


def _failure(state: dict[str, Any]) -> vono.VonoError:
    """The error a failed download ended with, as its own class, in any process."""
    message = str(state.get("message") or "The recording's download failed")
    if state.get("error") == "rejected":
        return vono.VonoRejected(message)
    return _ERRORS.get(str(state.get("error")), vono.VonoUnavailable)(message)


class CachedRecording:
    """One open recording: complete, or growing while its download runs.

    Reads wait for bytes not yet downloaded, for as long as the download makes progress.
    """

    def __init__(
        self,
        cache: AudioCache,
        paths: _Paths,
        fd: int,
        *,
        total: int | None,
        complete: bool,
    ) -> None:
        self._cache = cache
        self._paths = paths
        self.fd = fd
        self.total = total
        self.complete = complete
        self._inode = os.fstat(fd).st_ino
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)

    def __enter__(self) -> CachedRecording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_total(self) -> int:
        """The full length; waits for the download to end when the upstream did not say."""
        while self.total is None:
            self._wait_beyond(os.fstat(self.fd).st_size)
        return self.total

    def wait_for(self, offset: int) -> None:
        """Return once byte ``offset`` is on disk (or the recording is shorter)."""
        while not self.complete and os.fstat(self.fd).st_size <= offset:
            if self.total is not None and offset >= self.total:
                return
            self._wait_beyond(os.fstat(self.fd).st_size)

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset``; waits for them; b"" only past the end."""
        while True:
            data = os.pread(self.fd, size, offset)
            if data or self.complete or (self.total is not None and offset >= self.total):
                return data
            self._wait_beyond(offset)

    def chunks(self, first: int, last: int | None) -> Generator[bytes]:
        """Bytes ``first`` to ``last`` inclusive (None: to the end), as they arrive."""
        offset = first
        while last is None or offset <= last:
            want = READ_CHUNK if last is None else min(READ_CHUNK, last - offset + 1)
            data = self.read(offset, want)
            if not data:
                if last is None:
                    return
                raise vono.VonoProtocolError("The recording ended before the range asked for")
            offset += len(data)
            yield data

    def _wait_beyond(self, size: int) -> None:
        """Wait until the file grows past ``size`` bytes, or its download ends."""
        delay = _POLL_FIRST
        deadline = time.monotonic() + self._cache.stall_timeout
        while True:
            if os.fstat(self.fd).st_size > size:
                return
            if self._settled():
                return
            if time.monotonic() > deadline:
                raise vono.VonoTimeout("The recording's download stalled")
            time.sleep(delay)
            delay = min(_POLL_MAX, delay * 2)

    def _settled(self) -> bool:
        """Whether the download ended well (then ``total`` is set); raises if it failed."""
        if self.total is not None and os.fstat(self.fd).st_size >= self.total:
            self.complete = True  # every byte is here, whatever became of the files since
            return True
        state = _read_json(self._paths.state)
        if state is not None and state.get("inode") == self._inode:
            if state.get("state") == "done":
                self.total, self.complete = int(state["total"]), True
                return True
            if state.get("state") == "failed":
                raise _failure(state)
            if isinstance(state.get("total"), int):
                self.total = state["total"]
            if _filler_alive(self._paths.lock):
                return False
            state = _read_json(self._paths.state)  # it may have ended just now
            if state is not None and state.get("state") in ("done", "failed"):
                return self._settled()
            raise CacheGone("The recording's download stopped")
        try:
            if self._paths.complete.stat().st_ino == self._inode:
                self.complete, self.total = True, os.fstat(self.fd).st_size
                return True
        except FileNotFoundError:
            pass
        raise CacheGone("The recording is no longer available")


_lock = threading.Lock()
_instance: AudioCache | None = None


def get_cache() -> AudioCache:
    """The cache the ``AUDIO_CACHE_*`` settings describe, shared by the whole process."""
    global _instance
    with _lock:
        if _instance is None or _instance.directory != Path(settings.AUDIO_CACHE_DIR):
            read = float(settings.VONO_READ_TIMEOUT)
            connect = float(settings.VONO_CONNECT_TIMEOUT)
            _instance = AudioCache(
                Path(settings.AUDIO_CACHE_DIR),
                max_bytes=int(settings.AUDIO_CACHE_MB) * 1024 * 1024,
                max_age=float(settings.AUDIO_CACHE_HOURS) * 3600,
                # A download that says nothing for longer than the client would wait for it
                # (with its retries) is dead, even if its thread has not noticed yet.
                stall_timeout=(connect + read) * (int(settings.VONO_RETRIES) + 1) + 2,
            )
        return _instance


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _instance
    if setting.startswith(("AUDIO_CACHE_", "VONO_")):
        with _lock:
            _instance = None


def connect_settings_signal() -> None:
    from django.test.signals import setting_changed

    setting_changed.connect(_settings_changed, dispatch_uid="audio.cache.settings")


def purge(record_ids: list[int]) -> None:
    """Forget deleted recordings: called in the same step that deletes them upstream."""
    get_cache().purge(record_ids)
