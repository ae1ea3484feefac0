import os
import tempfile

import pytest
from hypothesis import settings

# A private kernel cache for the whole test session (tests that need their own make one).
os.environ.setdefault("SYMDIFF_CACHE_DIR", tempfile.mkdtemp(prefix="symdiff-test-cache-"))

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh, empty kernel cache directory for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True, scope="module")
def _drop_background_compiles_at_module_end():
    """At the end of each test file, drop the background compiles still queued (not the
    one running), as a script that ends drops them: most are for kernels that file's
    tests made and no later test uses, and compiling them anyway made the whole run
    ~10% longer. Their jobs are marked lost, like a fork's; tiers that still hold one
    queue it again when called."""
    yield
    from codegen import background
    with background._lock:
        dropped = list(background._queue)
        background._queue.clear()
    for job in dropped:
        job.lost = True
        job._event.set()
