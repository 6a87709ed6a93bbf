"""The workload and the tree dump the zkfiles suite compares across servers.

``run(zk, n_after)`` builds a tree with every kind of node ZooKeeper 3.8
has: persistent, ephemeral (of the caller's session), sequential,
container, TTL, with world, digest, ip and auth ACLs, multis (a committed
one and a failed one), setData / setACL / delete, then ``n_after`` more
setData txns so that, with a small snapCount, many txns follow the newest
snapshot and span several log files.

``dump(zk)`` walks the whole tree and returns {path: (data, stat, acls)},
every Stat field included, so two servers' trees compare with ``==``.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'integration', 'kazoo'))
import zkraw  # noqa: E402

from kazoo.security import make_acl, make_digest_acl  # noqa: E402
from kazoo.exceptions import NoNodeError  # noqa: E402

DIGEST_ACL = [make_digest_acl('alice', 'secret', all=True)]
MIXED_ACL = [make_acl('world', 'anyone', read=True),
             make_acl('ip', '127.0.0.1', all=True)]


def run(zk, n_after=200):
    zk.add_auth('digest', 'alice:secret')
    zk.create('/app', b'root of the app')
    zk.create('/app/cfg', b'x' * 300, acl=DIGEST_ACL)
    zk.create('/app/mixed', b'm', acl=MIXED_ACL)
    zk.create('/app/auth', b'a', acl=[make_acl('auth', '', all=True)])
    zk.create('/app/null', None)
    seqs = [zk.create('/app/seq-', b's%d' % i, sequence=True) for i in range(5)]
    zk.create('/app/eph', b'mine', ephemeral=True)
    zk.create('/app/eph-seq-', b'', ephemeral=True, sequence=True)
    zkraw.create_container(zk, '/app/box', b'container')
    zk.create('/app/box/item', b'1')
    zk.create('/app/box/gone', b'2')
    zk.delete('/app/box/gone')
    zkraw.create_ttl(zk, '/app/ttl', 3600 * 1000, b'ttl')
    zkraw.create_ttl(zk, '/app/ttl-seq-', 3600 * 1000, b'', sequential=True)
    t = zk.transaction()
    t.create('/app/multi', b'made in a multi')
    t.set_data('/app', b'changed in a multi')
    t.check('/app/cfg', 0)
    t.delete(seqs[0])
    assert not any(isinstance(r, Exception) for r in t.commit())
    t = zk.transaction()            # fails on its check: an error txn of a multi
    t.create('/app/never', b'')
    t.check('/app/cfg', 42)
    t.commit()
    zk.set_acls('/app/mixed', MIXED_ACL + [make_acl('world', 'anyone', write=True)])
    zk.create('/deep/a/b/c/d', b'deep', makepath=True)
    for i in range(n_after):
        zk.set('/app/cfg', b'value %d' % i)
        if i % 25 == 0:
            zk.create('/app/batch-%d' % i, b'%d' % i)


def dump(zk, path='/'):
    zk.add_auth('digest', 'alice:secret')
    out = {}

    def walk(p):
        try:
            data, st = zk.get(p)
            acls, _ = zk.get_acls(p)
            kids = zk.get_children(p)
        except NoNodeError:
            return
        out[p] = (data, tuple(st), sorted((a.perms, a.id.scheme, a.id.id) for a in acls))
        for k in kids:
            walk(p.rstrip('/') + '/' + k)

    walk(path)
    return out
