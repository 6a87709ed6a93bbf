#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_server (tests/fuzz/corpus-server): short
scripts in the op encoding that fuzz_server.c documents, each a realistic
client session or a known-bad one, for libFuzzer to mutate and for the
replay test to run in every build.

    tests/fuzz/gen_server_corpus.py [OUT_DIR]
"""
import os
import struct
import sys

OPS = ['create', 'delete', 'exists', 'getData', 'setData', 'getACL', 'setACL', 'getChildren',
       'sync', 'ping', 'getChildren2', 'check', 'multi', 'create2', 'reconfig', 'checkWatches',
       'removeWatches', 'createContainer', 'deleteContainer', 'createTTL', 'multiRead', 'auth',
       'setWatches', 'sasl', 'getEphemerals', 'getAllChildrenNumber', 'setWatches2', 'addWatch',
       'whoAmI', 'closeSession', 'createSession', 'notification']
T = {'create': 0, 'create2': 1, 'createTTL': 2, 'delete': 3, 'setData': 4, 'getData': 5,
     'exists': 6, 'getChildren2': 7, 'addWatch': 8, 'watches': 9, 'multi': 10, 'auth': 11,
     'setACL': 12, 'setWatches': 13}
PATHS = ['/', '/a', '/a/b', '/a/b/c', '/c', '/zookeeper', '/zookeeper/quota',
         '/zookeeper/config', 'a', '/a/', '//', '/a/.', '', '/e']


def k(op, conn):
    return bytes([(conn & 3) << 4 | op])


def open_(c):
    return k(0, c)


def hs(c, timeout_ms=10000):
    return k(1, c) + struct.pack('>H', timeout_ms // 8)


def reconnect(c, src, spoil=False, last=0):
    return k(2, c) + bytes([src | (4 if spoil else 0)]) + struct.pack('>I', last)


def frame(c, op, body=b'', xid=0):
    return k(3, c) + bytes([xid, OPS.index(op), len(body)]) + body


def raw(c, data):
    return k(4, c) + struct.pack('>H', len(data)) + data


def close(c):
    return k(5, c)


def half(c):
    return k(6, c)


def t(c, name, path, f=0):
    return k(7, c) + bytes([T[name], PATHS.index(path), f])


RUN = k(8, 0)


def ustr(s):
    b = s.encode()
    return struct.pack('>i', len(b)) + b


SEEDS = {
    'crud': hs(0) + t(0, 'create', '/a') + t(0, 'getData', '/a', 1) + t(0, 'setData', '/a', 3) +
    t(0, 'getChildren2', '/', 1) + t(0, 'delete', '/a', 0) + RUN + close(0),
    'watch_two_sessions': hs(0) + hs(1) + RUN + t(1, 'exists', '/a', 1) + t(0, 'create', '/a') +
    t(0, 'create', '/a/b', 1) + RUN + t(1, 'getChildren2', '/a', 1) + t(0, 'setData', '/a') +
    t(0, 'delete', '/a/b', 0) + RUN + t(1, 'getData', '/a', 1) + RUN,
    'reconnect_moves_session': hs(0) + t(0, 'create', '/e', 1) + RUN + reconnect(1, 0) + RUN +
    t(1, 'getData', '/e') + t(0, 'getData', '/e') + RUN + close(1) + RUN,
    'reconnect_bad_password': hs(0) + RUN + reconnect(1, 0, spoil=True) + RUN +
    t(0, 'exists', '/', 0) + RUN,
    'reconnect_ahead': hs(0) + RUN + reconnect(1, 0, last=0xffffff) + RUN,
    'multi': hs(0) + t(0, 'multi', '/a', 0x60) + t(0, 'multi', '/a', 0x62) +
    t(0, 'multi', '/a', 0x21) + t(0, 'multi', '/a/b', 0x40) + t(0, 'multi', '/', 0xe1) + RUN,
    'fourletter': b''.join(raw(i % 4, w) + RUN for i, w in enumerate(
        [b'ruok', b'srvr', b'stat', b'mntr', b'cons', b'dump', b'wchs', b'wchc', b'wchp',
         b'conf', b'envi', b'crst', b'srst', b'isro', b'dirs', b'gtmk', b'hash'])),
    'fourletter_with_sessions': hs(0) + t(0, 'create', '/a', 1) + t(0, 'getData', '/a', 1) +
    t(0, 'addWatch', '/', 1) + RUN + raw(1, b'cons') + raw(2, b'wchp') + raw(3, b'dump') +
    RUN + raw(1, b'wchc') + raw(2, b'mntr') + RUN,
    'connect_3_bytes': raw(0, struct.pack('>i', 3) + b'abc') + RUN + hs(1) + RUN,
    'connect_truncated': raw(0, struct.pack('>i', 44) + b'\0' * 20) + close(0) + RUN,
    'garbage_after_handshake': hs(0) + RUN + raw(0, b'\xff' * 16) + RUN,
    'huge_length': hs(0) + RUN + raw(0, struct.pack('>i', 0x7fffffff)) + RUN +
    hs(1) + raw(1, struct.pack('>i', -5)) + RUN,
    'partial_frame_then_close': hs(0) + RUN + raw(0, struct.pack('>i', 40) + b'\0' * 10) +
    close(0) + RUN,
    'auth_and_acls': hs(0) + t(0, 'auth', '/', 1) + t(0, 'create', '/a', 0x80) +
    t(0, 'setACL', '/a', 1) + frame(0, 'getACL', ustr('/a')) + hs(1) + t(1, 'getData', '/a') +
    t(1, 'auth', '/', 5) + t(1, 'getData', '/a') + t(0, 'auth', '/', 0) + RUN,
    'ephemerals_close_session': hs(0) + hs(1) + t(1, 'addWatch', '/', 1) +
    t(0, 'create', '/e', 1) + t(0, 'create', '/c', 3) + RUN +
    frame(0, 'getEphemerals', ustr('/')) + frame(0, 'closeSession') + RUN + t(1, 'exists', '/e'),
    'pipelined_throttle': hs(0) + hs(1) + hs(2) + RUN + t(0, 'create', '/a') +
    b''.join(t(i % 3, 'setData', '/a', i) for i in range(40)) + RUN,
    'setwatches': hs(0) + t(0, 'create', '/a') + t(0, 'create', '/a/b') + RUN +
    t(1, 'setWatches', '/a', 0) + t(1, 'setWatches', '/a/b', 1) + hs(1) + RUN +
    t(1, 'setWatches', '/a', 1) + t(0, 'delete', '/a/b') + RUN,
    'recursive_watch_remove': hs(0) + hs(1) + t(1, 'addWatch', '/', 1) + t(1, 'addWatch', '/a', 0) +
    t(0, 'create', '/a') + t(0, 'create', '/a/b') + RUN + t(1, 'watches', '/', 3) +
    t(1, 'watches', '/a', 4) + t(1, 'watches', '/a', 5) + t(0, 'delete', '/a/b') + RUN,
    'containers_ttl': hs(0) + t(0, 'create', '/c', 4) + t(0, 'create', '/a', 4) + t(0, 'create', '/a/b', 0) +
    t(0, 'createTTL', '/e', 0x15) + t(0, 'createTTL', '/a', 0x06) + t(0, 'delete', '/a/b') +
    frame(0, 'getAllChildrenNumber', ustr('/')) + RUN,
    'half_close': hs(0) + t(0, 'create', '/a') + half(0) + RUN + hs(1) + t(1, 'getData', '/a') +
    RUN,
    'odd_opcodes': hs(0) + frame(0, 'sasl', b'\0\0\0\x04abcd') + RUN + hs(1) +
    frame(1, 'reconfig', ustr('') + ustr('') + ustr('') + b'\xff' * 8) +
    frame(1, 'deleteContainer', ustr('/a')) + frame(1, 'whoAmI') + frame(1, 'sync', ustr('/')) +
    frame(1, 'ping', xid=4) + frame(1, 'createSession') + frame(1, 'notification') + RUN,
    'bad_paths': hs(0) + b''.join(t(0, op, p) for op in ('create', 'getData', 'setData', 'delete')
                                  for p in ('a', '/a/', '//', '/a/.', '', '/zookeeper',
                                            '/zookeeper/quota')) + RUN,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'corpus-server')
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('%d seeds in %s' % (len(SEEDS), out))


if __name__ == '__main__':
    main()
