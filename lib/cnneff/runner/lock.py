"""One ``cnneff run`` of a notebook into a results folder at a time:
``<folder>/.NAME.lock``, held with ``fcntl.flock`` and naming its holder's
pid (as :func:`cnneff.train.checkpoint.locked` does for checkpoint folders).
The kernel releases a dead holder's lock; the next run takes it over with a
notice and cleans up what the dead run left."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from .params import RunError

__all__ = ["LockBusy", "run_lock", "lock_path", "is_locked"]


def lock_path(folder: Path, name: str) -> Path:
    """The lock file of notebook ``name`` in results folder ``folder``."""
    return Path(folder) / f".{name}.lock"


def _alive(pid: int) -> bool:
    """True if process ``pid`` exists (signal 0 reaches it, or it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(fd: int) -> int | None:
    """The pid written in the open lock file ``fd`` (None if it holds none)."""
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def is_locked(folder: Path, name: str) -> int | None:
    """The pid of a live process holding the lock of ``name`` in ``folder``
    (without taking it); None when nobody holds it."""
    path = lock_path(folder, name)
    if not path.is_file():
        return None
    try:
        with run_lock(folder, name, quiet=True):
            return None
    except LockBusy as e:
        return e.pid


class LockBusy(RunError):
    """Another live process holds the lock; ``pid`` names it (None if unknown)."""

    def __init__(self, message: str, pid: int | None):
        super().__init__(message)
        self.pid = pid


def _acquire(path: Path, name: str, folder: Path) -> int:
    """Open and flock ``path`` (retrying if another process replaced the file
    between open and flock).  Returns the descriptor; LockBusy if it is held."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _holder(fd)
            os.close(fd)
            who = f"process {pid}" if pid else "another process"
            raise LockBusy(f"notebook {name!r} is already running into {folder} ({who} holds {path}); wait for it "
                           "to finish, or pass --out DIR to run it elsewhere; nothing was run", pid) from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed the file as we opened it: try the new one


@contextlib.contextmanager
def run_lock(folder: Path, name: str, quiet: bool = False):
    """Hold ``folder/.NAME.lock`` while the block runs, writing this pid into
    it, and remove it on release.  Raises :class:`LockBusy` (a one-line
    message naming the holder's pid and the fix) if a live process holds it.
    A lock file left by a killed process is taken over with one ``cnneff:
    notice:`` line on stderr (unless ``quiet``, which also leaves the file as
    it is).  Yields the pid of the dead holder, or None."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield None
        return
    folder = Path(folder)
    path = lock_path(folder, name)
    folder.mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, name, folder)
    try:
        dead = _holder(fd)
        dead = dead if dead and dead != os.getpid() and not _alive(dead) else None
        if dead and not quiet:
            print(f"cnneff: notice: taking over {path} from process {dead}, which is no longer running; "
                  "cleaning up what it left", file=sys.stderr)
        if not quiet:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError as e:
                path.unlink(missing_ok=True)
                raise RunError(f"cannot write the lock file {path} ({e.strerror or e}); free disk space or make "
                               f"{folder} writable; nothing was run") from None
        try:
            yield dead
        finally:
            if not quiet:
                path.unlink(missing_ok=True)  # still held: a process that opened it now retries (_acquire)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
