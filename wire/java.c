/*
 * java.c: what Java makes of the strings ZooKeeper handles, where clients
 * can see it.
 *
 * ZooKeeper decodes every jute ustring into a java.lang.String (UTF-16;
 * bytes that are not UTF-8 become U+FFFD) and orders some sets of them by
 * String.hashCode (HashSet, ConcurrentHashMap). wire_java_hash gives that
 * hash from the UTF-8 bytes.
 */
#include "wire/wire.h"

static bool not_cont(uint8_t b)
{
    return (b & 0xc0) != 0x80;
}

/* JDK 17's String(byte[], UTF_8) decoder, one step: the code point at p
 * (U+FFFD for a malformed unit) and how many bytes that unit takes. The
 * lengths are the decoder's: a bad three-byte sequence takes 1 or 2 bytes
 * (malformed3), a bad four-byte one 1 to 3 (malformed4), a well-formed
 * encoded surrogate all 3; a sequence cut off by the end of the input
 * swallows the rest (the decoder stops there), except where the byte after
 * the lead already shows it malformed. */
size_t wire_java_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b1 = p[0];
    *cp = 0xfffd;
    if (b1 < 0x80) {
        *cp = b1;
        return 1;
    }
    if (b1 >= 0xc2 && b1 <= 0xdf) {
        if (n < 2)
            return 1;
        if (not_cont(p[1]))
            return 1;
        *cp = (uint32_t)(b1 & 0x1f) << 6 | (p[1] & 0x3f);
        return 2;
    }
    if ((b1 & 0xf0) == 0xe0) {
        if (n >= 3) {
            uint8_t b2 = p[1], b3 = p[2];
            if ((b1 == 0xe0 && (b2 & 0xe0) == 0x80) || not_cont(b2) || not_cont(b3))
                return ((b1 == 0xe0 && (b2 & 0xe0) == 0x80) || not_cont(b2)) ? 1 : 2;
            uint32_t c = (uint32_t)(b1 & 0x0f) << 12 | (uint32_t)(b2 & 0x3f) << 6 | (b3 & 0x3f);
            if (c < 0xd800 || c > 0xdfff)
                *cp = c;
            return 3;
        }
        if (n == 2 && ((b1 == 0xe0 && (p[1] & 0xe0) == 0x80) || not_cont(p[1])))
            return 1;
        return n;
    }
    if ((b1 & 0xf8) == 0xf0) {
        if (n >= 4) {
            uint8_t b2 = p[1], b3 = p[2], b4 = p[3];
            uint32_t uc = (uint32_t)(b1 & 0x07) << 18 | (uint32_t)(b2 & 0x3f) << 12 |
                          (uint32_t)(b3 & 0x3f) << 6 | (b4 & 0x3f);
            if (!not_cont(b2) && !not_cont(b3) && !not_cont(b4) && uc >= 0x10000 && uc < 0x110000) {
                *cp = uc;
                return 4;
            }
            if (b1 > 0xf4 || (b1 == 0xf0 && (b2 < 0x90 || b2 > 0xbf)) ||
                (b1 == 0xf4 && (b2 & 0xf0) != 0x80) || not_cont(b2))
                return 1;
            return not_cont(b3) ? 2 : 3;
        }
        if (b1 > 0xf4 || (n >= 2 && ((b1 == 0xf0 && (p[1] < 0x90 || p[1] > 0xbf)) ||
                                     (b1 == 0xf4 && (p[1] & 0xf0) != 0x80) || not_cont(p[1]))))
            return 1;
        if (n >= 3 && not_cont(p[2]))
            return 2;
        return n;
    }
    return 1;
}

/* One code point of a string as zabd keeps it (what Java would send back:
 * UTF-8, with supplementary characters as two encoded surrogates) or as
 * UTF-8: an encoded surrogate counts as that UTF-16 unit. */
static size_t stored_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    if (n >= 3 && p[0] == 0xed && p[1] >= 0xa0 && p[1] <= 0xbf && (p[2] & 0xc0) == 0x80) {
        *cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
        return 3;
    }
    return wire_java_next(p, n, cp);
}

uint32_t wire_java_hash(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    uint32_t h = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += stored_next(p + i, n - i, &cp);
        if (cp >= 0x10000) {
            h = h * 31u + (0xd800u | ((cp - 0x10000) >> 10));
            h = h * 31u + (0xdc00u | ((cp - 0x10000) & 0x3ff));
        } else {
            h = h * 31u + cp;
        }
    }
    return h;
}

static size_t put_unit(uint8_t *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (uint8_t)(0xc0 | (c >> 6));
        o[1] = (uint8_t)(0x80 | (c & 0x3f));
        return 2;
    }
    o[0] = (uint8_t)(0xe0 | (c >> 12));
    o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
    o[2] = (uint8_t)(0x80 | (c & 0x3f));
    return 3;
}

size_t wire_java_str(const char *in, size_t n, char *out, bool jute)
{
    const uint8_t *p = (const uint8_t *)in;
    uint8_t *o = (uint8_t *)out;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += wire_java_next(p + i, n - i, &cp);
        if (cp < 0x10000) {
            k += put_unit(o + k, cp);
        } else if (jute) {
            /* BinaryOutputArchive encodes each UTF-16 unit on its own. */
            k += put_unit(o + k, 0xd800u | ((cp - 0x10000) >> 10));
            k += put_unit(o + k, 0xdc00u | ((cp - 0x10000) & 0x3ff));
        } else {
            o[k++] = (uint8_t)(0xf0 | (cp >> 18));
            o[k++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
            o[k++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
            o[k++] = (uint8_t)(0x80 | (cp & 0x3f));
        }
    }
    return k;
}
