"""All or nothing per run.  A run writes everything into a staging folder
beside its results, ``<folder>/.NAME.staging/``:

* ``NAME.ipynb``: papermill's executed copy,
* ``out/<folder>/...``: what the kernel writes (``CNNEFF_OUTPUT_DIR`` points
  there; the notebook's ``metrics.json``, ``details.json``, figures, tables),
* ``NAME.stamp.json``: written last, with the list of files the run produced.

Only when the whole notebook succeeded does :func:`commit` write a journal
``<folder>/.NAME.commit.json`` (the moves and deletions, fsynced) and then
rename every file into place, the stamp last; :func:`finish_commit` replays
a journal that a killed run left, so SIGKILL between two renames never leaves
a mix for longer than until the next run.  A failed run leaves the last good
run's files byte-identical and keeps a valid ``NAME.failed.ipynb``
(:func:`keep_failed`).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from pathlib import Path, PurePosixPath

__all__ = ["staging_dir", "journal_path", "failed_marker", "prepare_staging", "discard_staging", "commit", "finish_commit",
           "keep_failed", "CommitIncomplete", "JOURNAL_SUFFIX"]

JOURNAL_SUFFIX = ".commit.json"


class CommitIncomplete(OSError):
    """The moves into place stopped part-way (the journal stays: the next run finishes them)."""


def staging_dir(folder: Path, name: str) -> Path:
    """The staging folder of notebook ``name`` in results folder ``folder``."""
    return Path(folder) / f".{name}.staging"


def failed_marker(folder: Path, name: str) -> Path:
    """The empty file that says the last run of ``name`` failed when not even
    a note could be kept (a full disk); the next good run removes it."""
    return Path(folder) / f".{name}.failed"


def journal_path(folder: Path, name: str) -> Path:
    """The commit journal of notebook ``name`` in results folder ``folder``."""
    return Path(folder) / f".{name}{JOURNAL_SUFFIX}"


def prepare_staging(folder: Path, name: str) -> Path:
    """Finish an interrupted commit (:func:`finish_commit`), remove what a
    dead run left (its staging folder, an old ``.NAME.running.ipynb``) and
    create an empty staging folder.  Call it holding the run's lock.  Returns the staging folder."""
    finish_commit(folder, name)
    staging = staging_dir(folder, name)
    shutil.rmtree(staging, ignore_errors=True)
    (Path(folder) / f".{name}.running.ipynb").unlink(missing_ok=True)
    (staging / "out").mkdir(parents=True)
    return staging


def discard_staging(folder: Path, name: str) -> None:
    """Remove the staging folder of ``name`` (nothing in place changes),
    unless a commit journal still needs it (the next run finishes that
    commit from it).  Returns None."""
    if not journal_path(folder, name).exists():
        shutil.rmtree(staging_dir(folder, name), ignore_errors=True)


def _manifest(stamp_file: Path) -> list[str]:
    """The files a committed run produced, as its stamp lists them ([] for an
    older stamp, or one that cannot be read)."""
    try:
        files = json.loads(stamp_file.read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [f for f in files if isinstance(f, str)]


def commit(folder: Path, name: str, stamp: dict) -> None:
    """Move a successful run from its staging folder into ``folder``: every
    file the kernel wrote under ``out/<folder name>/``, the executed notebook,
    then the stamp (``stamp`` plus ``files``, the list of those files);
    files the previous good run produced that this one did not, and
    ``NAME.failed.ipynb``, are deleted.  The journal is written (and fsynced)
    before the first rename and removed after the last; SIGTERM/SIGINT wait
    until the moves are done.  Raises OSError if the journal or the stamp
    cannot be written (nothing has moved then) and :class:`CommitIncomplete`
    if a rename fails part-way (the next run finishes it).  Returns None."""
    from ..core import atomic_write_text

    folder = Path(folder)
    staging = staging_dir(folder, name)
    produced = staging / "out" / folder.name
    files = sorted(p.relative_to(produced).as_posix() for p in produced.rglob("*") if p.is_file()) \
        if produced.is_dir() else []
    atomic_write_text(staging / f"{name}.stamp.json", json.dumps({**stamp, "files": files}, indent=1) + "\n")
    moves = [(f"{staging.name}/out/{folder.name}/{f}", f) for f in files]
    moves += [(f"{staging.name}/{name}.ipynb", f"{name}.ipynb"), (f"{staging.name}/{name}.stamp.json",
                                                                  f"{name}.stamp.json")]
    stale = [f for f in _manifest(folder / f"{name}.stamp.json") if f not in files]
    journal = dict(moves=moves, delete=stale + [f"{name}.failed.ipynb", failed_marker(folder, name).name],
                   staging=staging.name)
    _write_journal(journal_path(folder, name), journal)
    with _signals_held():
        _apply(folder, journal)
        journal_path(folder, name).unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def _write_journal(path: Path, journal: dict) -> None:
    """Write the journal atomically and fsynced: it is complete or absent."""
    from ..core import atomic_open

    with atomic_open(path, "w", fsync=True) as f:
        f.write(json.dumps(journal, indent=1) + "\n")


@contextlib.contextmanager
def _signals_held():
    """Block SIGTERM and SIGINT while the block runs (delivered after it)."""
    held = {signal.SIGTERM, signal.SIGINT}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):
        old = None
    try:
        yield
    finally:
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _inside(rel: str) -> bool:
    """True for a relative path that stays inside its folder (a journal is data, not an instruction)."""
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts


def _apply(folder: Path, journal: dict) -> None:
    """Do the journal's moves (each source still there is renamed over its
    destination: replaying a half-done journal finishes it) and deletions.  Returns None."""
    moves, delete = journal.get("moves", []), journal.get("delete", [])
    if not all(isinstance(m, (list, tuple)) and len(m) == 2 and all(map(_inside, m)) for m in moves) \
            or not all(_inside(d) for d in delete):
        raise CommitIncomplete(f"{folder}: a commit journal names paths outside the folder; delete it")
    try:
        for src, dst in moves:
            s, d = folder / src, folder / dst
            if s.is_file():
                d.parent.mkdir(parents=True, exist_ok=True)
                os.replace(s, d)
        for rel in delete:
            (folder / rel).unlink(missing_ok=True)
    except OSError as e:
        raise CommitIncomplete(f"the results of this run could not all be moved into {folder} "
                               f"({e.strerror or e}); the next `cnneff run` of it finishes the move") from None


def finish_commit(folder: Path, name: str) -> bool:
    """Replay the journal a killed commit of ``name`` left in ``folder``, if
    any (call it holding the run's lock).  Returns True if one was finished."""
    path = journal_path(folder, name)
    try:
        journal = json.loads(path.read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):  # written atomically, so never half a journal; unreadable: drop it
        path.unlink(missing_ok=True)
        return False
    with _signals_held():
        _apply(Path(folder), journal)
        path.unlink(missing_ok=True)
        shutil.rmtree(Path(folder) / str(journal.get("staging", f".{name}.staging")), ignore_errors=True)
    return True


def _valid_notebook(path: Path) -> bool:
    """True if ``path`` holds a whole notebook (valid JSON with a list of cells)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(nb, dict) and isinstance(nb.get("cells"), list)


def keep_failed(executed: Path, failed: Path, name: str, why: str) -> str:
    """Keep a failed run's executed copy as ``failed`` (always valid JSON):
    papermill's copy if it is a whole notebook, else a small notebook that
    holds the error.  Its modification time is now, so it is newer than the
    last good run's stamp.  Returns the clause the error line ends with (where
    the copy is, or why none could be kept)."""
    from ..core import atomic_write_text

    if executed.is_file() and _valid_notebook(executed):
        try:
            os.replace(executed, failed)
            os.utime(failed)
            return f"the failed run is kept in {failed}"
        except OSError:
            pass
    import nbformat

    state = "cut short (not valid JSON)" if executed.is_file() else "never written"
    executed.unlink(missing_ok=True)  # its room (on a full disk) goes to the note
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        f"# `{name}` failed\n\nThe run stopped with:\n\n```\n{why}\n```\n\n"
        f"papermill's executed copy was {state}, so this note takes its place.")])
    try:
        atomic_write_text(failed, nbformat.writes(nb))
    except OSError as e:  # an older failed copy, if any, stays: it is newer than the stamp, so still stale
        with contextlib.suppress(OSError):
            failed_marker(failed.parent, name).touch()  # an empty file needs no room: --cached still sees it
        return f"no copy of the failed run could be kept ({e.strerror or e})"
    return f"papermill's copy was {state}; a note holding the error is kept in {failed}"
