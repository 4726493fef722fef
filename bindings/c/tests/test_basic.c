/*
 * The ABI's basics: the version, caller memory (the store keeps copies of
 * written keys and data, and a read buffer is the caller's alone), zero-copy
 * get (pins share the block's bytes, also for an empty block, and outlive an
 * overwrite, a delete, the close and the handle), exact counters against a
 * model over a long sequence, the read counters (one hit or one miss per
 * data read, in every mode) and the eviction counters, and freeing a store
 * that was never closed.
 * What each operation gives is in the contract's cases (test_cases).
 */
#include "check.h"

#ifndef BLOCKMEM_EXPECTED_VERSION
#error "build with -DBLOCKMEM_EXPECTED_VERSION=\"x.y.z\" (the crate version)"
#endif

static void rule_version_is_the_crate_version(void)
{
    const char *v = blockmem_version();
    CHECK(v != NULL);
    CHECK(v && strcmp(v, BLOCKMEM_EXPECTED_VERSION) == 0);
    CHECK(blockmem_version() == v); /* static: same pointer every call */
}

static void rule_isolation_changing_the_written_buffer_changes_nothing(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[64], key[8] = {'m', 'u', 't', 'a', 'b', 'l', 'e', '1'};
    memset(data, 'A', sizeof data);
    CHECK_STATUS(blockmem_write(store, key, sizeof key, data, sizeof data),
                 BLOCKMEM_STATUS_OK);
    memset(data, 'Z', sizeof data);
    key[7] = '2'; /* the stored key is a copy too */
    uint8_t want[64];
    memset(want, 'A', sizeof want);
    CHECK(block_equals(store, KEY("mutable1"), want, sizeof want));
    bool exists = true;
    CHECK_STATUS(blockmem_exists(store, KEY("mutable2"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(!exists);
    blockmem_store_free(store);
}

static void rule_isolation_changing_a_read_buffer_changes_nothing(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[32], buf[32];
    size_t n = 0;
    memset(data, 'A', sizeof data);
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, sizeof data), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, &n), BLOCKMEM_STATUS_OK);
    memset(buf, 'Z', sizeof buf);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 0, 8, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    memset(buf, 'Y', sizeof buf);
    CHECK(block_equals(store, KEY("k"), data, sizeof data));
    blockmem_store_free(store);
}

static void rule_get_is_zero_copy_and_immutable(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    const uint8_t data[] = "zero-copy";
    const uint8_t *p1 = NULL, *p2 = NULL;
    size_t n1 = 0, n2 = 0;
    blockmem_block *b1 = NULL, *b2 = NULL;
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, sizeof data), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p1, &n1, &b1), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p2, &n2, &b2), BLOCKMEM_STATUS_OK);
    CHECK(n1 == sizeof data && memcmp(p1, data, n1) == 0);
    /* Two pins of one block share its bytes: nothing was copied. */
    CHECK(p1 == p2 && n1 == n2 && b1 != NULL && b2 != NULL);
    blockmem_block_free(b1);
    CHECK(memcmp(p2, data, n2) == 0); /* the other pin still holds it */
    blockmem_block_free(b2);
    /* An empty block gives a pin and a pointer too, neither NULL. */
    CHECK_STATUS(blockmem_write(store, KEY("e"), NULL, 0), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("e"), &p1, &n1, &b1), BLOCKMEM_STATUS_OK);
    CHECK(n1 == 0 && p1 != NULL && b1 != NULL);
    blockmem_block_free(b1);
    blockmem_store_free(store);
}

static void rule_pinned_block_outlives_overwrite_delete_close_and_free(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[4096];
    const uint8_t *p[4];
    size_t n[4];
    blockmem_block *pin[4];
    memset(data, 'P', sizeof data);
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, sizeof data), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p[0], &n[0], &pin[0]), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("new")), BLOCKMEM_STATUS_OK);
    CHECK(n[0] == sizeof data && memcmp(p[0], data, sizeof data) == 0);

    CHECK_STATUS(blockmem_write(store, KEY("d"), data, 100), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("d"), &p[1], &n[1], &pin[1]), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete(store, KEY("d"), NULL), BLOCKMEM_STATUS_OK);
    CHECK(n[1] == 100 && memcmp(p[1], data, 100) == 0);

    CHECK_STATUS(blockmem_write(store, KEY("c"), data, 200), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("c"), &p[2], &n[2], &pin[2]), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("f"), data, 300), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("f"), &p[3], &n[3], &pin[3]), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK(n[2] == 200 && memcmp(p[2], data, 200) == 0);
    blockmem_store_free(store);
    /* The handle is gone; every pin is still readable. */
    CHECK(memcmp(p[0], data, sizeof data) == 0);
    CHECK(memcmp(p[1], data, 100) == 0);
    CHECK(memcmp(p[2], data, 200) == 0);
    CHECK(n[3] == 300 && memcmp(p[3], data, 300) == 0);
    for (int i = 0; i < 4; i++)
        blockmem_block_free(pin[i]);
}

static void rule_counters_are_exact_after_every_operation(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[256];
    uint64_t count = 0, size = 0, c2 = 0, s2 = 0;
    memset(data, 1, sizeof data);
    /* A fixed pseudo-random sequence of writes, overwrites and deletes,
     * checked against a model after each step. */
    uint32_t model[32] = {0}; /* size + 1, 0 = absent */
    uint32_t x = 12345;
    for (int step = 0; step < 400; step++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % 32, len = (x >> 16) % 257;
        uint8_t key[2] = {'k', (uint8_t)k};
        if ((x >> 28) < 11) {
            CHECK_STATUS(blockmem_write(store, key, 2, data, len), BLOCKMEM_STATUS_OK);
            model[k] = len + 1;
        } else {
            bool existed = false;
            CHECK_STATUS(blockmem_delete(store, key, 2, &existed), BLOCKMEM_STATUS_OK);
            CHECK(existed == (model[k] != 0));
            model[k] = 0;
        }
        count = size = 0;
        for (int i = 0; i < 32; i++)
            if (model[i]) {
                count++;
                size += model[i] - 1;
            }
        if (!CHECK(counters_are(store, count, size)))
            break;
    }
    CHECK(recount(store, 5, &c2, &s2));
    CHECK(c2 == count && s2 == size);
    blockmem_store_free(store);
}

/* ---- read counters ----
 *
 * Every data read (blockmem_read, blockmem_read_range, blockmem_get) that
 * looks its key up counts one hit when a block is stored under it,
 * whatever the call then returns (a buffer too small, a range past the
 * end), and one miss when none is; stat and exists count neither, nor
 * does a call refused before the lookup (an invalid key or argument, a
 * closed store). The counters are kept after close. The same in every
 * mode: without a cap, with one, in cache mode, and cache mode without a
 * cap (which is no cache). */

/* Checks the read counters, and that nothing was evicted; `line` is the
 * caller's. */
static void check_reads(const blockmem_store *store, uint64_t hits, uint64_t misses, int line)
{
    blockmem_cache_stats cs;
    memset(&cs, 0xA5, sizeof cs);
    cs.struct_size = sizeof cs;
    if (!CHECK_STATUS(blockmem_store_cache_stats(store, &cs), BLOCKMEM_STATUS_OK))
        return;
    if (!CHECK(cs.hits == hits && cs.misses == misses && cs.evictions == 0
               && cs.evicted_bytes == 0))
        fprintf(stderr, "  line %d: %llu hits, %llu misses, %llu evictions (%llu bytes); "
                        "want %llu hits, %llu misses\n",
                line, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                (unsigned long long)cs.evictions, (unsigned long long)cs.evicted_bytes,
                (unsigned long long)hits, (unsigned long long)misses);
}

#define CHECK_READS(store, hits, misses) check_reads(store, hits, misses, __LINE__)

static void count_reads(uint64_t max_bytes, bool evict)
{
    blockmem_store *store = new_store_evicting(max_bytes, 0, 0, evict);
    uint8_t buf[16];
    const uint8_t *data = NULL;
    size_t n = 0;
    uint64_t size = 0;
    bool exists = false;
    blockmem_block *pin = NULL;
    CHECK_READS(store, 0, 0);
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("0123456789")), BLOCKMEM_STATUS_OK);
    CHECK_READS(store, 0, 0); /* a write is no read */

    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, &n), BLOCKMEM_STATUS_OK);
    CHECK(n == 10 && memcmp(buf, "0123456789", 10) == 0);
    CHECK_READS(store, 1, 0);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, 4, &n), BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(blockmem_read(store, KEY("k"), NULL, 0, &n), BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 10);
    CHECK_READS(store, 3, 0);
    CHECK_STATUS(blockmem_read(store, KEY("missing"), buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_READS(store, 3, 1);

    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 2, 3, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 3 && memcmp(buf, "234", 3) == 0);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 10, 5, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 11, 1, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_INVALID_RANGE);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 0, 10, buf, 2, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK_READS(store, 7, 1);
    CHECK_STATUS(blockmem_read_range(store, KEY("missing"), 0, 1, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_READS(store, 7, 2);

    CHECK_STATUS(blockmem_get(store, KEY("k"), &data, &n, &pin), BLOCKMEM_STATUS_OK);
    CHECK(n == 10 && memcmp(data, "0123456789", 10) == 0);
    blockmem_block_free(pin);
    CHECK_READS(store, 8, 2);
    CHECK_STATUS(blockmem_get(store, KEY("missing"), &data, &n, &pin), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_READS(store, 8, 3);

    /* Neither a hit nor a miss. */
    CHECK_STATUS(blockmem_stat(store, KEY("k"), &size), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_stat(store, KEY("missing"), &size), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_exists(store, KEY("k"), &exists), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_exists(store, KEY("missing"), &exists), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY(""), buf, sizeof buf, &n), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_read_range(store, KEY(""), 0, 1, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_get(store, KEY(""), &data, &n, &pin), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &data, &n, NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_READS(store, 8, 3);

    /* A key that was stored and is not any more misses. */
    CHECK_STATUS(blockmem_delete(store, KEY("k"), NULL), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, &n), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_READS(store, 8, 4);
    /* A block over the cap is refused in every mode, evicting nothing. */
    if (max_bytes) {
        CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("0123456789")), BLOCKMEM_STATUS_OK);
        uint8_t *big = calloc(1, max_bytes + 1);
        if (CHECK(big != NULL))
            CHECK_STATUS(blockmem_write(store, KEY("big"), big, max_bytes + 1),
                         BLOCKMEM_STATUS_STORE_FULL);
        free(big);
        CHECK(block_equals(store, KEY("k"), "0123456789", 10));
        CHECK_READS(store, 9, 4);
    }

    /* A large block's copy is made outside the lock, from a pin: still
     * one read each. */
    uint64_t hits = max_bytes ? 9 : 8;
    uint8_t *large = malloc(64 * 1024);
    if (CHECK(large != NULL)) {
        fill_sequence(large, 64 * 1024, 1, 3);
        CHECK_STATUS(blockmem_write(store, KEY("large"), large, 64 * 1024), BLOCKMEM_STATUS_OK);
        CHECK(block_equals(store, KEY("large"), large, 64 * 1024));
        CHECK_STATUS(blockmem_read_range(store, KEY("large"), 1, 40000, large, 64 * 1024, &n),
                     BLOCKMEM_STATUS_OK);
        CHECK(n == 40000);
        hits += 2;
        CHECK_READS(store, hits, 4);
    }
    free(large);

    /* Closed: reads fail before the lookup; the counters stay. */
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_STORE_CLOSED);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &data, &n, &pin), BLOCKMEM_STATUS_STORE_CLOSED);
    CHECK_READS(store, hits, 4);
    blockmem_store_free(store);
}

static void rule_reads_count_one_hit_or_one_miss_in_every_mode(void)
{
    count_reads(0, false);
    count_reads(1 << 20, false);
    count_reads(1 << 20, true);
    count_reads(0, true);
}

/* Cache mode's eviction counters, exactly: a cap of 10 holds one of two
 * 6-byte blocks; a replacement evicts nothing. */
static void rule_evictions_are_counted_exactly(void)
{
    blockmem_store *store = new_store_evicting(10, 0, 0, true);
    blockmem_cache_stats cs = {.struct_size = sizeof cs};
    uint8_t buf[8];
    size_t n = 0;
    CHECK_STATUS(blockmem_write(store, KEY("a"), KEY("aaaaaa")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), KEY("bbbbbb")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), KEY("BBBBBBBBBB")), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 1, 10));
    CHECK_STATUS(blockmem_read(store, KEY("a"), buf, sizeof buf, &n), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_store_cache_stats(store, &cs), BLOCKMEM_STATUS_OK);
    CHECK(cs.evictions == 1 && cs.evicted_bytes == 6 && cs.hits == 0 && cs.misses == 1);
    blockmem_store_free(store);
}

static void rule_free_without_close_releases_everything(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[512] = {0};
    for (int i = 0; i < 20; i++) {
        uint8_t key[2] = {'f', (uint8_t)i};
        CHECK_STATUS(blockmem_write(store, key, 2, data, sizeof data), BLOCKMEM_STATUS_OK);
    }
    blockmem_store_free(store); /* leak checkers verify */
}

int main(void)
{
    RUN(rule_version_is_the_crate_version);
    RUN(rule_isolation_changing_the_written_buffer_changes_nothing);
    RUN(rule_isolation_changing_a_read_buffer_changes_nothing);
    RUN(rule_get_is_zero_copy_and_immutable);
    RUN(rule_pinned_block_outlives_overwrite_delete_close_and_free);
    RUN(rule_counters_are_exact_after_every_operation);
    RUN(rule_reads_count_one_hit_or_one_miss_in_every_mode);
    RUN(rule_evictions_are_counted_exactly);
    RUN(rule_free_without_close_releases_everything);
    return check_report("test_basic");
}
