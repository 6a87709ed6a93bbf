#!/usr/bin/python3
"""rewind: turn a directory left by a SIGKILL into what a power cut at that
moment would have left, from the journal the power-cut shim wrote
(pc_common.h has the record formats, docs/durability.md the model).

    rewind.py ROOT STATE [--torn SEED] [--summary FILE]

The durable tree is built from the root's inode down:
  - a directory holds the entries it had at its last fsync (a D record), or
    at the start of the round (BD) if it was never synced since; a directory
    created in the round and never synced is empty;
  - a regular file holds its first N bytes, N = its size at its last
    fsync/fdatasync (S), at the start of the round (BF) or 0, lowered by any
    later truncation (T). The bytes come from the file now in the tree with
    that inode number, or from the hard link the shim made in STATE/backup
    before an unlink or rename took it away.
--torn SEED also keeps a random part of the unsynced tail of one file (a
write the disk had half done), chosen with SEED.

ROOT is replaced by the durable tree (the old one moves to STATE/live). A
journal with an O record (a write onto durable bytes) is refused: the model
does not say what such a write leaves. Exit status 0, or 1 with a message
when the journal cannot be followed (a bug in the shim or the harness).
"""
import argparse
import json
import os
import random
import shutil
import stat
import sys


class ModelError(Exception):
    pass


def unescape(s):
    out = bytearray()
    i = 0
    b = s.encode()
    while i < len(b):
        if b[i] == 0x25:  # '%'
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode('utf-8', 'surrogateescape')


def parse_listing(fields):
    entries = {}
    for f in fields:
        name, ino, t = f.rsplit(':', 2)
        entries[unescape(name)] = (int(ino), t)
    return entries


def read_journal(path):
    recs = []
    with open(path, encoding='ascii') as f:
        data = f.read()
    lines = data.split('\n')
    if lines and lines[-1] != '':
        raise ModelError('journal ends in a torn record: %r' % lines[-1][:80])
    for line in lines[:-1]:
        parts = line.split(' ')
        recs.append((int(parts[1]), parts[0], parts[2:]))
    recs.sort(key=lambda r: r[0])
    return recs


class Durable:
    """What the journal says survives."""

    def __init__(self, recs):
        self.root = None
        self.listing = {}   # dir ino -> {name: (ino, type)}
        self.size = {}      # file ino -> durable bytes
        self.cut = None
        self.ops = {}
        for seq, kind, f in recs:
            self.ops[kind] = self.ops.get(kind, 0) + 1
            if self.cut is not None:
                raise ModelError('record %s %d after the cut' % (kind, seq))
            if kind == 'BR':
                self.root = int(f[0])
            elif kind in ('BD', 'D'):
                self.listing[int(f[0])] = parse_listing(f[1:])
            elif kind in ('BF', 'S'):
                self.size[int(f[0])] = int(f[1])
            elif kind == 'T':
                ino = int(f[0])
                self.size[ino] = min(self.size.get(ino, 0), int(f[1]))
            elif kind == 'O':
                raise ModelError('a write onto durable bytes (inode %s, offset %s, %s bytes): '
                                 'in-place overwrites are not modelled' % (f[0], f[1], f[2]))
            elif kind == 'X':
                self.cut = (seq, unescape(f[1]) if len(f) > 1 else '')
        if self.root is None:
            raise ModelError('no BR record: was pc_ctl init run?')
        if self.cut is None:
            raise ModelError('no X record: the power was never cut')


def live_inodes(root):
    """inode -> path of every regular file now under root."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                found.setdefault(st.st_ino, p)
    return found


def live_names(root):
    names = set()
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            names.add(os.path.relpath(os.path.join(dirpath, name), root))
    return names


def copy_prefix(src, dst, n):
    with open(src, 'rb') as fi, open(dst, 'wb') as fo:
        left = n
        while left > 0:
            chunk = fi.read(min(left, 1 << 20))
            if not chunk:
                break
            fo.write(chunk)
            left -= len(chunk)
    return n - left


def build(d, root, state, torn_seed):
    live = live_inodes(root)
    backup = os.path.join(state, 'backup')
    staged = os.path.join(state, 'rewound')
    shutil.rmtree(staged, ignore_errors=True)
    os.mkdir(staged, stat.S_IMODE(os.stat(root).st_mode))
    files = []  # (relpath, ino, durable, source, source_len)

    def walk(dino, rel, depth):
        if depth > 32:
            raise ModelError('directories nest too deep at %s' % rel)
        for name, (ino, t) in sorted(d.listing.get(dino, {}).items()):
            r = os.path.join(rel, name)
            if t == 'd':
                os.mkdir(os.path.join(staged, r))
                walk(ino, r, depth + 1)
            elif t == 'f':
                src = live.get(ino)
                if src is None and os.path.exists(os.path.join(backup, str(ino))):
                    src = os.path.join(backup, str(ino))
                n = d.size.get(ino, 0)
                src_len = os.path.getsize(src) if src is not None else 0
                if n > src_len:
                    raise ModelError('%s (inode %d): %d bytes are durable but only %d remain'
                                     % (r, ino, n, src_len))
                files.append((r, ino, n, src, src_len))
            # other types (symlinks, sockets) are not modelled; none are made

    walk(d.root, '', 0)
    torn = None
    if torn_seed is not None:
        rng = random.Random(torn_seed)
        tails = [f for f in files if f[4] > f[2]]
        # A torn WAL record or snapshot is what recovery must cope with;
        # RocksDB's info LOG is only text.
        data = [f for f in tails if f[0].endswith('.log') or 'snapshot.' in f[0]]
        tails = data or tails
        if tails:
            i = rng.randrange(len(tails))
            r, ino, n, src, src_len = tails[i]
            keep = n + rng.randint(1, src_len - n)
            torn = {'path': r, 'durable': n, 'kept': keep, 'live': src_len}
            files[files.index(tails[i])] = (r, ino, keep, src, src_len)
    for r, ino, n, src, src_len in files:
        dst = os.path.join(staged, r)
        if src is None:
            open(dst, 'wb').close()
        elif copy_prefix(src, dst, n) != n:
            raise ModelError('%s: short read from %s' % (r, src))
    return staged, files, torn


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('root')
    ap.add_argument('state')
    ap.add_argument('--torn', type=int, default=None, metavar='SEED')
    ap.add_argument('--summary', default=None, help='write a JSON summary here')
    args = ap.parse_args()
    root = os.path.realpath(args.root)
    try:
        d = Durable(read_journal(os.path.join(args.state, 'journal')))
        before = live_names(root)
        staged, files, torn = build(d, root, args.state, args.torn)
    except (ModelError, OSError, ValueError, IndexError) as e:
        print('rewind: %s' % e, file=sys.stderr)
        return 1
    after = live_names(staged)
    old = os.path.join(args.state, 'live')
    shutil.rmtree(old, ignore_errors=True)
    os.rename(root, old)
    os.rename(staged, root)
    truncated = {r: [n, src_len] for r, ino, n, src, src_len in files if src_len > n}
    summary = {
        'cut': d.cut[1],
        'records': d.ops,
        'files': len(files),
        'durable_bytes': sum(f[2] for f in files),
        'dropped_bytes': sum(f[4] - f[2] for f in files if f[4] > f[2]),
        'truncated': truncated,
        'dropped': sorted(before - after),
        'restored': sorted(after - before),
        'torn': torn,
    }
    print('rewind: cut %s; %d files, %d durable bytes kept, %d unsynced bytes dropped '
          'from %d files; %d names never made durable dropped, %d restored%s'
          % (summary['cut'], summary['files'], summary['durable_bytes'],
             summary['dropped_bytes'], len(truncated), len(summary['dropped']),
             len(summary['restored']),
             '; torn %s at %d of %d..%d bytes' % (torn['path'], torn['kept'], torn['durable'],
                                                  torn['live']) if torn else ''))
    for name in summary['dropped'][:12]:
        print('rewind:   dropped %s' % name)
    for name in summary['restored'][:12]:
        print('rewind:   restored %s' % name)
    if args.summary:
        with open(args.summary, 'w') as f:
            json.dump(summary, f, indent=1, sort_keys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
