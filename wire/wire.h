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
#include <string.h>

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

/* Big-endian helpers for keys and frame headers: one byte swap and one
 * unaligned load or store. Written out byte by byte, they were left to the
 * compiler to merge, and where several fields are written in a row (a
 * ReplyHeader, a Stat) it did not: 84 instructions for a ReplyHeader. */
static inline uint32_t wire_be32(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}
static inline uint64_t wire_be64(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}
static inline void wire_put_be32(uint8_t *p, uint32_t v)
{
    v = wire_be32(v);
    memcpy(p, &v, 4);
}
static inline void wire_put_be64(uint8_t *p, uint64_t v)
{
    v = wire_be64(v);
    memcpy(p, &v, 8);
}
static inline uint64_t wire_get_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return wire_be64(v);
}
static inline uint32_t wire_get_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return wire_be32(v);
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

/* ---- Quorum port: learner <-> leader (quorum.c) --------------------------- */

/* What travels on the quorum port (2888), as ZooKeeper 3.8 sends it. Each
 * message is one QuorumPacket record written straight onto the stream: there
 * is NO 4-byte length frame (Learner and LearnerHandler call writeRecord on a
 * plain BinaryOutputArchive), so a reader finds the end with wire_qp_peek.
 *   QuorumPacket { int type; long zxid; buffer data; vector<Id> authinfo; }
 *   Id           { ustring scheme; ustring id; }
 * Captured packets from a real 3.8 ensemble pin these layouts in
 * tests/unit/wire/test_quorum.cpp. */
enum wire_qp_type {
    WIRE_QP_REQUEST = 1,           /* learner: a client request to run */
    WIRE_QP_PROPOSAL = 2,          /* leader: txn entry to log and ACK */
    WIRE_QP_ACK = 3,               /* learner: zxid logged; no data */
    WIRE_QP_COMMIT = 4,            /* leader: zxid committed; no data */
    WIRE_QP_PING = 5,              /* both: leader none, learner touches */
    WIRE_QP_REVALIDATE = 6,        /* both: session check and its answer */
    WIRE_QP_SYNC = 7,              /* leader: a learner's sync is through */
    WIRE_QP_INFORM = 8,            /* leader to observer: committed entry */
    WIRE_QP_COMMITANDACTIVATE = 9, /* leader: commit a reconfig; data = long */
    WIRE_QP_NEWLEADER = 10,        /* leader: zxid = epoch<<32; data = config */
    WIRE_QP_FOLLOWERINFO = 11,     /* follower's first packet: LearnerInfo */
    WIRE_QP_UPTODATE = 12,         /* leader: sync done, serve clients */
    WIRE_QP_DIFF = 13,             /* leader: txns follow; zxid = last */
    WIRE_QP_TRUNC = 14,            /* leader: truncate the log to zxid */
    WIRE_QP_SNAP = 15,             /* leader: a snapshot stream follows */
    WIRE_QP_OBSERVERINFO = 16,     /* observer's first packet: LearnerInfo */
    WIRE_QP_LEADERINFO = 17,       /* leader: zxid = new epoch<<32 */
    WIRE_QP_ACKEPOCH = 18,         /* learner: zxid = last logged */
    WIRE_QP_INFORMANDACTIVATE = 19 /* leader to observer: reconfig entry */
};

/* The protocol version both sides send (LearnerInfo, LEADERINFO). */
enum { WIRE_QP_PROTOCOL_VERSION = 0x10000 };

/* An auth Id, as in an ACL (borrowed from the frame when decoded). */
typedef struct wire_id {
    wire_str scheme;
    wire_str id;
} wire_id;

/* A decoded packet. data borrows from the reader; auth is allocated when
 * decoded (release with wire_qp_fini) and borrowed when encoding. n_auth
 * -1 is jute's null vector (what ZooKeeper sends on every packet but a
 * REQUEST), 0 the empty one. */
typedef struct wire_qp {
    int32_t type; /* WIRE_QP_* */
    int64_t zxid;
    wire_buf data;
    wire_id *auth;
    int32_t n_auth;
} wire_qp;

/* Is a whole packet at the start of p[0..avail)? 1 with *pkt_len set, 0 if
 * more bytes are needed, ZERR_TOOBIG for a length or count that is negative
 * (other than -1, null) or past max_len. Walks the authinfo vector. Pass
 * jute.maxbuffer plus zookeeper.jute.maxbuffer.extrasize as max_len, as
 * ZooKeeper's BinaryInputArchive allows (2 * WIRE_MAXBUFFER_DEFAULT by
 * default). */
int wire_qp_peek(const uint8_t *p, size_t avail, int32_t max_len, size_t *pkt_len);
/* Reads one packet from r (r's max_len bounds every length). 0, or the
 * reader's error, or ZERR_NOMEM; *out is written only on success. */
int wire_qp_decode(wire_rd *r, wire_qp *out);
void wire_qp_encode(wire_wr *w, const wire_qp *q);
void wire_qp_fini(wire_qp *q); /* frees auth; a no-op on a zeroed packet */

/* The payloads in QuorumPacket.data. Each decoder takes the data buffer,
 * returns 0 or ZERR_SHORT when it is null or too short (where ZooKeeper's
 * ByteBuffer/DataInputStream would underflow), and ignores trailing bytes
 * as ZooKeeper does unless said otherwise. Each encoder appends the data
 * to w, which the caller then wraps as the packet's data.
 *
 * FOLLOWERINFO / OBSERVERINFO: LearnerInfo { long serverid; int
 * protocolVersion; long configVersion; }; zxid = acceptedEpoch << 32.
 * LearnerHandler reads each field only if the data is long enough for it
 * (>= 8, >= 12, >= 20 bytes), so 3.3-era learners that send only the sid
 * still register; the has_ flags say which fields were there. Null data
 * (older still) makes ZooKeeper invent a sid: that is ZERR_SHORT here. */
typedef struct wire_learner_info {
    int64_t server_id;
    int32_t protocol_version; /* 0x1 (ZooKeeper's default) when absent */
    int64_t config_version;   /* 0 when absent */
    bool has_protocol_version;
    bool has_config_version;
} wire_learner_info;
int wire_learner_info_decode(wire_buf data, wire_learner_info *out);
void wire_learner_info_encode(wire_wr *w, const wire_learner_info *li); /* all 20 bytes */

/* LEADERINFO: int protocol version (0x10000). ACKEPOCH: int current epoch,
 * or -1 when the learner had already accepted this epoch; the packet's zxid
 * is the learner's last logged zxid. COMMITANDACTIVATE: long designated
 * leader sid; the zxid is the reconfig's. */
int wire_qp_data_i32(wire_buf data, int32_t *out);
int wire_qp_data_i64(wire_buf data, int64_t *out);

/* REQUEST (learner to leader, zxid -1, authinfo = the session's Ids):
 *   long sessionId; int cxid; int type; then the request record's bytes
 *   (e.g. a CreateRequest) to the end of data.
 * A learner's sync is a REQUEST of type WIRE_OP_SYNC whose record is
 * SyncRequest { ustring path; }; the leader answers, once every earlier
 * proposal is committed, with a SYNC packet: zxid 0, null data. */
typedef struct wire_qp_request {
    int64_t session_id;
    int32_t cxid;
    int32_t type;    /* WIRE_OP_* */
    wire_buf record; /* borrowed; len 0 when nothing follows */
} wire_qp_request;
int wire_qp_request_decode(wire_buf data, wire_qp_request *out);
void wire_qp_request_encode(wire_wr *w, const wire_qp_request *q);

/* PROPOSAL, INFORM: the txn entry as it is logged, TxnHeader + txn record
 * [+ TxnDigest { int version; long treeDigest; }]. INFORMANDACTIVATE:
 * long designated leader sid, then that entry. The entry is kept as bytes
 * (what storage logs) and decoded with the txn codec (reconfig decodes as
 * setData, see wire_txn). */
typedef struct wire_qp_txn {
    int64_t designated_leader; /* INFORMANDACTIVATE only, else 0 */
    wire_buf entry;            /* the logged bytes, borrowed from data */
    wire_txn_hdr hdr;
    wire_txn txn; /* owned arrays: release with wire_qp_txn_fini */
    bool has_digest;
    int32_t digest_version;
    int64_t digest;
} wire_qp_txn;
/* Decodes the data of a packet of type `type` (PROPOSAL, INFORM or
 * INFORMANDACTIVATE; ZERR_BADARGUMENTS for others). Bytes after the entry
 * that are not exactly one TxnDigest are ZERR_CORRUPT: such an entry could
 * not be logged and read back. max_len bounds lengths inside the txn. */
int wire_qp_txn_decode(int32_t type, wire_buf data, int32_t max_len, wire_qp_txn *out);
void wire_qp_txn_fini(wire_qp_txn *t);
/* Writes [designated leader when type is INFORMANDACTIVATE] + the entry
 * bytes from hdr, txn and the digest (when has_digest). */
void wire_qp_txn_encode(wire_wr *w, int32_t type, const wire_qp_txn *t);

/* PING: the leader's carries no data and zxid = its last proposed. The
 * learner's answer (same type and zxid) lists the sessions it touched
 * since the last one: { long sessionId; int timeout; } repeated to the end
 * of data. LearnerHandler reads pairs while bytes remain, so a length that
 * is not a multiple of 12 breaks the connection: ZERR_SHORT here. Null
 * data counts as no touches. */
enum { WIRE_QP_TOUCH_LEN = 12 };
typedef struct wire_qp_touch {
    int64_t session_id;
    int32_t timeout_ms;
} wire_qp_touch;
/* The number of touches in data, or ZERR_SHORT. */
int wire_qp_touch_count(wire_buf data);
/* Touch i (0 <= i < wire_qp_touch_count) of valid data. */
wire_qp_touch wire_qp_touch_get(wire_buf data, int32_t i);
void wire_qp_touch_encode(wire_wr *w, int64_t session_id, int32_t timeout_ms);

/* REVALIDATE, learner to leader (zxid -1): long sessionId; int timeout.
 * The leader answers in a REVALIDATE packet (same zxid): long sessionId;
 * boolean valid. */
int wire_qp_revalidate_req_decode(wire_buf data, int64_t *session_id, int32_t *timeout_ms);
void wire_qp_revalidate_req_encode(wire_wr *w, int64_t session_id, int32_t timeout_ms);
int wire_qp_revalidate_resp_decode(wire_buf data, int64_t *session_id, bool *is_valid);
void wire_qp_revalidate_resp_encode(wire_wr *w, int64_t session_id, bool is_valid);

/* ---- Election port (quorum.c) -------------------------------------------- */

/* What travels on the election port (3888) in ZooKeeper 3.8
 * (QuorumCnxManager, FastLeaderElection).
 *
 * The peer that opens a connection first sends, with NO length frame:
 *   long protocolVersion (-65536, or -65535 with multiAddress.enabled);
 *   long sid; int n; n bytes of "host:port" (v2: several joined by '|').
 * 1 <= n <= 2048 (maxBuffer). A first long >= 0 is the pre-3.5 form: it is
 * the sid and nothing else follows. Any other negative value is refused.
 * After that, each side sends notifications, each in a 4-byte length frame
 * with 1 <= length <= 512 KiB (PACKETMAXSIZE):
 *   int state; long leader; long zxid; long electionEpoch; long peerEpoch;
 *   int version (2 in 3.8); if version > 1: int n; n bytes of config
 *   (QuorumVerifier.toString: "server.1=...\nversion=0").
 * So the fixed part is 40 bytes and the config length sits at offset 40.
 * FastLeaderElection still accepts the shorter forms: exactly 28 bytes (no
 * peerEpoch: taken from the zxid's epoch; version 0) and exactly 40 bytes
 * (peerEpoch, then 4 bytes it ignores; version 0). Bodies of 29..39 bytes
 * underflow and are dropped; from 41 bytes on the version is read. */
enum {
    WIRE_EL_PROTOCOL_V1 = -65536, /* 0xffff0000 sign-extended to a long */
    WIRE_EL_PROTOCOL_V2 = -65535,
    WIRE_EL_ADDR_MAX = 2048,
    WIRE_EL_PACKET_MAX = 512 * 1024,
    WIRE_EL_NOTIFICATION_VERSION = 2,
};

/* ServerState ordinals, as the notification's state carries them. */
enum wire_el_state {
    WIRE_EL_LOOKING = 0,
    WIRE_EL_FOLLOWING = 1,
    WIRE_EL_LEADING = 2,
    WIRE_EL_OBSERVING = 3,
};

typedef struct wire_el_init {
    int64_t protocol_version; /* WIRE_EL_PROTOCOL_V1/V2, or 0 for the old form */
    int64_t sid;
    wire_str addr; /* borrowed; len 0 in the old form */
} wire_el_init;

/* The initial message at the start of p[0..avail): 1 with *out and *used
 * (bytes taken) set, 0 if more bytes are needed, ZERR_MARSHALLINGERROR for
 * an unknown protocol version or a badly formed address list (each element
 * host:port or [v6]:port, port 0..65535, as QuorumCnxManager's parse
 * demands), ZERR_TOOBIG for n outside 1..2048. */
int wire_el_init_decode(const uint8_t *p, size_t avail, wire_el_init *out, size_t *used);
/* Writes the message; the old form (sid only) when protocol_version >= 0. */
void wire_el_init_encode(wire_wr *w, const wire_el_init *m);

/* Is a whole election frame at the start of p[0..avail)? As
 * wire_frame_peek, but a length outside 1..WIRE_EL_PACKET_MAX is
 * ZERR_TOOBIG. */
int wire_el_frame_peek(const uint8_t *p, size_t avail, int32_t *body_len);

typedef struct wire_el_notif {
    int32_t state; /* enum wire_el_state */
    int64_t leader;
    int64_t zxid;
    int64_t election_epoch;
    int64_t peer_epoch;
    int32_t version; /* 0 for the 28- and 40-byte forms */
    wire_buf config; /* when version > 1; borrowed; else len -1 */
} wire_el_notif;

/* Decodes a frame's body (without its length) as FastLeaderElection does:
 * ZERR_SHORT for a body it would underflow on, ZERR_TOOBIG for a config
 * length that is negative or past the body, ZERR_MARSHALLINGERROR for a
 * state other than the four (ZooKeeper drops such a message). Trailing
 * bytes are ignored. */
int wire_el_notif_decode(const uint8_t *body, size_t len, wire_el_notif *out);
/* Writes one frame: the length, then the 3.8 form with n->version (config
 * only when version > 1; a null config then writes n = 0). */
void wire_el_notif_encode(wire_wr *w, const wire_el_notif *n);

#ifdef __cplusplus
}
#endif
#endif
