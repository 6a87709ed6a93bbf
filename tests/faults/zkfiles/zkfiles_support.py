"""Starting ZooKeeper and zabd on shared data directories, and what the
zkfiles tests compare: file checksums, dumps of the tree, the tools' output.
"""
import hashlib
import os
import re
import shutil
import subprocess
import time

from kazoo.client import KazooClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
SERVER_SH = os.path.join(ROOT, 'tests', 'integration', 'server.sh')
BUILD = os.environ.get('ZABD_BUILD', os.path.join(ROOT, 'build'))
TOOLS = os.path.join(BUILD, 'tools')
# slf4j-simple gives ZooKeeper a log to read (its digest checks print there).
ZK_ENV = dict(os.environ, ZK_EXTRA_CP='/usr/share/java/slf4j-simple.jar')


def freeport():
    return int(subprocess.check_output([SERVER_SH, 'freeport']).strip())


class Instance:
    """One server process on DIR (zoo.cfg, server.log, pid), data in
    DIR/data (and DIR/datalog when the config says so)."""

    def __init__(self, kind, dir_, port, cfg):
        self.kind, self.dir, self.port, self.cfg = kind, dir_, port, cfg
        self.running = False

    def start(self):
        subprocess.run([SERVER_SH, 'start', self.kind, self.dir, str(self.port)] + self.cfg,
                       check=True, env=ZK_ENV, stdout=subprocess.DEVNULL, timeout=60)
        self.running = True

    def stop(self, how='stop'):
        if self.running:
            subprocess.run([SERVER_SH, how, self.dir], check=True, timeout=30)
            self.running = False

    def log(self):
        with open(os.path.join(self.dir, 'server.log'), errors='replace') as f:
            return f.read()

    def client(self, **kw):
        zk = KazooClient(hosts='127.0.0.1:%d' % self.port, timeout=10, **kw)
        zk.start(timeout=15)
        return zk


class Servers:
    def __init__(self, root):
        self.root = root
        self.all = []

    def make(self, kind, name, port=None, cfg=()):
        d = os.path.join(self.root, name)
        os.makedirs(d, exist_ok=True)
        inst = Instance(kind, d, port or freeport(), list(cfg))
        self.all.append(inst)
        return inst

    def close(self):
        for s in self.all:
            try:
                s.stop('kill')
            except Exception:
                pass


def file_sums(*dirs):
    """sha256 of every regular file directly in each version-2 dir."""
    out = {}
    for d in dirs:
        v2 = os.path.join(d, 'version-2')
        for name in sorted(os.listdir(v2)):
            p = os.path.join(v2, name)
            if os.path.isfile(p):
                with open(p, 'rb') as f:
                    out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


def zxid_files(v2, prefix):
    out = []
    for name in os.listdir(v2):
        m = re.fullmatch(prefix + r'\.([0-9a-f]+)', name)
        if m:
            out.append(int(m.group(1), 16))
    return sorted(out)


def copy_dir(src, dst):
    shutil.copytree(src, dst, symlinks=True)


def run_tool(name, *args):
    r = subprocess.run([os.path.join(TOOLS, name)] + list(args), capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout, r.stderr


def wait_until(cond, timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()
