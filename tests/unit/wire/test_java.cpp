// What Java makes of jute strings: String.hashCode over UTF-16 units, and
// the U+FFFD replacements of JDK 17's UTF-8 decoder (String(bytes, UTF_8)).
#include "wire/wire.h"

#include <CppUTest/TestHarness.h>
#include <string>
#include <vector>

TEST_GROUP(WireJava){};

static uint32_t h(const std::string &s)
{
    return wire_java_hash(s.data(), s.size());
}

TEST(WireJava, HashIsStringHashCode)
{
    LONGS_EQUAL(0, h(""));
    LONGS_EQUAL(99162322, h("hello"));                        // "hello".hashCode()
    LONGS_EQUAL(233, h("\xc3\xa9"));                          // U+00E9
    LONGS_EQUAL(31 * 0xd83d + 0xde00, h("\xf0\x9f\x98\x80")); // U+1F600: a surrogate pair
    LONGS_EQUAL(0xfffd, h("\xff"));
    LONGS_EQUAL(1505998205, h("127.0.0.1")); // int arithmetic, wrapping as in Java
    LONGS_EQUAL(1166778415, h("/eph-order/n01"));
}

// Code points and unit lengths, as JDK 17 decodes the bytes.
static std::vector<uint32_t> decode(const std::string &s)
{
    std::vector<uint32_t> out;
    const uint8_t *p = (const uint8_t *)s.data();
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        i += wire_java_next(p + i, s.size() - i, &cp);
        out.push_back(cp);
    }
    return out;
}

TEST(WireJava, MalformedBytesBecomeReplacementsUnitByUnit)
{
    const uint32_t R = 0xfffd;
    CHECK(decode("a\x80"
                 "b") == (std::vector<uint32_t>{'a', R, 'b'}));
    CHECK(decode("\xc0\x80") == (std::vector<uint32_t>{R, R})); // overlong lead
    CHECK(decode("\xe2\x82"
                 "a") == (std::vector<uint32_t>{R, 'a'})); // cut 3-byte: 2 bytes
    CHECK(decode("\xe2"
                 "a") == (std::vector<uint32_t>{R, 'a'}));       // 1 byte
    CHECK(decode("\xed\xa0\x80") == (std::vector<uint32_t>{R})); // an encoded surrogate
    CHECK(decode("\xe2\x82") == (std::vector<uint32_t>{R}));     // cut at the end
    CHECK(decode("\xf0\x9f\x98") == (std::vector<uint32_t>{R})); // cut at the end
    CHECK(decode("\xf0\x9f"
                 "a") == (std::vector<uint32_t>{R, 'a'}));
    CHECK(decode("\xf5\x80\x80\x80") == (std::vector<uint32_t>{R, R, R, R}));
    CHECK(decode("\xe2\x82\xac") == (std::vector<uint32_t>{0x20ac}));
}

static std::string java(const std::string &s, bool jute)
{
    std::string out(3 * s.size(), '\0');
    out.resize(wire_java_str(s.data(), s.size(), &out[0], jute));
    return out;
}

TEST(WireJava, StringsComeBackAsJavaWritesThem)
{
    STRCMP_EQUAL("/a\xef\xbf\xbd", java("/a\xff", true).c_str());
    // jute writes each UTF-16 unit: U+1F600 as two encoded surrogates
    STRCMP_EQUAL("\xed\xa0\xbd\xed\xb8\x80", java("\xf0\x9f\x98\x80", true).c_str());
    STRCMP_EQUAL("\xf0\x9f\x98\x80", java("\xf0\x9f\x98\x80", false).c_str());
    // what a Java client sends for U+1F600 is two surrogates: replaced
    STRCMP_EQUAL("\xef\xbf\xbd\xef\xbf\xbd", java("\xed\xa0\xbd\xed\xb8\x80", true).c_str());
    STRCMP_EQUAL("caf\xc3\xa9", java("caf\xc3\xa9", true).c_str());
    LONGS_EQUAL(h("\xf0\x9f\x98\x80"), h(java("\xf0\x9f\x98\x80", true)));
}
