// zoo.cfg keys and JVM flags of the SASL code: where the JAAS file comes
// from, which source wins, and the enforce.auth.* checks.
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

struct Cfg : CfgDir {
    Cfg() : CfgDir("saslcfg") {}
    // Loads "dataDir=...\n" + text (or the built-in configuration when
    // text is null) with the given flags.
    int load(const char *text, const char *server_jvmflags = nullptr,
             const char *jvmflags = nullptr, std::vector<const char *> args = {})
    {
        if (text != nullptr)
            write(std::string("dataDir=") + dir + "\n" + text);
        srv_jvm_flags fl = {server_jvmflags, jvmflags, const_cast<char *const *>(args.data()),
                            (int)args.size()};
        return load_written(&fl, text != nullptr);
    }
};

const char *const kProvider =
    "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n";

} // namespace

TEST_GROUP(SrvConfigSasl){};

TEST(SrvConfigSasl, DefaultsOfferNothing)
{
    Cfg f;
    LONGS_EQUAL(0, f.load(""));
    POINTERS_EQUAL(NULL, f.c.jaas_config);
    STRCMP_EQUAL("Server", f.c.sasl_section);
    CHECK_FALSE(f.c.sasl_provider);
    CHECK_FALSE(srv_config_is_super_user(&f.c, "super"));
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvConfigSasl, ZooCfgKeys)
{
    Cfg f;
    LONGS_EQUAL(
        0, f.load("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n"
                  "authProvider.2=com.example.MyProvider\n"
                  "jaasLoginConfig=/etc/zk/jaas.conf\n"
                  "sasl.serverconfig=MyServer\n"
                  "superUser=admin\n"
                  "superUser.ops=carol\n"
                  "SASLAuthenticationProvider.superPassword=pw\n"
                  "letAnySaslUserDoX=anyone\n"
                  "allowSaslFailedClients=TRUE\n"
                  "kerberos.removeHostFromPrincipal=true\n"
                  "kerberos.removeRealmFromPrincipal=yes\n"));
    CHECK(f.c.sasl_provider);
    STRCMP_EQUAL("/etc/zk/jaas.conf", f.c.jaas_config);
    STRCMP_EQUAL("MyServer", f.c.sasl_section);
    CHECK(srv_config_is_super_user(&f.c, "admin"));
    CHECK(srv_config_is_super_user(&f.c, "carol"));
    CHECK_FALSE(srv_config_is_super_user(&f.c, "bob"));
    STRCMP_EQUAL("pw", f.c.sasl_super_password);
    STRCMP_EQUAL("anyone", f.c.sasl_any_user_id);
    CHECK(f.c.allow_sasl_failed_clients);
    CHECK(f.c.kerberos_remove_host);
    CHECK_FALSE(f.c.kerberos_remove_realm); /* Java: only "true" is true */
    LONGS_EQUAL(1, f.warnings.size());
    CHECK(f.warnings[0].find("authProvider.2: zabd has no authentication provider "
                             "com.example.MyProvider") != std::string::npos);
}

TEST(SrvConfigSasl, JaasFileFromServerJvmflagsAsZkServerShPassesIt)
{
    Cfg f;
    LONGS_EQUAL(0, f.load(kProvider, "-Xmx512m  -Djava.security.auth.login.config=/a/jaas.conf\t"
                                     "-Dzookeeper.log.dir=/var/log -Dzookeeper.superUser=admin "
                                     "-Dzookeeper.sasl.serverconfig=Zk"));
    STRCMP_EQUAL("/a/jaas.conf", f.c.jaas_config);
    STRCMP_EQUAL("Zk", f.c.sasl_section);
    CHECK(srv_config_is_super_user(&f.c, "admin"));
    LONGS_EQUAL(0, f.warnings.size()); // flags zabd does not read are not warned about
    // The provider itself may come from a flag too, and "=FILE" / file: work.
    LONGS_EQUAL(0, f.load("", "-Dzookeeper.authProvider.9=org.apache.zookeeper.server.auth."
                              "SASLAuthenticationProvider "
                              "-Djava.security.auth.login.config==file:///b/jaas.conf"));
    CHECK(f.c.sasl_provider);
    STRCMP_EQUAL("/b/jaas.conf", f.c.jaas_config);
}

TEST(SrvConfigSasl, LaterSourcesWin)
{
    Cfg f;
    // JVMFLAGS comes after SERVER_JVMFLAGS on java's command line.
    LONGS_EQUAL(0, f.load("", "-Djava.security.auth.login.config=/server",
                          "-Djava.security.auth.login.config=/jvm"));
    STRCMP_EQUAL("/jvm", f.c.jaas_config);
    // -D arguments after both.
    LONGS_EQUAL(0, f.load("", "-Djava.security.auth.login.config=/server", nullptr,
                          {"-Djava.security.auth.login.config=/arg"}));
    STRCMP_EQUAL("/arg", f.c.jaas_config);
    // zoo.cfg keys override system properties, as ZooKeeper sets
    // zookeeper.<key> from zoo.cfg after the JVM started.
    LONGS_EQUAL(0, f.load("jaasLoginConfig=/cfg\nsuperUser=cfgadmin\n",
                          "-Djava.security.auth.login.config=/server -Dzookeeper.superUser=admin"));
    STRCMP_EQUAL("/cfg", f.c.jaas_config);
    CHECK(srv_config_is_super_user(&f.c, "cfgadmin"));
    CHECK_FALSE(srv_config_is_super_user(&f.c, "admin"));
}

TEST(SrvConfigSasl, BuiltInConfigurationTakesFlags)
{
    Cfg f;
    LONGS_EQUAL(0, f.load(nullptr, "-Djava.security.auth.login.config=/x"));
    STRCMP_EQUAL("/x", f.c.jaas_config);
    STRCMP_EQUAL("./data", f.c.data_dir);
    // An empty value is refused, naming where it came from.
    LONGS_EQUAL(-1, f.load(nullptr, "-Djava.security.auth.login.config="));
    STRCMP_EQUAL("SERVER_JVMFLAGS: jaasLoginConfig: empty value", f.err);
    LONGS_EQUAL(-1, f.load(nullptr, nullptr, nullptr, {"-Djava.security.auth.login.config="}));
    STRCMP_EQUAL("command line: jaasLoginConfig: empty value", f.err);
}

TEST(SrvConfigSasl, EnforceAuthIsCheckedAsAuthenticationHelperDoes)
{
    Cfg f;
    LONGS_EQUAL(-1, f.load("enforce.auth.enabled=true\n"));
    CHECK(strstr(f.err, "enforce.auth.schemes must be configured") != NULL);
    LONGS_EQUAL(-1, f.load("enforce.auth.enabled=true\nenforce.auth.schemes=digest, sasl\n"));
    CHECK(strstr(f.err, "authentication scheme 'sasl' is not available") != NULL);
    LONGS_EQUAL(0, f.load((std::string(kProvider) +
                           "enforce.auth.enabled=true\nenforce.auth.schemes=digest, sasl\n")
                              .c_str()));
    CHECK(f.c.enforce_auth_enabled);
    STRCMP_EQUAL("digest, sasl", f.c.enforce_auth_schemes);
    LONGS_EQUAL(-1, f.load("sessionRequireClientSASLAuth=true\n"));
    CHECK(strstr(f.err, "authentication scheme 'sasl' is not available") != NULL);
    LONGS_EQUAL(0,
                f.load((std::string(kProvider) + "sessionRequireClientSASLAuth=true\n").c_str()));
    CHECK(f.c.session_require_sasl);
    LONGS_EQUAL(0, f.load("", "-Dzookeeper.enforce.auth.enabled=false"));
}
