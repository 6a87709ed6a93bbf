/*
 * Checksums. Adler-32 (below) is what ZooKeeper's snapshot and txn log files
 * use. CRC-32 guards our RocksDB log entries: wire_crc32, the same function
 * as zlib's crc32(), so `python3 -c "import zlib"` can check our files.
 */
#include "storage/stor_int.h"

uint32_t stor_adler32(uint32_t adler, const void *p, size_t n)
{
    enum { MOD = 65521, NMAX = 5552 };
    const uint8_t *b = p;
    uint32_t a = adler & 0xFFFF, s = adler >> 16;
    while (n > 0) {
        size_t k = n < NMAX ? n : NMAX;
        n -= k;
        for (; k >= 8; k -= 8, b += 8) { /* unrolled: the loop overhead is most of the cost */
            a += b[0];
            s += a;
            a += b[1];
            s += a;
            a += b[2];
            s += a;
            a += b[3];
            s += a;
            a += b[4];
            s += a;
            a += b[5];
            s += a;
            a += b[6];
            s += a;
            a += b[7];
            s += a;
        }
        while (k-- > 0) {
            a += *b++;
            s += a;
        }
        a %= MOD;
        s %= MOD;
    }
    return s << 16 | a;
}
