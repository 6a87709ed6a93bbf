// zab_vote_newer: FastLeaderElection.totalOrderPredicate's order (peer epoch,
// then zxid, then server id), as a table.
#include <CppUTest/TestHarness.h>

#include <stdint.h>

#include "zab/zab.h"

namespace
{

struct VoteRow {
    const char *what;
    zab_vote a, b;
    bool a_newer;
};

// {leader, zxid, election_epoch, peer_epoch}
const VoteRow rows[] = {
    {"higher peer epoch wins over higher zxid and id",
     {1, 0x100000005, 1, 2},
     {3, 0x200000000, 1, 1},
     true},
    {"lower peer epoch loses to lower zxid and id",
     {3, 0x200000000, 1, 1},
     {1, 0x100000005, 1, 2},
     false},
    {"same epoch: higher zxid wins over higher id",
     {1, 0x100000007, 1, 1},
     {3, 0x100000006, 1, 1},
     true},
    {"same epoch: lower zxid loses", {3, 0x100000006, 1, 1}, {1, 0x100000007, 1, 1}, false},
    {"same epoch and zxid: higher id wins", {3, 0x100000006, 1, 1}, {2, 0x100000006, 1, 1}, true},
    {"same epoch and zxid: lower id loses", {2, 0x100000006, 1, 1}, {3, 0x100000006, 1, 1}, false},
    {"equal votes: not newer", {2, 0x100000006, 1, 1}, {2, 0x100000006, 1, 1}, false},
    {"election epoch is not compared", {2, 5, 9, 1}, {2, 5, 1, 1}, false},
    {"election epoch is not compared, other way", {2, 5, 1, 1}, {2, 5, 9, 1}, false},
    {"any real vote beats an observer's initial one",
     {1, 0, 1, 0},
     {INT64_MIN, INT64_MIN, 1, INT64_MIN},
     true},
    {"an observer's initial vote is newer than nothing",
     {INT64_MIN, INT64_MIN, 1, INT64_MIN},
     {1, 0, 1, 0},
     false},
    {"zxid -1 (empty) loses to 0", {1, -1, 1, 0}, {1, 0, 1, 0}, false},
    {"zxids compare as signed longs", {1, INT64_MAX, 1, 0}, {1, INT64_MIN, 1, 0}, true},
    {"peer epochs compare as signed longs", {1, 0, 1, -1}, {1, 0, 1, 0}, false},
};

} // namespace

TEST_GROUP(ZabVote){};

TEST(ZabVote, NewerOrdersByPeerEpochThenZxidThenId)
{
    for (const VoteRow &r : rows) {
        CHECK_EQUAL_TEXT(r.a_newer, zab_vote_newer(&r.a, &r.b), r.what);
    }
}

TEST(ZabVote, NewerIsAStrictOrder)
{
    // Antisymmetric and irreflexive over every pair of the table's votes.
    for (const VoteRow &r : rows) {
        for (const VoteRow &s : rows) {
            const zab_vote *vs[] = {&r.a, &r.b, &s.a, &s.b};
            for (const zab_vote *x : vs)
                for (const zab_vote *y : vs)
                    CHECK_FALSE(zab_vote_newer(x, y) && zab_vote_newer(y, x));
        }
        CHECK_FALSE(zab_vote_newer(&r.a, &r.a));
    }
}
