"""Bad input over raw sockets.  Each case asserts Apache ZooKeeper 3.8's
answer (an error reply, or the connection closed, or both), that zabd logged
it, and (fixture `bystander`) that a client connected beforehand is still
served afterwards.

Run: SERVER_KIND=zabd|zookeeper /usr/bin/python3 -m pytest -q tests/integration/badinput
"""
import random
import struct
import time

import pytest

from conftest import round_trip
from rawwire import (AUTH, AUTH_XID, AUTHFAILED, BADARGUMENTS, CREATE, DELETE, EXISTS,
                     GETCHILDREN, GETDATA, MARSHALLINGERROR, MAXBUF, MULTI, MULTI_END,
                     MULTI_READ, NONODE, OK, SYNC, UNIMPLEMENTED, Raw, connect_req,
                     create_body, frame, multi_op, parse_connect_resp, reply_headers, ustr)

# How long a connection that should stay open is watched for a close.
STAYS_OPEN_S = 0.5


def closed_silently(c):
    """True when the server closed c without sending anything first."""
    return c.finish() == (True, b'')


def test_garbage_instead_of_connect_request_closes(server, bystander, logged):
    c = Raw(server[0], handshake=False)
    # 64 bytes: a small honest length, then noise (fixed seed: the same noise
    # every run, so a failure reproduces).
    c.s.sendall(struct.pack('>i', 60) + random.Random(20261122).randbytes(60))
    assert closed_silently(c)
    assert logged(c, 'malformed connect request')


@pytest.mark.parametrize('handshake', [False, True], ids=['before_handshake', 'after_handshake'])
def test_frame_over_maxbuffer_closes(server, bystander, logged, handshake):
    c = Raw(server[0], handshake=handshake)
    c.s.sendall(struct.pack('>i', MAXBUF + 1) + b'x' * 64)
    assert closed_silently(c)
    assert logged(c, 'over jute.maxbuffer')


def test_frame_of_exactly_maxbuffer_is_served(server, bystander):
    c = Raw(server[0])
    hdr = struct.pack('>ii', 1, CREATE)
    data = b'x' * (MAXBUF - len(hdr) - len(create_body('/maxbuf', b'')))
    body = hdr + create_body('/maxbuf', data)
    assert len(body) == MAXBUF
    c.s.sendall(frame(body))
    reply = c.read_frame()
    assert struct.unpack('>iqi', reply[:16])[::2] == (1, OK)
    assert c.request(DELETE, ustr('/maxbuf') + struct.pack('>i', -1))[0] == OK
    c.close()


@pytest.mark.parametrize('handshake', [False, True], ids=['before_handshake', 'after_handshake'])
def test_negative_frame_length_closes(server, bystander, logged, handshake):
    c = Raw(server[0], handshake=handshake)
    c.s.sendall(struct.pack('>i', -5) + b'x' * 8)
    assert closed_silently(c)
    assert logged(c, 'frame of -5 bytes')


def test_truncated_connect_request_closes(server, bystander, logged):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(connect_req()[:10]))
    assert closed_silently(c)
    assert logged(c, 'malformed connect request')


def answered_marshalling_error_and_usable(c):
    """ZooKeeper parses a request's record only after its header: a record it
    cannot parse gets MARSHALLINGERROR, and the connection stays usable."""
    closed, data = c.finish(STAYS_OPEN_S)
    assert not closed, 'the server closed the connection'
    assert reply_headers(data) == [(1, MARSHALLINGERROR)]
    round_trip(c)
    return True


@pytest.mark.parametrize('op', [GETDATA, EXISTS, CREATE, DELETE],
                         ids=['getData', 'exists', 'create', 'delete'])
def test_truncated_request_record_answers_marshalling_error(server, bystander, logged, op):
    c = Raw(server[0])
    # The record's path claims 100 bytes; 3 are there.
    c.send(op, struct.pack('>i', 100) + b'abc')
    assert answered_marshalling_error_and_usable(c)
    assert logged(c, 'malformed')
    c.close()


def test_getdata_without_its_watch_flag_answers_marshalling_error(server, bystander, logged):
    c = Raw(server[0])
    c.send(GETDATA, ustr('/'))
    assert answered_marshalling_error_and_usable(c)
    assert logged(c, 'malformed getData request')
    c.close()


@pytest.mark.parametrize('n', [0, 4, 7])
def test_truncated_request_header_closes(server, bystander, logged, n):
    c = Raw(server[0])
    c.s.sendall(frame(struct.pack('>ii', 1, GETDATA)[:n]))
    assert closed_silently(c)
    assert logged(c, 'malformed')


@pytest.mark.parametrize('op', [999, -99])
def test_unknown_opcode_answers_unimplemented_then_closes(server, bystander, logged, op):
    c = Raw(server[0])
    c.send(op, b'')
    closed, data = c.finish()
    assert closed
    assert reply_headers(data) == [(1, UNIMPLEMENTED)]
    assert logged(c, 'unknown opcode %d' % op)


def test_request_before_connect_request_closes(server, bystander, logged):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(struct.pack('>ii', 1, GETDATA) + ustr('/') + b'\0'))
    assert closed_silently(c)
    assert logged(c, 'malformed connect request')


def test_acl_count_larger_than_frame_answers_marshalling_error(server, bystander, logged):
    c = Raw(server[0])
    c.send(CREATE, create_body('/acl-count', acl_count=0x7fffffff))
    assert answered_marshalling_error_and_usable(c)
    assert logged(c, 'malformed')
    assert bystander.request(EXISTS, ustr('/acl-count') + b'\0')[0] == NONODE
    c.close()


@pytest.mark.parametrize('op', [GETDATA, CREATE], ids=['getData', 'create'])
def test_huge_string_length_inside_record_answers_marshalling_error(
        server, bystander, logged, op):
    c = Raw(server[0])
    c.send(op, struct.pack('>i', 0x7ffffff0) + b'/')
    assert answered_marshalling_error_and_usable(c)
    assert logged(c, 'malformed')
    c.close()


@pytest.mark.parametrize('path', ['/a\0b', '/zookeeper/', 'relative', ''],
                         ids=['nul', 'trailing_slash', 'relative', 'empty'])
def test_create_with_bad_path_answers_badarguments(server, bystander, logged, path):
    c = Raw(server[0])
    assert c.request(CREATE, create_body(path))[0] == BADARGUMENTS
    # ZooKeeper logs "Invalid path ... with session 0x..." for these.
    assert logged(c, 'path')
    round_trip(c)  # the connection stays usable
    c.close()


def test_create_with_trailing_slash_under_missing_parent_is_nonode(server, bystander):
    # ZooKeeper looks the parent up before it validates the whole path.
    c = Raw(server[0])
    assert c.request(CREATE, create_body('/no-such-parent/'))[0] == NONODE
    c.close()


# (op, path) -> ZooKeeper's error code.  Reads do not validate the path: a
# NUL or a trailing slash just finds no node, except that exists checks for
# NUL; and the empty path reads the root, which ZooKeeper's tree keys as "".
READS = [
    (GETDATA, '/a\0b', NONODE), (EXISTS, '/a\0b', BADARGUMENTS), (GETCHILDREN, '/a\0b', NONODE),
    (GETDATA, '/zookeeper/', NONODE), (EXISTS, '/zookeeper/', NONODE),
    (GETDATA, 'zookeeper', NONODE), (EXISTS, 'relative', NONODE),
    (GETDATA, '', OK), (EXISTS, '', OK), (GETCHILDREN, '', OK),
]


OPNAME = {GETDATA: 'getData', EXISTS: 'exists', GETCHILDREN: 'getChildren'}


@pytest.mark.parametrize('op,path,err', READS,
                         ids=['%s:%r' % (OPNAME[o], p) for o, p, _ in READS])
def test_read_with_bad_path(server, bystander, op, path, err):
    c = Raw(server[0])
    got, body = c.request(op, ustr(path) + b'\0')
    assert got == err
    if op == GETCHILDREN and err == OK:
        # the root's children, as for '/'
        assert body == c.request(GETCHILDREN, ustr('/') + b'\0')[1]
    elif op == GETDATA and err == OK:
        assert body == c.request(GETDATA, ustr('/') + b'\0')[1]
    round_trip(c)
    c.close()


@pytest.mark.parametrize('op,inner', [
    (MULTI, multi_op(GETDATA, ustr('/') + b'\0')),
    (MULTI, multi_op(SYNC, ustr('/'))),
    (MULTI, multi_op(999, ustr('/'))),
    (MULTI_READ, multi_op(CREATE, create_body('/multi-read-create'))),
    (MULTI, multi_op(7, ustr('/') + struct.pack('>i', 1) + struct.pack('>i', 31) + ustr('world') +
                     ustr('anyone') + struct.pack('>i', -1))),
], ids=['getData_in_multi', 'sync_in_multi', 'opcode999_in_multi', 'create_in_multiRead',
        'setACL_in_multi'])
def test_multi_with_op_not_allowed_answers_marshalling_error(
        server, bystander, logged, op, inner):
    c = Raw(server[0])
    c.send(op, inner + MULTI_END)
    assert answered_marshalling_error_and_usable(c)
    assert logged(c, 'malformed multi')
    assert bystander.request(EXISTS, ustr('/multi-read-create') + b'\0')[0] == NONODE
    c.close()


def test_multi_without_end_marker_answers_marshalling_error(server, bystander, logged):
    c = Raw(server[0])
    c.send(MULTI, multi_op(CREATE, create_body('/no-end-marker')))
    assert answered_marshalling_error_and_usable(c)
    assert logged(c, 'malformed multi')
    assert bystander.request(EXISTS, ustr('/no-end-marker') + b'\0')[0] == NONODE
    c.close()


def test_client_ahead_of_server_is_refused(server, bystander, logged):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(connect_req(last_zxid=1 << 60)))
    assert closed_silently(c)
    assert logged(c, 'has seen zxid')


def test_wrong_password_gets_invalid_session_and_drops_the_old_connection(
        server, bystander, logged):
    port = server[0]
    good = Raw(port)
    bad = Raw(port, handshake=False)
    bad.s.sendall(frame(connect_req(session=good.session, passwd=b'\1' * 16)))
    timeout, session, _ = parse_connect_resp(bad.read_frame())
    assert (timeout, session) == (0, 0)
    assert closed_silently(bad)
    assert logged(bad, 'invalid session')
    # ZooKeeper drops the session's current connection before it checks the
    # password, but the session lives on: the right password gets it back.
    assert closed_silently(good)
    again = Raw(port, handshake=False)
    again.s.sendall(frame(connect_req(session=good.session, passwd=good.passwd)))
    timeout, session, _ = parse_connect_resp(again.read_frame())
    assert session == good.session and timeout > 0
    again.session = session
    round_trip(again)
    again.close()


def test_unknown_session_gets_invalid_session_then_close(server, bystander, logged):
    c = Raw(server[0], handshake=False)
    c.s.sendall(frame(connect_req(session=0x0123456789abcdef)))
    assert parse_connect_resp(c.read_frame())[:2] == (0, 0)
    assert closed_silently(c)
    assert logged(c, 'invalid session 0x0123456789abcdef')


def test_half_sent_frame_then_disconnect(server, bystander, logged):
    c = Raw(server[0])
    c.s.sendall(struct.pack('>i', 100) + b'abc')
    # While the frame hangs half-sent, the others are served.
    round_trip(bystander)
    assert c.finish(STAYS_OPEN_S) == (False, b'')
    c.close()
    assert logged(c, 'closed')


def test_silent_client_does_not_block_others(server, bystander):
    silent = Raw(server[0], handshake=False)
    round_trip(bystander)
    assert silent.finish(STAYS_OPEN_S) == (False, b'')
    round_trip(bystander)
    silent.close()


def test_unknown_auth_scheme_answers_authfailed_then_closes(server, bystander, logged):
    c = Raw(server[0])
    c.send(AUTH, struct.pack('>i', 0) + ustr('nosuch') + ustr(b'x'), xid=AUTH_XID)
    closed, data = c.finish()
    assert closed
    assert reply_headers(data) == [(AUTH_XID, AUTHFAILED)]
    assert logged(c, 'scheme nosuch failed')


# Opcode 102 on a server without SASL (no JAAS Server section). ZooKeeper's
# processSasl logs that the connection has no SASL server and answers OK
# with a null token; a null or undecodable token throws first and closes.
SASL = 102


def test_sasl_token_without_sasl_configured_answers_ok_with_no_token(server, bystander, logged):
    c = Raw(server[0])
    c.send(SASL, ustr(b'garbage token'), xid=3)
    assert c.read_frame() == struct.pack('>iqii', 3, 0, OK, -1)
    assert logged(c, 'SASL is not configured')
    round_trip(c)  # the connection is still served
    c.close()


@pytest.mark.parametrize('body', [b'', ustr(None), struct.pack('>i', 64) + b'short'])
def test_null_or_undecodable_sasl_token_closes(server, bystander, logged, body):
    c = Raw(server[0])
    c.send(SASL, body, xid=3)
    assert closed_silently(c)
    assert logged(c, 'SASL')


def reply_zxids(data):
    """(xid, zxid, err) of every ReplyHeader in data."""
    out = []
    while data:
        (n,) = struct.unpack('>i', data[:4])
        out.append(struct.unpack('>iqi', data[4:20]))
        data = data[4 + n:]
    return out


def test_unknown_opcode_reply_carries_zxid_minus_one(server, bystander):
    # UnimplementedRequestProcessor answers with the zxid of a request that
    # never got one.
    c = Raw(server[0])
    c.send(999, b'')
    closed, data = c.finish()
    assert closed
    assert reply_zxids(data) == [(1, -1, UNIMPLEMENTED)]


def test_delete_container_from_a_client_is_badarguments_and_spends_a_zxid(server, bystander, logged):
    # ZooKeeper reads a client's deleteContainer path from the whole request
    # buffer, header included: never a valid path.
    c = Raw(server[0])
    c.send(SYNC, ustr('/'))
    before = reply_zxids(c.read_frame_raw())[0][1]
    c.send(20, ustr('/'))
    xid, zxid, err = reply_zxids(c.read_frame_raw())[0]
    assert (xid, err) == (2, BADARGUMENTS)
    assert zxid == before + 1
    assert logged(c, 'opcode 20 answered BADARGUMENTS')
    round_trip(c)
    c.close()


def test_ping_is_answered_with_xid_minus_two_whatever_it_carried(server, bystander):
    c = Raw(server[0])
    c.send(11, b'', xid=7)
    xid, _zxid, err = reply_zxids(c.read_frame_raw())[0]
    assert (xid, err) == (-2, OK)
    round_trip(c)
    c.close()


def test_successful_check_outside_multi_gets_no_reply_but_spends_a_zxid(server, bystander):
    # ZooKeeper 3.8 serialises a null stat for it and drops the reply.
    c = Raw(server[0])
    c.send(SYNC, ustr('/'))
    before = reply_zxids(c.read_frame_raw())[0][1]
    c.send(13, ustr('/') + struct.pack('>i', -1))
    c.send(11, b'', xid=-2)
    assert reply_zxids(c.read_frame_raw()) == [(-2, before + 1, OK)]
    # A failing check is answered.
    c.send(13, ustr('/no-such-node') + struct.pack('>i', -1))
    assert reply_zxids(c.read_frame_raw())[0][::2] == (3, NONODE)
    c.close()


def last_zxid(c):
    c.send(SYNC, ustr('/'))
    return reply_zxids(c.read_frame_raw())[0][1]


NULL = struct.pack('>i', -1)
OPEN_ACL = struct.pack('>i', 1) + struct.pack('>i', 31) + ustr('world') + ustr('anyone')


@pytest.mark.parametrize('op,body,err', [
    (CREATE, NULL + ustr(b'') + OPEN_ACL + struct.pack('>i', 0), MARSHALLINGERROR),
    (DELETE, NULL + struct.pack('>i', -1), MARSHALLINGERROR),
    (5, NULL + ustr(b'') + struct.pack('>i', -1), BADARGUMENTS),      # setData
    (7, NULL + OPEN_ACL + struct.pack('>i', -1), BADARGUMENTS),       # setACL
    (13, NULL + struct.pack('>i', -1), BADARGUMENTS),                 # check
], ids=['create', 'delete', 'setData', 'setACL', 'check'])
def test_null_path_in_a_write_fails_in_prep_and_spends_a_zxid(server, bystander, op, body, err):
    # validatePath turns a null path into BADARGUMENTS; create and delete
    # call lastIndexOf on it first and throw (MARSHALLINGERROR).
    c = Raw(server[0])
    before = last_zxid(c)
    c.send(op, body)
    assert reply_zxids(c.read_frame_raw())[0][1:] == (before + 1, err)
    round_trip(c)
    c.close()


def test_multi_with_a_null_path_loses_a_zxid(server, bystander, logged):
    # Prep takes a zxid, then throws on the null path before the request
    # has a txn: nothing is logged, the reply is MARSHALLINGERROR with an
    # empty MultiResponse, and the next txn skips the lost zxid.
    c = Raw(server[0])
    before = last_zxid(c)
    c.send(MULTI, multi_op(13, ustr('/') + struct.pack('>i', -1)) +
           multi_op(5, NULL + ustr(b'') + struct.pack('>i', -1)) + MULTI_END)
    frame_ = c.read_frame_raw()
    assert reply_zxids(frame_) == [(2, before, MARSHALLINGERROR)]
    assert frame_[20:] == MULTI_END
    assert last_zxid(c) == before
    c.send(CREATE, create_body('/after-null-multi'))
    assert reply_zxids(c.read_frame_raw())[0][1:] == (before + 2, OK)
    assert c.request(DELETE, ustr('/after-null-multi') + struct.pack('>i', -1))[0] == OK
    assert logged(c, 'null path')
    c.close()


def test_multi_read_with_a_null_path_answers_what_it_read_before_it(server, bystander):
    c = Raw(server[0])
    c.send(MULTI_READ, multi_op(GETCHILDREN, ustr('/zookeeper') + b'\0') +
           multi_op(GETDATA, NULL + b'\0') + multi_op(GETDATA, ustr('/') + b'\0') + MULTI_END)
    frame_ = c.read_frame_raw()
    assert reply_zxids(frame_)[0][::2] == (1, MARSHALLINGERROR)
    body = frame_[20:]
    # one getChildren result (quota and config), then the end marker
    assert body[:13] == struct.pack('>i?ii', GETCHILDREN, False, 0, 2)
    assert body.endswith(MULTI_END) and len(body) == 13 + (4 + 5) + (4 + 6) + 9
    round_trip(c)
    c.close()


def test_add_watch_with_a_null_path_is_answered_ok(server, bystander):
    # ZooKeeper's watch table takes the null key; nothing ever fires for it.
    c = Raw(server[0])
    err, body = c.request(106, NULL + struct.pack('>i', 0))
    assert (err, body) == (OK, struct.pack('>i', 0))
    round_trip(c)
    c.close()


def test_create_session_request_on_a_session_is_answered_as_a_connect(server, bystander, logged):
    # ZooKeeper lists createSession (-10) as a valid request type: prep
    # reads a timeout from the body (too short: MARSHALLINGERROR), logs a
    # CreateSessionTxn for the connection's session and finishSessionInit
    # sends a ConnectResponse. Both spend a zxid; the connection stays.
    c = Raw(server[0])
    before = last_zxid(c)
    c.send(-10, b'\0\0')
    assert reply_zxids(c.read_frame_raw())[0] == (2, before + 1, MARSHALLINGERROR)
    c.send(-10, struct.pack('>i', 0))
    timeout, session, passwd = parse_connect_resp(c.read_frame())
    assert (timeout, session, passwd) == (c.timeout, c.session, c.passwd)
    assert last_zxid(c) == before + 2
    assert logged(c, 'createSession again')
    round_trip(c)
    c.close()


def test_strings_come_back_as_java_decoded_them(server, bystander):
    # ZooKeeper decodes every string into a Java String (bytes that are not
    # UTF-8 become U+FFFD) and writes it back with jute (each UTF-16 unit on
    # its own: a supplementary character takes 6 bytes).
    c = Raw(server[0])
    assert c.request(SYNC, ustr(b'/a\xffb'))[1] == ustr(b'/a\xef\xbf\xbdb')
    assert c.request(SYNC, ustr(b'/\xf0\x9f\x98\x80'))[1] == ustr(b'/\xed\xa0\xbd\xed\xb8\x80')
    assert c.request(AUTH, struct.pack('>i', 0) + ustr('digest') + ustr(b'u\xff:pw'),
                     xid=AUTH_XID)[0] == OK
    err, body = c.request(107, b'')
    assert err == OK and ustr(b'u\xef\xbf\xbd') in body
    c.close()


def test_multi_read_of_write_ops_answers_an_empty_multi_response(server, bystander):
    # Write ops alone parse as a MultiOperationRecord (mixing kinds does
    # not); FinalRequestProcessor then fails on the first one after making
    # the MultiResponse, so MARSHALLINGERROR comes with an empty one.
    c = Raw(server[0])
    c.send(MULTI_READ, multi_op(CREATE, create_body('/mr-write')) + MULTI_END)
    frame_ = c.read_frame_raw()
    assert reply_zxids(frame_)[0][::2] == (1, MARSHALLINGERROR)
    assert frame_[20:] == MULTI_END
    c.send(MULTI_READ, multi_op(GETDATA, ustr('/') + b'\0') +
           multi_op(CREATE, create_body('/mr-write')) + MULTI_END)
    frame_ = c.read_frame_raw()
    assert reply_zxids(frame_)[0][::2] == (2, MARSHALLINGERROR) and frame_[20:] == b''
    assert c.request(EXISTS, ustr('/mr-write') + b'\0')[0] == NONODE
    c.close()


def test_all_children_number_of_the_empty_path_counts_the_root_key_too(server, bystander):
    # DataTree.getAllChildrenNumber counts the keys under path + "/"; the
    # root is keyed both "" and "/", so "" finds one more than "/".
    c = Raw(server[0])
    err, root = c.request(104, ustr('/'))
    assert err == OK
    err, empty = c.request(104, ustr(''))
    assert err == OK
    assert struct.unpack('>i', empty)[0] == struct.unpack('>i', root)[0] + 1
    c.close()


def test_multi_of_reads_with_a_null_path_loses_a_zxid_too(server, bystander):
    # Read ops parse as a MultiOperationRecord; getPendingChanges then
    # throws on the null path as for writes.
    c = Raw(server[0])
    before = last_zxid(c)
    c.send(MULTI, multi_op(GETCHILDREN, ustr('/') + b'\0') + multi_op(GETDATA, NULL + b'\0') +
           MULTI_END)
    frame_ = c.read_frame_raw()
    assert reply_zxids(frame_) == [(2, before, MARSHALLINGERROR)] and frame_[20:] == MULTI_END
    c.send(MULTI, multi_op(GETDATA, ustr('/') + b'\0') + MULTI_END)   # prep fails: zxid spent
    assert reply_zxids(c.read_frame_raw()) == [(3, before + 2, MARSHALLINGERROR)]
    c.close()


def test_reconfig_record_that_does_not_parse_spends_no_zxid(server, bystander):
    c = Raw(server[0])
    before = last_zxid(c)
    c.send(16, NULL + NULL + NULL + b'\0\0')
    assert reply_zxids(c.read_frame_raw()) == [(2, before, MARSHALLINGERROR)]
    c.send(16, NULL + NULL + NULL + struct.pack('>q', -1))
    assert reply_zxids(c.read_frame_raw()) == [(3, before + 1, -123)]  # RECONFIGDISABLED
    c.close()


def test_create_session_request_with_timeout_zero_lets_the_session_expire(server, bystander):
    # Prep tracks the session again with the body's timeout: 0 is due at
    # the next tick, so a client silent for two ticks (tickTime 2 s here)
    # finds its session expired and the connection closed.
    c = Raw(server[0])
    c.send(-10, struct.pack('>i', 0))
    parse_connect_resp(c.read_frame())
    closed, _data = c.finish(6.0)
    assert closed


def test_requests_pipelined_after_close_session_are_not_run(server, bystander):
    # closeSession with more requests behind it in the same packet: what
    # was answered before the close, and the close itself, reach the
    # client; what follows is not run (ZooKeeper drops it, or answers
    # SESSIONEXPIRED when its session check comes first), and the
    # connection closes.
    CLOSE_SESSION, SESSIONEXPIRED = -11, -112
    c = Raw(server[0])
    name = '/after-close-%d' % time.monotonic_ns()
    c.s.sendall(b''.join(frame(struct.pack('>ii', xid, op) + body) for xid, op, body in [
        (1, EXISTS, ustr('/') + b'\0'),
        (2, CLOSE_SESSION, b''),
        (3, CREATE, create_body(name)),
        (4, EXISTS, ustr('/') + b'\0')]))
    closed, data = c.finish()
    assert closed
    replies = reply_headers(data)
    assert replies[:2] == [(1, OK), (2, OK)]
    assert all(err == SESSIONEXPIRED for _xid, err in replies[2:]), replies
    err, _ = bystander.request(EXISTS, ustr(name) + b'\0')
    assert err == NONODE
