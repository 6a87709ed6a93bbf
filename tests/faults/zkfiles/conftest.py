"""Fixtures for the zkfiles suite: real Apache ZooKeeper 3.8 and real zabd
started one after the other on the same data directory (or a copy), through
tests/integration/server.sh, on a free 127.0.0.1 port. Directories are
removed afterwards (kept, and named, with ZKFILES_KEEP=1); servers are stopped by the pid server.sh recorded."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402

import pytest  # noqa: E402

from zkfiles_support import Servers  # noqa: E402

TEST_TIMEOUT_S = int(os.environ.get('ZKFILES_TEST_TIMEOUT_S', '180'))


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture
def servers():
    d = tempfile.mkdtemp(prefix='zkfiles-')
    s = Servers(d)
    yield s
    s.close()
    if os.environ.get('ZKFILES_KEEP') == '1':
        print('zkfiles: kept', d)
    else:
        shutil.rmtree(d, ignore_errors=True)
