/*
 * The ABI's basics: the version, caller memory (the store keeps copies of
 * written keys and data, and a read buffer is the caller's alone), zero-copy
 * get (pins share the block's bytes, also for an empty block, and outlive an
 * overwrite, a delete, the close and the handle), exact counters against a
 * model over a long sequence, and freeing a store that was never closed.
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
    RUN(rule_free_without_close_releases_everything);
    return check_report("test_basic");
}
