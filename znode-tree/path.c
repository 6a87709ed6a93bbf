/*
 * path.c: ZooKeeper's path rules (PathUtils.validatePath), on UTF-8 bytes.
 *
 * ZooKeeper checks Java UTF-16 chars. A code point above U+FFFF is a
 * surrogate pair there, and surrogates are forbidden, so every 4-byte UTF-8
 * sequence is rejected; malformed UTF-8 would decode to U+FFFD, also
 * forbidden.
 */
#include "znode-tree/zt_int.h"

/* Decodes one UTF-8 code point at p[0..n); returns its length, 0 if malformed. */
static int utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    int len = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || (size_t)len > n)
        return 0;
    uint32_t c = p[0] & (0x7f >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len])
        return 0;
    *cp = c;
    return len;
}

static bool forbidden(uint32_t c)
{
    return (c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) ||
           c >= 0xfff0;
}

int zt_path_validate(wire_str path)
{
    const uint8_t *p = (const uint8_t *)path.p;
    size_t n = path.len > 0 ? (size_t)path.len : 0;
    if (n == 0 || p[0] != '/')
        return ZERR_BADARGUMENTS;
    if (n == 1)
        return 0;
    if (p[n - 1] == '/')
        return ZERR_BADARGUMENTS;
    for (size_t i = 1; i < n;) {
        uint32_t c;
        int len = utf8_next(p + i, n - i, &c);
        if (len == 0 || c == 0 || forbidden(c))
            return ZERR_BADARGUMENTS;
        if (c == '/' && p[i - 1] == '/')
            return ZERR_BADARGUMENTS; /* empty node name */
        if (c == '.') {
            bool ends = i + 1 == n || p[i + 1] == '/';
            /* "/." or "/.." as a whole component */
            if (ends && (p[i - 1] == '/' || (p[i - 1] == '.' && i >= 2 && p[i - 2] == '/')))
                return ZERR_BADARGUMENTS;
        }
        i += (size_t)len;
    }
    return 0;
}
