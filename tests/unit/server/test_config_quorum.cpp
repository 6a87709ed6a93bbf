// zoo.cfg's quorum keys: server.N lines, myid, initLimit/syncLimit,
// peerType, electionAlg, standaloneEnabled, the mode they decide, every
// mistake that stops the start, and the startup port check.
#include <CppUTest/TestHarness.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "config_test_util.h"
#include "server/config.h"

namespace
{

struct Fixture : CfgDir {
    Fixture() : CfgDir("quorumtest")
    {
        mkdir(data().c_str(), 0700);
    }
    ~Fixture()
    {
        chmod((data() + "/myid").c_str(), 0600);
    }
    void myid(const std::string &text)
    {
        FILE *f = fopen((data() + "/myid").c_str(), "wb");
        CHECK(f != NULL);
        fwrite(text.data(), 1, text.size(), f);
        fclose(f);
    }
    int load(const std::string &text)
    {
        write("dataDir=" + data() + "\n" + text); /* text starts on line 2 */
        return load_written();
    }
    /* Fails the test unless loading text fails with every piece in err. */
    void rejects(const std::string &text, std::vector<std::string> pieces)
    {
        LONGS_EQUAL_TEXT(-1, load(text), text.c_str());
        CHECK_TEXT(std::string(err).find(path) == 0 || std::string(err).find(dir) == 0, err);
        for (const std::string &p : pieces)
            CHECK_TEXT(std::string(err).find(p) != std::string::npos, (p + " in: " + err).c_str());
    }
};

const char *const three = "server.1=127.0.0.1:2888:3888\n"
                          "server.2=127.0.0.2:2888:3888\n"
                          "server.3=127.0.0.3:2888:3888\n";
const char *const limits = "initLimit=10\nsyncLimit=5\n";

struct Parsed {
    srv_quorum_server s;
    char msg[512];
    int rc;
    explicit Parsed(const char *value)
    {
        memset(&s, 0, sizeof s);
        msg[0] = '\0';
        rc = srv_quorum_server_parse(value, &s, msg, sizeof msg);
    }
    ~Parsed()
    {
        if (rc == 0) {
            free(s.host);
            free(s.client_host);
        }
    }
};

/* A loopback port nobody holds right now. */
int free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(bind(fd, (sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(fd, (sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

} // namespace

/* ---- One server line ----------------------------------------------------- */

TEST_GROUP(SrvQuorumLine){};

TEST(SrvQuorumLine, HostQuorumAndElectionPortIsAParticipantWithoutClient)
{
    Parsed p("127.0.0.1:2888:3888");
    LONGS_EQUAL_TEXT(0, p.rc, p.msg);
    STRCMP_EQUAL("127.0.0.1", p.s.host);
    LONGS_EQUAL(2888, p.s.quorum_port);
    LONGS_EQUAL(3888, p.s.election_port);
    CHECK_FALSE(p.s.is_observer);
    POINTERS_EQUAL(NULL, p.s.client_host);
    LONGS_EQUAL(0, p.s.client_port);
}

TEST(SrvQuorumLine, TypeIsParticipantOrObserverInAnyCase)
{
    Parsed o("zk-1.example.com:2888:3888:observer"), p("h:1:2:PARTICIPANT"), b("h:1:2: Observer ");
    LONGS_EQUAL_TEXT(0, o.rc, o.msg);
    CHECK(o.s.is_observer);
    STRCMP_EQUAL("zk-1.example.com", o.s.host);
    LONGS_EQUAL_TEXT(0, p.rc, p.msg);
    CHECK_FALSE(p.s.is_observer);
    LONGS_EQUAL_TEXT(0, b.rc, b.msg); /* getType trims */
    CHECK(b.s.is_observer);
}

TEST(SrvQuorumLine, ClientPartIsPortOrHostAndPort)
{
    Parsed port("h:2888:3888;2181"), full("h:2888:3888:participant;10.0.0.1:2182");
    LONGS_EQUAL_TEXT(0, port.rc, port.msg);
    STRCMP_EQUAL("0.0.0.0", port.s.client_host); /* QuorumServer: a lone port is 0.0.0.0 */
    LONGS_EQUAL(2181, port.s.client_port);
    LONGS_EQUAL_TEXT(0, full.rc, full.msg);
    STRCMP_EQUAL("10.0.0.1", full.s.client_host);
    LONGS_EQUAL(2182, full.s.client_port);
}

TEST(SrvQuorumLine, BracketedIpv6Hosts)
{
    Parsed p("[fe80::1%eth0]:2888:3888:observer;[::1]:2181");
    LONGS_EQUAL_TEXT(0, p.rc, p.msg);
    STRCMP_EQUAL("fe80::1%eth0", p.s.host);
    CHECK(p.s.is_observer);
    STRCMP_EQUAL("::1", p.s.client_host);
    LONGS_EQUAL(2181, p.s.client_port);
}

TEST(SrvQuorumLine, MalformedLinesSayWhatIsWrong)
{
    const char *cases[][2] = {
        {"", "is not of the form"},
        {"127.0.0.1:2888", "is not of the form"},       /* missing election port */
        {"127.0.0.1", "is not of the form"},            /* no ports */
        {"h:1:2:observer:x", "is not of the form"},     /* a fifth part */
        {"h:1:2;3;4", "is not of the form"},            /* two client parts */
        {"h:1:2;a:b:c", "is not of the form"},          /* client with three parts */
        {"::1:2888:3888", "is not of the form"},        /* IPv6 needs brackets */
        {"h:x:3888", "quorum port 'x'"},                /* not a number */
        {"h:2888:", "is not of the form"},              /* Java's split drops the empty end */
        {"h:2888:38 88", "election port '38 88'"},      /* no blanks inside */
        {"h:0:3888", "quorum port '0'"},                /* out of range */
        {"h:2888:65536", "election port '65536'"},      /* out of range */
        {"h:2888:3888;x", "client port 'x'"},           /* client port */
        {"h:2888:3888;h:99999", "client port '99999'"}, /* client port range */
        {"h:2888:2888", "must differ"},                 /* quorum = election */
        {"h:1:2:leader", "unknown server type 'leader'"},
        {"a:1:2|b:1:2", "multiAddress"},
        {"[::1:2888:3888", "no matching ']'"},
        {"[::1]", "is not of the form"},
        {"[::1]:", "no port after"},
        {"[nothex]:1:2", "not a host name or IP address"},
        {"bad/host:1:2", "not a host name or IP address"},
        {":1:2", "not a host name or IP address"},
        {"h:1:2;bad!:2181", "client address 'bad!'"},
    };
    for (auto &tc : cases) {
        Parsed p(tc[0]);
        LONGS_EQUAL_TEXT(-1, p.rc, tc[0]);
        CHECK_TEXT(strstr(p.msg, tc[1]) != NULL, (std::string(tc[0]) + " -> " + p.msg).c_str());
    }
}

/* ---- The mode ------------------------------------------------------------ */

TEST_GROUP(SrvQuorumMode){};

TEST(SrvQuorumMode, NoServerLinesIsStandalone)
{
    Fixture f;
    LONGS_EQUAL_TEXT(0, f.load(""), f.err);
    CHECK_FALSE(f.c.quorum.is_ensemble);
    LONGS_EQUAL(0, f.c.quorum.n_servers);
    CHECK(f.c.quorum.standalone_enabled);
    CHECK_FALSE(f.c.quorum.has_my_id);
    POINTERS_EQUAL(NULL, f.c.quorum.me);
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvQuorumMode, OneParticipantIsStandaloneAndWarns)
{
    Fixture f;
    LONGS_EQUAL_TEXT(0, f.load("server.1=127.0.0.1:2888:3888\n"), f.err); /* no myid needed */
    CHECK_FALSE(f.c.quorum.is_ensemble);
    LONGS_EQUAL(1, f.c.quorum.n_servers);
    LONGS_EQUAL(1, f.warnings.size());
    CHECK_TEXT(f.warned(":2: only one server line"), f.warnings[0].c_str());
}

TEST(SrvQuorumMode, OneParticipantWithStandaloneDisabledIsAnEnsemble)
{
    Fixture f;
    f.myid("1\n");
    LONGS_EQUAL_TEXT(
        0, f.load(std::string("standaloneEnabled=false\nserver.1=127.0.0.1:2888:3888\n") + limits),
        f.err);
    CHECK(f.c.quorum.is_ensemble);
    CHECK_FALSE(f.c.quorum.standalone_enabled);
}

TEST(SrvQuorumMode, ThreeServersAndMyidIsAnEnsemble)
{
    Fixture f;
    f.myid("2\n");
    LONGS_EQUAL_TEXT(0, f.load(std::string(three) + limits + "tickTime=500\n"), f.err);
    CHECK(f.c.quorum.is_ensemble);
    LONGS_EQUAL(3, f.c.quorum.n_servers);
    CHECK(f.c.quorum.has_my_id);
    LONGS_EQUAL(2, f.c.quorum.my_id);
    CHECK(f.c.quorum.me != NULL);
    LONGS_EQUAL(2, f.c.quorum.me->id);
    STRCMP_EQUAL("127.0.0.2", f.c.quorum.me->host);
    LONGS_EQUAL(10, f.c.quorum.init_limit);
    LONGS_EQUAL(5, f.c.quorum.sync_limit);
    LONGS_EQUAL(500, f.c.tick_time_ms);
    LONGS_EQUAL(2, f.c.quorum.servers[0].line);
    LONGS_EQUAL(4, f.c.quorum.servers[2].line);
    LONGS_EQUAL(0, f.warnings.size());
}

TEST(SrvQuorumMode, TwoOrAnEvenNumberOfParticipantsWarns)
{
    Fixture f;
    f.myid("1");
    LONGS_EQUAL_TEXT(0,
                     f.load(std::string("server.1=127.0.0.1:2888:3888\n"
                                        "server.2=127.0.0.2:2888:3888\n") +
                            limits),
                     f.err);
    CHECK(f.c.quorum.is_ensemble);
    CHECK(f.warned("no server failure is tolerated"));
    LONGS_EQUAL(0, f.load(std::string(three) + "server.4=127.0.0.4:2888:3888\n" + limits));
    CHECK(f.warned("4 participants"));
}

TEST(SrvQuorumMode, ObserversDoNotCountAsVotingMembers)
{
    Fixture f;
    /* Two participants and an observer: an ensemble. */
    f.myid("3");
    LONGS_EQUAL_TEXT(0,
                     f.load(std::string("server.1=127.0.0.1:2888:3888\n"
                                        "server.2=127.0.0.2:2888:3888\n"
                                        "server.3=127.0.0.3:2888:3888:observer\n"
                                        "peerType=observer\n") +
                            limits),
                     f.err);
    CHECK(f.c.quorum.is_ensemble);
    CHECK(f.c.quorum.me->is_observer);
    CHECK_FALSE(f.warned("peerType"));
}

TEST(SrvQuorumMode, ObserversWithoutAQuorumStopTheStart)
{
    Fixture f;
    f.rejects("server.1=127.0.0.1:2888:3888:observer\n",
              {":2:", "observers need", "0 participant"});
    f.rejects("server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888:observer\n",
              {"observers need", "1 participant line"});
}

TEST(SrvQuorumMode, StandaloneDisabledNeedsAParticipant)
{
    Fixture f;
    f.rejects("standaloneEnabled=false\n", {"standaloneEnabled is false"});
    f.rejects("standaloneEnabled=maybe\n", {":2:", "standaloneEnabled", "not a boolean"});
}

/* ---- What an ensemble needs -------------------------------------------------- */

TEST_GROUP(SrvQuorumEnsemble){};

TEST(SrvQuorumEnsemble, InitLimitAndSyncLimitAreRequired)
{
    Fixture f;
    f.myid("1");
    f.rejects(std::string(three) + "syncLimit=5\n", {"initLimit is not set"});
    f.rejects(std::string(three) + "initLimit=10\n", {"syncLimit is not set"});
    /* 0 is "not set" in QuorumPeerConfig.checkValidity. */
    f.rejects(std::string(three) + "initLimit=0\nsyncLimit=5\n", {"initLimit is not set"});
    f.rejects(std::string(three) + "initLimit=x\n", {":5:", "initLimit", "not a valid integer"});
    f.rejects(std::string(three) + "syncLimit=-1\n", {":5:", "syncLimit", "out of range"});
    /* Standalone does not need them. */
    LONGS_EQUAL_TEXT(0, f.load("server.1=127.0.0.1:2888:3888\n"), f.err);
}

TEST(SrvQuorumEnsemble, MissingMyidStopsTheStart)
{
    Fixture f;
    f.rejects(std::string(three) + limits, {"myid file is missing", f.data() + "/myid"});
    /* A directory named myid is not the file (File.isFile). */
    CHECK(mkdir((f.data() + "/myid").c_str(), 0700) == 0);
    f.rejects(std::string(three) + limits, {"myid file is missing"});
    rmdir((f.data() + "/myid").c_str());
}

TEST(SrvQuorumEnsemble, MyidMustNameAServerLine)
{
    Fixture f;
    f.myid("4\n");
    f.rejects(std::string(three) + limits, {"myid 4", "no server.4 line"});
}

TEST(SrvQuorumEnsemble, MyidIsTheFirstLineAsLongParseLongReadsIt)
{
    Fixture f;
    f.myid("3\r\nsomething else\n");
    LONGS_EQUAL_TEXT(0, f.load(std::string(three) + limits), f.err);
    LONGS_EQUAL(3, f.c.quorum.my_id);
    f.myid("+2");
    LONGS_EQUAL_TEXT(0, f.load(std::string(three) + limits), f.err);
    LONGS_EQUAL(2, f.c.quorum.my_id);
    /* No trimming: ZooKeeper refuses " 1" and "1 " too. */
    const char *bad[] = {"one\n", "1 \n", " 1", "", "\n2\n", "99999999999999999999"};
    for (const char *b : bad) {
        f.myid(b);
        f.rejects(std::string(three) + limits, {"/myid:1: ", "is not a server id"});
    }
}

TEST(SrvQuorumEnsemble, AnInvalidMyidStopsEvenAStandaloneStart)
{
    /* QuorumPeerConfig.setupMyId reads the file whenever it exists. */
    Fixture f;
    f.myid("x1\n");
    f.rejects("", {"myid", "'x1' is not a server id"});
}

TEST(SrvQuorumEnsemble, AnUnreadableMyidStopsTheStart)
{
    if (geteuid() == 0)
        return; /* root reads it anyway */
    Fixture f;
    f.myid("1\n");
    CHECK(chmod((f.data() + "/myid").c_str(), 0) == 0);
    f.rejects(std::string(three) + limits, {"cannot read the myid file", "Permission denied"});
}

TEST(SrvQuorumEnsemble, ServerIdsMustBeNumbersAndUnique)
{
    Fixture f;
    f.rejects("server.x=127.0.0.1:2888:3888\n", {":2:", "server.x", "'x' is not a server id"});
    f.rejects("server.=127.0.0.1:2888:3888\n", {":2:", "not a server id"});
    f.rejects("server.1.2=127.0.0.1:2888:3888\n", {":2:", "not a server id"});
    f.rejects("server.1=127.0.0.1:2888:3888\nserver.1=127.0.0.2:2888:3888\n",
              {":3:", "server id 1 is already given on line 2"});
    /* Long.parseLong("01") is 1 too: ZooKeeper would keep one of the two. */
    f.rejects("server.1=127.0.0.1:2888:3888\nserver.01=127.0.0.2:2888:3888\n",
              {":3:", "server.01", "already given on line 2"});
}

TEST(SrvQuorumEnsemble, AMalformedLineNamesFileLineAndKey)
{
    Fixture f;
    f.rejects("tickTime=2000\nserver.7=127.0.0.1:2888\n", {":3:", "server.7", "not of the form"});
    f.rejects("server.7=127.0.0.1:2888:3888:voter\n", {":2:", "server.7", "'voter'"});
    f.rejects("server.7=127.0.0.1:http:3888\n", {":2:", "server.7", "quorum port 'http'"});
}

TEST(SrvQuorumEnsemble, TwoLinesSharingHostAndPortStopTheStart)
{
    Fixture f;
    f.myid("1");
    f.rejects(std::string("server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2888:3889\n") + limits,
              {":3:", "server.2: quorum port 127.0.0.1:2888 is already the quorum port of "
                      "server.1 (line 2)"});
    f.rejects(std::string("server.1=h1:2888:3888\nserver.2=H1:2889:2888\n") + limits,
              {":3:", "election port H1:2888 is already the quorum port of server.1"});
    /* A lone client port is 0.0.0.0 on its own server's machine. */
    f.rejects(std::string("server.1=h1:2888:3888;3888\n") + limits,
              {":2:", "server.1: client port h1:3888 is already the election port of server.1"});
    f.rejects(std::string("server.1=h1:2888:3888\nserver.2=h2:2888:3888;h1:2888\n") + limits,
              {":3:", "client port h1:2888"});
    /* Other hosts may reuse the ports: that is the usual layout. */
    f.myid("1");
    LONGS_EQUAL_TEXT(0,
                     f.load(std::string("server.1=h1:2888:3888;2181\nserver.2=h2:2888:3888;2181\n"
                                        "server.3=h3:2888:3888;2181\n") +
                            limits),
                     f.err);
}

TEST(SrvQuorumEnsemble, ClientPortClashingWithTheLinesStopsTheStart)
{
    Fixture f;
    f.myid("1");
    f.rejects(std::string(three) + limits + "clientPort=3888\n",
              {":2:", "server.1: client port 127.0.0.1:3888 is already the election port of "
                      "server.1"});
    f.rejects(std::string(three) + limits + "clientPort=2888\nclientPortAddress=127.0.0.2\n",
              {"client port 127.0.0.2:2888 is already the quorum port of server.2"});
}

TEST(SrvQuorumEnsemble, TheServerLineGivesTheClientAddress)
{
    Fixture f;
    f.myid("2");
    LONGS_EQUAL_TEXT(0,
                     f.load(std::string("server.1=h1:2888:3888;2181\n"
                                        "server.2=127.0.0.1:2888:3888;127.0.0.1:2182\n"
                                        "server.3=h3:2888:3888;2181\n") +
                            limits),
                     f.err);
    LONGS_EQUAL(2182, f.c.client_port);
    STRCMP_EQUAL("127.0.0.1", f.c.client_port_address);
    /* The same port is fine; a different one stops the start (setupClientPort). */
    LONGS_EQUAL_TEXT(0, f.load(std::string(three) + limits + "clientPort=2181\n"), f.err);
    f.rejects("server.1=h1:2888:3888;2181\nserver.2=h2:2888:3888;2182\n"
              "server.3=h3:2888:3888;2181\nclientPort=2181\n" +
                  std::string(limits),
              {":3:", "server.2: client address 0.0.0.0:2182 differs", "0.0.0.0:2181"});
    f.rejects("server.1=h1:2888:3888;2181\nserver.2=h2:2888:3888;h2:2181\n"
              "server.3=h3:2888:3888;2181\nclientPort=2181\nclientPortAddress=h9\n" +
                  std::string(limits),
              {":3:", "h2:2181 differs", "h9:2181"});
}

TEST(SrvQuorumEnsemble, AStandaloneServerNamedByMyidTakesItsLinesClientPort)
{
    /* ZooKeeper's setupClientPort runs in standalone mode too. */
    Fixture f;
    f.myid("1");
    LONGS_EQUAL_TEXT(0, f.load("server.1=127.0.0.1:2888:3888;2190\n"), f.err);
    CHECK_FALSE(f.c.quorum.is_ensemble);
    LONGS_EQUAL(2190, f.c.client_port);
    POINTERS_EQUAL(NULL, f.c.client_port_address);
}

TEST(SrvQuorumEnsemble, PeerTypeIsCheckedAgainstTheServerLine)
{
    Fixture f;
    f.rejects("peerType=leader\n", {":2:", "peerType", "'leader'"});
    f.myid("1");
    /* QuorumPeerConfig.setupPeerType warns and keeps the server list's type. */
    LONGS_EQUAL_TEXT(0, f.load(std::string(three) + limits + "peerType=observer\n"), f.err);
    CHECK(f.warned(":7: peerType is observer but the server list makes this server a participant"));
    CHECK_FALSE(f.c.quorum.me->is_observer);
    f.myid("3");
    LONGS_EQUAL_TEXT(0,
                     f.load(std::string("server.1=127.0.0.1:2888:3888\n"
                                        "server.2=127.0.0.2:2888:3888\n"
                                        "server.3=127.0.0.3:2888:3888:observer\n") +
                            limits + "peerType=Participant\n"),
                     f.err);
    CHECK(f.warned("server list makes this server an observer"));
    CHECK(f.c.quorum.me->is_observer);
}

TEST(SrvQuorumEnsemble, ElectionAlgMustBeThree)
{
    Fixture f;
    LONGS_EQUAL_TEXT(0, f.load("electionAlg=3\n"), f.err);
    f.rejects("electionAlg=0\n", {":2:", "electionAlg", "only 3"});
    f.rejects("tickTime=2000\nelectionAlg=1\n", {":3:", "electionAlg: 1 is not supported"});
    f.rejects("electionAlg=three\n", {":2:", "electionAlg", "not a valid integer"});
}

TEST(SrvQuorumEnsemble, DynamicConfigFileIsRefusedRatherThanRunningStandalone)
{
    Fixture f;
    f.rejects("dynamicConfigFile=/etc/zookeeper/zoo.cfg.dynamic\n",
              {":2:", "dynamicConfigFile is not supported"});
}

TEST(SrvQuorumEnsemble, ExtendedTypesNeedAServerIdUpTo254)
{
    Fixture f;
    f.myid("300");
    std::string lines = "server.300=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888\n"
                        "server.3=127.0.0.3:2888:3888\n" +
                        std::string(limits);
    LONGS_EQUAL_TEXT(0, f.load(lines), f.err);
    f.rejects(lines + "extendedTypesEnabled=true\n", {"myid 300 must not be above 254"});
}

TEST(SrvQuorumEnsemble, QuorumKeysNoLongerWarnAsUnused)
{
    Fixture f;
    f.myid("1");
    LONGS_EQUAL_TEXT(
        0, f.load(std::string(three) + limits + "electionAlg=3\npeerType=participant\n"), f.err);
    LONGS_EQUAL(0, f.warnings.size());
}

/* ---- The startup port check ---------------------------------------------- */

TEST_GROUP(SrvQuorumPorts){};

TEST(SrvQuorumPorts, FreePortsPassAndAreReleased)
{
    Fixture f;
    f.myid("1");
    int qp = free_port(), ep = free_port(), cp = free_port();
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "server.1=127.0.0.1:%d:%d;127.0.0.1:%d\nserver.2=127.0.0.2:1:2\n"
             "server.3=127.0.0.3:1:2\n%s",
             qp, ep, cp, limits);
    LONGS_EQUAL_TEXT(0, f.load(cfg), f.err);
    char err[512] = "";
    LONGS_EQUAL_TEXT(0, srv_quorum_check_ports(&f.c, err, sizeof err), err);
    LONGS_EQUAL_TEXT(0, srv_quorum_check_ports(&f.c, err, sizeof err), err); /* closed again */
}

TEST(SrvQuorumPorts, APortInUseIsNamed)
{
    const char *which[] = {"client", "quorum", "election"};
    for (int k = 0; k < 3; k++) {
        Fixture f;
        f.myid("1");
        int ports[3] = {free_port(), free_port(), free_port()};
        char cfg[512];
        snprintf(cfg, sizeof cfg,
                 "server.1=127.0.0.1:%d:%d\nserver.2=127.0.0.2:1:2\nserver.3=127.0.0.3:1:2\n"
                 "clientPortAddress=127.0.0.1\nclientPort=%d\n%s",
                 ports[1], ports[2], ports[0], limits);
        LONGS_EQUAL_TEXT(0, f.load(cfg), f.err);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a = {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)ports[k]);
        CHECK(bind(fd, (sockaddr *)&a, sizeof a) == 0);
        CHECK(listen(fd, 1) == 0);
        char err[512] = "";
        LONGS_EQUAL(-1, srv_quorum_check_ports(&f.c, err, sizeof err));
        char want[128];
        snprintf(want, sizeof want, "%s port 127.0.0.1:%d cannot be bound: Address already in use",
                 which[k], ports[k]);
        CHECK_TEXT(strstr(err, want) != NULL, err);
        CHECK_TEXT(strstr(err, "server.1 (this server") != NULL, err);
        close(fd);
    }
}

TEST(SrvQuorumPorts, StandaloneChecksNothing)
{
    Fixture f;
    LONGS_EQUAL_TEXT(0, f.load("server.1=127.0.0.1:1:2\n"), f.err);
    char err[64] = "";
    LONGS_EQUAL(0, srv_quorum_check_ports(&f.c, err, sizeof err));
}
