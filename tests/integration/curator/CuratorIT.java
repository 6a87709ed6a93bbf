// Integration test: drive a running server with Apache Curator 5 (Debian's jars)
// and check that the framework API and the common recipes behave as they do
// against Apache ZooKeeper 3.8. Run by run.sh; usage: java CuratorIT host:port
//
// Every check prints "ok NAME" or "FAIL NAME: why"; the last line is exactly
// "N passed, M failed" and the exit status is 1 if anything failed. Every wait
// is bounded, so a server that never answers makes checks fail, not hang.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.OperationType;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.SharedCountListener;
import org.apache.curator.framework.recipes.shared.SharedCountReader;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.recipes.watch.PersistentWatcher;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.data.Stat;

public class CuratorIT {
    static final int WAIT_S = 10;
    // Inside ZooKeeper a container is marked by ephemeralOwner Long.MIN_VALUE
    // (0x8000000000000000) and a TTL node by 0xFF in the top byte plus the
    // TTL, but ZooKeeper 3.8 reports 0 to clients for both (it hides the
    // marker when it copies the stat out), so the client-visible proof that
    // a node is a container or TTL node is that the server reaps it.
    static final long HIDDEN_OWNER = 0L;
    // The reference reads its reaper interval from a JVM property that
    // server.sh does not set, so it reaps every 60 s; zabd takes the zoo.cfg
    // key. Override with -Dcuratorit.reapWaitS=N.
    static final int REAP_WAIT_S = Integer.getInteger("curatorit.reapWaitS", 80);
    /** Nodes the server's container/TTL reaper must remove (or keep). */
    static final List<String> mustBeReaped = new ArrayList<>();
    static final List<String> mustSurvive = new ArrayList<>();

    static String connect;
    static String root;
    static int passed, failed;
    static final List<AutoCloseable> toClose = new ArrayList<>();

    interface Check { void run() throws Exception; }

    static void check(String name, Check c) {
        try {
            c.run();
            passed++;
            System.out.println("ok " + name);
        } catch (Throwable t) {
            failed++;
            String msg = t.getClass().getSimpleName() + ": " + t.getMessage();
            System.out.println("FAIL " + name + ": " + msg.replace('\n', ' '));
        }
        System.out.flush();
    }

    static void fail(String why) { throw new AssertionError(why); }
    static void expect(boolean cond, String why) { if (!cond) fail(why); }
    static void eq(Object want, Object got, String what) {
        if (want == null ? got != null : !want.equals(got))
            fail(what + ": want " + want + ", got " + got);
    }
    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] d) { return d == null ? null : new String(d, StandardCharsets.UTF_8); }

    /** Runs op and requires it to throw KeeperException with this code. */
    static void expectKeeper(KeeperException.Code code, Check op) throws Exception {
        try {
            op.run();
        } catch (KeeperException e) {
            eq(code, e.code(), "KeeperException code");
            return;
        }
        fail("expected KeeperException " + code + ", none thrown");
    }

    static CuratorFramework newClient() throws Exception {
        // Bounded retries and a 10 s session: a dead server fails a check
        // within seconds rather than hanging the run.
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(10000)
                .connectionTimeoutMs(5000)
                .retryPolicy(new RetryNTimes(3, 200))
                .build();
        c.start();
        toClose.add(c);
        if (!c.blockUntilConnected(WAIT_S, TimeUnit.SECONDS))
            fail("client did not connect to " + connect + " within " + WAIT_S + " s");
        return c;
    }

    static long sessionId(CuratorFramework c) throws Exception {
        return c.getZookeeperClient().getZooKeeper().getSessionId();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: CuratorIT host:port");
            System.exit(2);
        }
        connect = args[0];
        root = "/curatorit-" + Long.toHexString(System.nanoTime());
        CuratorFramework c = null;
        try {
            c = newClient();
        } catch (Throwable t) {
            System.out.println("FAIL connect: " + t);
            System.out.println("0 passed, 1 failed");
            System.exit(1);
        }
        final CuratorFramework client = c;
        client.create().forPath(root);

        check("crud", () -> crud(client));
        check("errors", () -> errors(client));
        check("ephemeral_sequential", () -> ephemeralSequential(client));
        check("ttl_node", () -> ttlNode(client));
        check("creating_parents", () -> creatingParents(client));
        check("creating_parent_containers", () -> creatingParentContainers(client));
        check("transaction_success", () -> transactionSuccess(client));
        check("transaction_failure", () -> transactionFailure(client));
        check("transaction_failure_background", () -> transactionFailureBackground(client));
        check("leader_latch", CuratorIT::leaderLatch);
        check("mutex_exclusion", CuratorIT::mutexExclusion);
        check("mutex_reentrancy", CuratorIT::mutexReentrancy);
        check("curator_cache", () -> curatorCache(client));
        check("persistent_watcher_recursive", () -> persistentWatcher(client));
        check("shared_count", CuratorIT::sharedCount);
        check("distributed_atomic_long", CuratorIT::atomicLong);
        // Last, so the reaper's wait overlaps everything above.
        check("container_and_ttl_reaped", () -> reaped(client));

        // Close in reverse order of creation: recipes before their clients.
        for (int i = toClose.size() - 1; i >= 0; i--) {
            try { toClose.get(i).close(); } catch (Throwable ignored) { }
        }
        System.out.println(passed + " passed, " + failed + " failed");
        System.out.flush();
        // Curator and ZooKeeper leave non-daemon threads behind on some
        // paths; exit explicitly so the status is ours.
        System.exit(failed == 0 ? 0 : 1);
    }

    // ---- framework: plain operations --------------------------------------

    static void crud(CuratorFramework c) throws Exception {
        String p = root + "/crud";
        Stat st = new Stat();
        String made = c.create().storingStatIn(st).forPath(p, b("v0"));
        eq(p, made, "create returned path");
        eq(0, st.getVersion(), "create stat version");
        eq(0, st.getCversion(), "create stat cversion");
        eq(2, st.getDataLength(), "create stat dataLength");
        eq(0, st.getNumChildren(), "create stat numChildren");
        eq(0L, st.getEphemeralOwner(), "create stat ephemeralOwner");
        eq(st.getCzxid(), st.getMzxid(), "create stat czxid==mzxid");
        eq(st.getCzxid(), st.getPzxid(), "create stat pzxid==czxid");
        eq(st.getCtime(), st.getMtime(), "create stat ctime==mtime");
        long now = System.currentTimeMillis();
        expect(Math.abs(now - st.getCtime()) < 60000, "ctime " + st.getCtime() + " far from now " + now);

        Stat gs = new Stat();
        eq("v0", s(c.getData().storingStatIn(gs).forPath(p)), "getData");
        eq(st, gs, "getData stat equals create stat");

        Stat ss = c.setData().withVersion(0).forPath(p, b("value-1"));
        eq(1, ss.getVersion(), "setData version");
        eq(7, ss.getDataLength(), "setData dataLength");
        eq(st.getCzxid(), ss.getCzxid(), "setData keeps czxid");
        expect(ss.getMzxid() > st.getMzxid(), "setData mzxid must grow: " + ss.getMzxid() + " <= " + st.getMzxid());
        eq(st.getPzxid(), ss.getPzxid(), "setData keeps pzxid");
        eq("value-1", s(c.getData().forPath(p)), "getData after set");

        // Unconditional set (-1) still bumps the version.
        eq(2, c.setData().forPath(p, new byte[0]).getVersion(), "setData -1 version");
        eq(0, c.getData().forPath(p).length, "empty data length");

        // Children and the parent's cversion/numChildren/pzxid.
        Stat kid = new Stat();
        c.create().storingStatIn(kid).forPath(p + "/k1");
        c.create().forPath(p + "/k2", b("x"));
        Stat ps = c.checkExists().forPath(p);
        eq(2, ps.getNumChildren(), "numChildren");
        eq(2, ps.getCversion(), "cversion after 2 creates");
        expect(ps.getPzxid() > kid.getCzxid(), "pzxid follows last child create");
        List<String> kids = new ArrayList<>(c.getChildren().forPath(p));
        kids.sort(null);
        eq(Arrays.asList("k1", "k2"), kids, "getChildren");

        c.delete().withVersion(0).forPath(p + "/k1");
        c.delete().forPath(p + "/k2");
        ps = c.checkExists().forPath(p);
        eq(0, ps.getNumChildren(), "numChildren after deletes");
        eq(4, ps.getCversion(), "cversion after 2 creates + 2 deletes");

        c.delete().withVersion(2).forPath(p);
        eq(null, c.checkExists().forPath(p), "checkExists after delete");
    }

    static void errors(CuratorFramework c) throws Exception {
        String p = root + "/errors";
        c.create().forPath(p, b("d"));
        expectKeeper(KeeperException.Code.NODEEXISTS, () -> c.create().forPath(p));
        expectKeeper(KeeperException.Code.NONODE, () -> c.getData().forPath(p + "/missing"));
        expectKeeper(KeeperException.Code.NONODE, () -> c.create().forPath(p + "/a/b"));
        expectKeeper(KeeperException.Code.BADVERSION, () -> c.setData().withVersion(7).forPath(p, b("z")));
        expectKeeper(KeeperException.Code.BADVERSION, () -> c.delete().withVersion(3).forPath(p));
        c.create().forPath(p + "/child");
        expectKeeper(KeeperException.Code.NOTEMPTY, () -> c.delete().forPath(p));
        c.create().withMode(CreateMode.EPHEMERAL).forPath(p + "/eph");
        expectKeeper(KeeperException.Code.NOCHILDRENFOREPHEMERALS,
                () -> c.create().forPath(p + "/eph/x"));
        // deletingChildrenIfNeeded removes the whole subtree.
        c.delete().deletingChildrenIfNeeded().forPath(p);
        eq(null, c.checkExists().forPath(p), "deletingChildrenIfNeeded");
        // quietly() swallows the server's NONODE for a missing node.
        c.delete().quietly().forPath(p);
    }

    static void ephemeralSequential(CuratorFramework c) throws Exception {
        String p = root + "/seq";
        c.create().forPath(p);
        String a = c.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(p + "/n-");
        String bb = c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(p + "/n-");
        eq(p + "/n-0000000000", a, "first sequential name");
        eq(p + "/n-0000000001", bb, "second sequential name");
        eq(sessionId(c), c.checkExists().forPath(a).getEphemeralOwner(), "ephemeralOwner is session id");
        eq(0L, c.checkExists().forPath(bb).getEphemeralOwner(), "persistent sequential ephemeralOwner");
        // ZooKeeper counts child creates for the sequence number, yet the
        // cversion clients see also grows on deletes (it reports
        // 2 * creates - numChildren): after 2 creates and 1 delete the
        // cversion is 3 but the next sequence number is 2.
        c.delete().forPath(bb);
        eq(3, c.checkExists().forPath(p).getCversion(), "cversion after 2 creates + 1 delete");
        eq(p + "/n-0000000002", c.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(p + "/n-"),
                "sequence after delete (counts creates only)");
        eq(4, c.checkExists().forPath(p).getCversion(), "cversion after 3 creates + 1 delete");
    }

    static void ttlNode(CuratorFramework c) throws Exception {
        // Needs extendedTypesEnabled=true on the server (run.sh sets it).
        String p = root + "/ttl";
        Stat st = new Stat();
        c.create().withTtl(600000).storingStatIn(st).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(p + "-long", b("t"));
        eq(HIDDEN_OWNER, st.getEphemeralOwner(), "TTL node ephemeralOwner in create stat");
        eq(HIDDEN_OWNER, c.checkExists().forPath(p + "-long").getEphemeralOwner(), "TTL node ephemeralOwner");
        eq("t", s(c.getData().forPath(p + "-long")), "TTL node data");
        mustSurvive.add(p + "-long");
        // Short TTL, never touched again: the reaper removes it.
        c.create().withTtl(300).withMode(CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL).forPath(p + "-short-");
        mustBeReaped.addAll(prefixed(c, root, "ttl-short-"));
        eq(1, mustBeReaped.size(), "one short TTL node");
        // A TTL node with a child is kept however old it is.
        c.create().withTtl(300).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(p + "-parent");
        c.create().forPath(p + "-parent/kid");
        mustSurvive.add(p + "-parent");
    }

    static void creatingParents(CuratorFramework c) throws Exception {
        String p = root + "/parents/a/b/c";
        c.create().creatingParentsIfNeeded().forPath(p, b("leaf"));
        eq("leaf", s(c.getData().forPath(p)), "leaf data");
        for (String q : new String[] { root + "/parents", root + "/parents/a", root + "/parents/a/b" }) {
            Stat st = c.checkExists().forPath(q);
            expect(st != null, q + " missing");
            eq(0L, st.getEphemeralOwner(), q + " ephemeralOwner (plain persistent parent)");
            eq(0, st.getDataLength(), q + " dataLength");
        }
        // Again with an existing prefix: only the missing part is made.
        c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(root + "/parents/a/x/eph");
        eq(sessionId(c), c.checkExists().forPath(root + "/parents/a/x/eph").getEphemeralOwner(),
                "ephemeral leaf under created parent");
        eq(0L, c.checkExists().forPath(root + "/parents/a/x").getEphemeralOwner(), "parent of ephemeral is persistent");
    }

    static void creatingParentContainers(CuratorFramework c) throws Exception {
        String base = root + "/containers";
        c.create().creatingParentContainersIfNeeded().forPath(base + "/p1/p2/leaf", b("z"));
        for (String q : new String[] { base, base + "/p1", base + "/p1/p2" }) {
            Stat st = c.checkExists().forPath(q);
            expect(st != null, q + " missing");
            eq(HIDDEN_OWNER, st.getEphemeralOwner(), q + " ephemeralOwner (marker hidden from clients)");
        }
        Stat leaf = c.checkExists().forPath(base + "/p1/p2/leaf");
        eq(0L, leaf.getEphemeralOwner(), "leaf is a plain persistent node");
        // An explicit CONTAINER create carries the same marker.
        c.create().withMode(CreateMode.CONTAINER).forPath(base + "/explicit");
        eq(HIDDEN_OWNER, c.checkExists().forPath(base + "/explicit").getEphemeralOwner(),
                "CreateMode.CONTAINER ephemeralOwner");
        // Containers accept children like persistent nodes.
        c.create().forPath(base + "/explicit/kid");
        eq(1, c.checkExists().forPath(base + "/explicit").getNumChildren(), "container numChildren");
        // Once a container has had a child and is empty again the reaper
        // deletes it; one that never had a child is kept. (Only the
        // innermost parent: its own parents empty one reaper round later.)
        c.delete().forPath(base + "/explicit/kid");
        c.delete().forPath(base + "/p1/p2/leaf");
        mustBeReaped.add(base + "/explicit");
        mustBeReaped.add(base + "/p1/p2");
        c.create().withMode(CreateMode.CONTAINER).forPath(base + "/never-used");
        mustSurvive.add(base + "/never-used");
        // A container with a child is kept.
        c.create().withMode(CreateMode.CONTAINER).forPath(base + "/busy");
        c.create().forPath(base + "/busy/kid");
        mustSurvive.add(base + "/busy");
    }

    static List<String> prefixed(CuratorFramework c, String dir, String prefix) throws Exception {
        List<String> out = new ArrayList<>();
        for (String k : c.getChildren().forPath(dir)) if (k.startsWith(prefix)) out.add(dir + "/" + k);
        return out;
    }

    static void reaped(CuratorFramework c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(REAP_WAIT_S);
        List<String> left = new ArrayList<>(mustBeReaped);
        expect(!left.isEmpty(), "nothing registered for reaping (earlier checks failed?)");
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            left.removeIf(q -> {
                try { return c.checkExists().forPath(q) == null; } catch (Exception e) { return false; }
            });
            if (!left.isEmpty()) Thread.sleep(200);
        }
        eq(new ArrayList<String>(), left, "not reaped within " + REAP_WAIT_S + " s");
        for (String q : mustSurvive) expect(c.checkExists().forPath(q) != null, q + " was reaped but must stay");
    }

    // ---- transactions -----------------------------------------------------

    static void transactionSuccess(CuratorFramework c) throws Exception {
        String p = root + "/txn-ok";
        c.create().forPath(p, b("old"));
        CuratorOp create = c.transactionOp().create().forPath(p + "/a", b("A"));
        CuratorOp seq = c.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(p + "/s-");
        CuratorOp check = c.transactionOp().check().withVersion(0).forPath(p);
        CuratorOp set = c.transactionOp().setData().withVersion(0).forPath(p, b("new"));
        CuratorOp del = c.transactionOp().delete().forPath(p + "/a");
        List<CuratorTransactionResult> r = c.transaction().forOperations(create, seq, check, set, del);
        eq(5, r.size(), "result count");
        eq(OperationType.CREATE, r.get(0).getType(), "r0 type");
        eq(p + "/a", r.get(0).getForPath(), "r0 forPath");
        eq(p + "/a", r.get(0).getResultPath(), "r0 resultPath");
        eq(OperationType.CREATE, r.get(1).getType(), "r1 type");
        eq(p + "/s-0000000001", r.get(1).getResultPath(), "r1 sequential resultPath");
        eq(OperationType.CHECK, r.get(2).getType(), "r2 type");
        eq(OperationType.SET_DATA, r.get(3).getType(), "r3 type");
        Stat st = r.get(3).getResultStat();
        expect(st != null, "setData result stat missing");
        eq(1, st.getVersion(), "setData result version");
        eq(3, st.getDataLength(), "setData result dataLength");
        eq(OperationType.DELETE, r.get(4).getType(), "r4 type");
        for (CuratorTransactionResult x : r) eq(0, x.getError(), "error of " + x.getType());

        eq("new", s(c.getData().forPath(p)), "data after txn");
        eq(null, c.checkExists().forPath(p + "/a"), "created-then-deleted node");
        eq(Arrays.asList("s-0000000001"), c.getChildren().forPath(p), "children after txn");
        // All ops of one multi share one zxid.
        Stat ps = c.checkExists().forPath(p);
        Stat ss = c.checkExists().forPath(p + "/s-0000000001");
        eq(ss.getCzxid(), ps.getMzxid(), "one zxid for the whole transaction");
    }

    static void transactionFailure(CuratorFramework c) throws Exception {
        String p = root + "/txn-fail";
        c.create().forPath(p, b("keep"));
        CuratorOp create = c.transactionOp().create().forPath(p + "/new");
        CuratorOp badSet = c.transactionOp().setData().withVersion(5).forPath(p, b("lost"));
        CuratorOp create2 = c.transactionOp().create().forPath(p + "/new2");
        try {
            c.transaction().forOperations(create, badSet, create2);
            fail("transaction with a bad version must fail");
        } catch (KeeperException e) {
            eq(KeeperException.Code.BADVERSION, e.code(), "multi failure code");
            List<OpResult> res = e.getResults();
            expect(res != null, "KeeperException.getResults() is null");
            eq(3, res.size(), "failure result count");
            int[] want = { 0, KeeperException.Code.BADVERSION.intValue(),
                    KeeperException.Code.RUNTIMEINCONSISTENCY.intValue() };
            for (int i = 0; i < 3; i++) {
                expect(res.get(i) instanceof OpResult.ErrorResult, "result " + i + " is " + res.get(i).getClass());
                eq(want[i], ((OpResult.ErrorResult) res.get(i)).getErr(), "error of op " + i);
            }
        }
        // Nothing of the failed multi is visible.
        eq(null, c.checkExists().forPath(p + "/new"), "rolled-back create");
        eq(null, c.checkExists().forPath(p + "/new2"), "not-run create");
        Stat st = new Stat();
        eq("keep", s(c.getData().storingStatIn(st).forPath(p)), "data after failed txn");
        eq(0, st.getVersion(), "version after failed txn");
        eq(0, st.getCversion(), "cversion after failed txn");

        // A failing check op alone.
        expectKeeper(KeeperException.Code.NONODE,
                () -> c.transaction().forOperations(c.transactionOp().check().forPath(p + "/nope")));
    }

    static void transactionFailureBackground(CuratorFramework c) throws Exception {
        // In background mode Curator hands back per-op results instead of
        // throwing; the failing op carries its error code.
        String p = root + "/txn-bg";
        c.create().forPath(p);
        BlockingQueue<org.apache.curator.framework.api.CuratorEvent> q = new LinkedBlockingQueue<>();
        c.transaction().inBackground((cl, ev) -> q.add(ev)).forOperations(
                c.transactionOp().create().forPath(p + "/x"),
                c.transactionOp().delete().forPath(p + "/missing"));
        org.apache.curator.framework.api.CuratorEvent ev = q.poll(WAIT_S, TimeUnit.SECONDS);
        expect(ev != null, "no background transaction event");
        eq(KeeperException.Code.NONODE.intValue(), ev.getResultCode(), "background resultCode");
        List<CuratorTransactionResult> res = ev.getOpResults();
        expect(res != null && res.size() == 2, "background opResults " + res);
        eq(OperationType.CREATE, res.get(0).getType(), "op 0 type");
        eq(p + "/x", res.get(0).getForPath(), "op 0 forPath");
        eq(0, res.get(0).getError(), "op 0 error");
        eq(OperationType.DELETE, res.get(1).getType(), "op 1 type");
        eq(KeeperException.Code.NONODE.intValue(), res.get(1).getError(), "op 1 error");
        eq(null, c.checkExists().forPath(p + "/x"), "rolled-back create (background)");
    }

    // ---- recipes ----------------------------------------------------------

    static void leaderLatch() throws Exception {
        String path = root + "/leader";
        List<LeaderLatch> latches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            LeaderLatch l = new LeaderLatch(newClient(), path, "p" + i);
            toClose.add(l);
            latches.add(l);
            l.start();
        }
        LeaderLatch leader = waitOneLeader(latches);
        eq(3, latches.get(0).getParticipants().size(), "participants");
        for (LeaderLatch l : latches)
            eq(leader.getId(), l.getLeader().getId(), "getLeader() seen by " + l.getId());
        // start() joins in the background, so which latch joined first is
        // not known; the holder of the lowest sequence number must lead.
        latches.sort((x, y) -> seqOf(x).compareTo(seqOf(y)));
        eq(latches.get(0).getId(), leader.getId(), "leader holds the lowest sequence");

        leader.close();
        latches.remove(leader);
        LeaderLatch next = waitOneLeader(latches);
        eq(latches.get(0).getId(), next.getId(), "next leader holds the next sequence");
        eq(2, next.getParticipants().size(), "participants after leader close");
        for (LeaderLatch l : latches)
            eq(next.getId(), l.getLeader().getId(), "new getLeader() seen by " + l.getId());
    }

    static String seqOf(LeaderLatch l) {
        String p = l.getOurPath();
        return p == null ? "~" : p.substring(p.length() - 10);
    }

    /** Waits (bounded) until exactly one latch leads and stays so briefly. */
    static LeaderLatch waitOneLeader(List<LeaderLatch> latches) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (System.nanoTime() < deadline) {
            List<LeaderLatch> leaders = new ArrayList<>();
            for (LeaderLatch l : latches) if (l.hasLeadership()) leaders.add(l);
            expect(leaders.size() <= 1, "two leaders at once");
            if (leaders.size() == 1) {
                Thread.sleep(300); // nobody else may claim it meanwhile
                int n = 0;
                for (LeaderLatch l : latches) if (l.hasLeadership()) n++;
                eq(1, n, "leaders after settling");
                expect(leaders.get(0).hasLeadership(), "leadership moved without cause");
                return leaders.get(0);
            }
            Thread.sleep(50);
        }
        fail("no leader within " + WAIT_S + " s");
        return null;
    }

    static void mutexExclusion() throws Exception {
        String path = root + "/mutex";
        final int rounds = 15;
        CuratorFramework[] cs = { newClient(), newClient() };
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        int[] counter = { 0 }; // deliberately unsynchronised: the lock guards it
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> fs = new ArrayList<>();
            for (CuratorFramework cl : cs) {
                fs.add(pool.submit(() -> {
                    InterProcessMutex m = new InterProcessMutex(cl, path);
                    int done = 0;
                    for (int i = 0; i < rounds; i++) {
                        if (!m.acquire(WAIT_S, TimeUnit.SECONDS)) throw new AssertionError("acquire timed out");
                        try {
                            if (inside.incrementAndGet() != 1) overlaps.incrementAndGet();
                            int v = counter[0];
                            Thread.sleep(2);
                            counter[0] = v + 1;
                            inside.decrementAndGet();
                        } finally {
                            m.release();
                        }
                        done++;
                    }
                    return done;
                }));
            }
            for (Future<Integer> f : fs) eq(rounds, f.get(60, TimeUnit.SECONDS), "rounds done");
        } finally {
            pool.shutdownNow();
        }
        eq(0, overlaps.get(), "threads inside the lock at once");
        eq(2 * rounds, counter[0], "counter"); // Future.get() orders the reads
        // The lock's parent is a container: a fast reaper may already have
        // removed it, which also means no lock node was left behind.
        int left = cs[0].checkExists().forPath(path) == null ? 0
                   : cs[0].getChildren().forPath(path).size();
        eq(0, left, "lock nodes left behind");
    }

    static void mutexReentrancy() throws Exception {
        String path = root + "/mutex-re";
        CuratorFramework c1 = newClient(), c2 = newClient();
        InterProcessMutex m1 = new InterProcessMutex(c1, path);
        InterProcessMutex m2 = new InterProcessMutex(c2, path);
        expect(m1.acquire(WAIT_S, TimeUnit.SECONDS), "first acquire");
        expect(m1.acquire(WAIT_S, TimeUnit.SECONDS), "reentrant acquire");
        expect(m1.isAcquiredInThisProcess() && m1.isOwnedByCurrentThread(), "owned by this thread");
        eq(1, m1.getParticipantNodes().size(), "one lock node for a reentrant holder");
        expect(!tryFromOtherThread(m2, 300), "other client got the lock while held twice");
        m1.release();
        expect(m1.isOwnedByCurrentThread(), "still owned after one release");
        expect(!tryFromOtherThread(m2, 300), "other client got the lock while held once");
        m1.release();
        expect(!m1.isAcquiredInThisProcess(), "released after two releases");
        expect(m2.acquire(WAIT_S, TimeUnit.SECONDS), "other client acquires after full release");
        eq(1, m2.getParticipantNodes().size(), "one lock node for the new holder");
        m2.release();
        try {
            m1.release();
            fail("release of an unheld mutex must throw");
        } catch (IllegalMonitorStateException expected) {
            // Curator's documented behaviour
        }
    }

    /** acquire from a fresh thread (the mutex is per-thread reentrant). */
    static boolean tryFromOtherThread(InterProcessMutex m, long ms) throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            return ex.submit(() -> {
                boolean got = m.acquire(ms, TimeUnit.MILLISECONDS);
                if (got) m.release();
                return got;
            }).get(WAIT_S + 5, TimeUnit.SECONDS);
        } finally {
            ex.shutdownNow();
        }
    }

    static void curatorCache(CuratorFramework c) throws Exception {
        String p = root + "/cache";
        c.create().forPath(p, b("r"));
        c.create().forPath(p + "/pre", b("p"));
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(c, p);
        toClose.add(cache);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(n -> q.add("CREATE " + n.getPath() + " " + s(n.getData())))
                .forChanges((o, n) -> q.add("CHANGE " + n.getPath() + " " + s(o.getData()) + "->" + s(n.getData())))
                .forDeletes(o -> q.add("DELETE " + o.getPath()))
                .forInitialized(initialized::countDown)
                .build());
        cache.start();
        expect(initialized.await(WAIT_S, TimeUnit.SECONDS), "cache not initialized within " + WAIT_S + " s");
        // The initial load reports existing nodes as creates.
        List<String> initial = new ArrayList<>();
        q.drainTo(initial);
        initial.sort(null);
        eq(Arrays.asList("CREATE " + p + " r", "CREATE " + p + "/pre p"), initial, "initial cache events");
        eq("p", s(cache.get(p + "/pre").orElseThrow().getData()), "cache.get(pre)");

        // One step at a time: the cache fetches data after each event, so a
        // node created and deleted at once might legitimately be missed.
        c.create().forPath(p + "/a", b("1"));
        expectEvent(q, "CREATE " + p + "/a 1");
        c.setData().forPath(p + "/a", b("2"));
        expectEvent(q, "CHANGE " + p + "/a 1->2");
        c.create().forPath(p + "/a/b", b("3"));
        expectEvent(q, "CREATE " + p + "/a/b 3");
        eq("3", s(cache.get(p + "/a/b").orElseThrow().getData()), "cache.get(a/b)");
        c.delete().forPath(p + "/a/b");
        expectEvent(q, "DELETE " + p + "/a/b");
        c.delete().forPath(p + "/a");
        expectEvent(q, "DELETE " + p + "/a");
        // Outside the subtree: no event.
        c.create().forPath(p + "-sibling", b("s"));
        c.setData().forPath(p + "/pre", b("q"));
        expectEvent(q, "CHANGE " + p + "/pre p->q");
        expect(cache.get(p + "-sibling").isEmpty(), "sibling must not be cached");
        eq(2, cache.size(), "cache size (root and pre, nothing else)");
        String extra = q.poll(300, TimeUnit.MILLISECONDS);
        eq(null, extra, "unexpected cache event");
    }

    static void expectEvent(BlockingQueue<String> q, String want) throws Exception {
        String got = q.poll(WAIT_S, TimeUnit.SECONDS);
        eq(want, got, "next event");
    }

    static String ev(WatchedEvent e) { return e.getType() + " " + e.getPath(); }

    static void persistentWatcher(CuratorFramework c) throws Exception {
        String p = root + "/pw";
        c.create().forPath(p);
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        CountDownLatch registered = new CountDownLatch(1);
        PersistentWatcher w = new PersistentWatcher(c, p, true);
        toClose.add(w);
        w.getListenable().addListener(e -> {
            if (e.getType() != EventType.None) q.add(ev(e));
        });
        w.getResetListenable().addListener(registered::countDown);
        w.start();
        expect(registered.await(WAIT_S, TimeUnit.SECONDS), "persistent watch not registered");

        c.create().forPath(p + "/x", b("1"));
        expectEvent(q, "NodeCreated " + p + "/x");
        c.create().forPath(p + "/x/y", b("2"));
        expectEvent(q, "NodeCreated " + p + "/x/y");
        c.setData().forPath(p + "/x/y", b("3"));
        expectEvent(q, "NodeDataChanged " + p + "/x/y");
        // A recursive watch fires repeatedly (it is not one-shot).
        c.setData().forPath(p + "/x/y", b("4"));
        expectEvent(q, "NodeDataChanged " + p + "/x/y");
        c.create().creatingParentsIfNeeded().forPath(p + "/x/y/z/deep");
        expectEvent(q, "NodeCreated " + p + "/x/y/z");
        expectEvent(q, "NodeCreated " + p + "/x/y/z/deep");
        c.delete().deletingChildrenIfNeeded().forPath(p + "/x");
        expectEvent(q, "NodeDeleted " + p + "/x/y/z/deep");
        expectEvent(q, "NodeDeleted " + p + "/x/y/z");
        expectEvent(q, "NodeDeleted " + p + "/x/y");
        expectEvent(q, "NodeDeleted " + p + "/x");
        c.setData().forPath(p, b("root"));
        expectEvent(q, "NodeDataChanged " + p);
        // Not in the subtree (a name sharing the prefix): no event. Recursive
        // watches never send NodeChildrenChanged either.
        c.create().forPath(p + "x", b("sib"));
        eq(null, q.poll(300, TimeUnit.MILLISECONDS), "unexpected recursive-watch event");

        // After close the watch is removed: no more events.
        w.close();
        Thread.sleep(200);
        q.clear();
        c.create().forPath(p + "/after-close");
        eq(null, q.poll(300, TimeUnit.MILLISECONDS), "event after close");

        // A non-recursive persistent watch: the node itself plus
        // NodeChildrenChanged for direct children, nothing deeper.
        String n = root + "/pw-flat";
        c.create().forPath(n);
        BlockingQueue<String> q2 = new LinkedBlockingQueue<>();
        CountDownLatch reg2 = new CountDownLatch(1);
        PersistentWatcher flat = new PersistentWatcher(c, n, false);
        toClose.add(flat);
        flat.getListenable().addListener(e -> {
            if (e.getType() != EventType.None) q2.add(ev(e));
        });
        flat.getResetListenable().addListener(reg2::countDown);
        flat.start();
        expect(reg2.await(WAIT_S, TimeUnit.SECONDS), "flat persistent watch not registered");
        c.create().forPath(n + "/k");
        expectEvent(q2, "NodeChildrenChanged " + n);
        c.create().forPath(n + "/k/deeper");
        c.setData().forPath(n, b("d1"));
        expectEvent(q2, "NodeDataChanged " + n);
        c.setData().forPath(n, b("d2"));
        expectEvent(q2, "NodeDataChanged " + n);
        c.delete().deletingChildrenIfNeeded().forPath(n + "/k");
        expectEvent(q2, "NodeChildrenChanged " + n);
        eq(null, q2.poll(300, TimeUnit.MILLISECONDS), "unexpected flat-watch event");
    }

    static void sharedCount() throws Exception {
        String path = root + "/shared-count";
        CuratorFramework c1 = newClient(), c2 = newClient();
        SharedCount a = new SharedCount(c1, path, 7);
        SharedCount bb = new SharedCount(c2, path, 99); // seed ignored: node exists
        toClose.add(a);
        toClose.add(bb);
        a.start();
        bb.start();
        eq(7, a.getCount(), "initial count");
        eq(7, bb.getCount(), "second reader sees the first seed");
        BlockingQueue<Integer> seen = new LinkedBlockingQueue<>();
        bb.addListener(new SharedCountListener() {
            @Override public void countHasChanged(SharedCountReader r, int v) { seen.add(v); }
            @Override public void stateChanged(CuratorFramework cl, ConnectionState st) { }
        });
        VersionedValue<Integer> v0 = a.getVersionedValue();
        eq(0, v0.getVersion(), "initial version");
        expect(a.trySetCount(v0, 11), "trySetCount with current version");
        eq(11, seen.poll(WAIT_S, TimeUnit.SECONDS), "listener on other client");
        expect(!a.trySetCount(v0, 12), "trySetCount with stale version must fail");
        VersionedValue<Integer> v1 = a.getVersionedValue();
        eq(1, v1.getVersion(), "version after one set");
        eq(11, v1.getValue(), "value after one set");
        bb.setCount(20);
        eq(20, seen.poll(WAIT_S, TimeUnit.SECONDS), "listener after unconditional set");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (a.getCount() != 20 && System.nanoTime() < deadline) Thread.sleep(20);
        eq(20, a.getCount(), "first client sees the new count");
        byte[] raw = c1.getData().forPath(path);
        eq(4, raw.length, "stored count length");
        eq(20, java.nio.ByteBuffer.wrap(raw).getInt(), "stored as a big-endian int");
    }

    static void atomicLong() throws Exception {
        String path = root + "/atomic-long";
        final int perThread = 20;
        CuratorFramework[] cs = { newClient(), newClient() };
        AtomicInteger succeeded = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (CuratorFramework cl : cs) {
                fs.add(pool.submit(() -> {
                    // Optimistic retries on version conflicts; bounded.
                    DistributedAtomicLong dal = new DistributedAtomicLong(cl, path, new RetryNTimes(50, 5));
                    for (int i = 0; i < perThread; i++) {
                        AtomicValue<Long> v = dal.increment();
                        if (v.succeeded()) {
                            succeeded.incrementAndGet();
                            if (v.postValue() != v.preValue() + 1)
                                throw new AssertionError("increment " + v.preValue() + " -> " + v.postValue());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        DistributedAtomicLong dal = new DistributedAtomicLong(cs[0], path, new RetryNTimes(3, 10));
        AtomicValue<Long> now = dal.get();
        expect(now.succeeded(), "get");
        expect(succeeded.get() > 0, "no increment succeeded");
        eq((long) succeeded.get(), now.postValue(), "value equals the number of successful increments");
        AtomicValue<Long> cas = dal.compareAndSet(now.postValue(), 1000L);
        expect(cas.succeeded(), "compareAndSet with the current value");
        eq(1000L, dal.get().postValue(), "value after compareAndSet");
        AtomicValue<Long> bad = dal.compareAndSet(now.postValue(), 5L);
        expect(!bad.succeeded(), "compareAndSet with a stale value must not succeed");
        eq(1000L, dal.get().postValue(), "value after failed compareAndSet");
    }
}
