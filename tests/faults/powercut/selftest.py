#!/usr/bin/python3
"""Self-test of the power-cut model: a scripted process does known file
operations under the shim, the power is cut, and the rewound directory must
hold exactly what the model says (docs/durability.md). A second script writes
onto durable bytes, which the rewind must refuse.

    selftest.py --ctl PC_CTL --shim LIBPCSHIM --workdir DIR

The scripted side runs as `selftest.py --child ROOT SCRIPT` (with the shim
preloaded by the parent), prints "ready" and waits to be killed. Prints
"N passed, M failed"; exits 1 on a failure.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)


def create(path, data, sync):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    return fd


def script_model(root):
    j = lambda n: os.path.join(root, n)
    a = create(j('a'), b'1' * 100, sync=True)  # 100 bytes durable ...
    os.write(a, b'2' * 50)                     # ... these 50 are not
    create(j('f'), b'zzz', sync=False)         # name durable (below), data not
    fsync_dir(root)                            # durable: a, f, base, gone
    create(j('b'), b'bbb', sync=True)          # data synced, name never
    create(j('c.tmp'), b'new', sync=True)
    os.rename(j('c.tmp'), j('base'))           # never durable: base stays B*10
    os.unlink(j('gone'))                       # never durable: gone comes back
    os.mkdir(j('sub'))                         # root not synced since: no sub
    create(j('sub/x'), b'x', sync=True)
    fsync_dir(j('sub'))
    os.ftruncate(a, 60)                        # below the durable 100: 60 left


def script_overwrite(root):
    fd = os.open(os.path.join(root, 'base'), os.O_WRONLY)
    os.pwrite(fd, b'X', 3)                     # onto durable bytes


EXPECT_MODEL = {'a': b'1' * 60, 'f': b'', 'base': b'B' * 10, 'gone': b'G' * 5}


def tree(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(dirpath, name), root)] = 'dir'
        for name in files:
            p = os.path.join(dirpath, name)
            with open(p, 'rb') as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def run_case(args, name, script):
    """Baseline, scripted child under the shim, cut, rewind. Returns
    (rewind exit status, rewind stderr, tree after)."""
    work = os.path.join(args.workdir, name)
    shutil.rmtree(work, ignore_errors=True)
    root, state = os.path.join(work, 'root'), os.path.join(work, 'state')
    os.makedirs(root)
    with open(os.path.join(root, 'base'), 'wb') as f:
        f.write(b'B' * 10)
    with open(os.path.join(root, 'gone'), 'wb') as f:
        f.write(b'G' * 5)
    subprocess.run([args.ctl, 'init', state, root], check=True, timeout=30)
    env = dict(os.environ, LD_PRELOAD=args.shim, POWERCUT_ROOT=root, POWERCUT_STATE=state)
    child = subprocess.Popen([sys.executable, '-B', os.path.abspath(__file__), '--child', root,
                              script], env=env, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        line = child.stdout.readline().strip()
        if line != 'ready':
            raise RuntimeError('%s: scripted process said %r' % (name, line))
        subprocess.run([args.ctl, 'cut', state, str(child.pid)], check=True, timeout=30,
                       stdout=subprocess.DEVNULL)
    finally:
        if child.poll() is None:
            child.wait(10)
    r = subprocess.run([sys.executable, '-B', os.path.join(HERE, 'rewind.py'), root, state],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr, tree(root)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ctl')
    ap.add_argument('--shim')
    ap.add_argument('--workdir')
    ap.add_argument('--child', nargs=2, metavar=('ROOT', 'SCRIPT'))
    args = ap.parse_args()
    if args.child:
        root, script = args.child
        {'model': script_model, 'overwrite': script_overwrite}[script](root)
        print('ready', flush=True)
        time.sleep(60)  # until the cut's SIGKILL
        return 1
    passed = failed = 0
    rc, err, got = run_case(args, 'model', 'model')
    if rc == 0 and got == EXPECT_MODEL:
        passed += 1
        print('model self-test: ok (synced prefix kept, unsynced tail, undurable names, '
              'rename and unlink undone, truncation honoured)')
    else:
        failed += 1
        print('model self-test: FAILED (rewind %d %s): got %r, want %r'
              % (rc, err.strip(), got, EXPECT_MODEL))
    rc, err, got = run_case(args, 'overwrite', 'overwrite')
    if rc == 1 and 'not modelled' in err:
        passed += 1
        print('overwrite self-test: ok (the rewind refuses a write onto durable bytes)')
    else:
        failed += 1
        print('overwrite self-test: FAILED (rewind %d %s)' % (rc, err.strip()))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
