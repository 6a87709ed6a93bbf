#!/usr/bin/python3
"""Power-cut test driver: every acknowledged write survives a power cut.

A round:
  1. `pc_ctl init` records the data directory as it is (all of it durable).
  2. zabd starts in its own process group with the shim preloaded
     (libpcshim.so), and WRITERS raw-protocol sessions write to it as fast as
     it acknowledges (pcclient.py journals each acknowledgement).
  3. The power is cut: by `pc_ctl cut` after a random time or once snapshots
     exist, or by the shim itself right after a chosen file operation
     (POWERCUT_CUT_AFTER: a snapshot's rename, its directory sync, a purge's
     unlink, a WAL sync, a RocksDB rename during start-up ...). Either way
     the shim's mutex is held and the whole process group, the snapshot child
     included, is SIGKILLed.
  4. rewind.py turns the directory into what the power cut left: unsynced
     bytes dropped, names whose directory was not synced since undone.
  5. zabd starts on it WITHOUT the shim and must recover; every write
     acknowledged in any round so far must be there (pcclient.verify).

Sequences: "A" (dataLogDir = dataDir, so the RocksDB log lives in
dataDir/version-2 beside the snapshots) and "B" (a separate dataLogDir) run
rounds that must lose nothing, on snapCount=SNAP_COUNT with autopurge keeping
3 snapshots, so snapshots are being written, renamed and purged at the cut.
Then the negative controls, each on a fresh directory, must LOSE acknowledged
writes (or make recovery refuse), proving the harness sees a missing sync:
  forceSync=no       zabd writes its log without sync (zoo.cfg forceSync=no)
  no-snap-fsync      the shim ignores fsyncs of snapshot files
  no-snap-dirsync    the shim ignores fsyncs of the snapshot directory
Prints SEED first, one line per round, and "N passed, M failed" (one count
per round); exits 1 if anything failed.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pcclient

WRITERS = 4
SNAP_COUNT = 200
READY_TIMEOUT_S = 20.0


def ruok(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as s:
            s.sendall(b'ruok')
            s.settimeout(1)
            return s.recv(4) == b'imok'
    except OSError:
        return False


def freeport():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def group_alive(pgid):
    """Live (non-zombie) processes in process group pgid."""
    n = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(')') + 2:].split()
        if fields[0] != 'Z' and int(fields[2]) == pgid:
            n += 1
    return n


class Server:
    """One zabd process, its own process group leader, stopped by its pid."""

    def __init__(self, args, work, cfg, log_name, env_extra=None):
        self.args, self.work, self.log_path = args, work, os.path.join(work, log_name)
        env = dict(os.environ)
        env.pop('LD_PRELOAD', None)
        env.update(env_extra or {})
        if 'LD_PRELOAD' in env:
            # An ASan build of zabd (scripts/sanitized.sh) wants its runtime
            # loaded first; the shim does not allocate through it.
            env['ASAN_OPTIONS'] = ':'.join(filter(None, [env.get('ASAN_OPTIONS'),
                                                        'verify_asan_link_order=0']))
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen([args.zabd, cfg], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)

    def wait_ready(self, port, timeout_s=READY_TIMEOUT_S):
        """True once it answers ruok; False if it exited first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if ruok(port):
                return True
            time.sleep(0.05)
        raise RuntimeError('zabd did not answer ruok within %d s' % timeout_s)

    def wait_dead(self, timeout_s=15.0):
        """Waits for zabd and every process of its group (the snapshot child)."""
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise RuntimeError('zabd did not die after the cut')
        deadline = time.monotonic() + timeout_s
        while group_alive(self.proc.pid) > 0:
            if time.monotonic() > deadline:
                raise RuntimeError('processes of group %d outlived the cut' % self.proc.pid)
            time.sleep(0.02)
        self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def lines(self):
        self.log.flush()
        with open(self.log_path, 'rb') as f:
            return [l.decode(errors='replace').strip() for l in f.readlines()]

    def reason(self):
        """The last error line of its log (why it refused to start)."""
        lines = self.lines()
        errs = [l for l in lines if '[ERROR]' in l or '[FATAL]' in l]
        return (errs or lines or ['(empty log)'])[-1]


def write_cfg(path, root, port, layout, extra):
    lines = ['tickTime=2000', 'dataDir=%s/data' % root, 'clientPort=%d' % port,
             'clientPortAddress=127.0.0.1', '4lw.commands.whitelist=ruok,srvr',
             'snapCount=%d' % SNAP_COUNT, 'autopurge.purgeInterval=1',
             'autopurge.snapRetainCount=3']
    if layout == 'B':
        lines.append('dataLogDir=%s/log' % root)
    lines += extra
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def snapshots(root):
    d = os.path.join(root, 'data', 'version-2')
    try:
        return [n for n in os.listdir(d) if n.startswith('snapshot.') and
                not n.endswith('.tmp')]
    except OSError:
        return []


class Sequence:
    """A data directory that rounds run on, one after another."""

    def __init__(self, args, name, layout, rng):
        self.args, self.name, self.layout, self.rng = args, name, layout, rng
        self.work = os.path.join(args.workdir, name)
        shutil.rmtree(self.work, ignore_errors=True)
        self.root = os.path.join(self.work, 'root')
        self.state = os.path.join(self.work, 'state')
        os.makedirs(os.path.join(self.root))
        self.port = freeport()
        self.journal_path = os.path.join(self.work, 'acks.jsonl')
        self.journal = pcclient.Journal(self.journal_path)
        self.rounds = 0
        self.is_broken = False  # a failed round leaves nothing to build on
        self.op_counts = {}

    def ctl(self, *a):
        r = subprocess.run([self.args.ctl] + list(a), capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError('pc_ctl %s: %s%s' % (a[0], r.stdout, r.stderr))
        return r.stdout

    def round(self, cut, torn=None, cfg_extra=(), ignore=None, stop_cfg_extra=()):
        """Runs one round; returns (acked, checked, lost, problems, note)."""
        self.rounds += 1
        rnd, tag = self.rounds, '%s%d' % (self.name, self.rounds)
        shutil.rmtree(self.state, ignore_errors=True)
        self.ctl('init', self.state, self.root)
        cfg = os.path.join(self.work, 'zoo.cfg')
        write_cfg(cfg, self.root, self.port, self.layout, list(cfg_extra))
        env = {'LD_PRELOAD': self.args.shim, 'POWERCUT_ROOT': self.root,
               'POWERCUT_STATE': self.state}
        kind, arg = cut
        if kind == 'after':
            env['POWERCUT_CUT_AFTER'] = arg
        if ignore:
            env['POWERCUT_IGNORE'] = ignore
        srv = Server(self.args, self.work, cfg, 'server-%s.log' % tag, env)
        stop = threading.Event()
        writers = []
        note = ''
        if srv.wait_ready(self.port):
            writers = [pcclient.Writer(i, rnd, self.port, self.journal,
                                       self.rng.getrandbits(32), stop) for i in range(WRITERS)]
            for w in writers:
                w.start()
            t0 = time.monotonic()
            if kind == 'time':
                time.sleep(arg)
            elif kind == 'snapshots':
                # Wait (bounded) for this many snapshot files, then a little more.
                have = len(snapshots(self.root))
                while len(snapshots(self.root)) < have + arg[0] and \
                        time.monotonic() - t0 < 10 and srv.proc.poll() is None:
                    time.sleep(0.02)
                time.sleep(arg[1])
            else:  # the shim cuts; give it a bounded time
                while srv.proc.poll() is None and time.monotonic() - t0 < 6:
                    time.sleep(0.02)
            if srv.proc.poll() is None:
                if kind == 'after':
                    note = ' (trigger did not fire; cut by time)'
                self.ctl('cut', self.state, str(srv.proc.pid))
        elif srv.proc.returncode == -signal.SIGKILL:
            note = ' (cut during start-up)'
        else:
            return 0, 0, 0, ['zabd exited with status %s before serving: %s'
                          % (srv.proc.returncode, srv.reason())], note
        srv.wait_dead()
        stop.set()
        for w in writers:
            w.join(10)
        acked = sum(w.acked for w in writers)
        for line in self.ctl('stats', self.state).splitlines():
            op, n = line.split()
            self.op_counts[op] = self.op_counts.get(op, 0) + int(n)
        summary = os.path.join(self.work, 'rewind-%s.json' % tag)
        cmd = [sys.executable, self.args.rewind, self.root, self.state, '--summary', summary]
        if torn is not None:
            cmd += ['--torn', str(torn)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        sys.stdout.write(''.join('  ' + l + '\n' for l in r.stdout.splitlines()))
        if r.returncode != 0:
            return acked, 0, 0, ['rewind failed: %s' % r.stderr.strip()], note

        write_cfg(cfg, self.root, self.port, self.layout, list(stop_cfg_extra))
        srv = Server(self.args, self.work, cfg, 'recover-%s.log' % tag)
        try:
            if not srv.wait_ready(self.port):
                return acked, 0, 0, ['recovery failed: zabd exited %s: %s'
                                  % (srv.proc.returncode, srv.reason())], note
            checked, lost, problems = pcclient.verify(self.port, self.journal_path,
                                                      self.journal.sent)
            # A snapshot whose name survived must be whole: its data was
            # synced before the rename. Falling back past a damaged one could
            # hide a missing fsync whenever an older snapshot and the log
            # still cover everything.
            problems += ['recovery skipped a snapshot: %s' % l for l in srv.lines()
                         if 'skipping snapshot' in l]
        finally:
            srv.stop()
        os.sync()  # what the checking run wrote is the next round's durable start
        return acked, checked, lost, problems, note


def positive_rounds(rng):
    """(sequence layout, cut, torn seed) for the rounds that must lose nothing."""
    k = lambda lo, hi: rng.randint(lo, hi)
    torn = lambda: rng.getrandbits(30) if rng.random() < 0.5 else None
    # In sequence A the first dirsync of version-2 is zabd's at start-up (it
    # holds txnlog), so k >= 2 lands on a snapshot's.
    a = [c for _ in range(2) for c in (
        ('time', rng.uniform(0.6, 2.5)),
        ('after', 'rename:*/version-2/snapshot.*:%d' % k(1, 4)),
        ('after', 'dirsync:*/version-2:%d' % k(2, 5)),
        ('after', 'unlink:*/version-2/snapshot.*:%d' % k(1, 2)),
        ('after', 'fsync:*/txnlog/*.log:%d' % k(20, 300)))]
    b = [('after', 'fsync:*/version-2/zabd-snapshot.*.tmp:%d' % k(1, 4)),
         ('after', 'rename:*/txnlog/CURRENT:1'),
         ('time', rng.uniform(0.6, 2.5))]
    return [('A', c, torn()) for c in a] + [('B', c, torn()) for c in b]


NEGATIVE = [
    # name, layout, cut, zoo.cfg extra, shim ignore
    ('forceSync=no', 'A', ('time', 1.5), ['forceSync=no', 'snapCount=1000000'], None),
    ('no-snap-fsync', 'A', ('snapshots', (3, 0.3)), [], 'fsync:*/data/version-2/zabd-snapshot.*.tmp'),
    ('no-snap-dirsync', 'B', ('snapshots', (3, 0.3)), [], 'dirsync:*/data/version-2'),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument('--zabd', required=True)
    ap.add_argument('--shim', required=True)
    ap.add_argument('--ctl', required=True)
    ap.add_argument('--rewind', default=os.path.join(here, 'rewind.py'))
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--deadline', type=float, default=150.0)
    ap.add_argument('--only', choices=['positive', 'negative'], default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print('SEED=%d workdir=%s' % (seed, args.workdir), flush=True)
    rng = random.Random(seed)
    t_end = time.monotonic() + args.deadline
    passed = failed = 0
    seqs = {}
    op_counts = {}

    plan = [] if args.only == 'negative' else positive_rounds(rng)
    for layout, cut, torn in plan:
        if time.monotonic() > t_end - 15:
            print('out of time before a round', flush=True)
            failed += 1
            break
        seq = seqs.get(layout) or seqs.setdefault(layout, Sequence(args, layout, layout, rng))
        what = cut[1] if cut[0] == 'after' else 'time %.1f s' % cut[1]
        if seq.is_broken:
            print('round %s%d %s: skipped, an earlier round failed' % (layout, seq.rounds + 1,
                                                                     what), flush=True)
            seq.rounds += 1
            failed += 1
            continue
        t0 = time.monotonic()
        acked, checked, lost, problems, note = seq.round(cut, torn)
        ok = not problems and acked + checked > 0
        seq.is_broken = not ok
        print('round %s%d %s%s: %d acked, %d paths checked, %.1f s, %s'
              % (layout, seq.rounds, what, note, acked, checked, time.monotonic() - t0,
                 'ok' if ok else 'FAILED'), flush=True)
        for p in problems[:20]:
            print('  ' + p, flush=True)
        passed, failed = passed + ok, failed + (not ok)

    for name, layout, cut, extra, ignore in ([] if args.only == 'positive' else NEGATIVE):
        if time.monotonic() > t_end - 15:
            print('out of time before %s' % name, flush=True)
            failed += 1
            break
        seq = Sequence(args, 'neg-' + name.replace('=', '-'), layout, rng)
        seqs[seq.name] = seq
        acked, checked, lost, problems, note = seq.round(cut, None, cfg_extra=extra,
                                                         ignore=ignore)
        detected = bool(problems) and acked > 0
        how = problems[0] if problems else 'nothing lost'
        print('negative control %s%s: %d acked, %d of them lost; %s: %s'
              % (name, note, acked, lost, 'detected' if detected else 'NOT DETECTED', how),
              flush=True)
        passed, failed = passed + detected, failed + (not detected)

    for s in seqs.values():
        for op, n in s.op_counts.items():
            op_counts[op] = op_counts.get(op, 0) + n
        s.journal.close()
    print('intercepted calls on the data directories: ' +
          ', '.join('%s %d' % kv for kv in sorted(op_counts.items())), flush=True)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
