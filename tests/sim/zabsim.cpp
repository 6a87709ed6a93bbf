// zabsim: runs seeds of a scenario, or testdata scripts, on the simulator.
//
//   zabsim --scenario NAME --seed N [--seeds COUNT] [--verbose]
//          [--fault-ms MS] [--window N] [--expect-fail INV] [--check-determinism]
//          [--break corrupt-vote|misroute|drop-append|skip-commit|
//                 forget-epochs|snap-short|snap-volatile|disk-diff-hole]
//          [--no-role-end-flush]
//   zabsim --script FILE...
//
// --window N gives zab a committed-log window of N txns on every seed (0:
// zab's default, 500); without it a third of the seeds draw a small one
// (1..16), so that learners behind it sync by SNAP.
//
// One line per failing seed: the invariant, the step, the simulated time and
// the command that replays it. Exit 1 on any failure (with --expect-fail:
// exit 0 only when some seed failed with that invariant, the test that the
// invariants can fail).
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/sim/sim.h"

namespace
{

int usage()
{
    std::fprintf(
        stderr,
        "usage: zabsim --scenario NAME|all --seed N [--seeds COUNT] [--verbose]\n"
        "              [--fault-ms MS] [--window N] [--disk-log 0|1]\n"
        "              [--break corrupt-vote|misroute|drop-append|skip-commit|\n"
        "                       forget-epochs|snap-short|snap-volatile|disk-diff-hole]\n"
        "              [--expect-fail INVARIANT] [--check-determinism] [--no-role-end-flush]\n"
        "       zabsim [--verbose] --script FILE...\n"
        "scenarios:");
    for (size_t i = 0; sim::k_scenarios[i]; i++)
        std::fprintf(stderr, " %s", sim::k_scenarios[i]);
    std::fprintf(stderr, "\n");
    return 2;
}

const char *break_name(sim::Break b)
{
    return b == sim::BREAK_CORRUPT_VOTE     ? "corrupt-vote"
           : b == sim::BREAK_MISROUTE       ? "misroute"
           : b == sim::BREAK_DROP_APPEND    ? "drop-append"
           : b == sim::BREAK_SKIP_COMMIT    ? "skip-commit"
           : b == sim::BREAK_FORGET_EPOCHS  ? "forget-epochs"
           : b == sim::BREAK_SNAP_SHORT     ? "snap-short"
           : b == sim::BREAK_SNAP_VOLATILE  ? "snap-volatile"
           : b == sim::BREAK_DISK_DIFF_HOLE ? "disk-diff-hole"
                                            : "";
}

} // namespace

int main(int argc, char **argv)
{
    std::string scenario, expect_fail;
    std::vector<std::string> scripts;
    sim::RunOpts o;
    uint64_t n_seeds = 1;
    bool is_checking_determinism = false;
    const int64_t default_fault_ms = o.fault_ms;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        bool has_val = i + 1 < argc;
        if (a == "--scenario" && has_val)
            scenario = argv[++i];
        else if (a == "--seed" && has_val)
            o.seed = std::strtoull(argv[++i], nullptr, 0);
        else if (a == "--seeds" && has_val)
            n_seeds = std::strtoull(argv[++i], nullptr, 0);
        else if (a == "--fault-ms" && has_val)
            o.fault_ms = std::strtoll(argv[++i], nullptr, 0);
        else if (a == "--window" && has_val)
            o.window_max = (int32_t)std::strtol(argv[++i], nullptr, 0);
        else if (a == "--disk-log" && has_val)
            o.disk_log = (int32_t)std::strtol(argv[++i], nullptr, 0);
        else if (a == "--check-determinism")
            is_checking_determinism = true;
        else if (a == "--no-role-end-flush")
            o.is_flushing_at_role_end = false;
        else if (a == "--verbose")
            o.is_verbose = true;
        else if (a == "--expect-fail" && has_val)
            expect_fail = argv[++i];
        else if (a == "--break" && has_val) {
            std::string b = argv[++i];
            if (b == "corrupt-vote")
                o.brk = sim::BREAK_CORRUPT_VOTE;
            else if (b == "misroute")
                o.brk = sim::BREAK_MISROUTE;
            else if (b == "drop-append")
                o.brk = sim::BREAK_DROP_APPEND;
            else if (b == "skip-commit")
                o.brk = sim::BREAK_SKIP_COMMIT;
            else if (b == "forget-epochs")
                o.brk = sim::BREAK_FORGET_EPOCHS;
            else if (b == "snap-short")
                o.brk = sim::BREAK_SNAP_SHORT;
            else if (b == "snap-volatile")
                o.brk = sim::BREAK_SNAP_VOLATILE;
            else if (b == "disk-diff-hole")
                o.brk = sim::BREAK_DISK_DIFF_HOLE;
            else
                return usage();
        } else if (a == "--script") {
            while (i + 1 < argc && argv[i + 1][0] != '-')
                scripts.push_back(argv[++i]);
        } else
            return usage();
    }

    if (!scripts.empty()) {
        int rc = 0;
        for (const std::string &p : scripts) {
            std::string why;
            int r = sim::run_script(p, o.is_verbose, &why);
            std::printf("%s %s%s%s\n", r == 0 ? "ok  " : "FAIL", p.c_str(), why.empty() ? "" : ": ",
                        why.c_str());
            if (r != 0)
                rc = 1;
        }
        return rc;
    }
    if (scenario.empty() || n_seeds == 0)
        return usage();

    std::vector<std::string> names;
    if (scenario == "all")
        for (size_t i = 0; sim::k_scenarios[i]; i++)
            names.push_back(sim::k_scenarios[i]);
    else
        names.push_back(scenario);

    uint64_t n_failed = 0, n_expected = 0, n_runs = 0, n_snaps = 0, n_snap_runs = 0;
    for (const std::string &name : names) {
        for (uint64_t k = 0; k < n_seeds; k++) {
            sim::RunOpts r = o;
            r.seed = o.seed + k;
            std::string summary;
            uint64_t hash = 0, snaps = 0;
            r.history_hash_out = &hash;
            r.n_snaps_out = &snaps;
            int rc = sim::run_scenario(name, r, &summary);
            n_snaps += snaps;
            n_snap_runs += snaps > 0;
            if (rc < 0) {
                std::fprintf(stderr, "zabsim: unknown scenario %s\n", name.c_str());
                return usage();
            }
            if (is_checking_determinism) {
                sim::RunOpts again = r;
                uint64_t hash2 = 0;
                again.history_hash_out = &hash2;
                again.n_snaps_out = nullptr;
                again.is_verbose = false;
                std::string summary2;
                int rc2 = sim::run_scenario(name, again, &summary2);
                if (rc2 != rc || hash2 != hash || summary2 != summary) {
                    rc = 1;
                    summary = "determinism: a second run of the seed took another path";
                }
            }
            n_runs++;
            if (o.is_verbose)
                std::printf("seed %" PRIu64 ": %s\n", r.seed, summary.c_str());
            if (rc == 0)
                continue;
            n_failed++;
            if (!expect_fail.empty() && summary.compare(0, expect_fail.size(), expect_fail) == 0 &&
                summary[expect_fail.size()] == ' ')
                n_expected++;
            std::string replay = "build/tests/sim/zabsim --scenario " + name + " --seed " +
                                 std::to_string(r.seed) + " --verbose";
            if (o.fault_ms != default_fault_ms)
                replay += " --fault-ms " + std::to_string(o.fault_ms);
            if (o.window_max >= 0)
                replay += " --window " + std::to_string(o.window_max);
            if (o.disk_log >= 0)
                replay += " --disk-log " + std::to_string(o.disk_log);
            if (!o.is_flushing_at_role_end)
                replay += " --no-role-end-flush";
            if (o.brk != sim::BREAK_NONE)
                replay += std::string(" --break ") + break_name(o.brk);
            std::printf("FAIL %s seed %" PRIu64 ": %s; replay: %s\n", name.c_str(), r.seed,
                        summary.c_str(), replay.c_str());
        }
    }
    if (o.is_verbose) {
        std::printf("invariants not checked yet (hooks):");
        sim::Sim s(0);
        for (size_t i = 0; i < sim::k_n_invariants; i++) {
            std::string why;
            if (sim::k_invariants[i].fn(s, &why) == sim::INV_NOT_CHECKED)
                std::printf(" %s", sim::k_invariants[i].name);
        }
        std::printf("\n");
    }
    std::printf("zabsim: %s: %" PRIu64 " of %" PRIu64 " runs failed; %" PRIu64
                " SNAP syncs installed, in %" PRIu64 " runs\n",
                scenario.c_str(), n_failed, n_runs, n_snaps, n_snap_runs);
    if (!expect_fail.empty()) {
        std::printf("zabsim: %" PRIu64 " failed with %s, as expected of --break %s\n", n_expected,
                    expect_fail.c_str(), break_name(o.brk));
        return n_expected > 0 ? 0 : 1;
    }
    return n_failed > 0 ? 1 : 0;
}
