/*
 * mem.c: memory the server keeps out of its forked snapshot children.
 *
 * fork() shares every page copy-on-write, so while a snapshot child runs,
 * the first write to each shared page copies it. The tree's path index is
 * written by every create and delete at random places, so a snapshot taken
 * under a write load used to copy the whole table (tens of MB, thousands of
 * page faults on the loop thread) each time; the child never reads it (it
 * walks the tree's links). Large index tables are therefore mapped on
 * their own with MADV_WIPEONFORK: a child sees them zero-filled (an empty
 * index, which is harmless were it ever read) and shares nothing. Small
 * tables come from the heap as usual.
 */
#include "server/srv_int.h"

#include <string.h>
#include <sys/mman.h>

enum { MAPPED_FROM = 1 << 20 };

static void *index_zalloc(size_t bytes)
{
    if (bytes < MAPPED_FROM)
        return calloc(1, bytes);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    /* Each lookup lands on a random slot: with 4 KiB pages a table of tens
     * of MB misses the TLB on nearly every one. Huge pages cost nothing
     * here since no child shares them. None of these is fatal when the
     * kernel lacks it: the child then shares the pages, or they stay small. */
    (void)madvise(p, bytes, MADV_HUGEPAGE);
    (void)madvise(p, bytes, MADV_WIPEONFORK);
    /* Populated at once: a rehash reads each slot before it writes it, which
     * would otherwise take two faults per page (zero page, then a copy). */
#ifdef MADV_POPULATE_WRITE
    (void)madvise(p, bytes, MADV_POPULATE_WRITE);
#endif
    return p;
}

static void index_free(void *p, size_t bytes)
{
    if (bytes < MAPPED_FROM)
        free(p);
    else
        munmap(p, bytes);
}

static const zt_index_mem index_mem = {index_zalloc, index_free};

const zt_index_mem *srv_index_mem(void)
{
    return &index_mem;
}
