/*
 * Options and limits: max_key_len (default 1024), max_block_size,
 * max_bytes (a replacement counts as total - old + new), 0 meaning no
 * limit, and the options struct's struct_size versioning.
 */
#include <stddef.h>

#include "check.h"

static void rule_default_max_key_len_is_1024(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t key[1025];
    memset(key, 'k', sizeof key);
    CHECK_STATUS(blockmem_write(store, key, 1024, KEY("v")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, key, 1025, KEY("v")), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(block_equals(store, key, 1024, "v", 1));
    CHECK(counters_are(store, 1, 1));
    blockmem_store_free(store);
}

static void rule_max_key_len_caps_every_key_argument(void)
{
    blockmem_store *store = new_store(0, 0, 2000);
    uint8_t key[2001];
    blockmem_stats st;
    memset(key, 'k', sizeof key);
    CHECK_STATUS(blockmem_write(store, key, 2000, KEY("v")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, key, 2001, KEY("v")), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.max_key_len == 2000);
    blockmem_store_free(store);

    store = new_store(0, 0, 1);
    CHECK_STATUS(blockmem_write(store, KEY("a"), KEY("v")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("ab"), KEY("v")), BLOCKMEM_STATUS_INVALID_KEY);
    /* A prefix is not a key: longer prefixes are fine, they match nothing. */
    blockmem_list_page *page = NULL;
    CHECK_STATUS(blockmem_list(store, KEY("abc"), KEY("abcd"), 0, &page), BLOCKMEM_STATUS_OK);
    CHECK(page && page->count == 0);
    blockmem_list_page_free(page);
    uint64_t blocks = 9;
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("abc"), &blocks, NULL), BLOCKMEM_STATUS_OK);
    CHECK(blocks == 0);
    blockmem_store_free(store);

    /* The largest possible limit: any real key fits. */
    store = new_store(0, 0, UINT64_MAX);
    CHECK_STATUS(blockmem_write(store, key, sizeof key, KEY("v")), BLOCKMEM_STATUS_OK);
    blockmem_store_free(store);
}

static void rule_max_block_size_caps_one_block(void)
{
    blockmem_store *store = new_store(0, 100, 0);
    uint8_t data[101];
    memset(data, 'b', sizeof data);
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, 100), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, 101), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_write(store, KEY("j"), data, 101), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK(block_equals(store, KEY("k"), data, 100));
    CHECK(counters_are(store, 1, 100));
    /* Many blocks at the cap are fine: it is per block. */
    for (int i = 0; i < 10; i++) {
        uint8_t key[2] = {'m', (uint8_t)i};
        CHECK_STATUS(blockmem_write(store, key, 2, data, 100), BLOCKMEM_STATUS_OK);
    }
    CHECK(counters_are(store, 11, 1100));
    blockmem_store_free(store);
}

static void rule_max_bytes_caps_the_total(void)
{
    blockmem_store *store = new_store(1000, 0, 0);
    uint8_t data[1001];
    memset(data, 'm', sizeof data);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 1001), BLOCKMEM_STATUS_STORE_FULL);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 600), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), data, 400), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 2, 1000)); /* exactly at the cap */
    CHECK_STATUS(blockmem_write(store, KEY("c"), data, 1), BLOCKMEM_STATUS_STORE_FULL);
    /* An empty block costs nothing and always fits. */
    CHECK_STATUS(blockmem_write(store, KEY("c"), NULL, 0), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 3, 1000));
    /* Deleting frees room. */
    CHECK_STATUS(blockmem_delete(store, KEY("b"), NULL), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("d"), data, 400), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 3, 1000));
    blockmem_store_free(store);
}

static void rule_replacement_counts_total_minus_old_plus_new(void)
{
    blockmem_store *store = new_store(1000, 0, 0);
    uint8_t data[1000];
    memset(data, 'r', sizeof data);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 600), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), data, 300), BLOCKMEM_STATUS_OK);
    /* 900 - 600 + 700 = 1000: fits, although 900 + 700 would not. */
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 700), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 2, 1000));
    /* 1000 - 700 + 701 = 1001: full; the old block stays. */
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 701), BLOCKMEM_STATUS_STORE_FULL);
    CHECK(block_equals(store, KEY("a"), data, 700));
    CHECK(counters_are(store, 2, 1000));
    /* Shrinking always fits. */
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 1), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 2, 301));
    /* One block may use the whole cap, replacing itself. */
    CHECK_STATUS(blockmem_delete(store, KEY("b"), NULL), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 1000), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 1000), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 1, 1000));
    blockmem_store_free(store);
}

static void rule_zero_means_no_limit(void)
{
    enum { BIG = 8 << 20 };
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t *data = calloc(1, BIG);
    if (!CHECK(data != NULL))
        return;
    for (int i = 0; i < 4; i++) {
        uint8_t key[1] = {(uint8_t)i};
        CHECK_STATUS(blockmem_write(store, key, 1, data, BIG), BLOCKMEM_STATUS_OK);
    }
    CHECK(counters_are(store, 4, 4ULL * BIG));
    free(data);
    blockmem_store_free(store);
}

static void rule_both_limits_together(void)
{
    blockmem_store *store = new_store(250, 100, 4);
    uint8_t data[251] = {0};
    CHECK_STATUS(blockmem_write(store, KEY("k1"), data, 100), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k2"), data, 100), BLOCKMEM_STATUS_OK);
    /* Too large for a block and for the store: BLOCK_TOO_LARGE. */
    CHECK_STATUS(blockmem_write(store, KEY("k3"), data, 101), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_write(store, KEY("k3"), data, 251), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_write(store, KEY("k3"), data, 51), BLOCKMEM_STATUS_STORE_FULL);
    /* Neither failure changed anything. */
    CHECK(counters_are(store, 2, 200));
    bool exists = true;
    CHECK_STATUS(blockmem_exists(store, KEY("k3"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(!exists);
    CHECK(block_equals(store, KEY("k1"), data, 100));
    CHECK_STATUS(blockmem_write(store, KEY("k3"), data, 50), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 3, 250));
    blockmem_store_free(store);
}

/* ---- the options struct and struct_size ---- */

static blockmem_status new_from_bytes(const void *opts_bytes, size_t n,
                                      blockmem_store **out)
{
    /* Exactly n bytes on the heap: the sanitizers flag any read past
     * what the caller declared. */
    void *copy = malloc(n);
    blockmem_status st;
    if (!copy)
        return BLOCKMEM_STATUS_OUT_OF_MEMORY;
    memcpy(copy, opts_bytes, n);
    st = blockmem_store_new((const blockmem_options *)copy, out);
    free(copy);
    return st;
}

static void rule_options_from_an_older_caller_are_read_up_to_struct_size(void)
{
    blockmem_options opts;
    blockmem_store *store = NULL;
    blockmem_stats st;

    /* Only the size field: every limit at its default. */
    memset(&opts, 0x77, sizeof opts); /* garbage past struct_size */
    opts.struct_size = sizeof(size_t);
    CHECK_STATUS(new_from_bytes(&opts, sizeof(size_t), &store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.max_bytes == 0 && st.max_block_size == 0 && st.max_key_len == 1024);
    blockmem_store_free(store);
    store = NULL;

    /* Up to max_bytes: that field is honoured, the rest default. */
    opts.struct_size = offsetof(blockmem_options, max_block_size);
    opts.max_bytes = 10;
    CHECK_STATUS(new_from_bytes(&opts, opts.struct_size, &store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.max_bytes == 10 && st.max_block_size == 0 && st.max_key_len == 1024);
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("0123456789x")),
                 BLOCKMEM_STATUS_STORE_FULL);
    blockmem_store_free(store);
    store = NULL;

    /* The current struct, all fields. */
    CHECK_STATUS(blockmem_options_init(&opts), BLOCKMEM_STATUS_OK);
    opts.max_bytes = 1;
    opts.max_block_size = 2;
    opts.max_key_len = 3;
    CHECK_STATUS(new_from_bytes(&opts, sizeof opts, &store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.max_bytes == 1 && st.max_block_size == 2 && st.max_key_len == 3);
    blockmem_store_free(store);
}

static void rule_options_from_a_newer_caller_ignore_unknown_fields(void)
{
    struct {
        blockmem_options known;
        uint64_t future_field[4];
    } newer;
    blockmem_store *store = NULL;
    blockmem_stats st;
    memset(&newer, 0x55, sizeof newer);
    CHECK_STATUS(blockmem_options_init(&newer.known), BLOCKMEM_STATUS_OK);
    newer.known.struct_size = sizeof newer;
    newer.known.max_bytes = 4096;
    CHECK_STATUS(new_from_bytes(&newer, sizeof newer, &store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.max_bytes == 4096 && st.max_block_size == 0 && st.max_key_len == 1024);
    blockmem_store_free(store);
}

static void rule_struct_size_below_sizeof_size_t_is_invalid_argument(void)
{
    blockmem_options opts;
    blockmem_store *store = NULL;
    CHECK_STATUS(blockmem_options_init(&opts), BLOCKMEM_STATUS_OK);
    for (size_t sz = 0; sz < sizeof(size_t); sz++) {
        opts.struct_size = sz;
        CHECK_STATUS(blockmem_store_new(&opts, &store), BLOCKMEM_STATUS_INVALID_ARGUMENT);
        CHECK(store == NULL);
    }
}

int main(void)
{
    RUN(rule_default_max_key_len_is_1024);
    RUN(rule_max_key_len_caps_every_key_argument);
    RUN(rule_max_block_size_caps_one_block);
    RUN(rule_max_bytes_caps_the_total);
    RUN(rule_replacement_counts_total_minus_old_plus_new);
    RUN(rule_zero_means_no_limit);
    RUN(rule_both_limits_together);
    RUN(rule_options_from_an_older_caller_are_read_up_to_struct_size);
    RUN(rule_options_from_a_newer_caller_ignore_unknown_fields);
    RUN(rule_struct_size_below_sizeof_size_t_is_invalid_argument);
    return check_report("test_limits");
}
