"""Fixtures for the bad-input suite: one server for the module (kind from
SERVER_KIND, default zabd) on a free loopback port via ../server.sh, stopped
by its pid file; a well-behaved client per test that must still be served
after the bad one; and a check that zabd logged the bad input.
"""
import os
import shutil
import subprocess
import tempfile
import time

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402

import pytest

from rawwire import CREATE, GETDATA, Raw, create_body, ustr

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SH = os.path.join(HERE, '..', 'server.sh')
KIND = os.environ.get('SERVER_KIND', 'zabd')
TEST_TIMEOUT_S = 30


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture(scope='module')
def server():
    """(port, dir) of a running server."""
    d = tempfile.mkdtemp(prefix='badinput-')
    port = int(subprocess.check_output([SERVER_SH, 'freeport']).decode())
    subprocess.check_call([SERVER_SH, 'start', KIND, d, str(port)], stdout=subprocess.DEVNULL)
    try:
        # ZooKeeper answers ruok a moment before it accepts sessions.
        deadline = time.monotonic() + 30
        while True:
            try:
                Raw(port).close()
                break
            except (ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port, d
    finally:
        subprocess.call([SERVER_SH, 'stop', d])
    if os.environ.get('BADINPUT_KEEP') is None:
        shutil.rmtree(d, ignore_errors=True)


def round_trip(c):
    """A create then a getData on c; asserts both are answered correctly."""
    name = '/bystander-%d-%d' % (os.getpid(), time.monotonic_ns())
    err, body = c.request(CREATE, create_body(name, b'still-served'))
    assert err == 0, 'the well-behaved client is no longer served (create: %d)' % err
    assert body == ustr(name)
    err, body = c.request(GETDATA, ustr(name) + b'\0')
    assert err == 0, 'the well-behaved client is no longer served (getData: %d)' % err
    assert body[:16] == ustr(b'still-served')


@pytest.fixture
def bystander(server):
    """A well-behaved client connected before the bad one; each test's
    teardown checks it is still served."""
    c = Raw(server[0])
    round_trip(c)
    yield c
    round_trip(c)
    c.close()


@pytest.fixture
def logged(server):
    """logged(client, needle): for zabd, waits up to 5 s for a server.log
    line that names the client (address or session) and contains needle.
    Always true for ZooKeeper, whose log this setup does not keep (no SLF4J
    binding on the classpath)."""
    def check(client, needle, within=5.0):
        if KIND != 'zabd':
            return True
        path = os.path.join(server[1], 'server.log')
        deadline = time.monotonic() + within
        while True:
            with open(path, errors='replace') as f:
                for line in f:
                    if needle in line and any(i in line for i in client.ids()):
                        return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
    return check
