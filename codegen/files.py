"""Writing a user's output file: whole or not at all, and never replacing what is not a file.

- A regular file (or a new one) is written to a temporary file beside it and renamed over it
  (``os.replace``): a full disk or a crash leaves the earlier content, never a truncated file,
  and the temporary file is removed on any error. The old file's permission bits are kept.
  (A writable file in a directory we may not write is written in place: the only way.)
- A symlink is followed: its target is written (atomically, if it is a regular file), the
  link stays.
- A device, FIFO or socket (``/dev/stdout``, ``/dev/null``, a named pipe) is written through
  in place, never replaced by a regular file.
- A directory, or a path whose directory does not exist, is a ``FormulaError`` naming it.
"""
import os
import stat
import tempfile

from symdiff.errors import FormulaError


def check_target(path):
    """(real path, its stat or None) of a path we may write; FormulaError if we may not.
    Lets a command refuse a bad output path before it spends time computing the output."""
    path = os.fspath(path)
    target = os.path.realpath(path)   # through symlinks (a dangling one: its target is created)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise FormulaError(f"cannot write {path!r}: {exc.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise FormulaError(f"cannot write {path!r}: it is a directory", hint="give a file name")
    if st is None and not os.path.isdir(os.path.dirname(target)):
        raise FormulaError(f"cannot write {path!r}: directory {os.path.dirname(path) or '.'!r} "
                           "does not exist", hint="create it first")
    return target, st


def write_file(path, data):
    """Write ``data`` (str: UTF-8 text, or bytes) to ``path`` as described above; returns path."""
    path = os.fspath(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    target, st = check_target(path)
    try:
        if st is not None and not stat.S_ISREG(st.st_mode):   # device, FIFO, socket: write through
            with open(target, "wb") as f:
                f.write(raw)
            return path
        _replace(target, raw, st)
    except OSError as exc:
        raise FormulaError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    return path


def _replace(target, raw, st):
    directory, name = os.path.split(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    except PermissionError:
        if st is None or not os.access(target, os.W_OK):
            raise
        with open(target, "wb") as f:   # a writable file in a directory we may not write:
            f.write(raw)                  # in place is the only way (not atomic)
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask():
    """The process umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
