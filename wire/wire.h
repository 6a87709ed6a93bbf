/*
 * wire: ZooKeeper's jute encoding, bounds-checked, and the records zabd speaks.
 *
 * Jute is big-endian: int = 4 bytes, long = 8 bytes, boolean = 1 byte,
 * buffer and ustring = int length (-1 for null) then the bytes, vector = int
 * count (-1 for null) then the elements. On TCP every packet is a 4-byte
 * big-endian length followed by that many bytes.
 *
 * Use:
 *   - wire_rd reads from a (ptr, len) it borrows. Errors are sticky: after the
 *     first short read or oversize length every later read yields zero values
 *     and wire_rd_err() tells what went wrong, so decoders read a whole record
 *     and check once at the end.
 *   - wire_wr appends to a growable buffer it owns; errors are sticky too.
 *   - Decoded strings and buffers borrow from the reader's bytes.
 *
 * This module does no I/O, reads no clock and keeps no global state.
 */
#ifndef ZABD_WIRE_H
#define ZABD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Invariants ---------------------------------------------------------- */

/* Always on, release builds included: a broken invariant is a bug. */
#define ZK_ASSERT(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: assertion '%s' failed: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- Error codes --------------------------------------------------------- */

/* ZooKeeper's numbers (KeeperException.Code), so replies need no mapping.
 * Codes at -1000 and below never travel on the wire. */
enum zerr {
    ZERR_OK = 0,
    ZERR_SYSTEMERROR = -1,
    ZERR_RUNTIMEINCONSISTENCY = -2,
    ZERR_DATAINCONSISTENCY = -3,
    ZERR_CONNECTIONLOSS = -4,
    ZERR_MARSHALLINGERROR = -5,
    ZERR_UNIMPLEMENTED = -6,
    ZERR_OPERATIONTIMEOUT = -7,
    ZERR_BADARGUMENTS = -8,
    ZERR_UNKNOWNSESSION = -12,
    ZERR_NEWCONFIGNOQUORUM = -13,
    ZERR_RECONFIGINPROGRESS = -14,
    ZERR_APIERROR = -100,
    ZERR_NONODE = -101,
    ZERR_NOAUTH = -102,
    ZERR_BADVERSION = -103,
    ZERR_NOCHILDRENFOREPHEMERALS = -108,
    ZERR_NODEEXISTS = -110,
    ZERR_NOTEMPTY = -111,
    ZERR_SESSIONEXPIRED = -112,
    ZERR_INVALIDCALLBACK = -113,
    ZERR_INVALIDACL = -114,
    ZERR_AUTHFAILED = -115,
    ZERR_CLOSING = -116,
    ZERR_NOTHING = -117,
    ZERR_SESSIONMOVED = -118,
    ZERR_NOTREADONLY = -119,
    ZERR_EPHEMERALONLOCALSESSION = -120,
    ZERR_NOWATCHER = -121,
    ZERR_RECONFIGDISABLED = -123,
    ZERR_SESSIONCLOSEDREQUIRESASLAUTH = -124,
    ZERR_QUOTAEXCEEDED = -125,
    ZERR_THROTTLED = -127,
    /* local only */
    ZERR_IO = -1000,
    ZERR_CORRUPT = -1001,
    ZERR_NOMEM = -1002,
    ZERR_TOOBIG = -1003, /* a length past jute.maxbuffer */
    ZERR_SHORT = -1004,  /* a length past the bytes present */
};

/* A short name for a code ("NONODE"), for logs; never NULL. */
const char *wire_err_name(int err);

/* ---- Opcodes, modes, permissions, events --------------------------------- */

enum wire_op {
    WIRE_OP_NOTIFICATION = 0,
    WIRE_OP_CREATE = 1,
    WIRE_OP_DELETE = 2,
    WIRE_OP_EXISTS = 3,
    WIRE_OP_GETDATA = 4,
    WIRE_OP_SETDATA = 5,
    WIRE_OP_GETACL = 6,
    WIRE_OP_SETACL = 7,
    WIRE_OP_GETCHILDREN = 8,
    WIRE_OP_SYNC = 9,
    WIRE_OP_PING = 11,
    WIRE_OP_GETCHILDREN2 = 12,
    WIRE_OP_CHECK = 13,
    WIRE_OP_MULTI = 14,
    WIRE_OP_CREATE2 = 15,
    WIRE_OP_RECONFIG = 16,
    WIRE_OP_CHECKWATCHES = 17,
    WIRE_OP_REMOVEWATCHES = 18,
    WIRE_OP_CREATECONTAINER = 19,
    WIRE_OP_DELETECONTAINER = 20,
    WIRE_OP_CREATETTL = 21,
    WIRE_OP_MULTIREAD = 22,
    WIRE_OP_AUTH = 100,
    WIRE_OP_SETWATCHES = 101,
    WIRE_OP_SASL = 102,
    WIRE_OP_GETEPHEMERALS = 103,
    WIRE_OP_GETALLCHILDRENNUMBER = 104,
    WIRE_OP_SETWATCHES2 = 105,
    WIRE_OP_ADDWATCH = 106,
    WIRE_OP_WHOAMI = 107,
    WIRE_OP_CREATESESSION = -10,
    WIRE_OP_CLOSESESSION = -11,
    WIRE_OP_ERROR = -1,
};

/* Reserved xids (ClientCnxn). */
enum {
    WIRE_XID_NOTIFICATION = -1,
    WIRE_XID_PING = -2,
    WIRE_XID_AUTH = -4,
    WIRE_XID_SETWATCHES = -8,
};

/* CreateMode flags. */
enum {
    WIRE_MODE_PERSISTENT = 0,
    WIRE_MODE_EPHEMERAL = 1,
    WIRE_MODE_PERSISTENT_SEQUENTIAL = 2,
    WIRE_MODE_EPHEMERAL_SEQUENTIAL = 3,
    WIRE_MODE_CONTAINER = 4,
    WIRE_MODE_PERSISTENT_WITH_TTL = 5,
    WIRE_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6,
};

enum {
    WIRE_PERM_READ = 1,
    WIRE_PERM_WRITE = 2,
    WIRE_PERM_CREATE = 4,
    WIRE_PERM_DELETE = 8,
    WIRE_PERM_ADMIN = 16,
    WIRE_PERM_ALL = 31,
};

/* Watcher.Event.EventType and KeeperState. */
enum {
    WIRE_EVENT_NONE = -1,
    WIRE_EVENT_CREATED = 1,
    WIRE_EVENT_DELETED = 2,
    WIRE_EVENT_DATA_CHANGED = 3,
    WIRE_EVENT_CHILDREN_CHANGED = 4,
    WIRE_EVENT_DATA_WATCH_REMOVED = 5,
    WIRE_EVENT_CHILD_WATCH_REMOVED = 6,
    WIRE_EVENT_PERSISTENT_WATCH_REMOVED = 7,
};
enum { WIRE_STATE_SYNC_CONNECTED = 3, WIRE_STATE_EXPIRED = -112 };

/* jute.maxbuffer's default (0xfffff) and the server's extra allowance
 * (zookeeper.jute.maxbuffer.extrasize defaults to the same value). */
enum { WIRE_MAXBUFFER_DEFAULT = 0xfffff };

/* ---- Value types ---------------------------------------------------------- */

/* Visible value types: they are passed by value everywhere and borrowed from
 * decoded frames, so making them opaque would force an allocation per field. */

/* A jute ustring: len < 0 means null. Not NUL-terminated. */
typedef struct wire_str {
    const char *p;
    int32_t len;
} wire_str;

/* A jute buffer: len < 0 means null. */
typedef struct wire_buf {
    const uint8_t *p;
    int32_t len;
} wire_buf;

typedef struct wire_stat {
    int64_t czxid, mzxid, ctime, mtime;
    int32_t version, cversion, aversion;
    int64_t ephemeral_owner;
    int32_t data_length, num_children;
    int64_t pzxid;
} wire_stat;
enum { WIRE_STAT_LEN = 68 }; /* its jute form: 6 longs and 5 ints */

typedef struct wire_acl {
    int32_t perms;
    wire_str scheme;
    wire_str id;
} wire_acl;

static inline wire_str wire_str_c(const char *s)
{
    wire_str r;
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    r.p = s;
    r.len = (int32_t)n;
    return r;
}

bool wire_str_eq(wire_str a, wire_str b);
/* Equal to a NUL-terminated literal. */
bool wire_str_eqc(wire_str a, const char *c);

/* ---- Reader ---------------------------------------------------------------- */

typedef struct wire_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    int32_t max_len; /* largest buffer/string/vector accepted (jute.maxbuffer) */
    int err;         /* first error, sticky */
} wire_rd;

void wire_rd_init(wire_rd *r, const void *p, size_t len, int32_t max_len);
int32_t wire_rd_i32(wire_rd *r);
int64_t wire_rd_i64(wire_rd *r);
bool wire_rd_bool(wire_rd *r);
wire_buf wire_rd_buf(wire_rd *r);
wire_str wire_rd_str(wire_rd *r);
/* A vector count whose elements take at least min_elem_size bytes each:
 * a count that cannot fit in the remaining bytes is an error (ZERR_SHORT),
 * so a hostile count never drives an allocation. -1 (null) reads as 0. */
int32_t wire_rd_count(wire_rd *r, size_t min_elem_size);
void wire_rd_stat(wire_rd *r, wire_stat *st);
static inline size_t wire_rd_left(const wire_rd *r)
{
    return r->len - r->off;
}
static inline int wire_rd_err(const wire_rd *r)
{
    return r->err;
}

/* ---- Writer ---------------------------------------------------------------- */

typedef struct wire_wr {
    uint8_t *p;
    size_t len;
    size_t cap;
    int err; /* ZERR_NOMEM once an allocation failed, sticky */
} wire_wr;

void wire_wr_init(wire_wr *w);
void wire_wr_fini(wire_wr *w);
void wire_wr_reset(wire_wr *w); /* len = 0, keeps the allocation */
void wire_wr_raw(wire_wr *w, const void *p, size_t n);
static inline void wire_wr_i32(wire_wr *w, int32_t v);
static inline void wire_wr_i64(wire_wr *w, int64_t v);
void wire_wr_bool(wire_wr *w, bool v);
void wire_wr_buf(wire_wr *w, wire_buf b);
void wire_wr_str(wire_wr *w, wire_str s);
void wire_wr_cstr(wire_wr *w, const char *s);
void wire_wr_stat(wire_wr *w, const wire_stat *st);
void wire_wr_acls(wire_wr *w, const wire_acl *acl, int32_t n);
/* Overwrites 4 bytes at off (frame lengths, vector counts). */
void wire_wr_patch_i32(wire_wr *w, size_t off, int32_t v);
static inline int wire_wr_err(const wire_wr *w)
{
    return w->err;
}

/* Big-endian helpers for keys and frame headers. Written out byte by byte
 * (not as loops) so that compilers merge them into one load or store and a
 * byte swap. */
static inline void wire_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void wire_put_be64(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)(v >> 56);
    p[1] = (uint8_t)(v >> 48);
    p[2] = (uint8_t)(v >> 40);
    p[3] = (uint8_t)(v >> 32);
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
}
static inline uint64_t wire_get_be64(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}
static inline uint32_t wire_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* n more bytes at the writer's end, or NULL once it has failed. The usual
 * case, room already there, is inline: replies are built from many small
 * fields, and a call per field was a tenth of a getData's server time. */
uint8_t *wire_wr_grow(wire_wr *w, size_t n);
static inline uint8_t *wire_wr_room(wire_wr *w, size_t n)
{
    if (w->err == 0 && w->cap - w->len >= n) {
        uint8_t *at = w->p + w->len;
        w->len += n;
        return at;
    }
    return wire_wr_grow(w, n);
}
static inline void wire_wr_i32(wire_wr *w, int32_t v)
{
    uint8_t *p = wire_wr_room(w, 4);
    if (p != NULL)
        wire_put_be32(p, (uint32_t)v);
}
static inline void wire_wr_i64(wire_wr *w, int64_t v)
{
    uint8_t *p = wire_wr_room(w, 8);
    if (p != NULL)
        wire_put_be64(p, (uint64_t)v);
}

/* ---- Checksums --------------------------------------------------------------- */

/* CRC-32 as zlib's crc32() and Java's CRC32 (wire/crc32.c): start with crc =
 * 0 and feed the previous result back to continue. ZooKeeper's tree digest
 * and zabd's log entries use it. */
uint32_t wire_crc32(uint32_t crc, const void *p, size_t n);

/* ---- Growable arrays ------------------------------------------------------- */

/* Makes room for element number n (0-based) in the malloc'd array *arr of
 * *cap elements of elem_size bytes, doubling the capacity (from 8) as
 * needed. Returns 0, or ZERR_NOMEM leaving *arr and *cap untouched. Every
 * module's "append to a vector" goes through this one overflow-checked path. */
int wire_reserve(void **arr, size_t *cap, size_t n, size_t elem_size);

/* ---- Java strings (java.c) ------------------------------------------------- */

/* ZooKeeper holds every string as a java.lang.String. wire_java_next reads
 * one code point of p[0..n) (n >= 1) as Java's UTF-8 decoder does, U+FFFD
 * for each malformed unit it would replace, and returns the bytes it took.
 * wire_java_hash (String.hashCode, over UTF-16 units, int arithmetic)
 * orders ZooKeeper's hash sets. */
size_t wire_java_next(const uint8_t *p, size_t n, uint32_t *cp);
/* The bytes Java makes of in[0..n) once decoded: with jute, what
 * ZooKeeper's BinaryOutputArchive writes back (each UTF-16 unit on its own,
 * so a supplementary character takes 6 bytes), the form zabd keeps the
 * strings it stores or echoes in; without, String.getBytes(UTF_8). out
 * needs 3 * n bytes; returns the length written. */
size_t wire_java_str(const char *in, size_t n, char *out, bool jute);
/* String.hashCode of a string in that kept form (or plain UTF-8): encoded
 * surrogates count as their UTF-16 unit. */
uint32_t wire_java_hash(const char *s, size_t n);

/* ---- Frames ------------------------------------------------------------------ */

/* Looks at the start of a stream: if a whole frame is present, sets *body_len
 * and returns 1; if more bytes are needed returns 0; if the length is negative
 * or past max_len returns ZERR_TOOBIG. */
int wire_frame_peek(const uint8_t *p, size_t avail, int32_t max_len, int32_t *body_len);

/* ---- Connect handshake --------------------------------------------------- */

typedef struct wire_connect_req {
    int32_t protocol_version;
    int64_t last_zxid_seen;
    int32_t timeout_ms;
    int64_t session_id;
    wire_buf passwd;
    bool has_read_only; /* old clients omit the trailing byte */
    bool read_only;
} wire_connect_req;

int wire_connect_req_decode(wire_rd *r, wire_connect_req *out);
void wire_connect_resp_encode(wire_wr *w, int32_t timeout_ms, int64_t session_id,
                              const uint8_t *passwd, int32_t passwd_len, bool with_read_only);

/* ---- Write operations ------------------------------------------------------ */

/* The union of every write request's fields (create*, delete, setData,
 * setACL, check), decoded from its record. acl is allocated (owned). */
typedef struct wire_write_req {
    int32_t type; /* WIRE_OP_* */
    wire_str path;
    wire_buf data;
    wire_acl *acl;
    int32_t n_acl;
    int32_t flags;
    int32_t version;
    int64_t ttl;
} wire_write_req;

/* Decodes the record of a write opcode (type). ZERR_UNIMPLEMENTED for a type
 * that is not a write. */
int wire_write_req_decode(wire_rd *r, int32_t type, wire_write_req *out);
void wire_write_req_fini(wire_write_req *q);
bool wire_op_is_write(int32_t type);

/* multi / multiRead: a list of (MultiHeader, record) ended by {-1,true,-1}. */
typedef struct wire_multi_req {
    wire_write_req *ops; /* for multiRead: type + path only */
    int32_t n_ops;
} wire_multi_req;
int wire_multi_req_decode(wire_rd *r, bool is_read, wire_multi_req *out);
void wire_multi_req_fini(wire_multi_req *m);

/* ---- Transactions ------------------------------------------------------------ */

/* TxnHeader + body, as ZooKeeper logs them:
 *   TxnHeader { long clientId; int cxid; long zxid; long time; int type; }
 *   create, create2: CreateTxn { ustring path; buffer data; vector<ACL> acl;
 *                                boolean ephemeral; int parentCVersion; }
 *   createContainer: CreateContainerTxn { path; data; acl; int parentCVersion; }
 *   createTTL:       CreateTTLTxn { path; data; acl; int parentCVersion; long ttl; }
 *   delete, deleteContainer: DeleteTxn { ustring path; }
 *   setData:         SetDataTxn { ustring path; buffer data; int version; }
 *   setACL:          SetACLTxn { ustring path; vector<ACL> acl; int version; }
 *   check:           CheckVersionTxn { ustring path; int version; }
 *   createSession:   CreateSessionTxn { int timeOut; }
 *   closeSession:    CloseSessionTxn { vector<ustring> paths2Delete; }
 *   error:           ErrorTxn { int err; }
 *   multi:           MultiTxn { vector<Txn { int type; buffer data; }> txns; }
 *   reconfig:        SetDataTxn of /zookeeper/config (decoded with type setData)
 * In a txn the "version" of setData/setACL is the node's new version.
 * ZooKeeper 3.8 (digest.enabled) logs TxnDigest { int version; long
 * treeDigest; } after the body: the tree digest once the txn is applied. */
typedef struct wire_txn_hdr {
    int64_t client_id;
    int32_t cxid;
    int64_t zxid;
    int64_t time_ms;
    int32_t type;
} wire_txn_hdr;

typedef struct wire_txn wire_txn;
struct wire_txn {
    int32_t type;
    wire_str path;
    wire_buf data;
    wire_acl *acl; /* owned */
    int32_t n_acl;
    bool ephemeral;
    int32_t parent_cversion;
    int64_t ttl;
    int32_t version;
    int32_t err;
    int32_t timeout_ms;
    wire_str *paths; /* closeSession's paths2Delete, owned */
    int32_t n_paths;
    wire_txn *sub; /* multi, owned */
    int32_t n_sub;
};

void wire_txn_hdr_encode(wire_wr *w, const wire_txn_hdr *h);
void wire_txn_hdr_decode(wire_rd *r, wire_txn_hdr *h);
/* Encodes the body (not the header) of t. */
void wire_txn_body_encode(wire_wr *w, const wire_txn *t);
/* Decodes a body of type `type`; strings borrow from r's bytes. */
int wire_txn_body_decode(wire_rd *r, int32_t type, wire_txn *out);
void wire_txn_fini(wire_txn *t);
/* The TxnDigest after a logged TxnHeader + body in p[0..len): 0 with
 * *has_digest telling whether exactly one follows the body, or the error
 * decoding the header or body gave. */
int wire_txn_entry_digest(const uint8_t *p, size_t len, bool *has_digest, int32_t *version,
                          int64_t *digest);

#ifdef __cplusplus
}
#endif
#endif
