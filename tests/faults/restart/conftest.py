"""Fixtures for the restart suite.

Each test gets its own server (kind from SERVER_KIND, default zabd) in a fresh
temporary directory on a free 127.0.0.1 port, started and stopped with
tests/integration/server.sh, so a test can kill and restart it on the same
data dir and port. The directory is removed afterwards.
"""
import os
import shutil
import tempfile

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402

import pytest

from restart_support import Server

# Hard bound per test: a kazoo call waits forever for a reply that never
# comes, so a server that swallows a request must not hang the suite.
TEST_TIMEOUT_S = int(os.environ.get('RESTART_TEST_TIMEOUT_S', '90'))


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture
def server(request):
    s = Server(*getattr(request, 'param', ()))
    yield s
    s.close()


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix='restart-')
    yield d
    shutil.rmtree(d, ignore_errors=True)
