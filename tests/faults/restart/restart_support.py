"""Helpers shared by the restart suite: starting, stopping and killing a
server of kind SERVER_KIND (default zabd) on a fixed data dir and port with
tests/integration/server.sh, polling with a deadline, free ports.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
SERVER_SH = os.path.join(ROOT, 'tests', 'integration', 'server.sh')
ZABD = os.environ.get('ZABD', os.path.join(ROOT, 'build', 'server', 'zabd'))
KIND = os.environ.get('SERVER_KIND', 'zabd')


def wait_until(cond, timeout_s=10.0, interval_s=0.05):
    """Polls cond() until it is truthy or timeout_s passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval_s)


def free_port():
    return int(subprocess.check_output([SERVER_SH, 'freeport']).decode())


def listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        return True
    except OSError:
        return False


def fast_retry():
    # kazoo backs off up to a minute between reconnects by default; a restart
    # takes a second or two, and some tests must reconnect well within a
    # short session timeout.
    return KazooRetry(max_tries=-1, delay=0.1, backoff=1.5, max_delay=0.5)


class Server:
    def __init__(self, *cfg):
        self.dir = tempfile.mkdtemp(prefix='restart-')
        self.port = free_port()
        self.cfg = list(cfg)
        self.clients = []
        self.start()

    @property
    def data(self):
        return os.path.join(self.dir, 'data')

    @property
    def log(self):
        with open(os.path.join(self.dir, 'server.log'), errors='replace') as f:
            return f.read()

    def start(self):
        subprocess.check_call([SERVER_SH, 'start', KIND, self.dir, str(self.port)] + self.cfg,
                              stdout=subprocess.DEVNULL)

    def stop(self, how='stop'):
        """how: 'stop' (SIGTERM) or 'kill' (SIGKILL); waits until the pid is gone."""
        subprocess.check_call([SERVER_SH, how, self.dir])

    def client(self, timeout=20.0):
        c = KazooClient(hosts='127.0.0.1:%d' % self.port, timeout=timeout,
                        connection_retry=fast_retry())
        c.start(timeout=30)
        self.clients.append(c)
        return c

    def snapshots(self):
        return sorted(glob.glob(os.path.join(self.data, 'version-2', 'snapshot.*')))

    def close(self):
        for c in self.clients:
            try:
                c.stop()
                c.close()
            except Exception:
                pass
        subprocess.call([SERVER_SH, 'kill', self.dir])
        shutil.rmtree(self.dir, ignore_errors=True)
