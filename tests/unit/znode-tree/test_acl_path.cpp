// Path rules (PathUtils.validatePath) and ACL checks.
#include "zt_test_util.h"

TEST_GROUP(ZtPath){};

TEST(ZtPath, ValidationTable)
{
    struct {
        const char *path;
        bool ok;
    } cases[] = {
        {"/", true},
        {"/a", true},
        {"/a/b", true},
        {"/a/..b", true},
        {"/a/.b", true},
        {"/\xc3\xa9", true},
        {"", false},
        {"a", false},
        {"/a/", false},
        {"//", false},
        {"/a//b", false},
        {"/.", false},
        {"/a/./b", false},
        {"/a/../b", false},
        {"/..", false},
        {"/a\x01", false},
        {"/a\x7f", false},
        {"/\xc2\x85", false},
        /* U+0085 */ {"/\xef\xbf\xbf", false},
        {"/\xf0\x9f\x98\x80", false}, /* U+1F600: a surrogate pair in Java */
        {"/\xc3", false},             /* malformed UTF-8 */
    };
    for (auto &c : cases)
        LONGS_EQUAL_TEXT(c.ok ? 0 : ZERR_BADARGUMENTS, zt_path_validate(wire_str_c(c.path)),
                         c.path);
    wire_str nul = {"/a\0b", 4};
    LONGS_EQUAL(ZERR_BADARGUMENTS, zt_path_validate(nul));
}

// Java checks UTF-16 chars: these pin the same answers on UTF-8 bytes.
TEST(ZtPath, JavaCharRulesOnUtf8)
{
    static const char *valid[] = {
        "/...",          "/a.",        "/.a",       "/a/..b",
        "/a b",          "/zookeeper", "/\xc2\xa0", /* U+00A0, just past the C1 controls */
        "/\xef\xa4\x80",                            /* U+F900, just past the private use area */
        "/\xef\xbf\xaf",                            /* U+FFEF */
        "/\xed\x9f\xbf",                            /* U+D7FF, just below the surrogates */
    };
    static const char *invalid[] = {
        "/a/..",
        "/a/.",
        "/./a",
        "/../a",
        "/\t",
        "/a\x1f",
        "/\xc2\x9f",         /* U+009F */
        "/\xee\x80\x80",     /* U+E000, private use */
        "/\xef\xa3\xbf",     /* U+F8FF */
        "/\xef\xbf\xb0",     /* U+FFF0 */
        "/\xed\xa0\x80",     /* an encoded surrogate (malformed in Java's decoder) */
        "/\xc0\x80",         /* overlong NUL */
        "/\xe0\x80\xaf",     /* overlong '/' */
        "/\x80",             /* lone continuation byte */
        "/\xe2\x82",         /* truncated sequence */
        "/\xf4\x90\x80\x80", /* past U+10FFFF */
        "/\xff",
    };
    for (const char *p : valid)
        LONGS_EQUAL_TEXT(0, zt_path_validate(wire_str_c(p)), p);
    for (const char *p : invalid)
        LONGS_EQUAL_TEXT(ZERR_BADARGUMENTS, zt_path_validate(wire_str_c(p)), p);
    wire_str null_path = {NULL, -1};
    LONGS_EQUAL(ZERR_BADARGUMENTS, zt_path_validate(null_path));
}

TEST_GROUP(ZtAcl)
{
    ZtDriver *d;
    void setup() override
    {
        d = new ZtDriver();
    }
    void teardown() override
    {
        delete d;
    }
};

TEST(ZtAcl, IpMatchesWithPrefixLength)
{
    CHECK_TRUE(zt_ip_matches(wire_str_c("127.0.0.1"), wire_str_c("127.0.0.1")));
    CHECK_TRUE(zt_ip_matches(wire_str_c("127.0.0.0/8"), wire_str_c("127.9.9.9")));
    CHECK_TRUE(zt_ip_matches(wire_str_c("0.0.0.0/0"), wire_str_c("10.1.2.3")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("10.0.0.0/8"), wire_str_c("127.0.0.1")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("127.0.0.2/32"), wire_str_c("127.0.0.1")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("::1"), wire_str_c("::1"))); // 3.8: IPv4 only
    CHECK_FALSE(zt_ip_matches(wire_str_c("::1"), wire_str_c("127.0.0.1")));
    CHECK_FALSE(zt_ip_matches(wire_str_c("127.0.0.1/33"), wire_str_c("127.0.0.1")));
}

TEST(ZtAcl, DigestNodeIsClosedToOthersAndOpenToItsUser)
{
    static const wire_acl acl[] = {{WIRE_PERM_ALL, {"digest", 6}, {"bob:hash", 8}}};
    LONGS_EQUAL(0, d->create_acl("/secret", acl, 1));
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_SETDATA, "/secret", -1, "x"));
    d->ids[1] = {0, {"digest", 6}, {"bob:hash", 8}};
    d->n_ids = 2;
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/secret", -1, "x"));
}

TEST(ZtAcl, SuperBypassesEveryAcl)
{
    static const wire_acl acl[] = {{WIRE_PERM_READ, {"digest", 6}, {"bob:hash", 8}}};
    d->create_acl("/ro", acl, 1);
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_SETDATA, "/ro"));
    d->is_super = true;
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/ro"));
}

TEST(ZtAcl, IpAclUsesTheConnectionAddress)
{
    static const wire_acl lo[] = {{WIRE_PERM_ALL, {"ip", 2}, {"127.0.0.0/8", 11}}};
    static const wire_acl ten[] = {{WIRE_PERM_ALL, {"ip", 2}, {"10.0.0.1", 8}}};
    d->create_acl("/lo", lo, 1);
    d->create_acl("/ten", ten, 1);
    LONGS_EQUAL(0, d->simple(WIRE_OP_SETDATA, "/lo"));
    LONGS_EQUAL(ZERR_NOAUTH, d->simple(WIRE_OP_SETDATA, "/ten"));
}

TEST(ZtAcl, FixupRejectsBadAclsAndExpandsAuth)
{
    static const wire_acl bad_scheme[] = {{WIRE_PERM_ALL, {"nosuch", 6}, {"x", 1}}};
    static const wire_acl bad_digest[] = {{WIRE_PERM_ALL, {"digest", 6}, {"nocolon", 7}}};
    static const wire_acl bad_world[] = {{WIRE_PERM_ALL, {"world", 5}, {"someone", 7}}};
    static const wire_acl auth[] = {{WIRE_PERM_ALL, {"auth", 4}, {"", 0}}};
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/a", bad_scheme, 1));
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/a", bad_digest, 1));
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/a", bad_world, 1));
    // "auth" with only the ip identity has nothing to expand to
    LONGS_EQUAL(ZERR_INVALIDACL, d->create_acl("/a", auth, 1));
    d->ids[1] = {0, {"digest", 6}, {"carol:h", 7}};
    d->n_ids = 2;
    LONGS_EQUAL(0, d->create_acl("/a", auth, 1));
    const wire_acl *got;
    int32_t n;
    zt_node_acl(d->t, zt_lookup(d->t, wire_str_c("/a")), &got, &n);
    LONGS_EQUAL(1, n);
    CHECK_TRUE(wire_str_eqc(got[0].scheme, "digest"));
    CHECK_TRUE(wire_str_eqc(got[0].id, "carol:h"));
}

TEST(ZtAcl, SetAclChecksAdminAndAversion)
{
    static const wire_acl no_admin[] = {
        {WIRE_PERM_ALL & ~WIRE_PERM_ADMIN, {"world", 5}, {"anyone", 6}}};
    static const wire_acl open_acl[] = {{WIRE_PERM_ALL, {"world", 5}, {"anyone", 6}}};
    d->create_acl("/na", no_admin, 1);
    wire_write_req q;
    memset(&q, 0, sizeof q);
    q.type = WIRE_OP_SETACL;
    q.path = wire_str_c("/na");
    q.acl = (wire_acl *)open_acl;
    q.n_acl = 1;
    q.version = -1;
    LONGS_EQUAL(ZERR_NOAUTH, d->write(q));
    d->create("/o");
    q.path = wire_str_c("/o");
    q.version = 3;
    LONGS_EQUAL(ZERR_BADVERSION, d->write(q));
    q.version = 0;
    LONGS_EQUAL(0, d->write(q));
    LONGS_EQUAL(1, d->stat("/o").aversion);
}
