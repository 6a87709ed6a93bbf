"""The environment kazoo's own KazooTestHarness needs to run its tests
against the server of this run. The harness starts its servers itself
(`java ... QuorumPeerMain zoo.cfg`); tests/integration/javashim/java, put
first on PATH, turns each into zabd (SHIM_KIND=zabd) or Apache ZooKeeper 3.8
(SHIM_KIND=zookeeper), bound to 127.0.0.1. Used by the kazoo_own suite and
the SASL suite's run of kazoo's SASL tests."""
import os

SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration',
                        'javashim')


def harness_env(kind, zabd, cluster_size, port_offset):
    """os.environ plus what the harness and the shim read: a cluster of
    cluster_size members on ports from port_offset up (10 a member)."""
    env = dict(os.environ)
    env.update(PATH=SHIM_DIR + os.pathsep + env['PATH'], SHIM_KIND=kind,
               ZABD=os.path.abspath(zabd), ZOOKEEPER_VERSION='3.8.0',
               ZOOKEEPER_CLASSPATH='/etc/zookeeper/conf:/usr/share/java/zookeeper.jar',
               ZOOKEEPER_CLUSTER_SIZE=str(cluster_size), ZOOKEEPER_PORT_OFFSET=str(port_offset),
               PYTHONDONTWRITEBYTECODE='1')
    return env
