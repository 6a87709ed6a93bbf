// wire_crc32: zlib's / Java's CRC-32, by carry-less multiplication over
// 16-byte blocks where the processor has it, and eight bytes a step through
// tables for the rest. Checked against the standard check value and against
// a bit-at-a-time reference written here, for every length and alignment
// around the 8- and 16-byte steps, for a long buffer, and for continuing a
// CRC across calls.
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <string.h>
#include <vector>

namespace
{
uint32_t ref_crc(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}
} // namespace

TEST_GROUP(WireCrc32){};

TEST(WireCrc32, StandardCheckValue)
{
    CHECK_EQUAL(0xCBF43926u, wire_crc32(0, "123456789", 9));
    CHECK_EQUAL(0u, wire_crc32(0, "", 0));
}

TEST(WireCrc32, EqualsBitwiseReferenceForEveryLengthAndAlignment)
{
    std::vector<uint8_t> buf(300);
    uint32_t x = 12345;
    for (uint8_t &b : buf) {
        x = x * 1103515245u + 12345u;
        b = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= buf.size(); n++)
            CHECK_EQUAL(ref_crc(buf.data() + off, n), wire_crc32(0, buf.data() + off, n));
}

TEST(WireCrc32, EqualsBitwiseReferenceOnALongBuffer)
{
    std::vector<uint8_t> buf(65536 + 13);
    uint32_t x = 777;
    for (uint8_t &b : buf) {
        x = x * 1103515245u + 12345u;
        b = (uint8_t)(x >> 16);
    }
    CHECK_EQUAL(ref_crc(buf.data(), buf.size()), wire_crc32(0, buf.data(), buf.size()));
    CHECK_EQUAL(ref_crc(buf.data() + 3, 4096), wire_crc32(0, buf.data() + 3, 4096));
}

TEST(WireCrc32, ContinuesAcrossCalls)
{
    const char *s = "the quick brown fox jumps over the lazy dog, twice over";
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++)
        CHECK_EQUAL(wire_crc32(0, s, n), wire_crc32(wire_crc32(0, s, cut), s + cut, n - cut));
}
