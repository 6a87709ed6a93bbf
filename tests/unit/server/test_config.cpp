// zoo.cfg parsing: defaults, every key, Properties syntax, warnings,
// rejected values, derived session timeouts and the "conf" output.
#include <CppUTest/TestHarness.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "config_test_util.h"
#include "server/config.h"

namespace
{

struct Fixture : CfgDir {
    Fixture() : CfgDir("cfgtest") {}
    int load(const std::string &text)
    {
        write(text);
        return load_written();
    }
    std::string base() const
    {
        return "dataDir=" + data() + "\n";
    }
};

} // namespace

TEST_GROUP(SrvConfig){};

TEST(SrvConfig, BuiltInDefaults)
{
    srv_config c;
    srv_config_defaults(&c);
    LONGS_EQUAL(2000, c.tick_time_ms);
    STRCMP_EQUAL("./data", c.data_dir);
    STRCMP_EQUAL("./data", c.data_log_dir);
    LONGS_EQUAL(2181, c.client_port);
    STRCMP_EQUAL("127.0.0.1", c.client_port_address);
    LONGS_EQUAL(60, c.max_client_cnxns);
    LONGS_EQUAL(4000, c.min_session_timeout_ms);
    LONGS_EQUAL(40000, c.max_session_timeout_ms);
    LONGS_EQUAL(100000, c.snap_count);
    LONGS_EQUAL(3, c.autopurge_snap_retain_count);
    LONGS_EQUAL(0, c.autopurge_purge_interval_h);
    LONGS_EQUAL(0xfffff, c.jute_maxbuffer);
    STRCMP_EQUAL("srvr", c.four_letter_whitelist);
    POINTERS_EQUAL(NULL, c.super_digest);
    CHECK_FALSE(c.extended_types_enabled);
    LONGS_EQUAL(60000, c.container_check_interval_ms);
    LONGS_EQUAL(10000, c.container_max_per_minute);
    CHECK_FALSE(c.reconfig_enabled);
    CHECK_FALSE(c.enforce_quota);
    LONGS_EQUAL(1000, c.global_outstanding_limit);
    srv_config_fini(&c);
    POINTERS_EQUAL(NULL, c.data_dir);
    srv_config_fini(&c); /* twice is fine */
}

TEST(SrvConfig, MinimalFileKeepsDefaultsAndLeavesAddressUnset)
{
    Fixture f;
    LONGS_EQUAL(0, f.load(f.base()));
    STRCMP_EQUAL(f.data().c_str(), f.c.data_dir);
    STRCMP_EQUAL(f.data().c_str(), f.c.data_log_dir);
    CHECK(f.c.data_dir != f.c.data_log_dir);       /* separate copies */
    POINTERS_EQUAL(NULL, f.c.client_port_address); /* server binds 0.0.0.0 */
    LONGS_EQUAL(2181, f.c.client_port);
    LONGS_EQUAL(2000, f.c.tick_time_ms);
    LONGS_EQUAL(4000, f.c.min_session_timeout_ms);
    LONGS_EQUAL(40000, f.c.max_session_timeout_ms);
    STRCMP_EQUAL("srvr", f.c.four_letter_whitelist);
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvConfig, ParsesEveryKey)
{
    Fixture f;
    LONGS_EQUAL(
        0, f.load("tickTime=500\n"
                  "dataDir=/var/zk/data\n"
                  "dataLogDir=/var/zk/log\n"
                  "clientPort=12345\n"
                  "clientPortAddress=127.0.0.2\n"
                  "maxClientCnxns=0\n"
                  "minSessionTimeout=1500\n"
                  "maxSessionTimeout=90000\n"
                  "snapCount=5000\n"
                  "autopurge.snapRetainCount=7\n"
                  "autopurge.purgeInterval=24\n"
                  "jute.maxbuffer=4194304\n"
                  "4lw.commands.whitelist=stat, ruok\n"
                  "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
                  "extendedTypesEnabled=true\n"
                  "znode.container.checkIntervalMs=1000\n"
                  "znode.container.maxPerMinute=50\n"
                  "reconfigEnabled=TRUE\n"
                  "enforceQuota=true\n"
                  "globalOutstandingLimit=2000\n"));
    LONGS_EQUAL(500, f.c.tick_time_ms);
    STRCMP_EQUAL("/var/zk/data", f.c.data_dir);
    STRCMP_EQUAL("/var/zk/log", f.c.data_log_dir);
    LONGS_EQUAL(12345, f.c.client_port);
    STRCMP_EQUAL("127.0.0.2", f.c.client_port_address);
    LONGS_EQUAL(0, f.c.max_client_cnxns);
    LONGS_EQUAL(1500, f.c.min_session_timeout_ms);
    LONGS_EQUAL(90000, f.c.max_session_timeout_ms);
    LONGS_EQUAL(5000, f.c.snap_count);
    LONGS_EQUAL(7, f.c.autopurge_snap_retain_count);
    LONGS_EQUAL(24, f.c.autopurge_purge_interval_h);
    LONGS_EQUAL(4194304, f.c.jute_maxbuffer);
    STRCMP_EQUAL("stat, ruok", f.c.four_letter_whitelist);
    STRCMP_EQUAL("super:D/InIHSb7yEEbrWz8b9l71RjZJU=", f.c.super_digest);
    CHECK_TRUE(f.c.extended_types_enabled);
    LONGS_EQUAL(1000, f.c.container_check_interval_ms);
    LONGS_EQUAL(50, f.c.container_max_per_minute);
    CHECK_TRUE(f.c.reconfig_enabled);
    CHECK_TRUE(f.c.enforce_quota);
    LONGS_EQUAL(2000, f.c.global_outstanding_limit);
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvConfig, PropertiesSyntaxCommentsAndWhitespace)
{
    Fixture f;
    LONGS_EQUAL(
        0, f.load("# a comment\n"
                  "   ! another comment, clientPort=1\n"
                  "\n"
                  "  \t\n"
                  "   tickTime   =   300   \r\n" /* CRLF, blanks */
                  "dataDir: /d\\\n"              /* ':' and a continuation */
                  "     ir\n"
                  "clientPort 4000\n"             /* blank separator */
                  "clientPortAddress=127.0.0.3\r" /* lone CR */
                  "snapCount=7\n"
                  "snapCount=9\n"                                      /* last one wins */
                  "4lw.commands.whitelist=\\u0072uok\n"                /* \u escape */
                  "#clientPort=5\\\n"                                  /* comments never continue */
                  "DigestAuthenticationProvider.superDigest=s:x\\\\\n" /* even: no continuation */
                  "maxClientCnxns = 5"));                              /* no final newline */
    LONGS_EQUAL(300, f.c.tick_time_ms);
    STRCMP_EQUAL("/dir", f.c.data_dir);
    LONGS_EQUAL(4000, f.c.client_port);
    STRCMP_EQUAL("127.0.0.3", f.c.client_port_address);
    LONGS_EQUAL(9, f.c.snap_count);
    STRCMP_EQUAL("ruok", f.c.four_letter_whitelist);
    STRCMP_EQUAL("s:x\\", f.c.super_digest);
    LONGS_EQUAL(5, f.c.max_client_cnxns);
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvConfig, HexIsAcceptedWhereZooKeeperUsesIntegerDecode)
{
    Fixture f;
    LONGS_EQUAL(0, f.load(f.base() + "jute.maxbuffer=0x200000\nsnapCount=#10\n"));
    LONGS_EQUAL(0x200000, f.c.jute_maxbuffer);
    LONGS_EQUAL(16, f.c.snap_count);
    /* clientPort goes through Integer.parseInt: decimal only. */
    LONGS_EQUAL(-1, f.load(f.base() + "clientPort=0x50\n"));
}

TEST(SrvConfig, WarnsOncePerUnknownOrUnusedKey)
{
    Fixture f;
    LONGS_EQUAL(0, f.load(f.base() +                         /* line 1 */
                          "localSessionsEnabled=true\n"      /* 2 */
                          "quorumListenOnAllIPs=true\n"      /* 3 */
                          "group.1=1:2:3\n"                  /* 4 */
                          "secureClientPort=2281\n"          /* 5 */
                          "admin.enableServer=false\n"       /* 6 */
                          "metricsProvider.className=x\n"    /* 7 */
                          "tickTime=2000\n"                  /* 8: known, no warning */
                          "fooBar=1\n"                       /* 9 */
                          "clientportaddress=127.0.0.1\n")); /* 10: keys are case-sensitive */
    LONGS_EQUAL(8, f.warnings.size());
    const char *expect[][2] = {{":2:", "localSessionsEnabled"},
                               {":3:", "quorumListenOnAllIPs"},
                               {":4:", "group.1"},
                               {":5:", "secureClientPort"},
                               {":6:", "admin.enableServer"},
                               {":7:", "metricsProvider.className"},
                               {":9:", "fooBar"},
                               {":10:", "clientportaddress"}};
    for (size_t i = 0; i < 8; i++) {
        const std::string &w = f.warnings[i];
        CHECK_TEXT(w.find(f.path) != std::string::npos, w.c_str());
        CHECK_TEXT(w.find(expect[i][0]) != std::string::npos, w.c_str());
        CHECK_TEXT(w.find(expect[i][1]) != std::string::npos, w.c_str());
    }
    CHECK(f.warnings[0].find("does not use") != std::string::npos);
    CHECK(f.warnings[6].find("unknown") != std::string::npos);
    POINTERS_EQUAL(NULL, f.c.client_port_address);
}

TEST(SrvConfig, ReadOnlyModeFlagIsWarnedAbout)
{
    Fixture f;
    f.write(f.base());
    char *const on[] = {const_cast<char *>("-Dreadonlymode.enabled=TRUE")};
    srv_jvm_flags flags = {"-Xmx1g", nullptr, on, 1};
    LONGS_EQUAL(0, f.load_written(&flags));
    LONGS_EQUAL(1, f.warnings.size());
    CHECK(f.warned("command line: readonlymode.enabled=true: zabd has no read-only mode"));
    // Anything but "true" leaves it off in ZooKeeper too: nothing to say.
    char *const off[] = {const_cast<char *>("-Dreadonlymode.enabled=yes")};
    flags = {"-Dreadonlymode.enabled=false", nullptr, off, 1};
    LONGS_EQUAL(0, f.load_written(&flags));
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvConfig, RelativeDataDirWarnsAndIsKeptAsWritten)
{
    Fixture f;
    LONGS_EQUAL(0, f.load("dataDir=zkdata\n"));
    STRCMP_EQUAL("zkdata", f.c.data_dir);
    LONGS_EQUAL(1, f.warnings.size());
    CHECK(f.warnings[0].find("dataDir") != std::string::npos);
}

TEST(SrvConfig, SnapRetainCountBelowThreeIsRaisedWithWarning)
{
    Fixture f;
    LONGS_EQUAL(0, f.load(f.base() + "autopurge.snapRetainCount=1\nautopurge.purgeInterval=-4\n"));
    LONGS_EQUAL(3, f.c.autopurge_snap_retain_count);
    LONGS_EQUAL(0, f.c.autopurge_purge_interval_h);
    LONGS_EQUAL(1, f.warnings.size());
    CHECK(f.warnings[0].find("autopurge.snapRetainCount") != std::string::npos);
    CHECK(f.warnings[0].find(":2:") != std::string::npos);
}

TEST(SrvConfig, ForceSyncIsOffOnlyForNoAsInZooKeeper)
{
    Fixture f;
    LONGS_EQUAL(0, f.load(f.base()));
    CHECK_TRUE(f.c.force_sync);
    LONGS_EQUAL(0, f.load(f.base() + "forceSync=no\n"));
    CHECK_FALSE(f.c.force_sync);
    LONGS_EQUAL(0, f.warnings.size());
    LONGS_EQUAL(0, f.load(f.base() + "forceSync=yes\n"));
    CHECK_TRUE(f.c.force_sync);
    LONGS_EQUAL(0, f.warnings.size());
    /* FileTxnLog reads anything but "no" as yes; zabd does too, with a warning. */
    LONGS_EQUAL(0, f.load(f.base() + "forceSync=false\n"));
    CHECK_TRUE(f.c.force_sync);
    LONGS_EQUAL(1, f.warnings.size());
    CHECK(f.warnings[0].find("forceSync") != std::string::npos);
    CHECK(f.warnings[0].find(":2:") != std::string::npos);
}

TEST(SrvConfig, SessionTimeoutDefaultsFollowTickTime)
{
    Fixture f;
    LONGS_EQUAL(0, f.load(f.base() + "tickTime=100\n"));
    LONGS_EQUAL(200, f.c.min_session_timeout_ms);
    LONGS_EQUAL(2000, f.c.max_session_timeout_ms);

    /* tickTime after the timeouts in the file still counts. */
    LONGS_EQUAL(0, f.load(f.base() + "minSessionTimeout=500\ntickTime=300\n"));
    LONGS_EQUAL(500, f.c.min_session_timeout_ms);
    LONGS_EQUAL(6000, f.c.max_session_timeout_ms);

    /* -1 is ZooKeeper's "unset". */
    LONGS_EQUAL(0, f.load(f.base() + "tickTime=50\nminSessionTimeout=-1\nmaxSessionTimeout=-1\n"));
    LONGS_EQUAL(100, f.c.min_session_timeout_ms);
    LONGS_EQUAL(1000, f.c.max_session_timeout_ms);

    /* A huge tickTime saturates instead of overflowing. */
    LONGS_EQUAL(0, f.load(f.base() + "tickTime=2000000000\n"));
    LONGS_EQUAL(INT32_MAX, f.c.min_session_timeout_ms);
    LONGS_EQUAL(INT32_MAX, f.c.max_session_timeout_ms);
}

TEST(SrvConfig, RejectsEachInvalidValueNamingFileLineAndKey)
{
    struct {
        const char *line2;
        const char *key;
    } bad[] = {
        {"clientPort=abc", "clientPort"},
        {"clientPort=", "clientPort"},
        {"clientPort=0", "clientPort"},
        {"clientPort=65536", "clientPort"},
        {"clientPort=21 81", "clientPort"},
        {"tickTime=-5", "tickTime"},
        {"tickTime=0", "tickTime"},
        {"tickTime=99999999999", "tickTime"},
        {"tickTime=2e3", "tickTime"},
        {"maxClientCnxns=-1", "maxClientCnxns"},
        {"minSessionTimeout=ten", "minSessionTimeout"},
        {"maxSessionTimeout=-2", "maxSessionTimeout"},
        {"snapCount=1", "snapCount"},
        {"autopurge.purgeInterval=x", "autopurge.purgeInterval"},
        {"autopurge.snapRetainCount=", "autopurge.snapRetainCount"},
        {"jute.maxbuffer=0", "jute.maxbuffer"},
        {"jute.maxbuffer=1MB", "jute.maxbuffer"},
        {"extendedTypesEnabled=yes", "extendedTypesEnabled"},
        {"reconfigEnabled=1", "reconfigEnabled"},
        {"DigestAuthenticationProvider.superDigest=nocolon",
         "DigestAuthenticationProvider.superDigest"},
        {"DigestAuthenticationProvider.superDigest=super:",
         "DigestAuthenticationProvider.superDigest"},
        {"enforceQuota=yes", "enforceQuota"},
        {"znode.container.checkIntervalMs=0", "znode.container.checkIntervalMs"},
        {"znode.container.maxPerMinute=-1", "znode.container.maxPerMinute"},
        {"globalOutstandingLimit=0", "globalOutstandingLimit"},
        {"clientPortAddress=", "clientPortAddress"},
        {"dataLogDir=", "dataLogDir"},
        {"dataDir=", "dataDir"},
        {"minSessionTimeout=50000", "minSessionTimeout"}, /* > default max 40000 */
        {"maxSessionTimeout=3000", "maxSessionTimeout"},  /* < default min 4000 */
    };
    for (auto &b : bad) {
        Fixture f;
        /* Sentinel: a failed load must not write c. */
        memset(&f.c, 0x5a, sizeof f.c);
        int rc = f.load(f.base() + b.line2 + "\n");
        LONGS_EQUAL_TEXT(-1, rc, b.line2);
        std::string e = f.err;
        CHECK_TEXT(e.find(f.path) != std::string::npos, (b.line2 + (" -> " + e)).c_str());
        CHECK_TEXT(e.find(":2:") != std::string::npos, (b.line2 + (" -> " + e)).c_str());
        CHECK_TEXT(e.find(b.key) != std::string::npos, (b.line2 + (" -> " + e)).c_str());
        LONGS_EQUAL_TEXT(0x5a5a5a5a, f.c.tick_time_ms, b.line2);
    }
}

TEST(SrvConfig, RejectsMissingDataDirAndMissingFile)
{
    Fixture f;
    LONGS_EQUAL(-1, f.load("clientPort=2181\n"));
    CHECK(strstr(f.err, "dataDir") != NULL);
    CHECK(strstr(f.err, f.path.c_str()) != NULL);

    std::string missing = std::string(f.dir) + "/nope.cfg";
    srv_config c;
    char err[256];
    LONGS_EQUAL(-1, srv_config_load(&c, missing.c_str(), NULL, NULL, err, sizeof err));
    CHECK(strstr(err, missing.c_str()) != NULL);
    /* A tiny error buffer still gets a terminated (truncated) message. */
    char tiny[8];
    LONGS_EQUAL(-1, srv_config_load(&c, missing.c_str(), NULL, NULL, tiny, sizeof tiny));
    LONGS_EQUAL(7, strlen(tiny));
}

TEST(SrvConfig, ConfOutputMatchesZooKeeperLayout)
{
    Fixture f;
    std::string data = f.data(), logs = std::string(f.dir) + "/log/";
    LONGS_EQUAL(0, f.load("tickTime=2000\ndataDir=" + data + "\ndataLogDir=" + logs +
                          "\nclientPort=32877\nclientPortAddress=127.0.0.1\n"));
    /* 457 bytes in a nested file under dataDir, 10 under dataLogDir. */
    CHECK(system(("mkdir -p '" + data + "/version-2' '" + logs + "'").c_str()) == 0);
    FILE *fp = fopen((data + "/version-2/snapshot.0").c_str(), "wb");
    for (int i = 0; i < 457; i++)
        fputc('x', fp);
    fclose(fp);
    fp = fopen((logs + "log.1").c_str(), "wb");
    fputs("0123456789", fp);
    fclose(fp);

    char buf[2048];
    srv_config_format_conf(&f.c, buf, sizeof buf);
    std::string want = "clientPort=32877\n"
                       "secureClientPort=-1\n"
                       "dataDir=" +
                       data +
                       "/version-2\n"
                       "dataDirSize=457\n"
                       "dataLogDir=" +
                       std::string(f.dir) +
                       "/log/version-2\n"
                       "dataLogSize=10\n"
                       "tickTime=2000\n"
                       "maxClientCnxns=60\n"
                       "minSessionTimeout=4000\n"
                       "maxSessionTimeout=40000\n"
                       "clientPortListenBacklog=-1\n"
                       "serverId=0\n";
    STRCMP_EQUAL(want.c_str(), buf);

    char small[16];
    srv_config_format_conf(&f.c, small, sizeof small);
    STRCMP_EQUAL("clientPort=3287", small);
}

TEST(SrvConfig, ConfShowsRelativeDataDirAgainstWorkingDirectory)
{
    srv_config c;
    srv_config_defaults(&c);
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    char buf[4096];
    srv_config_format_conf(&c, buf, sizeof buf);
    std::string want = std::string("dataDir=") + cwd + "/./data/version-2\n";
    CHECK_TEXT(strstr(buf, want.c_str()) != NULL, buf);
    srv_config_fini(&c);
}

TEST(SrvConfig, FourLetterWhitelist)
{
    srv_config c;
    srv_config_defaults(&c);
    CHECK_TRUE(srv_config_4lw_enabled(&c, "srvr"));
    CHECK_FALSE(srv_config_4lw_enabled(&c, "ruok"));
    free(c.four_letter_whitelist);
    c.four_letter_whitelist = strdup(" ruok , conf,");
    CHECK_TRUE(srv_config_4lw_enabled(&c, "ruok"));
    CHECK_TRUE(srv_config_4lw_enabled(&c, "conf"));
    CHECK_TRUE(srv_config_4lw_enabled(&c, "srvr")); /* always, as in ZooKeeper */
    CHECK_FALSE(srv_config_4lw_enabled(&c, "stat"));
    CHECK_FALSE(srv_config_4lw_enabled(&c, "con"));
    free(c.four_letter_whitelist);
    c.four_letter_whitelist = strdup("stat,*");
    CHECK_TRUE(srv_config_4lw_enabled(&c, "mntr"));
    srv_config_fini(&c);
}
