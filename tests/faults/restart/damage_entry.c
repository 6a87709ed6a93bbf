/*
 * damage_entry.c: damage_entry TXNLOG_DIR
 *
 * Test helper for test_restart.py. Flips one byte inside the txn of the
 * last record of the NEWEST log chunk ('L' + big-endian zxid of its last
 * record, see storage/log.c) and writes the value back through RocksDB, so
 * RocksDB's own checksums stay right and only zabd's per-record CRC can
 * notice. Bytes flipped in the WAL file itself are caught by RocksDB before
 * zabd sees them; this reaches the check behind it. Prints the zxid it
 * damaged (the key's) as 0x%016llx. Exit 0 on success, 1 otherwise.
 * Built by the test with `cc damage_entry.c -lrocksdb`.
 */
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int rc = 1;
    char *e = NULL;
    char *val = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: %s TXNLOG_DIR\n", argv[0]);
        return 2;
    }
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 1);
    rocksdb_t *db = rocksdb_open(o, argv[1], &e);
    rocksdb_iterator_t *it = NULL;
    if (e != NULL) {
        fprintf(stderr, "open: %s\n", e);
        goto out;
    }
    /* The last key below 'M' is the newest log entry. */
    const char hi[1] = {'M'};
    it = rocksdb_create_iterator(db, ro);
    rocksdb_iter_seek_for_prev(it, hi, 1);
    while (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen == 9 && k[0] == 'L')
            break;
        rocksdb_iter_prev(it);
    }
    if (!rocksdb_iter_valid(it)) {
        fprintf(stderr, "no log entry\n");
        goto out;
    }
    size_t klen, vlen;
    const char *k = rocksdb_iter_key(it, &klen);
    const char *v = rocksdb_iter_value(it, &vlen);
    char key[9];
    memcpy(key, k, 9);
    if ((val = malloc(vlen)) == NULL)
        goto out;
    memcpy(val, v, vlen);
    /* Records: zxid (8) | len (4, BE) | crc (4) | txn. Walk to the last. */
    size_t off = 0, last = 0;
    while (off + 16 <= vlen) {
        unsigned long len = (unsigned long)(unsigned char)val[off + 8] << 24 |
                            (unsigned long)(unsigned char)val[off + 9] << 16 |
                            (unsigned long)(unsigned char)val[off + 10] << 8 |
                            (unsigned long)(unsigned char)val[off + 11];
        last = off;
        off += 16 + len;
    }
    unsigned long last_len = (unsigned long)(off - last - 16);
    if (off != vlen || last_len == 0) {
        fprintf(stderr, "not a chunk of records, or an empty last txn (%zu bytes)\n", vlen);
        goto out;
    }
    /* In the middle of the last record's txn. */
    val[last + 16 + last_len / 2] ^= 0x5a;
    rocksdb_put(db, wo, key, 9, val, vlen, &e);
    if (e != NULL) {
        fprintf(stderr, "put: %s\n", e);
        goto out;
    }
    unsigned long long zxid = 0;
    for (int i = 1; i < 9; i++)
        zxid = zxid << 8 | (unsigned char)key[i];
    printf("0x%016llx\n", zxid);
    rc = 0;
out:
    free(val);
    rocksdb_free(e);
    if (it != NULL)
        rocksdb_iter_destroy(it);
    if (db != NULL)
        rocksdb_close(db);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_readoptions_destroy(ro);
    rocksdb_options_destroy(o);
    return rc;
}
