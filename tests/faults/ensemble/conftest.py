"""Fixtures for the ensemble fault suite: an ensemble of real processes
(SERVER_KIND=zabd|zookeeper, tests/pylib/ensemble.py) per test, serving,
with a write load on every member; and a bound on each test's time (a
kazoo call can wait forever for a reply that never comes)."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'pylib'))
from hard_limit import hard_limit  # noqa: E402

import pytest  # noqa: E402

from ensemble import KIND, Ensemble  # noqa: E402

TEST_TIMEOUT_S = int(os.environ.get('ENSEMBLE_TEST_TIMEOUT_S', '150'))
START_S = 30  # bound on an ensemble's first election with every member serving

# (label, participants, observers)
SHAPES = [('3', 3, 0), ('5+1obs', 5, 1)]
FIGURES = []  # lines for the terminal summary: what each fault cost


def figure(line):
    print(line)
    FIGURES.append(line)


def pytest_configure(config):
    config.addinivalue_line('markers', 'zk_props(*props): Java system properties for '
                            'the ZooKeeper members of the test\'s ensemble')


@pytest.fixture(autouse=True)
def _bounded_test():
    with hard_limit(TEST_TIMEOUT_S):
        yield


@pytest.fixture(params=SHAPES, ids=[s[0] for s in SHAPES])
def ens(request):
    label, n, obs = request.param
    mark = request.node.get_closest_marker('zk_props')
    e = Ensemble(n, observers=obs, zk_props=mark.args if mark else ())
    e.label = label
    try:
        t0 = time.monotonic()
        e.start()
        e.wait_serving(t0 + START_S, e.members)
        yield e
    finally:
        bad = e.close(keep_dir=os.environ.get('ENSEMBLE_KEEP') == '1')
    assert not bad, 'zabd did not exit 0 at SIGTERM: %s' % bad


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_sep('-', 'ensemble faults: SERVER_KIND=%s' % KIND)
        for line in FIGURES:
            terminalreporter.write_line(line)
