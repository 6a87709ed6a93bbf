"""Runs one op sequence (gen.py) against one server over raw sockets and
returns a trace: one record per op of everything a client could observe,
put in a form that two servers can be compared in.

After every op each live connection is pinged and read up to the ping's
reply, so the notifications another session's write caused are collected
deterministically, in the order that connection received them.

Canonical form (per server):
  zxids       z <= 0 stays as it is; anything else becomes "Z+k", k counted
              from this run's root create (each server's own first zxid)
  session ids "S<n>", n = the order sessions were created in this run
  ctime/mtime dropped from the stat; instead every (zxid, time) pair seen is
              checked: one time per zxid, times non-decreasing in zxid, and
              within the run's wall-clock span (Runner.time_problems)
  children    as listed (zabd keeps ZooKeeper's HashSet order)
  passwords   only their length
"""
import time

import zkwire as w

REPLY_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 10.0


class Session(object):
    def __init__(self, index, sid, passwd):
        self.index = index
        self.sid = sid
        self.passwd = passwd
        self.conn = None
        self.xid = 0

    def next_xid(self):
        self.xid += 1
        return self.xid


class Runner(object):
    def __init__(self, port, root, slots=3):
        self.port = port
        self.root = root
        self.slots = slots
        self.base = None
        self.sessions = []          # every session of the run, creation order
        self.slot = {}              # slot -> Session or None (closed)
        self.seq_paths = []         # sequential creates' answers, in order
        self.times = []             # (zxid, ms, what)
        self.t0_ms = int(time.time() * 1000)
        self.sort_children = False  # zabd lists children in ZooKeeper's HashSet order

    # ---- tokens ---------------------------------------------------------------

    def path(self, tok):
        if tok is None:
            return None
        if isinstance(tok, dict):
            if 'raw' in tok:
                return bytes.fromhex(tok['raw'])
            return self.root.encode() + bytes.fromhex(tok['rawat'])
        if tok.startswith('@'):
            return self.root + tok[1:]
        if tok.startswith('Q'):
            # The run's root under /zookeeper/quota (quota limits and stats).
            return '/zookeeper/quota' + self.root + tok[1:]
        if tok.startswith('#') and tok[1:].lstrip('-').isdigit():
            if not self.seq_paths:
                return self.root + '/noseq'
            return self.seq_paths[int(tok[1:]) % len(self.seq_paths)]
        return tok

    @staticmethod
    def data(tok):
        if tok is None:
            return None
        if isinstance(tok, dict):
            return b'x' * tok['len']
        return bytes.fromhex(tok)

    @staticmethod
    def raw(v):
        """A string field: str, None, or {"hex": ...} for exact bytes."""
        return bytes.fromhex(v['hex']) if isinstance(v, dict) else v

    @classmethod
    def acl(cls, tok):
        return None if tok is None else [(p, cls.raw(s), cls.raw(i)) for p, s, i in tok]

    # ---- canonical form -------------------------------------------------------

    def zx(self, z):
        if z <= 0 or self.base is None:
            return z
        return 'Z%+d' % (z - self.base)

    def sess(self, v):
        for s in self.sessions:
            if s.sid == v and v != 0:
                return 'S%d' % s.index
        return v

    def canon_stat(self, st):
        out = dict(st)
        for k in ('czxid', 'mzxid', 'pzxid'):
            out[k] = self.zx(st[k])
        out['ephemeralOwner'] = self.sess(st['ephemeralOwner'])
        for tk, zk in (('ctime', 'czxid'), ('mtime', 'mzxid')):
            if st[zk] > 0:
                self.times.append((st[zk], st[tk], tk))
                del out[tk]
        return out

    def canon(self, v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k == 'stat' and isinstance(x, dict) and 'czxid' in x:
                    out[k] = self.canon_stat(x)
                elif k == 'children' and isinstance(x, list) and self.sort_children:
                    out[k] = sorted(x, key=lambda c: str(c))
                else:
                    out[k] = self.canon(x)
            return out
        if isinstance(v, list):
            return [self.canon(x) for x in v]
        return v

    def time_problems(self):
        """Per-server sanity of ctime/mtime: what cannot be compared across
        servers must at least be consistent within one."""
        probs = []
        by_zxid = {}
        for z, t, what in self.times:
            if z in by_zxid and by_zxid[z] != t:
                probs.append('zxid %s has times %d and %d (%s)' % (self.zx(z), by_zxid[z], t, what))
            by_zxid.setdefault(z, t)
        now = int(time.time() * 1000)
        last = None
        for z in sorted(by_zxid):
            t = by_zxid[z]
            if self.base is not None and z >= self.base and not (self.t0_ms - 2000 <= t <= now + 2000):
                probs.append('zxid %s has time %d outside the run (%d..%d)' % (self.zx(z), t, self.t0_ms, now))
            if last is not None and t < last[1] and z >= (self.base or 0):
                probs.append('time goes back: zxid %s at %d after zxid %s at %d' % (
                    self.zx(z), t, self.zx(last[0]), last[1]))
            last = (z, t)
        return probs

    # ---- connections ----------------------------------------------------------

    def connect(self, sess=None, timeout_ms=30000, read_only=False, old=False, last_zxid=0,
                passwd=None):
        """Opens a connection; a new session when sess is None. Returns
        (Session or None, record). old: the request without its readOnly
        byte, as clients before 3.4 send it."""
        # A session the server made but whose answer came too late would
        # live on and expire in the middle of a later run: wait longer here.
        conn = w.Conn(self.port, CONNECT_TIMEOUT_S)
        if sess is None:
            req = w.connect_req(0, b'\0' * 16, last_zxid, timeout_ms, read_only)
        else:
            req = w.connect_req(sess.sid, sess.passwd if passwd is None else passwd, last_zxid,
                                timeout_ms, read_only)
        if old:
            req = req[:-1]
        try:
            conn.send(w.frame(req))
            resp = w.decode_connect_resp(conn.read_frame())
        except (w.Closed, w.Timeout) as e:
            conn.close()
            return None, {'connect': type(e).__name__}
        rec = dict(resp)
        pw = rec.pop('passwd')
        if sess is None and resp.get('session'):
            sess = Session(len(self.sessions), resp['session'], pw)
            self.sessions.append(sess)
        conn.timeout_s = REPLY_TIMEOUT_S
        if sess is not None and resp.get('session') == sess.sid:
            sess.conn = conn
        else:
            conn.close()
        rec['session'] = self.sess(resp.get('session', 0))
        return sess, rec

    def read_reply(self, conn):
        """Frames up to and including the next one that is not a
        notification: (events, reply or None, how it ended)."""
        frames = []
        while True:
            try:
                body = conn.read_frame()
            except w.Closed:
                return frames, None, 'closed'
            except w.Timeout:
                conn.close()
                return frames, None, 'timeout'
            if len(body) < 16:
                frames.append({'short': body.hex()})
                continue
            xid, zxid, err, rest = w.parse_reply_header(body)
            self.last_frame = body
            if xid == w.XID_NOTIFICATION:
                ev = w.parse_event(rest)
                frames.append({'ev': [ev.get('type'), ev.get('state'), ev.get('path')],
                               'zxid': self.zx(zxid), 'err': err,
                               **({'rest': ev['rest']} if ev.get('rest') else {})})
                continue
            return frames, (xid, zxid, err, rest), 'reply'

    # ---- ops --------------------------------------------------------------------

    def encode(self, op, sess):
        """(xid, opcode, body) for op."""
        kind = op['op']
        p = self.path(op.get('path'))
        xid = sess.next_xid()
        if kind == 'create':
            code = op['code']
            return xid, code, w.create_req(p, self.data(op['data']), self.acl(op['acl']), op['flags'],
                                           op.get('ttl') if code == w.CREATETTL else None)
        if kind == 'delete':
            return xid, w.DELETE, w.path_version(p, op['version'])
        if kind in ('exists', 'getData', 'getChildren', 'getChildren2'):
            code = {'exists': w.EXISTS, 'getData': w.GETDATA, 'getChildren': w.GETCHILDREN,
                    'getChildren2': w.GETCHILDREN2}[kind]
            return xid, code, w.path_watch(p, op['watch'])
        if kind == 'setData':
            return xid, w.SETDATA, w.set_data_req(p, self.data(op['data']), op['version'])
        if kind == 'getACL':
            return xid, w.GETACL, w.ustr(p)
        if kind == 'setACL':
            return xid, w.SETACL, w.set_acl_req(p, self.acl(op['acl']), op['version'])
        if kind == 'sync':
            return xid, w.SYNC, w.ustr(p)
        if kind == 'check':
            return xid, w.CHECK, w.path_version(p, op['version'])
        if kind in ('multi', 'multiRead'):
            body = b''.join(self.encode_sub(sub) for sub in op['ops']) + w.MULTI_END
            return xid, w.MULTI if kind == 'multi' else w.MULTIREAD, body
        if kind == 'addWatch':
            return xid, w.ADDWATCH, w.path_int(p, op['mode'])
        if kind in ('removeWatches', 'checkWatches'):
            code = w.REMOVEWATCHES if kind == 'removeWatches' else w.CHECKWATCHES
            return xid, code, w.path_int(p, op['type'])
        if kind == 'auth':
            auth = self.raw(op['auth'])
            return w.XID_AUTH, w.AUTH, w.auth_req(op['scheme'], auth.encode() if isinstance(auth, str) else auth)
        if kind == 'getEphemerals':
            return xid, w.GETEPHEMERALS, w.ustr(self.path(op['prefix']))
        if kind == 'getAllChildrenNumber':
            return xid, w.GETALLCHILDRENNUMBER, w.ustr(p)
        if kind == 'whoAmI':
            return xid, w.WHOAMI, b''
        if kind == 'setWatches':
            rel = self.base + op['rel']
            lists = [[self.path(x) for x in op.get(k) or []] for k in
                     ('data', 'exist', 'child', 'persistent', 'recursive')]
            if op['code'] == w.SETWATCHES:
                body = w.set_watches_req(rel, *lists[:3])
            else:
                body = w.set_watches_req(rel, *lists)
            return w.XID_SETWATCHES, op['code'], body
        if kind == 'ping':
            return op['xid'], w.PING, b''
        if kind == 'reconfig':
            return xid, w.RECONFIG, w.reconfig_req()
        if kind == 'deleteContainer':
            return xid, w.DELETECONTAINER, w.ustr(p)
        if kind == 'raw':
            return xid, op['code'], bytes.fromhex(op['body'])
        if kind == 'close':
            return xid, w.CLOSESESSION, b''
        raise ValueError('unknown op %r' % kind)

    def encode_sub(self, sub):
        kind = sub['op']
        p = self.path(sub.get('path'))
        if kind == 'create':
            code = sub['code']
            return w.multi_header(code) + w.create_req(
                p, self.data(sub['data']), self.acl(sub['acl']), sub['flags'],
                sub.get('ttl') if code == w.CREATETTL else None)
        if kind == 'delete':
            return w.multi_header(w.DELETE) + w.path_version(p, sub['version'])
        if kind == 'setData':
            return w.multi_header(w.SETDATA) + w.set_data_req(p, self.data(sub['data']),
                                                              sub['version'])
        if kind == 'check':
            return w.multi_header(w.CHECK) + w.path_version(p, sub['version'])
        if kind == 'setACL':
            return w.multi_header(w.SETACL) + w.set_acl_req(p, self.acl(sub['acl']), sub['version'])
        if kind == 'getData':
            return w.multi_header(w.GETDATA) + w.path_watch(p, False)
        if kind == 'getChildren':
            return w.multi_header(w.GETCHILDREN) + w.path_watch(p, False)
        if kind == 'bogus':
            return w.multi_header(sub['code'])
        raise ValueError('unknown sub-op %r' % kind)

    def reply_record(self, code, sent_xid, reply):
        xid, zxid, err, rest = reply
        if code == w.CREATESESSION and len(self.last_frame) in (36, 37):
            # ZooKeeper answers createSession on a live session with a
            # ConnectResponse, not a ReplyHeader.
            resp = w.decode_connect_resp(self.last_frame)
            resp['session'] = self.sess(resp['session'])
            resp['passwd_len'] = len(resp.pop('passwd') or b'')
            return {'connect': resp}
        rec = {'xid': '=' if xid == sent_xid else xid, 'zxid': self.zx(zxid),
               'err': w.err_name(err)}
        if err == 0 and code in w.OP_NAMES and code not in (w.DELETECONTAINER, w.RECONFIG):
            body = w.decode_body(code, rest)
            if body:
                rec['body'] = self.canon(body)
        elif rest and code in (w.MULTI, w.MULTIREAD):
            # ZooKeeper can send an error with a (partial) MultiResponse.
            body = w.decode_body(code, rest)
            if 'short' in body or 'rest' in body:
                rec['rest'] = rest.hex()
            else:
                rec['body'] = self.canon(body)
        elif rest:
            rec['rest'] = rest.hex()
        return rec

    def note_sequential(self, op, code, reply):
        """Remembers the names sequential creates answered (for "#k")."""
        _xid, _zxid, err, rest = reply
        if err != 0:
            return
        if op['op'] == 'create' and self.is_seq(op):
            body = w.decode_body(code, rest)
            if isinstance(body.get('path'), str):
                self.seq_paths.append(body['path'])
        elif op['op'] == 'multi':
            body = w.decode_body(code, rest)
            subs = [s for s in op['ops']]
            for sub, res in zip(subs, body.get('results', [])):
                if sub['op'] == 'create' and self.is_seq(sub) and isinstance(res.get('path'), str):
                    self.seq_paths.append(res['path'])

    @staticmethod
    def is_seq(op):
        return op['flags'] in (2, 3, 6)

    def ensure_session(self, slot, pre):
        sess = self.slot.get(slot)
        if sess is None:
            sess, rec = self.connect()
            pre.append({'open': rec})
            self.slot[slot] = sess
        elif sess.conn is None or sess.conn.closed:
            if sess.conn is not None:
                sess.conn.close()
                sess.conn = None
            _s, rec = self.connect(sess)
            pre.append({'reconnect': rec})
        return self.slot.get(slot)

    def step(self, op):
        slot = op.get('s', 0)
        rec = {}
        pre = []
        sess = self.ensure_session(slot, pre)
        if pre:
            rec['pre'] = pre
        if sess is None or sess.conn is None:
            rec['result'] = 'no connection'
            return rec
        kind = op['op']
        if kind == 'reconnect':
            sess.conn.close()
            sess.conn = None
            _s, rec['reconnect'] = self.connect(sess)
        elif kind == 'handshake':
            v = op['variant']
            if v == 'badpw':
                # ZooKeeper drops the session's connection before it checks
                # the password; the session lives on (observe reconnects).
                _s, rec['handshake'] = self.connect(sess, passwd=b'\1' * 16)
            elif v == 'ahead':
                _s, rec['handshake'] = self.connect(None, last_zxid=self.base + 1000000)
            else:
                # The slot's session is closed and a new one opened.
                rec['close'] = self.step({'s': slot, 'op': 'close'})
                args = {'old': {'old': True}, 'ro': {'read_only': True},
                        't1': {'timeout_ms': 1}, 'tbig': {'timeout_ms': 1000000000}}[v]
                new, rec['handshake'] = self.connect(None, **args)
                self.slot[slot] = new
                if v == 't1' and new is not None:
                    # A session of minSessionTimeout could expire while the
                    # runner waits elsewhere, at a different moment on each
                    # server: close it at once, the slot gets a new one.
                    rec['close t1'] = self.step({'s': slot, 'op': 'close'})
        elif kind == 'burst':
            sent = []
            try:
                for sub in op['ops']:
                    xid, code, body = self.encode(dict(sub, s=slot), sess)
                    sent.append((sub, xid, code))
                    sess.conn.send_request(xid, code, body)
            except w.Closed:
                pass
            rec['burst'] = []
            for sub, xid, code in sent:
                frames, reply, how = self.read_reply(sess.conn)
                got = {'frames': frames} if frames else {}
                if reply is not None:
                    got['reply'] = self.reply_record(code, xid, reply)
                    self.note_sequential(sub, code, reply)
                else:
                    got['reply'] = how
                rec['burst'].append(got)
                if reply is None:
                    break
        else:
            if kind == 'trunc':
                xid, code, body = self.encode(dict(op['inner'], s=slot), sess)
                body = body[:op['cut']] + bytes.fromhex(op['extra'])
            else:
                xid, code, body = self.encode(op, sess)
            try:
                sess.conn.send_request(xid, code, body)
                if kind == 'check':
                    # ZooKeeper 3.8 never answers a successful check outside
                    # a multi; a ping behind it bounds the wait.
                    sess.conn.send_request(w.XID_PING, w.PING, b'')
            except w.Closed:
                pass
            frames, reply, how = self.read_reply(sess.conn)
            if kind == 'check' and reply is not None and reply[0] != w.XID_PING:
                more, _ping, how = self.read_reply(sess.conn)
                frames += more
            elif kind == 'check' and reply is not None:
                reply, how = None, 'none'
            if frames:
                rec['frames'] = frames
            if reply is not None:
                rec['reply'] = self.reply_record(code, xid, reply)
                if kind != 'trunc':
                    self.note_sequential(op, code, reply)
            else:
                rec['reply'] = how
            if reply is not None and reply[2] in (w.UNIMPLEMENTED_ERR, w.AUTHFAILED_ERR):
                # These close the connection after the reply; how soon is
                # ZooKeeper's business, so wait for it before pinging.
                rec['closed'] = sess.conn.wait_closed(3.0)
            if kind == 'close' and reply is not None and reply[2] == 0:
                sess.conn.close()
                sess.conn = None
                self.slot[slot] = None
        rec['after'] = self.observe()
        return rec

    def observe(self):
        """Pings every live connection and collects what it received before
        the ping's answer; reconnects sessions whose connection is gone."""
        out = {}
        for slot in range(self.slots):
            sess = self.slot.get(slot)
            if sess is None:
                continue
            got = {}
            if sess.conn is not None and not sess.conn.closed:
                try:
                    sess.conn.send_request(w.XID_PING, w.PING, b'')
                except w.Closed:
                    pass
                frames, reply, how = self.read_reply(sess.conn)
                if frames:
                    got['frames'] = frames
                if reply is not None:
                    xid, zxid, err, rest = reply
                    got['ping'] = [xid, self.zx(zxid), err] + ([rest.hex()] if rest else [])
                else:
                    got['ping'] = how
            if sess.conn is None or sess.conn.closed:
                if sess.conn is not None:
                    sess.conn.close()
                    sess.conn = None
                _s, got['reconnect'] = self.connect(sess)
            out[str(slot)] = got
        return out

    def setup(self):
        """Creates the run's root from a session of its own; its zxid is the
        base every other zxid is counted from."""
        admin, rec = self.connect()
        recs = [{'setup-open': rec}]
        if admin is None:
            raise RuntimeError('cannot open a session on port %d: %r' % (self.port, rec))
        xid = admin.next_xid()
        admin.conn.send_request(xid, w.CREATE, w.create_req(self.root, b''))
        _f, reply, how = self.read_reply(admin.conn)
        if reply is None or reply[2] != 0:
            raise RuntimeError('cannot create %s: %r' % (self.root, reply or how))
        self.base = reply[1]
        admin.conn.send_request(admin.next_xid(), w.CLOSESESSION, b'')
        self.read_reply(admin.conn)
        admin.conn.close()
        for slot in range(self.slots):
            sess, rec = self.connect()
            self.slot[slot] = sess
            recs.append({'open': rec})
        return recs

    def finish(self):
        """Closes every session still open (through the same step as a
        close op, so the events it causes are compared too)."""
        recs = []
        for slot in range(self.slots):
            if self.slot.get(slot) is not None:
                recs.append(self.step({'s': slot, 'op': 'close'}))
        for s in self.sessions:
            if s.conn is not None:
                s.conn.close()
        return recs

    def run(self, ops):
        """Trace of the whole sequence: setup, one record per op, finish."""
        trace = {'setup': self.setup(), 'ops': []}
        for op in ops:
            trace['ops'].append(self.step(op))
        trace['finish'] = self.finish()
        trace['time'] = self.time_problems()
        return trace
