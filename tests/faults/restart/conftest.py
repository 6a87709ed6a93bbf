"""Fixtures for the restart suite.

Each test gets its own server (kind from SERVER_KIND, default zabd) in a fresh
temporary directory on a free 127.0.0.1 port, started and stopped with
tests/integration/server.sh, so a test can kill and restart it on the same
data dir and port. The directory is removed afterwards.
"""
import os
import shutil
import signal
import tempfile

import pytest

from restart_support import Server

# Hard bound per test: a kazoo call waits forever for a reply that never
# comes, so a server that swallows a request must not hang the suite.
TEST_TIMEOUT_S = int(os.environ.get('RESTART_TEST_TIMEOUT_S', '90'))


class HardTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _bounded_test():
    def expired(signum, frame):
        raise HardTimeout('test exceeded %d s' % TEST_TIMEOUT_S)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


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
