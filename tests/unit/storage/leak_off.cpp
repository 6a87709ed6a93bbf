// RocksDB caches C++ objects process-wide on first use (comparators, option
// registries, thread-locals), which CppUTest's global new/delete counter
// reports as leaks of whichever test opened a database first, and again at
// exit. Turn that counter off for this binary before any test runs. The
// storage code allocates with malloc, which the counter never saw anyway;
// leaks are checked by the -DZABD_SANITIZE=ON build (LeakSanitizer).
#include <CppUTest/TestHarness.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

namespace {
struct LeakCounterOff {
    LeakCounterOff() { MemoryLeakWarningPlugin::turnOffNewDeleteOverloads(); }
} leak_counter_off;
} // namespace
