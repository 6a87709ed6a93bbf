"""A real ensemble for a test: N members of one kind on 127.0.0.1, each with
free client, quorum and election ports, its own zoo.cfg, data dir and myid.

SERVER_KIND=zabd (default; env ZABD, default build/server/zabd, run as
`zabd zoo.cfg`) or SERVER_KIND=zookeeper (Apache ZooKeeper 3.8's
QuorumPeerMain from the Debian package, with slf4j-simple so that its log
is on stderr, as tests/integration/ensemble/test_election.py runs it).

    ens = Ensemble(3)                    # or Ensemble(5, observers=1)
    ens.start()
    leader = ens.wait_leader(deadline)   # the member whose srvr says "Mode: leader"
    zk = KazooClient(hosts=leader.hosts())      # pinned to one member
    zk = KazooClient(hosts=ens.hosts())         # every member
    leader.kill()        # SIGKILL      leader.stop()   # SIGTERM, waits
    leader.pause()       # SIGSTOP      leader.resume() # SIGCONT
    leader.start()       # again, on the same data dir and ports
    ens.close()          # kills whatever is left, by pid

Every wait is bounded by a deadline (time.monotonic() value) and fails
with the members' log tails. Processes are stopped only by their own pid;
close() is also registered with atexit, so a test that dies on its way out
leaves nothing running.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
KIND = os.environ.get('SERVER_KIND', 'zabd')
# Absolute: each member runs in its own directory.
ZABD = os.path.abspath(os.environ.get('ZABD', os.path.join(ROOT, 'build', 'server', 'zabd')))
ZK_CP = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar'
HAVE_ZK = os.path.exists('/usr/share/java/zookeeper.jar') and shutil.which('java') is not None
NOT_SERVING = 'This ZooKeeper instance is not currently serving requests'
# A log line of one srvr poll: zabd's two, ZooKeeper's one.
POLL_NOISE = re.compile(r'four-letter word srvr from |closed connection \S+ session '
                        r'0x0000000000000000: closed by server|Processing srvr command from ')
MODES = ('leader', 'follower', 'observer', 'standalone')

_taken = set()
_live = []  # every Ensemble not closed yet, for atexit


def free_port():
    """A loopback port free now and not handed out before in this process."""
    for _ in range(200):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _taken:
            _taken.add(port)
            return port
    raise RuntimeError('no free port')


def four(port, word, timeout=2.0):
    """A four-letter word's answer as text ('' when the port is closed)."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as c:
        c.sendall(word if isinstance(word, bytes) else word.encode())
        c.settimeout(timeout)
        out = b''
        while True:
            b = c.recv(65536)
            if not b:
                return out.decode(errors='replace')
            out += b


class Member:
    def __init__(self, ens, sid, observer=False):
        self.ens, self.sid, self.observer = ens, sid, observer
        self.client, self.quorum, self.election = free_port(), free_port(), free_port()
        self.dir = os.path.join(ens.dir, 's%d' % sid)
        self.data = os.path.join(self.dir, 'data')
        os.makedirs(self.data)
        with open(os.path.join(self.data, 'myid'), 'w') as f:
            f.write('%d\n' % sid)
        self.log_path = os.path.join(self.dir, 'server.log')
        self.cfg_path = os.path.join(self.dir, 'zoo.cfg')
        self.p = None
        self.paused = False
        self.wanted = False  # started and not stopped on purpose since
        self.log_at = 0  # where this run's part of the log starts
        self.stops = []  # (how, exit status) of each stop

    def __repr__(self):
        return 'server %d%s' % (self.sid, ' (observer)' if self.observer else '')

    def line(self):
        return 'server.%d=127.0.0.1:%d:%d%s;127.0.0.1:%d' % (
            self.sid, self.quorum, self.election, ':observer' if self.observer else '',
            self.client)

    def hosts(self):
        """A kazoo connect string for this member only."""
        return '127.0.0.1:%d' % self.client

    def write_cfg(self):
        e = self.ens
        lines = ['tickTime=%d' % e.tick_ms, 'initLimit=%d' % e.init_limit,
                 'syncLimit=%d' % e.sync_limit, 'dataDir=' + self.data,
                 'clientPort=%d' % self.client, 'clientPortAddress=127.0.0.1',
                 '4lw.commands.whitelist=*', 'admin.enableServer=false',
                 'maxSessionTimeout=%d' % e.max_session_ms]
        lines += list(e.extra) + [m.line() for m in e.members]
        with open(self.cfg_path, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    def start(self):
        assert not self.running(), '%r is running already' % self
        self.write_cfg()
        self.log_at = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        log = open(self.log_path, 'ab')
        try:
            if self.ens.kind == 'zabd':
                argv = [ZABD, self.cfg_path]
            elif self.ens.kind == 'zookeeper':
                argv = (['java', '-Xmx256m', '-XX:+UseSerialGC',
                         '-Dzookeeper.log.dir=' + self.dir, '-Dzookeeper.root.logger=INFO,CONSOLE']
                        + ['-D' + p for p in self.ens.zk_props]
                        + ['-cp', ZK_CP, 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
                           self.cfg_path])
            else:
                raise ValueError('SERVER_KIND must be zabd or zookeeper, not %r' % self.ens.kind)
            self.p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                                      stdin=subprocess.DEVNULL)
        finally:
            log.close()
        self.paused = False
        self.wanted = True

    def running(self):
        return self.p is not None and self.p.poll() is None

    @property
    def pid(self):
        return self.p.pid if self.p is not None else None

    def kill(self):
        """SIGKILL, by pid; waits for the process to be gone."""
        self.wanted = False
        if self.running():
            self.p.kill()
            self.p.wait(timeout=15)
            self.stops.append(('SIGKILL', self.p.returncode))
        self.paused = False

    def stop(self, timeout=20):
        """SIGTERM, by pid; SIGKILL if it is still there after timeout s.
        Returns the exit status (None if it was not running)."""
        self.wanted = False
        if not self.running():
            return None
        if self.paused:
            self.resume()
        self.p.send_signal(signal.SIGTERM)
        how = 'SIGTERM'
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            how = 'SIGTERM, then SIGKILL after %d s' % timeout
            self.p.kill()
            self.p.wait(timeout=15)
        self.stops.append((how, self.p.returncode))
        return self.p.returncode

    def pause(self):
        """SIGSTOP, by pid."""
        assert self.running()
        self.p.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        """SIGCONT, by pid."""
        if self.running():
            self.p.send_signal(signal.SIGCONT)
        self.paused = False

    def log(self, whole=False):
        """This run's log (whole=True: every run's)."""
        try:
            with open(self.log_path, 'rb') as f:
                if not whole:
                    f.seek(self.log_at)
                return f.read().decode(errors='replace')
        except FileNotFoundError:
            return ''

    def word(self, w, timeout=2.0):
        return four(self.client, w, timeout)

    def srvr(self):
        """srvr's answer, or None when the client port does not answer."""
        if not self.running() or self.paused:
            return None
        try:
            return self.word(b'srvr')
        except OSError:
            return None

    def mode(self):
        """'leader', 'follower', 'observer' or 'standalone' from srvr; None
        when the member does not serve (not running, stopped, port closed,
        or "not currently serving requests")."""
        out = self.srvr()
        if not out or NOT_SERVING in out:
            return None
        for line in out.splitlines():
            if line.startswith('Mode: '):
                m = line[len('Mode: '):].strip()
                return m if m in MODES else None
        return None

    def zxid(self):
        """The Zxid srvr reports, or None."""
        out = self.srvr() or ''
        for line in out.splitlines():
            if line.startswith('Zxid: '):
                return int(line.split()[1], 16)
        return None


class Ensemble:
    def __init__(self, n, observers=0, kind=None, tick_ms=200, init_limit=10, sync_limit=5,
                 max_session_ms=60000, extra=(), zk_props=()):
        """extra: more zoo.cfg lines for every member; zk_props: ('name=value')
        Java system properties for ZooKeeper members only."""
        self.kind = kind or KIND
        self.tick_ms, self.init_limit, self.sync_limit = tick_ms, init_limit, sync_limit
        self.max_session_ms = max_session_ms
        self.extra, self.zk_props = extra, zk_props
        self.dir = tempfile.mkdtemp(prefix='ensemble-%s-' % self.kind)
        self.members = [Member(self, i) for i in range(1, n + 1)]
        self.members += [Member(self, i, observer=True) for i in range(n + 1, n + 1 + observers)]
        self.closed = False
        _live.append(self)

    @property
    def participants(self):
        return [m for m in self.members if not m.observer]

    @property
    def observers(self):
        return [m for m in self.members if m.observer]

    def by_id(self, sid):
        return next(m for m in self.members if m.sid == sid)

    def hosts(self, members=None):
        """A kazoo connect string naming every member (or the given ones)."""
        return ','.join(m.hosts() for m in (members or self.members))

    def start(self):
        for m in self.members:
            m.start()

    def modes(self):
        return {m.sid: m.mode() for m in self.members}

    def check_alive(self):
        """AssertionError if a member exited that was not stopped on purpose."""
        for m in self.members:
            if m.wanted and not m.running():
                raise AssertionError('%r exited by itself with status %s\n%s' % (
                    m, m.p.returncode, self.dump()))

    def wait_for(self, what, cond, deadline, poll=0.05):
        """cond()'s first true value; AssertionError with every log tail at
        the deadline or when a member that should run has exited."""
        while True:
            v = cond()
            if v:
                return v
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError('%s: not within the deadline; modes %s\n%s' % (
                    what, self.modes(), self.dump()))
            time.sleep(poll)

    def leader(self, members=None):
        """The one member (of those given, default the running ones) that
        says 'leader', or None (none, or more than one)."""
        ms = [m for m in (members or self.members) if m.running() and not m.paused]
        leaders = [m for m in ms if m.mode() == 'leader']
        return leaders[0] if len(leaders) == 1 else None

    def wait_leader(self, deadline, members=None):
        return self.wait_for('a leader serving', lambda: self.leader(members), deadline)

    def serving(self, members=None):
        """{sid: mode} when every given member (default: every running
        one) serves in its configured role under one leader, else None."""
        ms = members or [m for m in self.members if m.running() and not m.paused]
        modes = {m.sid: m.mode() for m in ms}
        if None in modes.values() or list(modes.values()).count('leader') != 1:
            return None
        for m in ms:
            if m.observer and modes[m.sid] != 'observer':
                return None
            if not m.observer and modes[m.sid] not in ('leader', 'follower'):
                return None
        return modes

    def wait_serving(self, deadline, members=None):
        return self.wait_for('every member serving in its role',
                             lambda: self.serving(members), deadline)

    def dump(self, chars=3000):
        """Every member's log tail, without the lines of this harness's own
        srvr polling."""
        return '\n'.join('---- %r (pid %s, %s)\n%s' % (
            m, m.pid, 'running' if m.running() else 'stopped',
            '\n'.join(line for line in m.log(whole=True).splitlines()
                      if not POLL_NOISE.search(line))[-chars:])
            for m in self.members)

    def close(self, keep_dir=False):
        """Stops every member still running (SIGCONT first if stopped, then
        SIGTERM, SIGKILL after 20 s), by pid; removes the directory unless
        keep_dir. Returns [(member, how, status)] of a zabd that did not
        exit with status 0 at this SIGTERM (a sanitized zabd reports leaks
        there)."""
        if self.closed:
            return []
        bad = []
        for m in self.members:
            try:
                if m.running():
                    st = m.stop()
                    if self.kind == 'zabd' and st != 0:
                        bad.append((m, m.stops[-1][0], st))
            finally:
                m.kill()
        self.closed = True
        if self in _live:
            _live.remove(self)
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return bad


@atexit.register
def _close_all():
    for e in list(_live):
        for m in e.members:
            if m.running():
                m.p.kill()  # by pid; nothing left behind after a crashed test
        e.closed = True
