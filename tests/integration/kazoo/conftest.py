"""Fixtures for the kazoo integration suite.

One server per test session (kind from SERVER_KIND, default zabd) started by
tests/integration/server.sh on a free loopback port and stopped by its pid
file at the end.  Every test gets a connected KazooClient and a unique root
path of its own, so tests never see each other's znodes.

With ENSEMBLE=3 in the environment, server.sh starts a 3-member ensemble
instead and Server.hosts lists every member: kazoo shuffles that list, so
the clients of one test land on different members.  Server.port is then
member 1's client port (for raw sockets and four-letter words) and
Server.member_dir member 1's directory.
"""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402

import pytest
from kazoo.client import KazooClient

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SH = os.path.join(HERE, '..', 'server.sh')
SERVER_KIND = os.environ.get('SERVER_KIND', 'zabd')
ENSEMBLE = bool(os.environ.get('ENSEMBLE'))

# Settings every server of this suite gets.  zabd reads all of them from
# zoo.cfg.  Apache ZooKeeper reads znode.container.checkIntervalMs only as a
# JVM system property, which server.sh does not pass; start_server hands it
# over through JAVA_TOOL_OPTIONS (picked up by any JVM) so the container and
# TTL reaping tests run against the reference too.
CONTAINER_CHECK_MS = 100
BASE_CFG = ['extendedTypesEnabled=true',
            'znode.container.checkIntervalMs=%d' % CONTAINER_CHECK_MS]


# Hard bound per test: kazoo's blocking calls wait forever for a reply that
# never comes, so a server that swallows a request would hang the suite.
TEST_TIMEOUT_S = int(os.environ.get('KAZOO_TEST_TIMEOUT_S', '60'))


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(TEST_TIMEOUT_S):
        yield


def wait_until(cond, timeout_s=5.0, interval_s=0.02):
    """Polls cond() until it returns a truthy value or timeout_s passes.

    Returns that value, or the last falsy one, so callers assert on it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = cond()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


class Server(object):
    def __init__(self, kind, directory, port):
        self.kind = kind
        self.dir = directory
        self.port = port
        self.ensemble = os.path.exists(os.path.join(directory, 'hosts'))
        # where member 1's (or the one server's) zoo.cfg, data/ and server.log are
        self.member_dir = os.path.join(directory, 's1') if self.ensemble else directory

    @property
    def hosts(self):
        """The connect string: every member's address (read afresh, since
        a restart gives members 2.. new ports)."""
        if self.ensemble:
            with open(os.path.join(self.dir, 'hosts')) as f:
                return f.read().strip()
        return '127.0.0.1:%d' % self.port

    @property
    def log_path(self):
        return os.path.join(self.member_dir, 'server.log')

    def logs(self):
        """Every member's server log, concatenated."""
        paths = [self.log_path]
        if self.ensemble:
            paths = sorted(os.path.join(self.dir, d, 'server.log') for d in os.listdir(self.dir)
                           if d.startswith('s') and d[1:].isdigit())
        out = ''
        for p in paths:
            with open(p, errors='replace') as f:
                out += f.read()
        return out

    def client(self, **kwargs):
        kwargs.setdefault('hosts', self.hosts)
        kwargs.setdefault('timeout', 10.0)
        return KazooClient(**kwargs)


def _free_port():
    out = subprocess.run(['bash', SERVER_SH, 'freeport'], check=True,
                         capture_output=True, text=True, timeout=30)
    return int(out.stdout.strip())


def start_server(extra_cfg=(), kind=SERVER_KIND):
    """Starts a server; returns a Server.  Retries once on a port race."""
    last = None
    for _ in range(2):
        directory = tempfile.mkdtemp(prefix='kazoo-it-')
        port = _free_port()
        args = ['bash', SERVER_SH, 'start', kind, directory, str(port)]
        args += BASE_CFG + list(extra_cfg)
        env = dict(os.environ)
        if kind == 'zookeeper':
            env['JAVA_TOOL_OPTIONS'] = (
                env.get('JAVA_TOOL_OPTIONS', '') +
                ' -Dznode.container.checkIntervalMs=%d' % CONTAINER_CHECK_MS
            ).strip()
        res = subprocess.run(args, capture_output=True, text=True,
                             timeout=60, env=env)
        if res.returncode == 0:
            return Server(kind, directory, port)
        last = res.stderr
        subprocess.run(['bash', SERVER_SH, 'stop', directory], timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
    raise RuntimeError('could not start %s server: %s' % (kind, last))


def stop_server(server):
    subprocess.run(['bash', SERVER_SH, 'stop', server.dir], timeout=30)
    keep = os.environ.get('KEEP_SERVER_DIRS')
    if not keep:
        shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(scope='session')
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


@pytest.fixture
def clients(server):
    """Factory for extra started clients; all are stopped after the test."""
    made = []

    def make(**kwargs):
        c = server.client(**kwargs)
        c.start(timeout=10)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.stop()
        finally:
            c.close()


@pytest.fixture
def zk(clients):
    return clients()


@pytest.fixture
def root(zk, request):
    """A unique, existing, empty path for this test; removed afterwards."""
    name = request.node.name.replace('[', '_').replace(']', '_')
    path = '/it-%s-%s' % (name[:40], uuid.uuid4().hex[:8])
    zk.create(path)
    yield path
    if zk.connected:
        try:
            zk.delete(path, recursive=True)
        except Exception:
            pass
