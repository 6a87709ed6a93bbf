#!/usr/bin/python3
"""Crash test driver: no acknowledged write may be lost to a kill -9.

Each round:
  1. WRITERS threads, each with its own KazooClient, create and set znodes
     under /crash/w<i>/p<k>. Every write the server acknowledges is appended
     to a journal (one JSON line, flushed): path, version, data, mzxid.
  2. After a random 1-4 s the server is SIGKILLed (server.sh kill DIR) while
     the writers are still going; their in-flight writes have unknown outcome
     and are not journalled.
  3. The server is restarted on the same data dir and port, and every
     journalled write of every round so far is checked against the node:
     it exists, its version >= the acked version and its mzxid >= the acked
     mzxid; if the version is equal, data and mzxid are equal too.
Prints "N passed, M failed" and exits 1 if anything failed.

The server must already be running (run.sh starts it). Every wait has a
deadline; the whole run gives up after --deadline seconds.
"""
import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NodeExistsError, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

WRITERS = 4
PATHS_PER_WRITER = 16
OP_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 30.0


class Journal:
    """Append-only record of acknowledged writes, shared by the writers."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8")

    def ack(self, rnd, path, version, data, mzxid):
        line = json.dumps({"round": rnd, "path": path, "version": version,
                           "data": data.hex(), "mzxid": mzxid})
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()

    def close(self):
        self.f.close()


def stop_client(zk):
    """KazooClient.stop() can linger while the server is down: bound it."""
    t = threading.Thread(target=lambda: (zk.stop(), zk.close()), daemon=True)
    t.start()
    t.join(10)


def writer(idx, rnd, hosts, journal, stop, rng_seed, counts):
    rng = random.Random(rng_seed)
    zk = KazooClient(hosts=hosts, timeout=10.0)
    try:
        zk.start(timeout=CONNECT_TIMEOUT_S)
        zk.ensure_path("/crash/w%d" % idx)
    except Exception as e:  # the server may already be gone: nothing acked
        counts["errors"] += 1
        print("writer %d: could not start: %r" % (idx, e), file=sys.stderr)
        stop_client(zk)
        return
    created = set(p for p in range(PATHS_PER_WRITER)
                  if zk.exists("/crash/w%d/p%d" % (idx, p)) is not None)
    seq = 0
    while not stop.is_set():
        k = rng.randrange(PATHS_PER_WRITER)
        path = "/crash/w%d/p%d" % (idx, k)
        seq += 1
        data = ("r%d-w%d-s%d-%08x" % (rnd, idx, seq, rng.getrandbits(32))).encode()
        try:
            if k in created:
                stat = zk.set_async(path, data, -1).get(timeout=OP_TIMEOUT_S)
            else:
                _, stat = zk.create_async(path, data, include_data=True).get(
                    timeout=OP_TIMEOUT_S)
                created.add(k)
            journal.ack(rnd, path, stat.version, data, stat.mzxid)
            counts["acked"] += 1
        except NodeExistsError:
            created.add(k)  # an earlier create took effect without our ack
        except NoNodeError:
            created.discard(k)  # verification will tell if this was a loss
        except (KazooException, KazooTimeoutError, OSError):
            counts["errors"] += 1  # outcome unknown: not journalled
            time.sleep(0.05)
    stop_client(zk)


def server_sh(args, cmd, *rest, timeout=60):
    r = subprocess.run([args.server_sh, cmd, *rest], capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("server.sh %s failed: %s%s" % (cmd, r.stdout, r.stderr))
    return r.stdout.strip()


def verify(hosts, journal_path):
    """Checks every journal line against the live tree; returns (passed, failed)."""
    records = []
    with open(journal_path, encoding="utf-8") as f:
        for line in f:
            records.append(json.loads(line))
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=CONNECT_TIMEOUT_S)
    state = {}
    try:
        for path in sorted(set(r["path"] for r in records)):
            try:
                state[path] = zk.get_async(path).get(timeout=OP_TIMEOUT_S)
            except NoNodeError:
                state[path] = None
    finally:
        stop_client(zk)
    passed = failed = 0
    for r in records:
        got = state[r["path"]]
        problem = None
        if got is None:
            problem = "node missing"
        else:
            data, stat = got
            if stat.version < r["version"]:
                problem = "version %d < acked %d" % (stat.version, r["version"])
            elif stat.mzxid < r["mzxid"]:
                problem = "mzxid 0x%x < acked 0x%x" % (stat.mzxid, r["mzxid"])
            elif stat.version == r["version"] and data.hex() != r["data"]:
                problem = "data %r != acked %r" % (data, bytes.fromhex(r["data"]))
            elif stat.version == r["version"] and stat.mzxid != r["mzxid"]:
                problem = "mzxid 0x%x != acked 0x%x" % (stat.mzxid, r["mzxid"])
        if problem is None:
            passed += 1
        else:
            failed += 1
            if failed <= 20:
                print("LOST round %d %s v%d: %s" % (r["round"], r["path"], r["version"],
                                                    problem), file=sys.stderr)
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", required=True)
    ap.add_argument("--dir", required=True, help="server.sh directory (zoo.cfg, data, pid)")
    ap.add_argument("--port", required=True)
    ap.add_argument("--server-sh", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--deadline", type=float, default=85.0)
    ap.add_argument("--sabotage-wipe", action="store_true",
                    help="self-test: wipe the data dir before restarting; must fail")
    args = ap.parse_args()
    # kazoo logs every dropped connection; the kills make plenty of those.
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)

    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print("SEED=%d kind=%s port=%s dir=%s" % (seed, args.kind, args.port, args.dir), flush=True)
    rng = random.Random(seed)
    hosts = "127.0.0.1:%s" % args.port
    journal_path = os.path.join(args.dir, "journal.jsonl")
    journal = Journal(journal_path)
    t_end = time.monotonic() + args.deadline
    total_passed = total_failed = 0

    for rnd in range(1, args.rounds + 1):
        if time.monotonic() > t_end - 20:
            print("round %d: out of time" % rnd, file=sys.stderr)
            total_failed += 1
            break
        stop = threading.Event()
        counts = {"acked": 0, "errors": 0}
        threads = [threading.Thread(target=writer, daemon=True,
                                    args=(i, rnd, hosts, journal, stop,
                                          rng.getrandbits(32), counts))
                   for i in range(WRITERS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(1.0, 4.0))
        acked_before_kill = counts["acked"]
        server_sh(args, "kill", args.dir)
        time.sleep(0.3)  # let writers see the dead connection mid-flight
        stop.set()
        for t in threads:
            t.join(OP_TIMEOUT_S + 15)
        if any(t.is_alive() for t in threads):
            print("round %d: a writer did not stop" % rnd, file=sys.stderr)
            total_failed += 1
        if args.sabotage_wipe:
            shutil.rmtree(os.path.join(args.dir, "data"), ignore_errors=True)
        server_sh(args, "start", args.kind, args.dir, args.port, timeout=45)
        passed, failed = verify(hosts, journal_path)
        # A round with no acknowledged write proves nothing.
        if acked_before_kill == 0:
            print("round %d: no write was acknowledged" % rnd, file=sys.stderr)
            failed += 1
        print("round %d: %d acked (%d before kill), %d unknown; verify: %d passed, %d failed"
              % (rnd, counts["acked"], acked_before_kill, counts["errors"], passed, failed),
              flush=True)
        total_passed += passed
        total_failed += failed

    journal.close()
    print("%d passed, %d failed" % (total_passed, total_failed))
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
