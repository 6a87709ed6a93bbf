"""One server for a test, zabd or Apache ZooKeeper (SERVER_KIND), started
through tests/integration/server.sh on a free 127.0.0.1 port and stopped by
the pid it recorded; four-letter words and its /proc figures.

    srv = Server(*zoo_cfg_lines)    # e.g. Server('maxClientCnxns=3')
    srv.mntr()['zk_znode_count']; srv.word(b'srst'); srv.rss_mb()
    srv.stop()
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SH = os.path.join(HERE, '..', 'integration', 'server.sh')
KIND = os.environ.get('SERVER_KIND', 'zabd')


class Server:
    def __init__(self, *cfg, prefix='zkserver-', connect=None):
        """connect(port) opens and closes a session: the server is ready once
        it succeeds (ZooKeeper answers ruok a moment before it takes
        sessions)."""
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.port = int(subprocess.check_output([SERVER_SH, 'freeport']).decode())
        self.pid = int(subprocess.check_output(
            [SERVER_SH, 'start', KIND, self.dir, str(self.port)] + list(cfg)).decode())
        deadline = time.monotonic() + 30
        while connect is not None:
            try:
                connect(self.port)
                break
            except (ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # Let the server see that probe go before a test counts connections.
        while int(self.mntr().get('zk_num_alive_connections', '1')) > 1:
            assert time.monotonic() < deadline, 'the probe connection never went away'
            time.sleep(0.05)

    def word(self, w):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=5)
        s.sendall(w)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.decode()

    def mntr(self):
        out = {}
        for line in self.word(b'mntr').splitlines():
            k, _, v = line.partition('\t')
            out[k] = v
        return out

    def srvr(self):
        out = {}
        for line in self.word(b'srvr').splitlines():
            k, _, v = line.partition(': ')
            out[k] = v
        return out

    def rss_mb(self):
        with open('/proc/%d/status' % self.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
        raise AssertionError('no VmRSS for %d' % self.pid)

    def log(self):
        with open(os.path.join(self.dir, 'server.log'), errors='replace') as f:
            return f.read()

    def stop(self):
        subprocess.call([SERVER_SH, 'stop', self.dir])
        if os.environ.get('KEEP_SERVER_DIRS') is None:
            shutil.rmtree(self.dir, ignore_errors=True)
