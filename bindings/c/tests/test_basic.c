/*
 * The operations of docs/CONTRACT.md on their happy paths: write, read, stat,
 * exists, get, delete, delete by prefix, counters, stats, health, close,
 * and the isolation rule.
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

static void rule_options_init_sets_struct_size_and_no_limits(void)
{
    blockmem_options opts;
    memset(&opts, 0xFF, sizeof opts);
    CHECK_STATUS(blockmem_options_init(&opts), BLOCKMEM_STATUS_OK);
    CHECK(opts.struct_size == sizeof(blockmem_options));
    CHECK(opts.max_bytes == 0);
    CHECK(opts.max_block_size == 0);
    CHECK(opts.max_key_len == 0);
}

static void rule_new_without_options_has_only_the_key_limit(void)
{
    blockmem_store *store = NULL;
    blockmem_stats st;
    CHECK_STATUS(blockmem_store_new(NULL, &store), BLOCKMEM_STATUS_OK);
    CHECK(store != NULL);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.max_bytes == 0 && st.max_block_size == 0);
    CHECK(st.max_key_len == BLOCKMEM_DEFAULT_MAX_KEY_LEN);
    CHECK(BLOCKMEM_DEFAULT_MAX_KEY_LEN == 1024);
    CHECK(!st.closed);
    CHECK(counters_are(store, 0, 0));
    blockmem_store_free(store);
}

static void rule_write_then_read_returns_the_bytes(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    const uint8_t data[] = {1, 2, 3, 0, 255, 7};
    uint8_t buf[16];
    size_t n = 0;
    CHECK_STATUS(blockmem_write(store, KEY("share/content/chunk-0/block-0"), data,
                                sizeof data),
                 BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("share/content/chunk-0/block-0"), buf,
                               sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == sizeof data && memcmp(buf, data, n) == 0);
    CHECK(counters_are(store, 1, sizeof data));
    blockmem_store_free(store);
}

static void rule_write_replaces_the_whole_block(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t big[300], small[3] = {'x', 'y', 'z'};
    memset(big, 'B', sizeof big);
    CHECK_STATUS(blockmem_write(store, KEY("k"), big, sizeof big), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k"), small, sizeof small),
                 BLOCKMEM_STATUS_OK);
    CHECK(block_equals(store, KEY("k"), small, sizeof small));
    CHECK(counters_are(store, 1, sizeof small));
    CHECK_STATUS(blockmem_write(store, KEY("k"), big, sizeof big), BLOCKMEM_STATUS_OK);
    CHECK(block_equals(store, KEY("k"), big, sizeof big));
    CHECK(counters_are(store, 1, sizeof big));
    blockmem_store_free(store);
}

static void rule_empty_block_reads_as_empty_not_missing(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    size_t n = 99;
    uint64_t size = 99;
    bool exists = false;
    const uint8_t *data = NULL;
    blockmem_block *pin = NULL;
    uint8_t buf[4] = {9, 9, 9, 9};

    CHECK_STATUS(blockmem_write(store, KEY("empty"), NULL, 0), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("empty"), NULL, 0, &n), BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    n = 99;
    CHECK_STATUS(blockmem_read(store, KEY("empty"), buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0 && buf[0] == 9);
    CHECK_STATUS(blockmem_stat(store, KEY("empty"), &size), BLOCKMEM_STATUS_OK);
    CHECK(size == 0);
    CHECK_STATUS(blockmem_exists(store, KEY("empty"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(exists);
    CHECK_STATUS(blockmem_get(store, KEY("empty"), &data, &n, &pin), BLOCKMEM_STATUS_OK);
    CHECK(n == 0 && pin != NULL && data != NULL);
    blockmem_block_free(pin);
    /* A non-NULL pointer with length 0 is an empty block too. */
    CHECK_STATUS(blockmem_write(store, KEY("empty2"), buf, 0), BLOCKMEM_STATUS_OK);
    CHECK(block_equals(store, KEY("empty2"), NULL, 0));
    CHECK(counters_are(store, 2, 0));
    blockmem_store_free(store);
}

static void rule_read_buffer_negotiation_reports_needed_size(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[300], buf[512];
    size_t n = 0;
    fill_sequence(data, sizeof data, 0, 7);
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, sizeof data), BLOCKMEM_STATUS_OK);
    /* No buffer at all: the size comes back. */
    CHECK_STATUS(blockmem_read(store, KEY("k"), NULL, 0, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == sizeof data);
    /* Any shorter buffer, down to one byte short, for the whole block and
     * for a range: nothing written, size reported. */
    for (size_t cap = 0; cap < sizeof data; cap += (cap + 37 < sizeof data ? 37 : 1)) {
        memset(buf, 0xCC, sizeof buf); /* canary */
        n = 0;
        CHECK_STATUS(blockmem_read(store, KEY("k"), buf, cap, &n),
                     BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == sizeof data);
        CHECK(all_bytes_are(buf, sizeof buf, 0xCC));
        n = 0;
        CHECK_STATUS(blockmem_read_range(store, KEY("k"), 10, 200, buf, cap < 200 ? cap : 199, &n),
                     BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
        CHECK(n == 200);
        CHECK(all_bytes_are(buf, sizeof buf, 0xCC));
    }
    /* Exactly the size needed. */
    n = sizeof data;
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, n, &n), BLOCKMEM_STATUS_OK);
    CHECK(n == sizeof data && memcmp(buf, data, n) == 0);
    /* A larger buffer: the bytes past the copy are untouched. */
    memset(buf, 0xCC, sizeof buf);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, &n), BLOCKMEM_STATUS_OK);
    CHECK(n == sizeof data && memcmp(buf, data, n) == 0);
    CHECK(all_bytes_are(buf + sizeof data, sizeof buf - sizeof data, 0xCC));
    blockmem_store_free(store);
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

static void rule_stat_and_exists_report_without_copying(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[1000] = {0};
    uint64_t size = 0;
    bool exists = false;
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, sizeof data), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_stat(store, KEY("k"), &size), BLOCKMEM_STATUS_OK);
    CHECK(size == sizeof data);
    CHECK_STATUS(blockmem_exists(store, KEY("k"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(exists);
    size = 42;
    CHECK_STATUS(blockmem_stat(store, KEY("missing"), &size), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(size == 42);
    CHECK_STATUS(blockmem_exists(store, KEY("missing"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(!exists);
    blockmem_store_free(store);
}

static void rule_delete_reports_existence_and_is_idempotent(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    bool existed = false;
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("value")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k2"), KEY("v2")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete(store, KEY("k"), &existed), BLOCKMEM_STATUS_OK);
    CHECK(existed);
    CHECK(counters_are(store, 1, 2));
    CHECK_STATUS(blockmem_delete(store, KEY("k"), &existed), BLOCKMEM_STATUS_OK);
    CHECK(!existed);
    CHECK_STATUS(blockmem_delete(store, KEY("never"), NULL), BLOCKMEM_STATUS_OK);
    size_t n = 0;
    CHECK_STATUS(blockmem_read(store, KEY("k"), NULL, 0, &n), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(block_equals(store, KEY("k2"), "v2", 2));
    CHECK(counters_are(store, 1, 2));
    blockmem_store_free(store);
}

static void rule_delete_by_prefix_reports_blocks_and_bytes(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint64_t blocks = 99, bytes = 99;
    CHECK_STATUS(blockmem_write(store, KEY("dir/a"), KEY("1")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("dir/b"), KEY("22")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("dir/c/d"), KEY("333")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("dis"), KEY("4444")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("dir"), KEY("55555")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("dir/"), &blocks, &bytes),
                 BLOCKMEM_STATUS_OK);
    CHECK(blocks == 3 && bytes == 6);
    CHECK(counters_are(store, 2, 9));
    CHECK(block_equals(store, KEY("dis"), "4444", 4));
    CHECK(block_equals(store, KEY("dir"), "55555", 5));
    /* Nothing matches: success, zero freed. Outputs are optional. */
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("dir/"), &blocks, &bytes),
                 BLOCKMEM_STATUS_OK);
    CHECK(blocks == 0 && bytes == 0);
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("zzz"), NULL, NULL),
                 BLOCKMEM_STATUS_OK);
    /* The empty prefix removes everything. */
    CHECK_STATUS(blockmem_delete_prefix(store, NULL, 0, &blocks, &bytes),
                 BLOCKMEM_STATUS_OK);
    CHECK(blocks == 2 && bytes == 9);
    CHECK(counters_are(store, 0, 0));
    blockmem_store_free(store);
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

static void rule_stats_report_counters_limits_and_closed(void)
{
    blockmem_store *store = new_store(1000, 100, 16);
    blockmem_stats st;
    CHECK_STATUS(blockmem_write(store, KEY("a"), KEY("xyz")), BLOCKMEM_STATUS_OK);
    memset(&st, 0xEE, sizeof st);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.block_count == 1 && st.total_size == 3);
    CHECK(st.max_bytes == 1000 && st.max_block_size == 100 && st.max_key_len == 16);
    CHECK(!st.closed);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.closed && st.block_count == 0 && st.total_size == 0);
    CHECK(st.max_bytes == 1000 && st.max_block_size == 100 && st.max_key_len == 16);
    blockmem_store_free(store);
}

static void rule_health_check_ok_while_open_closed_after(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    CHECK_STATUS(blockmem_health_check(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_health_check(store), BLOCKMEM_STATUS_STORE_CLOSED);
    blockmem_store_free(store);
}

static void rule_close_frees_all_blocks_and_is_idempotent(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[1000] = {0};
    for (int i = 0; i < 50; i++) {
        uint8_t key[1] = {(uint8_t)i};
        CHECK_STATUS(blockmem_write(store, key, 1, data, sizeof data), BLOCKMEM_STATUS_OK);
    }
    CHECK(counters_are(store, 50, 50000));
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 0, 0));
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 0, 0));
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("v")), BLOCKMEM_STATUS_STORE_CLOSED);
    blockmem_store_free(store);
    /* The leak checkers (LeakSanitizer, valgrind) confirm the blocks are
     * actually freed: this process frees everything it allocated. */
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
    RUN(rule_options_init_sets_struct_size_and_no_limits);
    RUN(rule_new_without_options_has_only_the_key_limit);
    RUN(rule_write_then_read_returns_the_bytes);
    RUN(rule_write_replaces_the_whole_block);
    RUN(rule_empty_block_reads_as_empty_not_missing);
    RUN(rule_read_buffer_negotiation_reports_needed_size);
    RUN(rule_isolation_changing_the_written_buffer_changes_nothing);
    RUN(rule_isolation_changing_a_read_buffer_changes_nothing);
    RUN(rule_get_is_zero_copy_and_immutable);
    RUN(rule_pinned_block_outlives_overwrite_delete_close_and_free);
    RUN(rule_stat_and_exists_report_without_copying);
    RUN(rule_delete_reports_existence_and_is_idempotent);
    RUN(rule_delete_by_prefix_reports_blocks_and_bytes);
    RUN(rule_counters_are_exact_after_every_operation);
    RUN(rule_stats_report_counters_limits_and_closed);
    RUN(rule_health_check_ok_while_open_closed_after);
    RUN(rule_close_frees_all_blocks_and_is_idempotent);
    RUN(rule_free_without_close_releases_everything);
    return check_report("test_basic");
}
