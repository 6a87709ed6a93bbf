// The JAAS file parser: what ZooKeeper deployments write, Java's
// ConfigFile tokenising rules, and errors that name the line.
#include <CppUTest/TestHarness.h>

#include <string.h>

#include <string>

#include "server/jaas.h"

namespace
{

struct Parsed {
    srv_jaas *j = nullptr;
    char err[256] = "";
    int rc;
    explicit Parsed(const std::string &text)
    {
        rc = srv_jaas_parse(text.data(), text.size(), "jaas.conf", &j, err, sizeof err);
    }
    ~Parsed()
    {
        srv_jaas_free(j);
    }
    // "key=value;" for every option of a module, in order.
    std::string options(const char *section, int module) const
    {
        int sec = srv_jaas_section(j, section);
        CHECK(sec >= 0);
        std::string s;
        for (int i = 0; i < srv_jaas_n_options(j, sec, module); i++) {
            const char *k, *v;
            srv_jaas_option(j, sec, module, i, &k, &v);
            s += std::string(k) + "=" + v + ";";
        }
        return s;
    }
};

} // namespace

TEST_GROUP(Jaas){};

TEST(Jaas, KazooAndZooKeeperDocsFiles)
{
    // kazoo's test harness and ZooKeeper's SASL guide write these.
    Parsed p("Server {\n"
             "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
             "    user_super=\"super_secret\"\n"
             "    user_jaasuser=\"jaas_password\";\n"
             "};\n"
             "Client {\n"
             "       org.apache.zookeeper.server.auth.DigestLoginModule required\n"
             "       username=\"bob\"\n"
             "       password=\"bobsecret\";\n"
             "};\n");
    LONGS_EQUAL(0, p.rc);
    int s = srv_jaas_section(p.j, "Server");
    LONGS_EQUAL(0, s);
    LONGS_EQUAL(1, srv_jaas_n_modules(p.j, s));
    STRCMP_EQUAL("org.apache.zookeeper.server.auth.DigestLoginModule",
                 srv_jaas_module_class(p.j, s, 0));
    STRCMP_EQUAL("user_super=super_secret;user_jaasuser=jaas_password;",
                 p.options("Server", 0).c_str());
    STRCMP_EQUAL("username=bob;password=bobsecret;", p.options("Client", 0).c_str());
    LONGS_EQUAL(6, srv_jaas_section_line(p.j, srv_jaas_section(p.j, "Client")));
    LONGS_EQUAL(-1, srv_jaas_section(p.j, "server")); // names are case-sensitive
}

TEST(Jaas, CommentsQuotingAndWords)
{
    Parsed p("// a line comment\n"
             "/* a block\n   comment */ Server{org.Mod.Class_1 REQUIRED\n"
             "  \"user_bob@EXAMPLE\"=\"p\\\"w\\\\d\\n\\101\" / a lone slash comments too\n"
             "  user_$x-y*=word.with.dots-and_1 debug=true\n"
             "  user_bob=\"first\" user_bob=\"last\";};");
    LONGS_EQUAL(0, p.rc);
    STRCMP_EQUAL("user_bob@EXAMPLE=p\"w\\d\nA;user_$x-y*=word.with.dots-and_1;debug=true;"
                 "user_bob=last;",
                 p.options("Server", 0).c_str());
}

TEST(Jaas, EmptyFileAndEmptySection)
{
    Parsed empty("");
    LONGS_EQUAL(0, empty.rc);
    LONGS_EQUAL(-1, srv_jaas_section(empty.j, "Server"));
    Parsed none("Server { };");
    LONGS_EQUAL(0, none.rc);
    LONGS_EQUAL(-1, srv_jaas_section(none.j, "Server")); // Java: no entry
}

TEST(Jaas, ErrorsNameTheLine)
{
    struct {
        const char *text, *err;
    } cases[] = {
        {"Server {\n Mod required\n user_bob=\"x\"\n};\n",
         "jaas.conf:4: expected an option key or ';', found '}'"},
        {"Server {\n Mod mandatory;\n};", "jaas.conf:2: invalid control flag \"mandatory\""},
        {"Server {\n Mod required user_bob=123;\n};",
         "jaas.conf:2: expected an option value, found a number (quote it)"},
        {"Server {\n Mod required user_bob='x';\n};",
         "jaas.conf:2: expected an option value, found a single quote"},
        {"Server {\n Mod required user_bob=\"${user.home}\";\n};",
         "jaas.conf:2: option user_bob: ${...} property expansion is not supported"},
        {"Server {\n Mod required user_bob=\"a\\0b\";\n};",
         "jaas.conf:2: option user_bob: a NUL character in the value is not supported"},
        {"Server { Mod required; };\n\nServer { Mod required; };",
         "jaas.conf:3: section Server is given twice (first at line 1)"},
        {"Server { Mod required; }", "jaas.conf:1: expected ';', found the end of the file"},
        {"Server Mod required;", "jaas.conf:1: expected '{', found \"Mod\""},
        {"Server {\n Mod", "jaas.conf:2: expected a control flag"},
        {"\n/* open", "jaas.conf:2: a /* comment is never closed"},
        {"Server { Mod required user@x=\"p\"; };", "jaas.conf:1: expected '=', found '@'"},
    };
    for (auto &c : cases) {
        Parsed p(c.text);
        LONGS_EQUAL_TEXT(-1, p.rc, c.text);
        POINTERS_EQUAL(NULL, p.j);
        CHECK_TEXT(strncmp(p.err, c.err, strlen(c.err)) == 0, p.err);
    }
}

TEST(Jaas, LoadNamesTheFile)
{
    srv_jaas *j = nullptr;
    char err[256];
    LONGS_EQUAL(-1, srv_jaas_load("/nonexistent/x.jaas", &j, err, sizeof err));
    STRCMP_EQUAL("/nonexistent/x.jaas: cannot open: No such file or directory", err);
    POINTERS_EQUAL(NULL, j);
}
