"""Content-hashed cache of generated modules, as real ``.py`` files.

Numba can only cache (``cache=True``) functions that live in real files, so every generated
module is written to ``<cache dir>/sd_<hash>.py`` and imported from there; Numba keeps its
compiled code beside it in ``__pycache__``. A new process that asks for the same source
finds the file and Numba's cache, and does not recompile.

- The directory is ``$SYMDIFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/symdiff``, else
  ``~/.cache/symdiff``. If it cannot be written, a private temporary directory is used,
  with a warning (and removed when the process exits).

Trust model: the cache directory is code. Numba's cache index (``__pycache__/*.nbi``) is a
pickle and its ``.nbc`` files are machine code, so whoever can write into the directory can
run code in every process that uses it; its permissions are the security boundary. So the
directory is created ``0700``, and one that is not owned by the current user or that group
or others may write (``0777``, ``1777``) is refused, with a warning, for a private temporary
directory. Within it, a module's text is verified against its SHA-256 line and the verified
text itself is compiled and run (``exec``), never re-read through the import system, so a
``.pyc`` planted in ``__pycache__`` is never used.
- Writes are atomic (temporary file + ``os.replace``), so readers never see half a file.
- Every file ends with a line holding the SHA-256 of its source. A file whose content does
  not match (truncated, garbage, half-written by a crashed process) is rewritten; a file
  that holds a *different* valid module (two sources colliding on the short hash) is left
  alone and the next free name ``sd_<hash>_1.py`` is used. A wrong module is never loaded.
"""
import atexit
import hashlib
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import warnings

ENV_VAR = "SYMDIFF_CACHE_DIR"
HASH_CHARS = 20
_MARK = "# symdiff-sha256: "
_fallback_dir = None


def cache_dir():
    path = os.environ.get(ENV_VAR)
    if not path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "symdiff")
    return path


def untrusted(path):
    """Why the directory at ``path`` may not hold our code (someone else could write into
    it), or None. Not checked where there are no POSIX owners (Windows)."""
    if not hasattr(os, "getuid"):
        return None
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if st.st_uid != os.getuid():
        return f"it belongs to user id {st.st_uid}, not to you ({os.getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"others may write into it (mode {stat.S_IMODE(st.st_mode):04o}); chmod 700 it"
    pycache = os.path.join(path, "__pycache__")   # where Numba keeps its index (a pickle)
    if os.path.lexists(pycache):
        why = untrusted(pycache) if not os.path.islink(pycache) else "it is a symlink"
        if why:
            return f"its __pycache__ is not private: {why}"
    return None


def _writable_dir():
    path = cache_dir()
    try:
        if not os.path.isdir(path):
            os.makedirs(path, mode=0o700, exist_ok=True)
        why = untrusted(path)
        if why:
            raise PermissionError(f"not a private directory: {why}")
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe", delete=True)
        probe.close()
        return path
    except OSError as exc:
        if _fallback_dir is None:
            _fallback()
            warnings.warn(f"symdiff: cache directory {path!r} is not usable ({exc}); "
                          f"using {_fallback_dir} for this process. Set {ENV_VAR} to fix it.",
                          RuntimeWarning, stacklevel=3)
        return _fallback_dir


def digest(source):
    return hashlib.sha256(source.rstrip().encode("utf-8")).hexdigest()


def file_text(source):
    """What is stored: the source plus a last line with its hash."""
    body = source.rstrip()
    return f"{body}\n\n{_MARK}{digest(body)}\n"


def _state(path, text, full):
    """'same', 'missing', 'broken' (ours to rewrite) or 'other' (another valid module)."""
    try:
        with open(path, encoding="utf-8") as f:
            found = f.read()
    except FileNotFoundError:
        return "missing"
    except (OSError, UnicodeDecodeError):
        return "broken"
    if found == text:
        return "same"
    at = found.rfind("\n\n" + _MARK)
    if at >= 0 and found.endswith("\n"):
        stored = found[at + 2 + len(_MARK):-1]
        if stored != full and digest(found[:at]) == stored:
            return "other"
    return "broken"


def _atomic_write(path, text):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def store(source, directory=None):
    """Path of a file holding exactly ``source`` (written if needed)."""
    directory = directory or _writable_dir()
    full = digest(source)
    text = file_text(source)
    for k in range(100):
        name = f"sd_{full[:HASH_CHARS]}" + (f"_{k}" if k else "")
        path = os.path.join(directory, name + ".py")
        state = _state(path, text, full)
        if state == "same":
            return path
        if state in ("missing", "broken"):
            if state == "broken":
                warnings.warn(f"symdiff: rebuilding damaged cache file {path}", RuntimeWarning,
                              stacklevel=3)
                _drop_numba_cache(path)
            try:
                _atomic_write(path, text)
            except OSError as exc:   # full disk, read-only, deleted directory...
                if directory == _fallback_dir:
                    raise
                try:   # the directory may have been deleted while we ran: recreate it once
                    os.makedirs(directory, exist_ok=True)
                    _atomic_write(path, text)
                    return path
                except OSError:
                    pass
                warnings.warn(f"symdiff: cannot write kernel cache file {path} ({exc}); "
                              "using a temporary directory for this process", RuntimeWarning,
                              stacklevel=3)
                return store(source, _fallback())
            return path
    return store(source, _fallback())


def _fallback():
    """A private (0700) temporary directory for this process, removed when it exits."""
    global _fallback_dir
    if _fallback_dir is None:
        _fallback_dir = tempfile.mkdtemp(prefix="symdiff-cache-")
        atexit.register(_remove_fallback, _fallback_dir, os.getpid())
    return _fallback_dir


def _remove_fallback(path, pid):
    if os.getpid() == pid:   # not from a forked child: the parent still uses it
        shutil.rmtree(path, ignore_errors=True)


def _drop_numba_cache(path):
    """Remove Numba's cached code for a module file (it may belong to old content)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    pycache = os.path.join(os.path.dirname(path), "__pycache__")
    try:
        names = os.listdir(pycache)
    except OSError:
        return
    for name in names:
        if name.startswith(stem + "."):
            try:
                os.unlink(os.path.join(pycache, name))
            except OSError:
                pass


def _package(directory):
    """The ``symdiff_kernels`` package that cached modules live in: Numba looks a module up
    by name when it pickles references (object-mode callbacks), so the parent must exist."""
    package = sys.modules.get("symdiff_kernels")
    if package is None:
        import types
        package = types.ModuleType("symdiff_kernels", "symdiff's generated kernel modules")
        package.__path__ = []
        sys.modules["symdiff_kernels"] = package
    if directory not in package.__path__:
        package.__path__.append(directory)
    return package


def load(source):
    """Import the module holding ``source`` from the cache directory."""
    path = store(source)
    _package(os.path.dirname(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    module_name = f"symdiff_kernels.{stem}"
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__file__", None) == path:
        return module
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:   # the verified text itself, not whatever the import system would read (a .pyc)
        exec(compile(file_text(source), path, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def load_plain(source, namespace=None, compile_source=None):
    """Import the module holding ``source`` a second time, untouched by Numba: ``namespace``
    is bound first, and ``compile_source(text, path)`` (default: ``compile``) makes its code."""
    path = store(source)
    stem = os.path.splitext(os.path.basename(path))[0]
    _package(os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(f"symdiff_kernels.{stem}_python", path)
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(namespace or {})
    code = (compile_source or (lambda text, name: compile(text, name, "exec")))(file_text(source), path)
    exec(code, module.__dict__)   # our generated module (its text is the stored file's)
    return module
