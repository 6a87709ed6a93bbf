"""Seeded generator of operation sequences for the differential test.

An op is a small JSON-able dict: {"s": slot, "op": name, ...fields}.  Values
that name paths are tokens the runner resolves against each server's own
history (runner.py), so a sequence is replayable as text and each server
fills in what only it knows:

    "@", "@/a/x"   relative to the run's root (a fresh znode per run)
    "#k"           the k-th (Python index, so -1 is the newest) path that a
                   sequential create answered on this server in this run
    "/zookeeper"   any other string is literal
    {"raw": hex}   literal bytes (malformed UTF-8, NULs)
    {"rawat": hex} the root followed by these bytes
    null           a null ustring

Sessions live in slots 0..SLOTS-1.  A slot whose session was closed gets a
new session on its next op; one whose connection the server dropped is
reconnected at once (runner.py), so a run never waits on session expiry.

ZooKeeper 3.9 watch rules.  zabd keeps 3.9's watch modes on purpose
(README, "Where zabd differs"): a persistent and a recursive watch on one
path coexist, a one-shot watch set after a persistent or recursive one on
the same path keeps both, a recursive watch added over a one-shot child
watch leaves that one firing, removeWatches/checkWatches take types 4 and
5, and removeWatches Children/Data leave persistent and recursive watches
alone.  `Legality` keeps those situations out of every sequence, generated
or shrunk, so each divergence the runner reports is one to fix.
"""
import random

ROOT_NODES = ['@', '@/a', '@/b', '@/a/x', '@/a/y', '@/b/x', '@/a/x/z', '@/c', '@/c/x']
NODE_WEIGHTS = [(14, '@/a'), (12, '@/b'), (12, '@/a/x'), (10, '@/c'), (8, '@/b/x'), (8, '@'),
                (6, '@/a/y'), (4, '@/a/x/z'), (4, '@/c/x')]
SEQ_BASES = ['@/a/s', '@/b/q-', '@/s']
SEQ_REFS = ['#0', '#1', '#-1', '#-2']
GLOBALS = ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config', '/zookeeper/zz',
           '/zookeeper/quota/zz']
BAD_PATHS = ['', None, '@/', '@//a', '@/.', '@/..', '@/./a', '@/a/..', '@/a/.', 'a', '@/a/',
             {'rawat': '2f61006200'}, {'rawat': '2fff'}, {'rawat': '2f01'},
             {'rawat': '2fc3a9'}, {'rawat': '2fc280'}, {'rawat': '2ff09f9880'},
             {'rawat': '2fefbfbd'}, {'raw': '2f'}, '@/a b', '@/a/x/z/w/v']
# Paths addWatch may name: exact tokens, so Legality can track them.
WATCH_PATHS = ROOT_NODES + ['/', '/zookeeper']

SUPER_PW = 'superpw'
SUPER_DIGEST = 'super:g9oN2HttPfn8MMWJZ2r45Np/LIA='
U1 = 'user1:GMJqCvSAmNfv41XqBotWHO0HsNc='   # user1:pw1
U2 = 'user2:bpD4uPzrrsGNcJsBFLRErJIlBog='   # user2:pw2

GOOD_ACLS = {
    'open': [[31, 'world', 'anyone']],
    'read': [[1, 'world', 'anyone']],
    'noread': [[30, 'world', 'anyone']],
    'cd': [[12, 'world', 'anyone']],
    'u1': [[31, 'digest', U1]],
    'u1r': [[31, 'digest', U1], [1, 'world', 'anyone']],
    'u2': [[31, 'digest', U2]],
    'u1u2': [[16, 'digest', U1], [15, 'digest', U2]],
    'auth': [[31, 'auth', '']],
    'authr': [[31, 'auth', 'ignored'], [1, 'world', 'anyone']],
    'ip': [[31, 'ip', '127.0.0.1']],
    'ipnet': [[31, 'ip', '127.0.0.0/8']],
    'ipother': [[31, 'ip', '10.0.0.0/8']],
    'ipzero': [[31, 'ip', '10.1.2.3/0']],
    'ipplus': [[31, 'ip', '+127.0.0.1']],
    'iplead0': [[31, 'ip', '127.000.0.01/08']],
    'dup': [[31, 'world', 'anyone'], [31, 'world', 'anyone']],
    'dupdigest': [[31, 'digest', U1], [31, 'digest', U1], [1, 'world', 'anyone']],
    'zero': [[0, 'world', 'anyone']],
    'bigperms': [[-1, 'world', 'anyone']],
    'digestcolons': [[31, 'digest', 'user1:abc::'], [1, 'world', 'anyone']],
    'digestlead': [[31, 'digest', ':abc'], [1, 'world', 'anyone']],
}
BAD_ACLS = {
    'empty': [],
    'null': None,
    'badscheme': [[31, 'foo', 'bar']],
    'worldbad': [[31, 'world', 'someone']],
    'digestbad': [[31, 'digest', 'nocolon']],
    'digest3': [[31, 'digest', 'a:b:c']],
    'ipbad': [[31, 'ip', '999.0.0.1']],
    'ipbits': [[31, 'ip', '127.0.0.1/33']],
    'ipneg': [[31, 'ip', '127.0.0.1/-1']],
    'ip6': [[31, 'ip', '::1']],
    'ipshort': [[31, 'ip', '127.0.1']],
    'iptrail': [[31, 'ip', '127.0.0.1.']],
    'ipslash': [[31, 'ip', '127.0.0.1/']],
    'super': [[31, 'super', '']],
    'x509': [[31, 'x509', 'CN=a']],
    'nullscheme': [[31, None, 'anyone']],
    'mixed': [[31, 'world', 'anyone'], [31, 'foo', 'bar']],
    'nullid': [[31, 'world', None]],
    'nullid_digest': [[31, 'digest', None]],
    'nullid_auth': [[31, 'auth', None]],
    'nullscheme2': [[31, 'world', 'anyone'], [31, None, 'x']],
    'nullid2': [[31, 'world', 'anyone'], [31, 'world', None]],
    'nonascii': [[31, 'digest', 'caf\u00e9:x'], [1, 'world', 'anyone']],
    'badutf8': [[31, 'digest', {'hex': '61ff3a78'}], [1, 'world', 'anyone']],
    'emoji': [[31, 'digest', {'hex': 'f09f98803a78'}], [1, 'world', 'anyone']],
}

QUOTA_LIMITS = ['count=3,bytes=20', 'count=-1,bytes=6', 'count=2,bytes=-1',
                'count=5,bytes=-1=;byteHardLimit=15;countHardLimit=-1',
                'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3', 'garbage', 'count=',
                'count=4,,bytes=8;', 'countHardLimit=2']

AUTHS = [('digest', 'user1:pw1'), ('digest', 'user2:pw2'), ('digest', 'super:' + SUPER_PW),
         ('digest', 'user1:wrong'), ('digest', 'nocolon'), ('digest', ''),
         ('digest', 'a:b:c'), ('digest', ':pw'), ('ip', 'whatever'), ('ip', ''),
         ('foo', 'x'), ('world', 'anyone'), ('super', ''), ('auth', 'x'),
         ('digest', 'caf\u00e9:pw'), ('digest', {'hex': '61ff62'}), ('digest', {'hex': 'f09f98803a70'}),
         ('digest', {'hex': '6100623a70'})]


class Legality(object):
    """Tracks which (slot, path) may hold a persistent (mode 0) or recursive
    (mode 1) watch and refuses ops that would meet a 3.9-only watch rule."""

    def __init__(self):
        self.held = {}  # slot -> {path: set(modes)}

    @staticmethod
    def key(p):
        """The path a token names as the servers read it: a raw token as
        its bytes decode ({'raw': '2f'} is "/"), None for no string."""
        if isinstance(p, dict):
            text = bytes.fromhex(p.get('raw', p.get('rawat', ''))).decode('utf-8', 'replace')
            return text if 'raw' in p else '@' + text
        return p if isinstance(p, str) else None

    def _held(self, s, p):
        """Modes slot s may hold on p: 0 persistent, 1 recursive, 'child1'
        a one-shot child watch (which persistent-only checks ignore)."""
        return self.held.get(s, {}).get(self.key(p), set())

    def _hold(self, s, p, mode):
        path = self.key(p)
        if path is not None:
            self.held.setdefault(s, {}).setdefault(path, set()).add(mode)

    def allow(self, op):
        s = op.get('s', 0)
        kind = op['op']
        if kind in ('exists', 'getData', 'getChildren', 'getChildren2'):
            return not (op.get('watch') and self._held(s, op['path']) - {'child1'})
        if kind == 'addWatch':
            # 3.8 keeps one mode per watcher and path in each table: a
            # recursive watch turns a one-shot child watch into one that
            # ignores child events.
            held = self._held(s, op['path'])
            if op['mode'] == 1 and 'child1' in held:
                return False
            other = held - {op['mode'], 'child1'}
            return not other
        if kind in ('removeWatches', 'checkWatches'):
            if op['type'] in (4, 5):
                return False
            if kind == 'removeWatches' and op['type'] in (1, 2):
                return not self._held(s, op['path']) - {'child1'}
            return True
        if kind == 'setWatches':
            for key in ('data', 'exist', 'child'):
                if any(self._held(s, p) - {'child1'} for p in op.get(key, [])):
                    return False
            for key, mode in (('persistent', 0), ('recursive', 1)):
                for p in op.get(key) or []:
                    if self._held(s, p) - {mode, 'child1'} or (mode == 1 and 'child1' in self._held(s, p)):
                        return False
            both = set(op.get('persistent') or []) & set(op.get('recursive') or [])
            one = set(op.get('data', [])) | set(op.get('exist', [])) | set(op.get('child', []))
            multi_mode = set(op.get('persistent') or []) | set(op.get('recursive') or [])
            return not both and not (one & multi_mode)
        return True

    def apply(self, op):
        s = op.get('s', 0)
        kind = op['op']
        if kind in ('close', 'reconnect') or (kind == 'handshake' and op['variant'] != 'ahead'):
            # A new connection (or session) holds no watches; 'ahead' uses a
            # connection of its own and leaves the slot's alone.
            self.held.pop(s, None)
        elif kind in ('getChildren', 'getChildren2') and op.get('watch'):
            self._hold(s, op['path'], 'child1')
        elif kind == 'addWatch' and op['mode'] in (0, 1):
            self._hold(s, op['path'], op['mode'])
        elif kind == 'removeWatches' and op['type'] == 3:
            self.held.get(s, {}).pop(self.key(op['path']), None)
        elif kind == 'setWatches':
            for p in op.get('child') or []:
                self._hold(s, p, 'child1')
            for key, mode in (('persistent', 0), ('recursive', 1)):
                for p in op.get(key) or []:
                    self._hold(s, p, mode)

    def landings(self, op):
        """The ops a cut-short op may land as. Its record is cut and padded
        at the end, where a read keeps its watch flag and addWatch its mode:
        whatever bytes land there, so a read may set a watch it does not
        name, and addWatch 1 cut by one byte and padded with 00 is mode 0."""
        inner = dict(op['inner'], s=op.get('s', 0))
        if inner['op'] == 'addWatch':
            return [dict(inner, mode=m) for m in (0, 1)]
        if 'watch' in inner:
            return [inner, dict(inner, watch=True)]
        return [inner]

    def check(self, op):
        """allow + apply. A burst's ops count as if each ran in turn; a
        cut-short op as each op it may land as (a record cut where nothing
        matters still runs), each legal here, the slot holding what all of
        them would."""
        if op['op'] == 'burst':
            saved = {k: {p: set(m) for p, m in v.items()} for k, v in self.held.items()}
            for sub in op['ops']:
                if not self.check(dict(sub, s=op.get('s', 0))):
                    self.held = saved
                    return False
            return True
        alts = self.landings(op) if op['op'] == 'trunc' else [op]
        if not all(self.allow(alt) for alt in alts):
            return False
        for alt in alts:
            self.apply(alt)
        return True

def legal(ops):
    lg = Legality()
    return all(lg.check(op) for op in ops)


class Gen(object):
    def __init__(self, seed, slots=3):
        self.r = random.Random(seed)
        self.slots = slots
        self.has_quota = False  # the sequence has written quota nodes

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def weighted(self, table):
        total = sum(w for w, _ in table)
        x = self.r.uniform(0, total)
        for w, v in table:
            x -= w
            if x <= 0:
                return v
        return table[-1][1]

    def path(self, good=0.8, bad=0.07):
        x = self.r.random()
        if x < good:
            # Mostly the few nodes a run keeps creating, so that ops meet
            # existing nodes and the watches on them.
            return self.weighted(NODE_WEIGHTS)
        if x < good + 0.08:
            return self.pick(SEQ_REFS)
        if x < good + 0.08 + bad:
            return self.pick(BAD_PATHS)
        return self.pick(GLOBALS)

    def data(self):
        x = self.r.random()
        if x < 0.05:
            return None
        if x < 0.06:
            # Near and past jute.maxbuffer (0xfffff): the frame itself
            # must stay under it for the request to be read at all.
            return {'len': self.pick([1024 * 1023, 0xfffff - 64, 0xfffff + 1])}
        n = self.r.randrange(0, 7)
        return bytes(self.r.randrange(256) for _ in range(n)).hex()

    def acl(self):
        if self.r.random() < 0.55:
            return GOOD_ACLS['open']
        if self.r.random() < 0.8:
            return GOOD_ACLS[self.pick(sorted(GOOD_ACLS))]
        return BAD_ACLS[self.pick(sorted(BAD_ACLS))]

    def version(self):
        return self.weighted([(70, -1), (10, 0), (8, 1), (5, 2), (2, 7), (2, -2),
                              (1, 2147483647)])

    def create(self, in_multi=False):
        code = self.weighted([(40, 1), (30, 15), (12, 19), (18, 21)])
        natural = {1: [0, 1, 2, 3], 15: [0, 1, 2, 3], 19: [4], 21: [5, 6]}[code]
        if self.r.random() < 0.8:
            flags = self.pick(natural)
        else:
            flags = self.pick([-1, 0, 1, 2, 3, 4, 5, 6, 7, 100])
        seq = flags in (2, 3, 6) or (code == 19 and flags in (2, 3))
        if seq and self.r.random() < 0.8:
            path = self.pick(SEQ_BASES)
        else:
            path = self.path()
        op = {'op': 'create', 'code': code, 'path': path, 'data': self.data(),
              'acl': self.acl(), 'flags': flags}
        if code == 21:
            op['ttl'] = self.weighted([(60, 60000), (10, 1), (8, 0), (8, -1),
                                       (6, 0xffffffffff), (4, 0x10000000000), (4, -5)])
            if not in_multi and flags in range(0, 5) and op['ttl'] < 0:
                # ZooKeeper 3.8 takes createTTL with a valid non-TTL mode and
                # a negative TTL through prep, then throws applying it and
                # exits (zabd answers BADARGUMENTS): not something to compare.
                op['ttl'] = 60000
        if in_multi:
            op['data'] = op['data'] if not isinstance(op['data'], dict) else '00'
        return op

    def sub_op(self, read):
        if read:
            if self.r.random() < 0.05:
                return dict(self.create(True), code=1)
            return {'op': self.pick(['getData', 'getChildren']), 'path': self.path()}
        kind = self.weighted([(40, 'create'), (20, 'delete'), (20, 'setData'),
                              (15, 'check'), (3, 'getData'), (2, 'bogus'), (1, 'setACL')])
        if kind == 'create':
            return self.create(True)
        if kind == 'delete':
            return {'op': 'delete', 'path': self.path(), 'version': self.version()}
        if kind == 'setData':
            d = self.data()
            return {'op': 'setData', 'path': self.path(),
                    'data': d if not isinstance(d, dict) else '01', 'version': self.version()}
        if kind == 'check':
            return {'op': 'check', 'path': self.path(), 'version': self.version()}
        if kind == 'getData':
            return {'op': 'getData', 'path': self.path()}
        if kind == 'setACL':
            return {'op': 'setACL', 'path': '@', 'acl': GOOD_ACLS['open'], 'version': -1}
        return {'op': 'bogus', 'code': self.pick([99, 0, 9, 22])}

    def one(self):
        """One op, before legality filtering."""
        s = self.r.randrange(self.slots)
        kind = self.weighted([
            (24, 'create'), (8, 'delete'), (10, 'setData'), (6, 'exists'), (7, 'getData'),
            (5, 'getChildren'), (4, 'getChildren2'), (3, 'getACL'), (5, 'setACL'),
            (2, 'sync'), (2, 'check'), (8, 'multi'), (3, 'multiRead'), (5, 'addWatch'),
            (2, 'removeWatches'), (2, 'checkWatches'), (3, 'auth'), (1.5, 'whoAmI'),
            (2, 'getEphemerals'), (2, 'getAllChildrenNumber'), (1.5, 'close'),
            (1.5, 'reconnect'), (1, 'setWatches'), (0.5, 'ping'), (0.4, 'reconfig'),
            (0.4, 'deleteContainer'), (0.6, 'raw'), (1, 'trunc'), (2, 'burst'), (0.7, 'handshake'),
            (3, 'quota'),
        ])
        op = {'s': s, 'op': kind}
        if kind == 'create':
            op.update(self.create())
        elif kind == 'delete':
            op.update(path=self.path(), version=self.version())
        elif kind == 'setData':
            op.update(path=self.path(), data=self.data(), version=self.version())
        elif kind in ('exists', 'getData', 'getChildren', 'getChildren2'):
            op.update(path=self.path(), watch=self.r.random() < 0.6)
        elif kind == 'getACL':
            op.update(path=self.path())
        elif kind == 'setACL':
            # Never "/": a closed root would end every later run's setup.
            path = self.path()
            if path == '/' or path == {'raw': '2f'}:
                path = '@'
            op.update(path=path, acl=self.acl(), version=self.version())
        elif kind == 'sync':
            op.update(path=self.path(0.6, 0.3))
        elif kind == 'check':
            op.update(path=self.path(), version=self.version())
        elif kind in ('multi', 'multiRead'):
            n = self.weighted([(5, 0), (30, 1), (30, 2), (20, 3), (15, 4)])
            op['ops'] = [self.sub_op(kind == 'multiRead') for _ in range(n)]
        elif kind == 'addWatch':
            op.update(path=self.weighted(NODE_WEIGHTS) if self.r.random() < 0.8 else self.pick(WATCH_PATHS),
                      mode=self.weighted([(50, 0), (45, 1), (3, 2), (2, -1)]))
        elif kind in ('removeWatches', 'checkWatches'):
            op.update(path=self.pick(WATCH_PATHS + SEQ_REFS[:1]),
                      type=self.weighted([(30, 1), (30, 2), (30, 3), (2, 0), (2, 6)]))
        elif kind == 'auth':
            op['scheme'], op['auth'] = self.pick(AUTHS)
        elif kind == 'getEphemerals':
            op['prefix'] = self.pick([None, '', '/', ' ', ' / ', '@', '@/a', '@/a ', ' @/a',
                                      '@/a/x', '@/b', '/zookeeper', '@/a/s'])
        elif kind == 'getAllChildrenNumber':
            op['path'] = self.path()
        elif kind == 'setWatches':
            # Only right after a reconnect does a client send it; any time is legal.
            op['code'] = self.pick([101, 105])
            op['rel'] = self.pick([0, 1, 5, 10, 20, 40, 1000])
            for key in ('data', 'exist', 'child'):
                op[key] = [self.pick(ROOT_NODES + SEQ_REFS) for _ in range(self.r.randrange(3))]
            if op['code'] == 105:
                op['persistent'] = [self.pick(WATCH_PATHS) for _ in range(self.r.randrange(2))]
                op['recursive'] = [self.pick(WATCH_PATHS) for _ in range(self.r.randrange(2))]
        elif kind == 'ping':
            op['xid'] = self.pick([-2, 7])
        elif kind == 'deleteContainer':
            op['path'] = self.path()
        elif kind == 'raw':
            op['code'] = self.pick([0, 10, 23, 24, 99, 108, 200, -3, -10, 1000])
            op['body'] = self.pick(['', '00000000', '0000000261'])
        elif kind == 'quota':
            # Quota nodes for the run's root or @/a, as zkCli's setquota
            # writes them (and some it would not).
            self.has_quota = True
            base = self.pick(['Q', 'Q/a'])
            what = self.weighted([(3, 'parent'), (4, 'limits'), (2, 'stats'), (3, 'get'),
                                  (2, 'set'), (1, 'delete')])
            if what == 'parent':
                op.update(op='create', code=1, path=base, data='', acl=GOOD_ACLS['open'], flags=0)
            elif what in ('limits', 'stats'):
                name = base + '/zookeeper_' + what
                data = self.pick(QUOTA_LIMITS if what == 'limits' else ['count=0,bytes=0', ''])
                op.update(op='create', code=self.pick([1, 15]), path=name, data=data.encode().hex(),
                          acl=GOOD_ACLS['open'], flags=0)
            elif what == 'get':
                op.update(op='getData', path=base + self.pick(['/zookeeper_stats', '/zookeeper_limits']),
                          watch=self.r.random() < 0.3)
            elif what == 'set':
                op.update(op='setData', path=base + '/zookeeper_limits',
                          data=self.pick(QUOTA_LIMITS).encode().hex(), version=-1)
            else:
                op.update(op='delete', path=base + self.pick(['/zookeeper_limits', '/zookeeper_stats']),
                          version=-1)
        elif kind == 'handshake':
            op['variant'] = self.pick(['old', 'ro', 't1', 'tbig', 'badpw', 'ahead'])
        elif kind == 'trunc':
            # A valid request whose record is cut short (or has bytes left
            # over): reads answer MARSHALLINGERROR, writes spend a zxid.
            inner = self.one()
            while inner['op'] in ('trunc', 'burst', 'close', 'reconnect', 'ping', 'whoAmI', 'raw',
                                  'handshake'):
                inner = self.one()
            inner.pop('s', None)
            op['inner'] = inner
            op['cut'] = self.pick([0, 1, 3, 4, 5, 7, 9, -1, -2, -5])
            op['extra'] = self.pick(['', '', '00', 'ffffffff'])
        elif kind == 'burst':
            # Several requests sent back to back on one connection: replies
            # (and events) must come in order.
            n = self.pick([2, 3, 4])
            op['ops'] = []
            while len(op['ops']) < n:
                inner = self.one()
                if inner['op'] in ('trunc', 'burst', 'close', 'reconnect', 'check', 'raw',
                                   'auth', 'deleteContainer', 'setWatches', 'setACL', 'handshake'):
                    continue
                # Pipelined, a request is prepped while the one before may
                # be outstanding: ZooKeeper's prep then sees its change
                # record, which keeps a setACL's old ACL and takes a create's
                # node type from the flags rather than the opcode. When the
                # earlier one is final first is a matter of timing.
                if inner['op'] == 'create' and (inner['code'] in (19, 21) or inner['flags'] == 4):
                    continue
                # ZooKeeper checks quotas against the tree as applied, not as
                # prepped: a write pipelined behind another sees the usage
                # before or after that one, as timing has it.
                if self.has_quota and inner['op'] in ('create', 'delete', 'setData', 'multi'):
                    continue
                if isinstance(inner.get('data'), dict):
                    continue  # an oversize frame closes the connection mid-burst
                inner.pop('s', None)
                op['ops'].append(inner)
        return op

    def sequence(self, n_ops):
        lg = Legality()
        ops = []
        # Most runs start by building a little tree to work in.
        for p in ['@/a', '@/b', '@/a/x', '@/c', '@/b/x']:
            if self.r.random() < 0.9:
                op = {'s': self.r.randrange(self.slots), 'op': 'create', 'code': 1, 'path': p,
                      'data': '', 'acl': GOOD_ACLS['open'],
                      'flags': self.weighted([(8, 0), (1, 1), (1, 2)])}
                ops.append(op)
        if self.r.random() < 0.3:
            # A quota on the root with hard limits, set up as zkCli would.
            limits = self.pick(['count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=8',
                                'count=-1,bytes=-1=;byteHardLimit=12;countHardLimit=-1',
                                'count=6,bytes=10=;byteHardLimit=30;countHardLimit=10'])
            self.has_quota = True
            for path, data in (('Q', ''), ('Q/zookeeper_limits', limits),
                               ('Q/zookeeper_stats', 'count=0,bytes=0')):
                ops.append({'s': 0, 'op': 'create', 'code': 1, 'path': path,
                            'data': data.encode().hex(), 'acl': GOOD_ACLS['open'], 'flags': 0})
        tries = 0
        while len(ops) < n_ops and tries < n_ops * 20:
            tries += 1
            op = self.one()
            if lg.check(op):
                ops.append(op)
        return ops[:n_ops]


def generate(seed, n_ops, slots=3):
    return Gen(seed, slots).sequence(n_ops)
