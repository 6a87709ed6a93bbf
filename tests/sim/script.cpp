// script.cpp: the testdata/*.txt interpreter (in the spirit of etcd raft's
// testdata). One command a line, '#' starts a comment:
//
//   seed N                     the PRNG seed (delays, tick phases); default 1
//   window N                   zab's committed-log window, in txns (before any
//                              start; default 500): a learner further behind
//                              syncs by SNAP
//   voters 1 2 3               declare servers (before any start)
//   observers 4
//   disk ID zxid Z epoch E     a server's log ends at zxid Z; epochs E (before its start)
//   start 1 2 3                start (or restart) servers now, in this order
//   append ID ZXID             a txn record at the end of its log, not synced
//                              (behind zab's back: before its start only)
//   sync ID                    sync its log (completes after a seeded latency)
//   propose N                  the client: the serving leader proposes N txns
//                              (fails the script when nobody serves)
//   crash 2                    power loss: its unsynced disk tail is lost (the
//                              first lost record may survive torn)
//   restart 2                  start it again from what its disk kept
//   tick MS                    run the simulation MS simulated milliseconds
//   deliver                    run until no notification is in flight (at most
//                              60 s; quorum connections PING, never quiet)
//   partition 1 | 2 3          cut the network into sides ('|' separates them)
//   heal                       rejoin the network
//   drop 1 2                   close the connection between 1 and 2
//   crash-after-snap ID        ID crashes right after it next installs a snapshot
//                              (durable then; zab never sees that SNAP)
//   crash-after-epoch ID       ID crashes right after a batch of its writes its
//                              current epoch (what else that batch appended is
//                              unsynced: lost)
//   expect role ID ROLE        ROLE: looking, following, leading, observing
//   expect leader ID           ID leads, established (serving), with a quorum
//                              of synced voters following it
//   expect serving ID...       each ID serves clients (an established leader,
//                              or a learner that got UPTODATE)
//   expect follows ID L        ID follows (or observes) leader L
//   expect no-leader           no server leads with a quorum
//   expect last-zxid ID Z      what its log ends with after recovery; when it
//                              runs and looks, its vote carries it too
//   expect applied ID Z        the last txn its tree applied is Z
//   expect sync ID KIND        the last sync ID received was KIND: diff, trunc, snap
//   expect same-tree A B...    the trees of A, B, ... applied the same txns
//                              (zxids and bytes), in the same order
//   expect snaps N             N snapshots installed so far (all nodes)
//   expect acked N             N of the client's txns acknowledged so far
//   expect quiescent           from here on the final checks bind too (every
//                              acknowledged txn on every voter's synced log
//                              and applied by every serving server); checked now
//
// The invariants run after every event, as in a random run.
#include <cinttypes>
#include <fstream>
#include <memory>
#include <sstream>

#include "tests/sim/sim.h"

namespace sim
{
namespace
{

bool parse_ids(std::istringstream &in, std::vector<int64_t> *out)
{
    std::string tok;
    while (in >> tok) {
        char *end = nullptr;
        long long v = std::strtoll(tok.c_str(), &end, 0);
        if (*end != '\0')
            return false;
        out->push_back(v);
    }
    return !out->empty();
}

int32_t role_of(const std::string &s)
{
    for (int32_t r = ZAB_ROLE_LOOKING; r <= ZAB_ROLE_OBSERVING; r++)
        if (s == glue_role_name(r))
            return r;
    return -1;
}

} // namespace

int run_script(const std::string &path, bool is_verbose, std::string *why)
{
    std::ifstream f(path);
    if (!f) {
        *why = path + ": cannot open";
        return 2;
    }
    std::unique_ptr<Sim> s(new Sim(1));
    s->is_verbose = is_verbose;
    std::string line;
    int line_no = 0;
    auto where = [&] { return path + ":" + std::to_string(line_no) + ": "; };
    auto known = [&](int64_t id) { return s->nodes.count(id) > 0; };
    while (std::getline(f, line)) {
        line_no++;
        size_t hash = line.find('#');
        if (hash != std::string::npos)
            line.resize(hash);
        std::istringstream in(line);
        std::string cmd;
        if (!(in >> cmd))
            continue;
        if (is_verbose)
            std::printf("> %s\n", line.c_str());
        std::vector<int64_t> ids;
        bool is_ok = true;
        if (cmd == "seed") {
            uint64_t seed = 0;
            is_ok = s->nodes.empty() && (in >> seed);
            if (is_ok) {
                s.reset(new Sim(seed));
                s->is_verbose = is_verbose;
            }
        } else if (cmd == "window") {
            int32_t w = 0;
            is_ok = (in >> w) && w >= 0;
            for (const auto &kv : s->nodes)
                is_ok = is_ok && kv.second.state == NODE_UNSTARTED;
            if (is_ok)
                s->window_max = w;
        } else if (cmd == "crash-after-snap") {
            int64_t id = 0;
            is_ok = (in >> id) && known(id);
            if (is_ok)
                s->crash_after_snap = id;
        } else if (cmd == "crash-after-epoch") {
            int64_t id = 0;
            is_ok = (in >> id) && known(id);
            if (is_ok)
                s->crash_after_epoch = id;
        } else if (cmd == "voters" || cmd == "observers") {
            is_ok = parse_ids(in, &ids);
            for (int64_t id : ids)
                if (is_ok && !known(id))
                    s->add_server(id, cmd == "observers");
        } else if (cmd == "disk") {
            int64_t id = 0, zxid = 0, epoch = 0;
            std::string kz, ke;
            is_ok = (in >> id >> kz >> std::hex >> zxid >> std::dec >> ke >> epoch) &&
                    kz == "zxid" && ke == "epoch" && known(id);
            if (is_ok) {
                Disk &d = s->nodes.at(id).disk;
                uint8_t b[4] = {1, 2, 3, 4};
                d.append(zxid, b, sizeof b);
                d.complete_sync(d.recs.size());
                d.set_epochs(epoch, epoch);
            }
        } else if (cmd == "start" || cmd == "restart") {
            is_ok = parse_ids(in, &ids);
            for (int64_t id : ids)
                if (is_ok && (is_ok = known(id)))
                    s->start(id);
        } else if (cmd == "append") {
            int64_t id = 0, zxid = 0;
            is_ok = (in >> id >> std::hex >> zxid >> std::dec) && known(id);
            if (is_ok) {
                uint8_t b[16] = {0};
                std::snprintf((char *)b, sizeof b, "txn %" PRIx64, (uint64_t)zxid);
                s->nodes.at(id).disk.append(zxid, b, sizeof b);
            }
        } else if (cmd == "sync") {
            is_ok = parse_ids(in, &ids);
            for (int64_t id : ids)
                if (is_ok && (is_ok = known(id)))
                    s->disk_sync(id);
        } else if (cmd == "propose") {
            int64_t k = 0;
            is_ok = (in >> k) && k > 0;
            for (int64_t i = 0; is_ok && i < k; i++)
                if (s->client_propose() < 0) {
                    *why = where() + "propose: no serving leader";
                    return 1;
                }
            if (is_ok && !check_invariants(*s))
                break;
        } else if (cmd == "crash") {
            is_ok = parse_ids(in, &ids);
            for (int64_t id : ids)
                if (is_ok && (is_ok = known(id)))
                    s->crash(id);
        } else if (cmd == "tick") {
            int64_t ms = 0;
            is_ok = (in >> ms) && ms >= 0;
            if (is_ok && !s->run_until(s->now_ms + ms))
                break;
        } else if (cmd == "deliver") {
            int64_t end = s->now_ms + 60000;
            bool is_failed = false;
            while (s->n_in_flight() > 0 && s->now_ms < end)
                if (!s->step()) {
                    is_failed = true;
                    break;
                }
            if (is_failed)
                break;
            if (s->n_in_flight() > 0) {
                *why = where() + "messages still in flight after 60 s";
                return 1;
            }
        } else if (cmd == "partition") {
            std::vector<std::vector<int64_t>> sides(1);
            std::string tok;
            while (in >> tok) {
                if (tok == "|") {
                    sides.emplace_back();
                    continue;
                }
                int64_t id = std::strtoll(tok.c_str(), nullptr, 0);
                is_ok = is_ok && known(id);
                sides.back().push_back(id);
            }
            if (is_ok)
                s->partition(sides);
        } else if (cmd == "heal") {
            s->heal_network();
        } else if (cmd == "drop") {
            is_ok = parse_ids(in, &ids) && ids.size() == 2 && known(ids[0]) && known(ids[1]);
            if (is_ok)
                s->drop_conn(ids[0], ids[1]);
        } else if (cmd == "expect") {
            std::string what;
            in >> what;
            std::string got;
            if (what == "role") {
                int64_t id = 0;
                std::string role;
                is_ok = (in >> id >> role) && known(id) && role_of(role) >= 0;
                if (is_ok && s->nodes.at(id).role != role_of(role))
                    got = "node " + std::to_string(id) + " is " +
                          glue_role_name(s->nodes.at(id).role) + ", not " + role;
            } else if (what == "serving") {
                is_ok = parse_ids(in, &ids);
                for (int64_t id : ids)
                    if (is_ok && (is_ok = known(id)) && !s->nodes.at(id).is_serving && got.empty())
                        got = "node " + std::to_string(id) + " is not serving (" +
                              glue_role_name(s->nodes.at(id).role) + ")";
            } else if (what == "applied") {
                int64_t id = 0, zxid = 0;
                is_ok = (in >> id >> std::hex >> zxid >> std::dec) && known(id);
                if (is_ok) {
                    const Node &n = s->nodes.at(id);
                    int64_t last = n.applied.empty() ? 0 : n.applied.back().zxid;
                    if (last != zxid) {
                        char b[128];
                        std::snprintf(b, sizeof b,
                                      "node %" PRId64 " applied through 0x%" PRIx64
                                      ", not 0x%" PRIx64,
                                      id, (uint64_t)last, (uint64_t)zxid);
                        got = b;
                    }
                }
            } else if (what == "sync") {
                int64_t id = 0;
                std::string kind;
                is_ok = (in >> id >> kind) && known(id) &&
                        (kind == "diff" || kind == "trunc" || kind == "snap");
                int32_t want = kind == "diff"    ? WIRE_QP_DIFF
                               : kind == "trunc" ? WIRE_QP_TRUNC
                                                 : WIRE_QP_SNAP;
                if (is_ok && s->nodes.at(id).last_sync != want)
                    got = "node " + std::to_string(id) + " last synced by packet type " +
                          std::to_string(s->nodes.at(id).last_sync) + ", not " + kind;
            } else if (what == "same-tree") {
                is_ok = parse_ids(in, &ids) && ids.size() >= 2;
                for (int64_t id : ids)
                    is_ok = is_ok && known(id);
                for (size_t i = 1; is_ok && i < ids.size() && got.empty(); i++) {
                    const std::vector<Applied> &a = s->nodes.at(ids[0]).applied;
                    const std::vector<Applied> &b = s->nodes.at(ids[i]).applied;
                    bool is_same = a.size() == b.size();
                    for (size_t k = 0; is_same && k < a.size(); k++)
                        is_same = a[k].zxid == b[k].zxid && a[k].sum == b[k].sum;
                    if (!is_same)
                        got = "node " + std::to_string(ids[i]) + "'s tree (" +
                              std::to_string(b.size()) + " txns) is not node " +
                              std::to_string(ids[0]) + "'s (" + std::to_string(a.size()) + ")";
                }
            } else if (what == "snaps") {
                uint64_t k = 0;
                is_ok = (bool)(in >> k);
                if (is_ok && s->n_snaps_installed != k)
                    got = std::to_string(s->n_snaps_installed) + " snapshots installed, not " +
                          std::to_string(k);
            } else if (what == "acked") {
                size_t k = 0;
                is_ok = (bool)(in >> k);
                if (is_ok && s->acked.size() != k)
                    got = std::to_string(s->acked.size()) + " txns acknowledged, not " +
                          std::to_string(k);
            } else if (what == "quiescent") {
                s->is_quiescent = true;
                if (!check_invariants(*s))
                    break;
            } else if (what == "leader") {
                int64_t id = 0;
                is_ok = (in >> id) && known(id);
                if (is_ok && s->leader() != id)
                    got =
                        "leader is " + std::to_string(s->leader()) + ", not " + std::to_string(id);
            } else if (what == "follows") {
                int64_t id = 0, l = 0;
                is_ok = (in >> id >> l) && known(id);
                const Node *n = is_ok ? &s->nodes.at(id) : nullptr;
                if (is_ok && (n->role == ZAB_ROLE_LOOKING || n->role == ZAB_ROLE_LEADING ||
                              n->vote.leader != l))
                    got = "node " + std::to_string(id) + " is " + glue_role_name(n->role) +
                          " with leader " + std::to_string(n->vote.leader);
            } else if (what == "last-zxid") {
                int64_t id = 0, zxid = 0;
                is_ok = (in >> id >> std::hex >> zxid >> std::dec) && known(id);
                if (is_ok) {
                    Node &n = s->nodes.at(id);
                    Disk copy = n.disk; // what a restart would read
                    copy.recover();
                    int64_t vote_zxid = n.state == NODE_UP && n.role == ZAB_ROLE_LOOKING
                                            ? zab_vote_get(n.z).zxid
                                            : zxid;
                    if (copy.last_zxid() != zxid || vote_zxid != zxid) {
                        char b[160];
                        std::snprintf(b, sizeof b,
                                      "node %" PRId64 " log ends at 0x%" PRIx64
                                      ", vote zxid 0x%" PRIx64 ", not 0x%" PRIx64,
                                      id, (uint64_t)copy.last_zxid(), (uint64_t)vote_zxid,
                                      (uint64_t)zxid);
                        got = b;
                    }
                }
            } else if (what == "no-leader") {
                if (s->leader() != 0)
                    got = "leader is " + std::to_string(s->leader());
            } else {
                is_ok = false;
            }
            if (is_ok && !got.empty()) {
                *why = where() + "expect failed: " + got;
                return 1;
            }
        } else {
            is_ok = false;
        }
        if (!is_ok) {
            *why = where() + "bad command: " + line;
            return 2;
        }
    }
    if (!s->fail_inv.empty()) {
        *why = where() + s->fail_inv + " at step " + std::to_string(s->fail_step) +
               ", t=" + std::to_string(s->fail_ms) + " ms: " + s->fail_why;
        return 1;
    }
    return 0;
}

} // namespace sim
