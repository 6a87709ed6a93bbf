#!/usr/bin/python3
"""Differential test: the same seeded op sequences against Apache ZooKeeper
3.8 (the Debian package) and zabd; everything a client can observe must
match.  docs/differential.md explains the design.

    run.py                       the CI batch: seeds 1..40, 100 ops each
    run.py --seeds 1000 --keep-going   a longer run (seeds 1..1000)
    run.py --seed 17 --ops 80    one seed
    run.py --replay FILE         replay a sequence saved by an earlier run
    run.py --print --seed 17     print the generated sequence, run nothing

A divergence prints the seed, the op and both answers, is shrunk to a short
sequence (delta debugging, both servers re-run for each attempt) and saved
as JSON with a one-line replay command.  Exit status 1 if any seed diverged.
"""
import argparse
import json
import re
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'pylib'))
sys.path.insert(0, HERE)

import gen  # noqa: E402
import runner  # noqa: E402

SERVER_SH = os.path.join(ROOT, 'tests', 'integration', 'server.sh')
# Both servers get this zoo.cfg (server.sh turns the container key into a
# JVM property for ZooKeeper). No container or TTL reaping during a run:
# it is driven by a clock, and the differential runs have none.
CFG = ['extendedTypesEnabled=true', 'enforceQuota=true',
       'znode.container.checkIntervalMs=86400000',
       'DigestAuthenticationProvider.superDigest=' + gen.SUPER_DIGEST]
KINDS = ('zookeeper', 'zabd')


class Servers(object):
    """One ZooKeeper and one zabd on free loopback ports, data on tmpfs
    when there is one (fsync is not what this test measures)."""

    def __init__(self, keep=False):
        self.keep = keep
        self.dirs = {}
        self.ports = {}

    def start(self):
        parent = '/dev/shm' if os.path.isdir('/dev/shm') and os.access('/dev/shm', os.W_OK) else None
        threads = []
        errors = []
        for kind in KINDS:
            d = tempfile.mkdtemp(prefix='zabd-diff-%s-' % kind, dir=parent)
            self.dirs[kind] = d

            def go(kind=kind, d=d):
                for _ in range(3):
                    port = int(subprocess.check_output(['bash', SERVER_SH, 'freeport']).decode())
                    res = subprocess.run(['bash', SERVER_SH, 'start', kind, d, str(port)] + CFG,
                                         capture_output=True, text=True, timeout=90)
                    if res.returncode == 0 and self.wait_session(port):
                        self.ports[kind] = port
                        return
                    subprocess.run(['bash', SERVER_SH, 'stop', d], timeout=30)
                errors.append('%s did not start: %s' % (kind, res.stderr[-500:]))
            t = threading.Thread(target=go)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise RuntimeError('; '.join(errors))

    @staticmethod
    def wait_session(port):
        """ZooKeeper answers ruok a moment before it accepts sessions."""
        import zkwire
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                c = zkwire.Conn(port, 2.0)
                c.send(zkwire.frame(zkwire.connect_req()))
                c.read_frame()
                # Close the session, not just the socket: a session left to
                # expire would spend a zxid on each server at its own moment,
                # in the middle of some later sequence.
                c.send_request(1, zkwire.CLOSESESSION, b'')
                c.read_frame()
                c.close()
                return True
            except (OSError, zkwire.Closed, zkwire.Timeout):
                time.sleep(0.1)
        return False

    def stop(self):
        for kind, d in self.dirs.items():
            subprocess.run(['bash', SERVER_SH, 'stop', d], timeout=60)
            if not self.keep:
                shutil.rmtree(d, ignore_errors=True)
            else:
                print('kept %s data and log in %s' % (kind, d))
        self.dirs = {}
        self.ports = {}

    def restart(self):
        keep, self.keep = self.keep, False
        self.stop()
        self.keep = keep
        self.start()


class Attempts(object):
    """Runs sequences on both servers, each run under a fresh root."""

    def __init__(self, servers, slots, tag, dump=None):
        self.dump = dump
        self.servers = servers
        self.slots = slots
        self.tag = tag
        self.n = 0

    def run(self, ops):
        self.n += 1
        root = '/d%s-%d-%d' % (self.tag, os.getpid(), self.n)
        traces = {}
        errors = {}

        def go(kind):
            try:
                traces[kind] = runner.Runner(self.servers.ports[kind], root, self.slots).run(ops)
            except Exception as e:  # noqa: BLE001 - reported as a divergence
                errors[kind] = '%s: %s' % (type(e).__name__, e)
        threads = [threading.Thread(target=go, args=(k,)) for k in KINDS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            return {'where': 'runner', 'errors': errors}
        if self.dump:
            os.makedirs(self.dump, exist_ok=True)
            for kind in KINDS:
                with open(os.path.join(self.dump, '%s-%d.%s.json' % (self.tag, self.n, kind)), 'w') as f:
                    json.dump(traces[kind], f, indent=1, sort_keys=True)
        return compare(ops, traces['zookeeper'], traces['zabd'])


def global_sessions(port):
    """zk_global_sessions from mntr (both servers have it), or None."""
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(b'mntr')
        b = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            b += chunk
        s.close()
    except OSError:
        return None
    for line in b.decode(errors='replace').splitlines():
        if line.startswith('zk_global_sessions\t'):
            return int(line.split('\t', 1)[1])
    return None


def first_diff(a, b, path=''):
    """The JSON paths where a and b differ (at most a few)."""
    if type(a) is not type(b):
        return [path or '.']
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append('%s.%s' % (path, k))
            elif a[k] != b[k]:
                out += first_diff(a[k], b[k], '%s.%s' % (path, k))
        return out[:6]
    if isinstance(a, list):
        if len(a) != len(b):
            return ['%s (length %d vs %d)' % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                out += first_diff(x, y, '%s[%d]' % (path, i))
        return out[:6]
    return [path or '.'] if a != b else []


def compare(ops, zk, zb):
    """None if the traces match, else a description of the first divergence."""
    if zk['setup'] != zb['setup']:
        return {'where': 'setup', 'zookeeper': zk['setup'], 'zabd': zb['setup'],
                'paths': first_diff(zk['setup'], zb['setup'])}
    for i, (x, y) in enumerate(zip(zk['ops'], zb['ops'])):
        if x != y:
            return {'where': 'op', 'index': i, 'op': ops[i], 'zookeeper': x, 'zabd': y,
                    'paths': first_diff(x, y)}
    if zk['finish'] != zb['finish']:
        return {'where': 'finish', 'zookeeper': zk['finish'], 'zabd': zb['finish'],
                'paths': first_diff(zk['finish'], zb['finish'])}
    if zk['time'] or zb['time']:
        return {'where': 'time', 'zookeeper': zk['time'], 'zabd': zb['time'], 'paths': []}
    return None


def signature(d):
    """What a shrunk sequence must keep diverging on: the kind of op and
    the first field that differs (list indexes dropped)."""
    if d is None:
        return None
    first = re.sub(r'\[\d+\]', '[]', d['paths'][0]) if d.get('paths') else ''
    if d['where'] == 'op':
        return ('op', d['op']['op'], first)
    return (d['where'], first)


def touches_global(ops):
    """Whether a sequence may have written outside its root (then a
    divergent run can leave the two servers' trees different)."""
    def outside(tok):
        return tok is None or (isinstance(tok, dict) and 'raw' in tok) or (
            isinstance(tok, str) and not tok.startswith(('@', '#')))
    writes = ('create', 'delete', 'setData', 'setACL', 'deleteContainer')
    for op in ops:
        if op['op'] in writes and outside(op.get('path')):
            return True
        if op['op'] == 'multi' and any(s['op'] in writes and outside(s.get('path'))
                                       for s in op['ops']):
            return True
    return False


def shrink(att, ops, sig, budget_s):
    """ddmin over the op list: the smallest sequence (found within the
    budget) whose first divergence has the same signature."""
    deadline = time.monotonic() + budget_s
    tries = [0]

    def fails(cand):
        if not gen.legal(cand) or time.monotonic() > deadline:
            return False
        tries[0] += 1
        d = att.run(cand)
        if d is not None and touches_global(cand):
            att.servers.restart()
        return signature(d) == sig

    n = 2
    cur = list(ops)
    while len(cur) >= 2 and time.monotonic() < deadline:
        chunk = max(1, len(cur) // n)
        parts = [cur[i:i + chunk] for i in range(0, len(cur), chunk)]
        reduced = False
        for i in range(len(parts)):
            comp = [op for j, p in enumerate(parts) if j != i for op in p]
            if comp and fails(comp):
                cur = comp
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if n >= len(cur):
                break
            n = min(len(cur), n * 2)
    # Last pass: drop single ops from the front.
    i = 0
    while i < len(cur) and len(cur) > 1 and time.monotonic() < deadline:
        cand = cur[:i] + cur[i + 1:]
        if fails(cand):
            cur = cand
        else:
            i += 1
    return cur, tries[0]


def show(d, limit=3000):
    def j(x):
        s = json.dumps(x, sort_keys=True)
        return s if len(s) <= limit else s[:limit] + '...'
    lines = []
    if d['where'] == 'op':
        lines.append('  op #%d: %s' % (d['index'], j(d['op'])))
    elif d['where'] == 'runner':
        lines.append('  runner failed: %s' % j(d['errors']))
        return '\n'.join(lines)
    else:
        lines.append('  at: %s' % d['where'])
    lines.append('  differs at: %s' % ', '.join(d['paths']))
    lines.append('  zookeeper: %s' % j(d['zookeeper']))
    lines.append('  zabd:      %s' % j(d['zabd']))
    return '\n'.join(lines)


def save(out_dir, name, ops, meta):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + '.json')
    with open(path, 'w') as f:
        json.dump({'meta': meta, 'ops': ops}, f, indent=1, sort_keys=True)
    return path


def rel(p):
    return os.path.relpath(p, os.getcwd()) if p.startswith(ROOT) else p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seeds', type=int, default=40, help='run seeds FIRST..FIRST+N-1 (default 40)')
    ap.add_argument('--first', type=int, default=1, help='first seed (default 1)')
    ap.add_argument('--seed', type=int, help='run this one seed')
    ap.add_argument('--ops', type=int, default=100, help='ops per seed (default 100)')
    ap.add_argument('--slots', type=int, default=3, help='concurrent sessions (default 3)')
    ap.add_argument('--replay', help='run the sequence saved in this JSON file')
    ap.add_argument('--no-shrink', action='store_true')
    ap.add_argument('--shrink-budget', type=float, default=240.0, help='seconds per shrink')
    ap.add_argument('--out', default=os.path.join(tempfile.gettempdir(), 'zabd-differential'),
                    help='where shrunk sequences are saved')
    ap.add_argument('--keep-going', action='store_true', help='do not stop at the first divergent seed')
    ap.add_argument('--print', action='store_true', help='print the sequence(s) and exit')
    ap.add_argument('--dump', help='write every run\'s two traces as JSON into this directory')
    ap.add_argument('--keep-dirs', action='store_true', help='keep the servers\' data and logs')
    args = ap.parse_args()

    if args.replay:
        with open(args.replay) as f:
            saved = json.load(f)
        jobs = [('replay', saved['ops'], saved.get('meta', {}).get('slots', args.slots))]
    else:
        seeds = [args.seed] if args.seed is not None else range(args.first, args.first + args.seeds)
        jobs = [(s, gen.generate(s, args.ops, args.slots), args.slots) for s in seeds]
    if args.print:
        for name, ops, _slots in jobs:
            print('# seed %s' % name)
            for i, op in enumerate(ops):
                print('%3d %s' % (i, json.dumps(op, sort_keys=True)))
        return 0

    t0 = time.monotonic()
    servers = Servers(keep=args.keep_dirs)
    servers.start()
    print('zookeeper on %d, zabd on %d' % (servers.ports['zookeeper'], servers.ports['zabd']))
    failed = []
    flaky = []
    try:
        for name, ops, slots in jobs:
            att = Attempts(servers, slots, name, args.dump)
            d = att.run(ops)
            # Every session a run opens is closed by it: one left behind
            # would expire later, at a different moment on each server.
            left = [global_sessions(servers.ports[k]) for k in KINDS]
            if any(n for n in left):
                print('seed %s: the run left sessions open (zookeeper %s, zabd %s)' % (
                    name, left[0], left[1]))
            if d is None:
                print('seed %s: %d ops, same' % (name, len(ops)))
                continue
            # A divergence must show again on a second run of the same ops
            # (under a fresh root); one that does not came from timing the
            # test does not control (a session expiring, a loaded machine).
            if touches_global(ops):
                servers.restart()
            if att.run(ops) is None:
                flaky.append(name)
                print('seed %s: diverged once, not again: reported as flaky' % name)
                print(show(d))
                continue
            failed.append(name)
            print('seed %s: DIVERGENCE' % name)
            print(show(d))
            if touches_global(ops):
                servers.restart()
            small = ops
            if not args.no_shrink and len(ops) > 1:
                small, tries = shrink(att, ops, signature(d), args.shrink_budget)
                d2 = att.run(small)
                if d2 is not None:
                    print('  shrunk from %d to %d ops in %d runs:' % (len(ops), len(small), tries))
                    print(show(d2))
                    if touches_global(small):
                        servers.restart()
                else:
                    small = ops
            meta = {'seed': name, 'ops_generated': len(ops), 'slots': slots,
                    'signature': list(signature(d) or [])}
            path = save(args.out, 'seed-%s' % name, small, meta)
            print('  replay: %s --replay %s' % (rel(os.path.join(HERE, 'run.py')), path))
            if args.seed is None and not args.replay:
                print('  or:     %s --seed %s --ops %d' % (rel(os.path.join(HERE, 'run.py')), name, len(ops)))
            if not args.keep_going:
                break
    finally:
        servers.stop()
    print('%d sequence(s), %d divergent%s%s, %.0f s' % (
        len(jobs), len(failed), (': ' + ' '.join(map(str, failed))) if failed else '',
        (', %d flaky: %s' % (len(flaky), ' '.join(map(str, flaky)))) if flaky else '',
        time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
