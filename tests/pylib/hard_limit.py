"""A hard time limit for one test, shared by the Python suites.

kazoo's blocking calls (and a raw read) wait forever for a reply that never
comes, so a server that swallows a request must fail the test, not hang the
suite. Each suite's conftest.py wraps every test in hard_limit(seconds)."""
import contextlib
import signal


class HardTimeout(Exception):
    pass


@contextlib.contextmanager
def hard_limit(seconds):
    def expired(signum, frame):
        raise HardTimeout('test exceeded %d s' % seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
