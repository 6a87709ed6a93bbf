/*
 * fuzz_server.c: drives the server's own connection, dispatch, commit and
 * output code in-process with whole byte streams, on up to four client
 * connections at once.
 *
 * One real server per process (srv_open: RocksDB in a temporary directory,
 * the log thread running, no listening socket); each client connection is
 * a socketpair whose server end goes through srv_conn_accept exactly as an
 * accepted TCP socket does. Every input starts from an empty tree, session
 * table and watch table (the zxid counter and the log carry on), and ends
 * with every client end closed and the loop run until the server has let
 * go of all of them, which is checked: no connection, no held output, no
 * outstanding request left behind. Memory errors, leaks (LeakSanitizer) and
 * ZK_ASSERTs are what the fuzzer looks for.
 *
 * Input: a sequence of ops, each one byte then its operands. Low nibble =
 * op, bits 4-5 = connection k:
 *   0 open k          1 handshake k: u16 timeout/8 ms, new session
 *   2 reconnect k as the session of connection (byte & 3), byte & 4 spoils
 *     the password, u32 lastZxidSeen
 *   3 frame k: u8 xid kind, u8 opcode index, u8 len, body bytes (the length
 *     prefix is right, the record is whatever follows)
 *   4 raw bytes k: u16 len, bytes, sent as they are (partial frames, a
 *     four-letter word, garbage, a huge length)
 *   5 close k (client end)       6 shutdown(SHUT_WR) on k
 *   7 request k from a template: u8 template, u8 path, u8 flags/version
 *   8..15 run the loop until it is quiet
 * A server reply to a handshake is parsed so that later reconnects can use
 * the session id and password it granted; everything else is read and
 * dropped (so socket buffers never fill).
 *
 * The corpus in tests/fuzz/corpus-server (made by gen_server_corpus.py) is
 * replayed as a ctest in every build; tests/fuzz/run.sh fuzzes it with
 * libFuzzer.
 */
#include "fuzz_decoders.h"

#include "server/srv_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { N_CONNS = 4, MAX_QUIET_ROUNDS = 2000 };

typedef struct client {
    int fd; /* -1: not open */
    bool is_handshaken_seen;
    int64_t session;
    uint8_t passwd[16];
    uint8_t in[1 << 16];
    size_t in_len;
} client;

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static srv *S;
static char data_dir[64];
static client cl[N_CONNS];

static uint8_t take8(input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static uint16_t take16(input *in)
{
    uint16_t hi = take8(in);
    return (uint16_t)(hi << 8 | take8(in));
}

static uint32_t take32(input *in)
{
    uint32_t hi = take16(in);
    return hi << 16 | take16(in);
}

static void remove_data_dir(void)
{
    if (S != NULL) {
        srv_close(S);
        free(S);
        S = NULL;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_server: could not remove %s\n", data_dir);
}

static void server_start(void)
{
    char err[512] = "";
    signal(SIGPIPE, SIG_IGN);
    ZK_ASSERT(evthread_use_pthreads() == 0, "libevent without pthreads");
    snprintf(data_dir, sizeof data_dir, "/tmp/zabd-fuzz-XXXXXX");
    ZK_ASSERT(mkdtemp(data_dir) != NULL, "mkdtemp: %s", strerror(errno));
    S = calloc(1, sizeof *S);
    ZK_ASSERT(S != NULL, "out of memory");
    srv_config_defaults(&S->cfg);
    free(S->cfg.data_dir);
    free(S->cfg.data_log_dir);
    S->cfg.data_dir = strdup(data_dir);
    S->cfg.data_log_dir = strdup(data_dir);
    free(S->cfg.four_letter_whitelist);
    S->cfg.four_letter_whitelist = strdup("*");
    /* super:test, so inputs can reach the super-user paths */
    S->cfg.super_digest = strdup("super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    S->cfg.extended_types_enabled = true;
    S->cfg.snap_count = INT32_MAX / 2;   /* no forked snapshot children */
    S->cfg.global_outstanding_limit = 8; /* reach throttling often */
    S->rng = 1;
    if (srv_open(S, err, sizeof err) != 0 ||
        stor_start(S->st, srv_on_durable, srv_on_log_error, S) != 0) {
        fprintf(stderr, "fuzz_server: cannot start: %s\n", err);
        abort();
    }
    /* After RocksDB's first open: exit handlers run in reverse, and its
     * function-local statics must outlive our close. */
    atexit(remove_data_dir);
    for (int k = 0; k < N_CONNS; k++)
        cl[k].fd = -1;
}

/* Fresh tree, sessions and watches for the next input. */
static void state_reset(void)
{
    zt_free(S->tree);
    sess_free(S->sessions);
    watch_free(S->watches);
    S->tree = zt_new();
    S->sessions = sess_new(S->cfg.tick_time_ms, 1);
    S->watches = watch_new();
    ZK_ASSERT(S->tree != NULL && S->sessions != NULL && S->watches != NULL, "out of memory");
    sess_id_init(S->sessions, 1);
}

static void client_open(int k)
{
    if (cl[k].fd >= 0)
        return;
    int sv[2];
    ZK_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    memset(&cl[k], 0, sizeof cl[k]);
    cl[k].fd = sv[0];
    srv_conn_accept(S, sv[1], "127.0.0.1", 40000 + k);
}

static void client_close(int k)
{
    if (cl[k].fd >= 0)
        close(cl[k].fd);
    cl[k].fd = -1;
}

/* Reads what the server sent; remembers the session a handshake granted. */
static bool client_drain(int k)
{
    client *c = &cl[k];
    bool got = false;
    while (c->fd >= 0) {
        ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
        if (n <= 0) {
            if (n == 0)
                client_close(k);
            break;
        }
        got = true;
        c->in_len += (size_t)n;
        size_t off = 0;
        while (c->in_len - off >= 4) {
            uint32_t len = wire_get_be32(c->in + off);
            if (!c->is_handshaken_seen && len >= 36 && c->in_len - off >= 4 + (size_t)len) {
                /* ConnectResponse: protocolVersion, timeOut, sessionId, passwd */
                c->is_handshaken_seen = true;
                c->session = (int64_t)wire_get_be64(c->in + off + 12);
                memcpy(c->passwd, c->in + off + 24, 16);
            }
            if (c->in_len - off < 4 + (size_t)len) {
                if (4 + (size_t)len > sizeof c->in)
                    off = c->in_len; /* too big to keep: drop what we have */
                break;
            }
            off += 4 + len;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return got;
}

/* Runs the loop and reads every client until nothing moves and the log
 * thread has caught up. Bounded. */
static uint64_t progress(void)
{
    return S->stats.packets_recv + S->stats.packets_sent + S->n_conns + (uint64_t)S->last_zxid +
           (uint64_t)S->outstanding;
}

static void run_quiet(void)
{
    for (int round = 0; round < MAX_QUIET_ROUNDS; round++) {
        uint64_t before = progress();
        event_base_loop(S->base, EVLOOP_NONBLOCK);
        bool moved = progress() != before;
        for (int k = 0; k < N_CONNS; k++)
            moved |= client_drain(k);
        if (S->durable_zxid < S->last_zxid) {
            event_base_loop(S->base, EVLOOP_ONCE); /* the durable wake-up */
            continue;
        }
        if (!moved && S->reap == NULL && S->resume == NULL)
            return;
    }
}

static void send_bytes(int k, const uint8_t *p, size_t n)
{
    client_open(k);
    for (int tries = 0; n > 0 && tries < 1000 && cl[k].fd >= 0; tries++) {
        ssize_t w = write(cl[k].fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN)
            return;
        run_quiet(); /* the server reads, or it stopped reading: give up later */
    }
}

static void send_frame(int k, wire_wr *w)
{
    wire_wr_patch_i32(w, 0, (int32_t)(w->len - 4));
    send_bytes(k, w->p, w->len);
}

static void handshake(int k, int64_t session, const uint8_t *pw, int32_t timeout, int64_t last)
{
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    wire_wr_i32(&w, 0);
    wire_wr_i64(&w, last);
    wire_wr_i32(&w, timeout);
    wire_wr_i64(&w, session);
    wire_wr_buf(&w, (wire_buf){pw, 16});
    wire_wr_bool(&w, false);
    send_frame(k, &w);
    wire_wr_fini(&w);
}

static const int32_t opcodes[] = {
    WIRE_OP_CREATE,
    WIRE_OP_DELETE,
    WIRE_OP_EXISTS,
    WIRE_OP_GETDATA,
    WIRE_OP_SETDATA,
    WIRE_OP_GETACL,
    WIRE_OP_SETACL,
    WIRE_OP_GETCHILDREN,
    WIRE_OP_SYNC,
    WIRE_OP_PING,
    WIRE_OP_GETCHILDREN2,
    WIRE_OP_CHECK,
    WIRE_OP_MULTI,
    WIRE_OP_CREATE2,
    WIRE_OP_RECONFIG,
    WIRE_OP_CHECKWATCHES,
    WIRE_OP_REMOVEWATCHES,
    WIRE_OP_CREATECONTAINER,
    WIRE_OP_DELETECONTAINER,
    WIRE_OP_CREATETTL,
    WIRE_OP_MULTIREAD,
    WIRE_OP_AUTH,
    WIRE_OP_SETWATCHES,
    WIRE_OP_SASL,
    WIRE_OP_GETEPHEMERALS,
    WIRE_OP_GETALLCHILDRENNUMBER,
    WIRE_OP_SETWATCHES2,
    WIRE_OP_ADDWATCH,
    WIRE_OP_WHOAMI,
    WIRE_OP_CLOSESESSION,
    WIRE_OP_CREATESESSION,
    0,
};
static const int32_t xids[] = {
    1, 2, 3, WIRE_XID_NOTIFICATION, WIRE_XID_PING, WIRE_XID_AUTH, WIRE_XID_SETWATCHES, 0};
static const char *paths[] = {
    "/", "/a",  "/a/b", "/a/b/c", "/c", "/zookeeper", "/zookeeper/quota", "/zookeeper/config",
    "a", "/a/", "//",   "/a/.",   "",   "/e"};

static void acl_world(wire_wr *w)
{
    wire_wr_i32(w, 1);
    wire_wr_i32(w, WIRE_PERM_ALL);
    wire_wr_cstr(w, "world");
    wire_wr_cstr(w, "anyone");
}

static void acl_digest(wire_wr *w)
{
    wire_wr_i32(w, 2);
    wire_wr_i32(w, WIRE_PERM_READ);
    wire_wr_cstr(w, "digest");
    wire_wr_cstr(w, "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
    wire_wr_i32(w, WIRE_PERM_ALL);
    wire_wr_cstr(w, "auth");
    wire_wr_cstr(w, "");
}

/* A well-formed request body for one of the common operations. */
static void templated(int k, input *in)
{
    static int32_t xid = 1000;
    uint8_t t = take8(in);
    const char *path = paths[take8(in) % (sizeof paths / sizeof paths[0])];
    uint8_t f = take8(in);
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    wire_wr_i32(&w, ++xid);
    switch (t % 14) {
    case 0: /* create with a mode from the flags */
    case 1:
        wire_wr_i32(&w, t % 14 == 0 ? WIRE_OP_CREATE : WIRE_OP_CREATE2);
        wire_wr_cstr(&w, path);
        wire_wr_buf(&w, (wire_buf){(const uint8_t *)"data", (int32_t)(f % 5)});
        if (f & 0x80)
            acl_digest(&w);
        else
            acl_world(&w);
        wire_wr_i32(&w, f % 7);
        break;
    case 2:
        wire_wr_i32(&w, WIRE_OP_CREATETTL);
        wire_wr_cstr(&w, path);
        wire_wr_buf(&w, (wire_buf){(const uint8_t *)"t", 1});
        acl_world(&w);
        wire_wr_i32(&w, f % 7);
        wire_wr_i64(&w, (int64_t)(f & 0x70) - 8);
        break;
    case 3:
        wire_wr_i32(&w, WIRE_OP_DELETE);
        wire_wr_cstr(&w, path);
        wire_wr_i32(&w, (int32_t)(f % 4) - 1);
        break;
    case 4:
        wire_wr_i32(&w, WIRE_OP_SETDATA);
        wire_wr_cstr(&w, path);
        wire_wr_buf(&w, (wire_buf){(const uint8_t *)"0123456789", (int32_t)(f % 11)});
        wire_wr_i32(&w, (int32_t)(f % 4) - 1);
        break;
    case 5:
    case 6:
    case 7:
        wire_wr_i32(&w, t % 14 == 5   ? WIRE_OP_GETDATA
                        : t % 14 == 6 ? WIRE_OP_EXISTS
                                      : WIRE_OP_GETCHILDREN2);
        wire_wr_cstr(&w, path);
        wire_wr_bool(&w, f & 1);
        break;
    case 8:
        wire_wr_i32(&w, WIRE_OP_ADDWATCH);
        wire_wr_cstr(&w, path);
        wire_wr_i32(&w, f % 3);
        break;
    case 9:
        wire_wr_i32(&w, f & 1 ? WIRE_OP_REMOVEWATCHES : WIRE_OP_CHECKWATCHES);
        wire_wr_cstr(&w, path);
        wire_wr_i32(&w, f % 7);
        break;
    case 10: /* multi: create, setData, check, delete on the path */
        wire_wr_i32(&w, (f & 1) ? WIRE_OP_MULTIREAD : WIRE_OP_MULTI);
        for (int i = 0; i < 1 + (f >> 5); i++) {
            int32_t op = (f & 1) ? (i & 1 ? WIRE_OP_GETCHILDREN : WIRE_OP_GETDATA)
                                 : (int32_t[]){WIRE_OP_CREATE, WIRE_OP_SETDATA, WIRE_OP_CHECK,
                                               WIRE_OP_DELETE}[i % 4];
            wire_wr_i32(&w, op);
            wire_wr_bool(&w, false);
            wire_wr_i32(&w, -1);
            wire_wr_cstr(&w, path);
            if (op == WIRE_OP_CREATE) {
                wire_wr_buf(&w, (wire_buf){NULL, -1});
                acl_world(&w);
                wire_wr_i32(&w, (f >> 1) % 7);
            } else if (op == WIRE_OP_SETDATA) {
                wire_wr_buf(&w, (wire_buf){(const uint8_t *)"m", 1});
                wire_wr_i32(&w, -1);
            } else if (op == WIRE_OP_CHECK || op == WIRE_OP_DELETE) {
                wire_wr_i32(&w, (int32_t)((f >> 2) % 3) - 1);
            }
        }
        wire_wr_i32(&w, -1);
        wire_wr_bool(&w, true);
        wire_wr_i32(&w, -1);
        break;
    case 11: /* addAuth digest u:p or super:test */
        wire_wr_patch_i32(&w, 4, WIRE_XID_AUTH);
        wire_wr_i32(&w, WIRE_OP_AUTH);
        wire_wr_i32(&w, 0);
        wire_wr_cstr(&w, f & 1 ? "digest" : (f & 2 ? "ip" : "bogus"));
        wire_wr_cstr(&w, f & 4 ? "super:test" : "u:p");
        break;
    case 12:
        wire_wr_i32(&w, WIRE_OP_SETACL);
        wire_wr_cstr(&w, path);
        if (f & 1)
            acl_digest(&w);
        else
            acl_world(&w);
        wire_wr_i32(&w, (int32_t)(f % 3) - 1);
        break;
    default: /* setWatches with every list holding the path */
        wire_wr_patch_i32(&w, 4, WIRE_XID_SETWATCHES);
        wire_wr_i32(&w, f & 1 ? WIRE_OP_SETWATCHES2 : WIRE_OP_SETWATCHES);
        wire_wr_i64(&w, (int64_t)f);
        for (int l = 0; l < (f & 1 ? 5 : 3); l++) {
            wire_wr_i32(&w, 1);
            wire_wr_cstr(&w, path);
        }
    }
    send_frame(k, &w);
    wire_wr_fini(&w);
}

static void frame_op(int k, input *in)
{
    int32_t xid = xids[take8(in) % (sizeof xids / sizeof xids[0])];
    uint8_t oi = take8(in);
    int32_t op = oi < sizeof opcodes / sizeof opcodes[0] ? opcodes[oi] : (int32_t)oi;
    size_t len = take8(in);
    if (len > in->n)
        len = in->n;
    wire_wr w;
    wire_wr_init(&w);
    wire_wr_i32(&w, 0);
    wire_wr_i32(&w, xid);
    wire_wr_i32(&w, op);
    wire_wr_raw(&w, in->p, len);
    in->p += len;
    in->n -= len;
    send_frame(k, &w);
    wire_wr_fini(&w);
}

int zabd_fuzz_one(const uint8_t *data, size_t size)
{
    if (S == NULL)
        server_start();
    state_reset();
    input in = {data, size};
    while (in.n > 0) {
        uint8_t b = take8(&in);
        int k = (b >> 4) & (N_CONNS - 1);
        switch (b & 15) {
        case 0:
            client_open(k);
            break;
        case 1: {
            uint8_t pw[16] = {0};
            handshake(k, 0, pw, (int32_t)take16(&in) * 8, 0);
            break;
        }
        case 2: {
            uint8_t j = take8(&in);
            client *src = &cl[j & (N_CONNS - 1)];
            uint8_t pw[16];
            memcpy(pw, src->passwd, 16);
            if (j & 4)
                pw[0] ^= 1;
            int64_t last = (int64_t)take32(&in);
            if (k == (j & (N_CONNS - 1)))
                client_close(k); /* a reconnect comes on a new connection */
            handshake(k, src->session, pw, 10000, last);
            break;
        }
        case 3:
            frame_op(k, &in);
            break;
        case 4: {
            size_t len = take16(&in);
            if (len > in.n)
                len = in.n;
            send_bytes(k, in.p, len);
            in.p += len;
            in.n -= len;
            break;
        }
        case 5:
            client_close(k);
            run_quiet();
            break;
        case 6:
            if (cl[k].fd >= 0)
                shutdown(cl[k].fd, SHUT_WR);
            break;
        case 7:
            templated(k, &in);
            break;
        default:
            run_quiet();
        }
    }
    run_quiet();
    for (int k = 0; k < N_CONNS; k++)
        client_close(k);
    run_quiet();
    /* Whatever the input did, the server let go of every connection. */
    ZK_ASSERT(S->conns == NULL && S->n_conns == 0, "%zu connections left open", S->n_conns);
    ZK_ASSERT(S->outstanding == 0, "%" PRId64 " outstanding requests left", S->outstanding);
    ZK_ASSERT(S->waiting_head == NULL && S->throttled == NULL && S->resume == NULL,
              "a closed connection is still on a server list");
    srv_conn_reap(S);
    return 0;
}

#ifdef ZABD_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return zabd_fuzz_one(data, size);
}
#endif
