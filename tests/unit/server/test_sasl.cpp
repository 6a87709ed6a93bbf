// DIGEST-MD5 as ZooKeeper's server runs it: RFC 2831's worked example,
// exchanges captured from Apache ZooKeeper 3.8 with kazoo (pure-sasl) and
// the Java client, the directive parser, and every refusal of
// DigestMD5Server in its order.
#include <CppUTest/TestHarness.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "server/sasl.h"

namespace
{

srv_dmd5_value V(const char *s)
{
    return {s, strlen(s)};
}

std::string response_value(const srv_dmd5_in &in, bool for_client)
{
    char hex[33];
    LONGS_EQUAL(0, srv_dmd5_response_value(&in, for_client, hex));
    return hex;
}

// A JAAS file in a temporary directory, and the srv_sasl it makes.
struct Jaas {
    char dir[64];
    std::string path;
    srv_sasl *s = nullptr;
    char warn[512], err[512];

    Jaas()
    {
        strcpy(dir, "/tmp/zabd-sasltest.XXXXXX");
        if (mkdtemp(dir) == NULL)
            FAIL("mkdtemp");
        path = std::string(dir) + "/jaas.conf";
    }
    ~Jaas()
    {
        srv_sasl_free(s);
        unlink(path.c_str());
        rmdir(dir);
    }
    int load(const std::string &text, const char *section = "Server",
             const char *super_password = nullptr)
    {
        FILE *f = fopen(path.c_str(), "wb");
        CHECK(f != NULL);
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
        srv_sasl_free(s);
        s = nullptr;
        srv_sasl_opts o = {path.c_str(), section, super_password, false, false};
        return srv_sasl_new(&o, &s, warn, sizeof warn, err, sizeof err);
    }
};

const char *const kServer = "Server {\n"
                            "  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
                            "  user_super=\"super_secret\"\n"
                            "  user_bob=\"bobsecret\";\n"
                            "};\n";

// The nonce ZooKeeper sent in the captured exchanges.
const char *const kKazooNonce = "69WPWIhXh05HsUBvgO84SAwQV8wDWAqcv9314Zb8";
const char *const kJavaNonce = "NDJ/7w7GGSanrTni7H27pJqxNQSPB8f1OJ7SNnTK";

// What kazoo 2.8 (pure-sasl 0.5.1) sent ZooKeeper 3.8 for bob/bobsecret.
const char *const kKazooResponse =
    "qop=auth,realm=\"zk-sasl-md5\",username=\"bob\",nonce=\"69WPWIhXh05HsUBvgO84SAwQV8wDWAqcv9314"
    "Zb8\",cnonce=\"08931960424279795\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\","
    "response=8af2d45027cb777c4225a03ce07014f3";
// What the 3.8 Java client (zkCli.sh with a JAAS Client section) sent.
const char *const kJavaResponse =
    "charset=utf-8,username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"NDJ/7w7GGSanrTni7H27pJqxNQSPB8f"
    "1OJ7SNnTK\",nc=00000001,cnonce=\"0xtJ+TcoCt2/N8wC7/p8qA1aLajGZMfQnW7LP2QG\",digest-uri=\""
    "zookeeper/zk-sasl-md5\",maxbuf=65536,response=b5326c933d17d7623a0aad137335fb70,qop=auth,"
    "authzid=\"bob\"";

// One connection's exchange against a loaded srv_sasl.
struct Exchange {
    const srv_sasl *s;
    srv_sasl_conn *x = srv_sasl_conn_new();
    std::string out;
    explicit Exchange(const srv_sasl *s_) : s(s_) {}
    ~Exchange()
    {
        srv_sasl_conn_free(x);
    }
    srv_sasl_result step(const std::string &tok, const char *nonce = kKazooNonce)
    {
        uint8_t buf[SRV_SASL_TOKEN_CAP];
        size_t n = 99;
        srv_sasl_result r =
            srv_sasl_step(s, x, (const uint8_t *)tok.data(), tok.size(), nonce, buf, &n);
        out.assign((const char *)buf, n);
        return r;
    }
    // The challenge, then the response: the result of the response.
    srv_sasl_result login(const std::string &response, const char *nonce = kKazooNonce)
    {
        LONGS_EQUAL(SRV_SASL_CONTINUE, step("", nonce));
        return step(response, nonce);
    }
};

// A kazoo-shaped response for bob with a correct digest unless changed.
std::string kazoo_like(const std::string &extra_before, const char *user = "bob",
                       const char *password = "bobsecret", const char *realm = "zk-sasl-md5",
                       const char *uri = "zookeeper/zk-sasl-md5")
{
    srv_dmd5_in in = {V(user),       V(realm),  V(password), V(kKazooNonce), V("abc"),
                      V("00000001"), V("auth"), V(uri),      {nullptr, 0}};
    return extra_before + "username=\"" + user + "\",realm=\"" + realm + "\",nonce=\"" +
           kKazooNonce + "\",cnonce=\"abc\",nc=00000001,qop=auth,digest-uri=\"" + uri +
           "\",response=" + response_value(in, true);
}

} // namespace

TEST_GROUP(SaslDigest){};

TEST(SaslDigest, Rfc2831WorkedExample)
{
    // RFC 2831 section 4: chris / secret at elwood.innosoft.com.
    srv_dmd5_in in = {V("chris"),          V("elwood.innosoft.com"),      V("secret"),
                      V("OA6MG9tEQGm2hh"), V("OA6MHXh6VqTrRk"),           V("00000001"),
                      V("auth"),           V("imap/elwood.innosoft.com"), {nullptr, 0}};
    STRCMP_EQUAL("d388dad90d4bbd760a152321f2143af7", response_value(in, true).c_str());
    STRCMP_EQUAL("ea40f60335c427b5527b84dbabcdfffd", response_value(in, false).c_str());
}

TEST(SaslDigest, CapturedJavaClientExchangeWithAuthzid)
{
    srv_dmd5_in in = {V("bob"),
                      V("zk-sasl-md5"),
                      V("bobsecret"),
                      V(kJavaNonce),
                      V("0xtJ+TcoCt2/N8wC7/p8qA1aLajGZMfQnW7LP2QG"),
                      V("00000001"),
                      V("auth"),
                      V("zookeeper/zk-sasl-md5"),
                      V("bob")};
    STRCMP_EQUAL("b5326c933d17d7623a0aad137335fb70", response_value(in, true).c_str());
    STRCMP_EQUAL("8bdd067ecdc90309b5372fc7772f5742", response_value(in, false).c_str());
}

TEST(SaslDigest, Latin1WhenEveryCharacterFitsElseUtf8)
{
    // DigestMD5Base.stringToByte_8859_1, string by string; expected values
    // from Python's hashlib over ISO-8859-1 and UTF-8 bytes.
    srv_dmd5_in in = {V("j\xc3\xbcrgen"),  V("zk-sasl-md5"),           V("p\xc3\xa4ssw\xc3\xb6rd"),
                      V("OA6MG9tEQGm2hh"), V("OA6MHXh6VqTrRk"),        V("00000001"),
                      V("auth"),           V("zookeeper/zk-sasl-md5"), {nullptr, 0}};
    STRCMP_EQUAL("3f47527504806788d31531b0bf1323de", response_value(in, true).c_str());
    in.user = V("\xe6\x97\xa5\xe6\x9c\xac"); // two CJK characters: UTF-8
    STRCMP_EQUAL("1a1f89fbe589f405a8bd7fd121de99b1", response_value(in, true).c_str());
}

TEST(SaslDigest, ParserFollowsParseDirectives)
{
    const char *tok = " , USERNAME = \"b\\\"o\\\\b\" ,\tRealm=zk ,, x-unknown=\"1,2\",qop=auth";
    char scratch[128];
    srv_dmd5_value v[DMD5_N_KEYS];
    char err[128];
    LONGS_EQUAL(0, srv_dmd5_parse((const uint8_t *)tok, strlen(tok), scratch, v, err, sizeof err));
    STRCMP_EQUAL("b\"o\\b", std::string(v[DMD5_USERNAME].p, v[DMD5_USERNAME].len).c_str());
    STRCMP_EQUAL("zk", std::string(v[DMD5_REALM].p, v[DMD5_REALM].len).c_str());
    STRCMP_EQUAL("auth", std::string(v[DMD5_QOP].p, v[DMD5_QOP].len).c_str());
    POINTERS_EQUAL(NULL, v[DMD5_NONCE].p);

    static const char *const bad[] = {
        "username=\"bob\",username=\"bob\"", // a directive twice
        "=x",                                // empty key
        "username",                          // then a value-less "=" below
        "realm=\"unterminated",
        "realm=\"a\"b",
        "user name=x",
    };
    for (const char *b : bad) {
        int rc = srv_dmd5_parse((const uint8_t *)b, strlen(b), scratch, v, err, sizeof err);
        if (strcmp(b, "username") == 0) {
            // Java takes a trailing key without '=' with an empty value.
            LONGS_EQUAL(0, rc);
            LONGS_EQUAL(0, v[DMD5_USERNAME].len);
        } else {
            LONGS_EQUAL_TEXT(-1, rc, b);
        }
    }
    LONGS_EQUAL(-1, srv_dmd5_parse((const uint8_t *)"nonce=", 6, scratch, v, err, sizeof err));
    STRCMP_EQUAL("Valueless directive found: nonce", err);
}

TEST(SaslDigest, NonceIsFortyBase64CharactersAndFresh)
{
    char a[SRV_SASL_NONCE_LEN + 1], b[SRV_SASL_NONCE_LEN + 1];
    LONGS_EQUAL(0, srv_sasl_nonce(a));
    LONGS_EQUAL(0, srv_sasl_nonce(b));
    LONGS_EQUAL(40, strlen(a));
    LONGS_EQUAL(40, strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"));
    CHECK(strcmp(a, b) != 0);
}

TEST(SaslDigest, AuthorizedIdAsZooKeeperCanonicalisesIt)
{
    char out[64];
    LONGS_EQUAL(0, srv_sasl_authorized_id("bob", false, false, out, sizeof out));
    STRCMP_EQUAL("bob", out);
    LONGS_EQUAL(0, srv_sasl_authorized_id("a/b/c", false, false, out, sizeof out));
    STRCMP_EQUAL("a/b/c", out); // no '@': a simple name, kept whole
    LONGS_EQUAL(0, srv_sasl_authorized_id("bob/host@", false, false, out, sizeof out));
    STRCMP_EQUAL("bob/host@", out); // the empty default realm matches
    LONGS_EQUAL(0, srv_sasl_authorized_id("bob/host@", true, true, out, sizeof out));
    STRCMP_EQUAL("bob", out);
    LONGS_EQUAL(0, srv_sasl_authorized_id("bob@EXAMPLE", false, false, out, sizeof out));
    STRCMP_EQUAL("bob@EXAMPLE", out);
    LONGS_EQUAL(-1, srv_sasl_authorized_id("a@b@c", false, false, out, sizeof out));
    LONGS_EQUAL(-1, srv_sasl_authorized_id("a/b/c@R", false, false, out, sizeof out));
}

TEST_GROUP(SaslExchange){};

TEST(SaslExchange, ChallengeIsZooKeepers)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer));
    Exchange e(j.s);
    // Java ignores an initial response: anything gets the challenge.
    LONGS_EQUAL(SRV_SASL_CONTINUE, e.step("ignored initial response"));
    STRCMP_EQUAL("realm=\"zk-sasl-md5\",nonce=\"69WPWIhXh05HsUBvgO84SAwQV8wDWAqcv9314Zb8\","
                 "charset=utf-8,algorithm=md5-sess",
                 e.out.c_str());
}

TEST(SaslExchange, CapturedKazooAndJavaResponsesAuthenticate)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer));
    Exchange k(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, k.login(kKazooResponse));
    STRCMP_EQUAL("rspauth=c7064d8be76a7b1ba5f607dad4c2cfdd", k.out.c_str());
    STRCMP_EQUAL("bob", srv_sasl_conn_id(k.x));
    Exchange jv(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, jv.login(kJavaResponse, kJavaNonce));
    STRCMP_EQUAL("rspauth=8bdd067ecdc90309b5372fc7772f5742", jv.out.c_str());
    STRCMP_EQUAL("bob", srv_sasl_conn_id(jv.x));
}

TEST(SaslExchange, AuthzidDoesNotChangeTheAuthorizedId)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer));
    srv_dmd5_in in = {V("bob"),  V("zk-sasl-md5"), V("bobsecret"), V(kKazooNonce),
                      V("c"),    V("00000001"),    V("auth"),      V("zookeeper/zk-sasl-md5"),
                      V("super")};
    std::string tok = "username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"" + std::string(kKazooNonce) +
                      "\",cnonce=\"c\",digest-uri=\"zookeeper/zk-sasl-md5\",authzid=\"super\","
                      "response=" +
                      response_value(in, true);
    Exchange e(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, e.login(tok));
    STRCMP_EQUAL("bob", srv_sasl_conn_id(e.x)); // ZooKeeper's handler authorises the user
}

TEST(SaslExchange, WrongPasswordAndUnknownUserFail)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer));
    Exchange e(j.s);
    LONGS_EQUAL(SRV_SASL_FAILED, e.login(kazoo_like("", "bob", "wrong")));
    STRCMP_EQUAL("DIGEST-MD5: digest response format violation. Mismatched response.",
                 srv_sasl_conn_error(e.x));
    STRCMP_EQUAL("bob", srv_sasl_conn_user(e.x));
    Exchange u(j.s);
    LONGS_EQUAL(SRV_SASL_FAILED, u.login(kazoo_like("", "nobody", "x")));
    CHECK(strstr(srv_sasl_conn_error(u.x), "cannot acquire password for nobody") != NULL);
}

TEST(SaslExchange, EachCheckRefusesAsJavaDoes)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer));
    std::string ok = kazoo_like("");
    struct {
        std::string tok;
        srv_sasl_result want;
        const char *says;
    } cases[] = {
        {ok, SRV_SASL_DONE, ""},
        {kazoo_like("charset=iso-8859-1,"), SRV_SASL_FAILED, "Incompatible charset"},
        {kazoo_like("maxbuf=abc,"), SRV_SASL_BROKEN, "NumberFormatException"},
        {kazoo_like("maxbuf=-5,"), SRV_SASL_DONE, ""},
        {"realm=\"zk-sasl-md5\"", SRV_SASL_FAILED, "Missing username"},
        {kazoo_like("", "bob", "bobsecret", "other-realm"), SRV_SASL_FAILED, "Nonexistent realm"},
        {"username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"elsewhere\",cnonce=\"c\"", SRV_SASL_FAILED,
         "Mismatched nonce"},
        {"username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"" + std::string(kKazooNonce) + "\"",
         SRV_SASL_FAILED, "Missing cnonce"},
        // Java's table says "nonce-count": "nc" is never looked at, even
        // twice and malformed.
        {kazoo_like("nc=zz,"), SRV_SASL_DONE, ""},
        {kazoo_like("nonce-count=00000002,"), SRV_SASL_FAILED, "Nonce count does not match"},
        {kazoo_like("nonce-count=1,"), SRV_SASL_DONE, ""},
        {kazoo_like("nonce-count=zz,"), SRV_SASL_BROKEN, "NumberFormatException"},
        {kazoo_like("nonce-count=ffffffff,"), SRV_SASL_BROKEN, "NumberFormatException"},
        {kazoo_like("", "bob", "bobsecret", "zk-sasl-md5", "ZooKeeper/ZK-SASL-MD5"), SRV_SASL_DONE,
         ""},
        {kazoo_like("", "bob", "bobsecret", "zk-sasl-md5", "zookeeper/elsewhere"), SRV_SASL_FAILED,
         "Mismatched URI"},
        {"username=\"bob\",realm=\"zk-sasl-md5\",nonce=\"" + std::string(kKazooNonce) +
             "\",cnonce=\"c\",digest-uri=\"zookeeper/zk-sasl-md5\"",
         SRV_SASL_FAILED, "Missing response"},
        {std::string(SRV_SASL_MAX_RESP + 1, 'x'), SRV_SASL_FAILED,
         "Invalid digest response length"},
        {std::string("\xff\x00garbage", 9), SRV_SASL_FAILED, "Missing username"},
    };
    for (auto &c : cases) {
        Exchange e(j.s);
        LONGS_EQUAL_TEXT(c.want, e.login(c.tok), c.tok.c_str());
        if (c.want != SRV_SASL_DONE)
            CHECK_TEXT(strstr(srv_sasl_conn_error(e.x), c.says) != NULL, srv_sasl_conn_error(e.x));
    }
    // qop: only auth is offered.
    Exchange q(j.s);
    std::string tok = ok;
    tok.replace(tok.find("qop=auth"), 8, "qop=auth-int");
    LONGS_EQUAL(SRV_SASL_FAILED, q.login(tok));
    STRCMP_EQUAL("DIGEST-MD5: server does not support  qop: auth-int", srv_sasl_conn_error(q.x));
}

TEST(SaslExchange, NoReplayAndOneTryPerChallenge)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer));
    Exchange e(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, e.login(kKazooResponse));
    LONGS_EQUAL(SRV_SASL_FAILED, e.step(kKazooResponse)); // the same response again
    STRCMP_EQUAL("DIGEST-MD5: Server at illegal state", srv_sasl_conn_error(e.x));
    Exchange f(j.s);
    LONGS_EQUAL(SRV_SASL_FAILED, f.login(kazoo_like("", "bob", "wrong")));
    LONGS_EQUAL(SRV_SASL_FAILED, f.step(kKazooResponse)); // no second guess
    // A fresh connection gets a fresh nonce: the captured response is stale.
    Exchange g(j.s);
    LONGS_EQUAL(SRV_SASL_FAILED,
                g.login(kKazooResponse, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    STRCMP_EQUAL("DIGEST-MD5: digest response format violation. Mismatched nonce.",
                 srv_sasl_conn_error(g.x));
}

TEST(SaslExchange, SuperPasswordReplacesUserSuperOnly)
{
    Jaas j;
    LONGS_EQUAL(0, j.load(kServer, "Server", "override"));
    Exchange e(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, e.login(kazoo_like("", "super", "override")));
    Exchange f(j.s);
    LONGS_EQUAL(SRV_SASL_FAILED, f.login(kazoo_like("", "super", "super_secret")));
    Exchange g(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, g.login(kazoo_like("", "bob", "bobsecret")));
}

TEST(SaslExchange, SectionsModulesAndUsersFromTheJaasFile)
{
    Jaas j;
    // Two modules: the later entry for a user wins; other sections ignored.
    LONGS_EQUAL(0, j.load("Client { org.apache.zookeeper.server.auth.DigestLoginModule required "
                          "username=\"bob\" password=\"x\"; };\n"
                          "Other { org.apache.zookeeper.server.auth.DigestLoginModule optional "
                          "user_carol=\"c\"; };\n"
                          "Server {\n"
                          " org.apache.zookeeper.server.auth.DigestLoginModule required "
                          "user_bob=\"first\";\n"
                          " org.apache.zookeeper.server.auth.DigestLoginModule sufficient "
                          "user_bob=\"second\" debug=true;\n"
                          "};\n"));
    LONGS_EQUAL(1, srv_sasl_n_users(j.s));
    Exchange e(j.s);
    LONGS_EQUAL(SRV_SASL_DONE, e.login(kazoo_like("", "bob", "second")));
    Exchange c(j.s);
    LONGS_EQUAL(SRV_SASL_FAILED, c.login(kazoo_like("", "carol", "c")));

    // Another section name (zookeeper.sasl.serverconfig).
    LONGS_EQUAL(0, j.load("MyZk { org.apache.zookeeper.server.auth.DigestLoginModule required "
                          "user_dan=\"d\"; };\n",
                          "MyZk"));
    LONGS_EQUAL(1, srv_sasl_n_users(j.s));
}

TEST(SaslExchange, WhatStopsTheStartAndWhatOnlyWarns)
{
    Jaas j;
    // No Server section: ZooKeeper starts without SASL; so do we, warning.
    LONGS_EQUAL(0, j.load("Client { org.apache.zookeeper.server.auth.DigestLoginModule required "
                          "username=\"bob\" password=\"x\"; };\n"));
    POINTERS_EQUAL(NULL, j.s);
    CHECK(strstr(j.warn, "no login module in a section named 'Server'") != NULL);
    LONGS_EQUAL(0, j.load(""));
    POINTERS_EQUAL(NULL, j.s);
    // A section without users: every login fails, which the warning says.
    LONGS_EQUAL(0, j.load("Server { org.apache.zookeeper.server.auth.DigestLoginModule required; "
                          "};\n"));
    CHECK(j.s != NULL);
    CHECK(strstr(j.warn, "no user_<name>") != NULL);
    // Kerberos is not served: a clear error rather than a server that
    // cannot log anyone in.
    LONGS_EQUAL(-1, j.load("Server {\n com.sun.security.auth.module.Krb5LoginModule required\n"
                           " useKeyTab=true keyTab=\"/k\" principal=\"zookeeper/h@R\";\n};\n"));
    CHECK(strstr(j.err, "jaas.conf:1: section 'Server' uses login module "
                        "com.sun.security.auth.module.Krb5LoginModule") != NULL);
    // Syntax errors and unreadable files name the file (and line).
    LONGS_EQUAL(-1, j.load("Server {\n org.apache.zookeeper.server.auth.DigestLoginModule "
                           "required\n user_bob=\"x\"\n};\n"));
    CHECK_TEXT(strstr(j.err, "jaas.conf:4: expected an option key or ';', found '}'") != NULL,
               j.err);
    srv_sasl_opts o = {"/nonexistent/jaas.conf", "Server", nullptr, false, false};
    LONGS_EQUAL(-1, srv_sasl_new(&o, &j.s, j.warn, sizeof j.warn, j.err, sizeof j.err));
    STRCMP_EQUAL("/nonexistent/jaas.conf: cannot open: No such file or directory", j.err);
}
