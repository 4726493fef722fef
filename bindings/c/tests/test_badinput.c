/*
 * The bad-input matrix: NULL handles, NULL pointers with and without
 * lengths, NULL out-pointers, empty and oversize keys, arbitrary key bytes,
 * huge lengths, and handle lifecycle misuse that the API allows (double
 * close, free after close, free(NULL)). Every case must give a typed
 * status, never a crash, and leave the store as it was.
 */
#include <stdint.h>

#include "check.h"

static void rule_null_handle_is_invalid_argument_everywhere(void)
{
    blockmem_stats st;
    const int32_t bad = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    check_every_key_call(NULL, KEY("k"), bad);
    check_every_store_call(NULL, bad);
    CHECK_STATUS(blockmem_store_close(NULL), bad);
    CHECK_STATUS(blockmem_store_stats(NULL, &st), bad);
    CHECK_STATUS(blockmem_commit(NULL, NULL), bad);
    /* Functions without a status answer 0 or do nothing. */
    CHECK(blockmem_block_count(NULL) == 0);
    CHECK(blockmem_total_size(NULL) == 0);
    blockmem_store_free(NULL);
}

static void rule_null_pointer_with_nonzero_length_is_invalid_argument(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    size_t n = 0;
    uint64_t u = 0;
    blockmem_list_page *page = NULL;
    const int32_t bad = BLOCKMEM_STATUS_INVALID_ARGUMENT;

    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("value")), BLOCKMEM_STATUS_OK);
    /* NULL key. */
    check_every_key_call(store, NULL, 1, bad);
    check_every_key_call(store, NULL, SIZE_MAX, bad);
    /* NULL data. */
    CHECK_STATUS(blockmem_write(store, KEY("k"), NULL, 1), bad);
    CHECK_STATUS(blockmem_write(store, KEY("k"), NULL, SIZE_MAX), bad);
    /* NULL buffer with a capacity. */
    CHECK_STATUS(blockmem_read(store, KEY("k"), NULL, 100, &n), bad);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 0, 2, NULL, 100, &n), bad);
    /* NULL prefix / start_after with a length. */
    CHECK_STATUS(blockmem_list(store, NULL, 2, NULL, 0, 0, &page), bad);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 2, 0, &page), bad);
    CHECK_STATUS(blockmem_delete_prefix(store, NULL, 2, &u, &u), bad);
    CHECK(page == NULL);
    CHECK(counters_are(store, 1, 5));
    CHECK(block_equals(store, KEY("k"), "value", 5));
    blockmem_store_free(store);
}

static void rule_null_pointer_with_zero_length_means_empty(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    size_t n = 9;
    blockmem_list_page *page = NULL;
    uint64_t blocks = 9, bytes = 9;

    CHECK_STATUS(blockmem_write(store, KEY("a"), KEY("xyz")), BLOCKMEM_STATUS_OK);
    /* An empty key is invalid, whatever the pointer. */
    CHECK_STATUS(blockmem_write(store, NULL, 0, KEY("v")), BLOCKMEM_STATUS_INVALID_KEY);
    /* Empty data: an empty block. */
    CHECK_STATUS(blockmem_write(store, KEY("e"), NULL, 0), BLOCKMEM_STATUS_OK);
    /* No buffer: size negotiation. */
    CHECK_STATUS(blockmem_read(store, KEY("a"), NULL, 0, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 3);
    CHECK_STATUS(blockmem_read_range(store, KEY("a"), 1, 0, NULL, 0, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    /* Empty prefix and start_after: everything, from the first key. */
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &page), BLOCKMEM_STATUS_OK);
    CHECK(page && page->count == 2 && !page->has_more);
    blockmem_list_page_free(page);
    CHECK_STATUS(blockmem_delete_prefix(store, NULL, 0, &blocks, &bytes),
                 BLOCKMEM_STATUS_OK);
    CHECK(blocks == 2 && bytes == 3);
    blockmem_store_free(store);
}

static void rule_null_out_pointer_is_invalid_argument(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t buf[8];
    size_t n = 0;
    const uint8_t *p = NULL;
    blockmem_block *pin = NULL;
    const int32_t bad = BLOCKMEM_STATUS_INVALID_ARGUMENT;

    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("value")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_options_init(NULL), bad);
    CHECK_STATUS(blockmem_store_new(NULL, NULL), bad);
    CHECK_STATUS(blockmem_store_stats(store, NULL), bad);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, NULL), bad);
    CHECK_STATUS(blockmem_read(store, KEY("missing"), buf, sizeof buf, NULL), bad);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 0, 1, buf, sizeof buf, NULL), bad);
    CHECK_STATUS(blockmem_get(store, KEY("k"), NULL, &n, &pin), bad);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p, NULL, &pin), bad);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p, &n, NULL), bad);
    CHECK(pin == NULL); /* nothing pinned, so nothing leaks */
    CHECK_STATUS(blockmem_stat(store, KEY("k"), NULL), bad);
    CHECK_STATUS(blockmem_exists(store, KEY("k"), NULL), bad);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, NULL), bad);
    /* Optional outputs may be NULL. */
    CHECK_STATUS(blockmem_delete(store, KEY("missing"), NULL), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("zz"), NULL, NULL), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("a/1"), KEY("12")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("a/2"), KEY("345")), BLOCKMEM_STATUS_OK);
    uint64_t bytes = 0;
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("a/"), NULL, &bytes), BLOCKMEM_STATUS_OK);
    CHECK(bytes == 5);
    CHECK_STATUS(blockmem_delete(store, KEY("k"), NULL), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 0, 0));
    blockmem_store_free(store);
}

static void rule_empty_key_is_invalid_key(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    check_every_key_call(store, (const uint8_t *)"k", 0, BLOCKMEM_STATUS_INVALID_KEY);
    check_every_key_call(store, NULL, 0, BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(counters_are(store, 0, 0));
    blockmem_store_free(store);
}

static void rule_key_over_max_key_len_is_invalid_key(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t key[BLOCKMEM_DEFAULT_MAX_KEY_LEN + 1];
    memset(key, 'k', sizeof key);
    check_every_key_call(store, key, sizeof key, BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(counters_are(store, 0, 0));
    blockmem_store_free(store);

    store = new_store(0, 0, 3);
    check_every_key_call(store, KEY("abcd"), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_write(store, KEY("abc"), KEY("v")), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 1, 1));
    blockmem_store_free(store);
}

static void rule_keys_with_any_bytes_are_accepted(void)
{
    static const uint8_t nul[] = {0x00};
    static const uint8_t nul2[] = {0x00, 0x00};
    static const uint8_t ff[] = {0xFF};
    static const uint8_t ffff[] = {0xFF, 0xFF, 0xFF};
    static const uint8_t bad_utf8[] = {0xC3, 0x28, 0xA0, 0xA1};
    static const uint8_t surrogate[] = {0xED, 0xA0, 0x80};
    static const uint8_t overlong[] = {0xC0, 0xAF, 0xF8, 0x88, 0x80, 0x80, 0x80};
    static const uint8_t a_nul[] = {'a', 0x00};
    static const uint8_t a_nul_b[] = {'a', 0x00, 'b'};
    static const uint8_t a[] = {'a'};
    uint8_t all_bytes[256];
    struct {
        const uint8_t *k;
        size_t len;
    } keys[] = {
        {nul, sizeof nul},           {nul2, sizeof nul2},
        {ff, sizeof ff},             {ffff, sizeof ffff},
        {bad_utf8, sizeof bad_utf8}, {surrogate, sizeof surrogate},
        {overlong, sizeof overlong}, {a_nul, sizeof a_nul},
        {a_nul_b, sizeof a_nul_b},   {a, sizeof a},
        {all_bytes, sizeof all_bytes},
    };
    const size_t nkeys = sizeof keys / sizeof keys[0];
    blockmem_store *store = new_store(0, 0, 0);
    blockmem_list_page *page = NULL;

    fill_sequence(all_bytes, sizeof all_bytes, 255, 255); /* 255, 254, ... */
    /* Each key gets a distinct one-byte block: keys that differ only after
     * a NUL byte are different keys. */
    for (size_t i = 0; i < nkeys; i++) {
        uint8_t v = (uint8_t)i;
        CHECK_STATUS(blockmem_write(store, keys[i].k, keys[i].len, &v, 1),
                     BLOCKMEM_STATUS_OK);
    }
    CHECK(counters_are(store, nkeys, nkeys));
    for (size_t i = 0; i < nkeys; i++) {
        uint8_t v = (uint8_t)i;
        CHECK(block_equals(store, keys[i].k, keys[i].len, &v, 1));
    }
    /* Listing hands back the exact bytes, each key exactly once. */
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &page), BLOCKMEM_STATUS_OK);
    if (CHECK(page && page->count == nkeys)) {
        for (size_t i = 0; i < nkeys; i++) {
            int found = 0;
            for (size_t j = 0; j < page->count; j++) {
                size_t len = page->key_offsets[j + 1] - page->key_offsets[j];
                if (len == keys[i].len
                    && memcmp(page->keys + page->key_offsets[j], keys[i].k, len) == 0)
                    found++;
            }
            CHECK(found == 1);
        }
    }
    blockmem_list_page_free(page);
    blockmem_store_free(store);
}

static void rule_huge_lengths_and_limits_are_typed_errors(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t buf[16];
    size_t n = 0;
    blockmem_list_page *page = NULL;
    uint8_t small[4] = {1, 2, 3, 4};
    memset(buf, 0xCC, sizeof buf);

    CHECK_STATUS(blockmem_write(store, KEY("k"), small, sizeof small), BLOCKMEM_STATUS_OK);
    /* Lengths beyond PTRDIFF_MAX cannot describe real memory (the library
     * refuses them before reading anything). */
    const size_t over = (size_t)PTRDIFF_MAX + 1;
    CHECK_STATUS(blockmem_write(store, small, over, small, 1), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_write(store, KEY("k"), small, over), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, over, &n),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 0, 1, buf, over, &n),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_list(store, NULL, 0, small, over, 0, &page),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_write(store, small, SIZE_MAX, small, 1),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_write(store, KEY("k"), small, SIZE_MAX),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, SIZE_MAX, &n),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_list(store, small, SIZE_MAX, NULL, 0, 0, &page),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_delete_prefix(store, small, SIZE_MAX, NULL, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    /* Huge offsets and lengths in a range read: typed error or clamp. */
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), UINT64_MAX, UINT64_MAX, buf,
                                     sizeof buf, &n),
                 BLOCKMEM_STATUS_INVALID_RANGE);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), UINT64_MAX, 0, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_INVALID_RANGE);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 2, UINT64_MAX, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 2 && buf[0] == 3 && buf[1] == 4 && buf[2] == 0xCC);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 4, UINT64_MAX, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    /* A huge page limit is no limit. */
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, SIZE_MAX, &page), BLOCKMEM_STATUS_OK);
    CHECK(page && page->count == 1 && !page->has_more);
    blockmem_list_page_free(page);
    CHECK(counters_are(store, 1, 4));
    blockmem_store_free(store);
}

static void rule_double_close_and_free_after_close_are_safe(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("v")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    blockmem_store_free(store);
    /* Freeing NULL of every kind is a no-op. */
    blockmem_store_free(NULL);
    blockmem_block_free(NULL);
    blockmem_list_page_free(NULL);
    CHECK(1);
}

static void rule_pages_and_pins_are_freed_independently_of_the_store(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    blockmem_list_page *page = NULL;
    const uint8_t *p = NULL;
    size_t n = 0;
    blockmem_block *pin = NULL;
    CHECK_STATUS(blockmem_write(store, KEY("k1"), KEY("v1")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k2"), KEY("v22")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &page), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("k2"), &p, &n, &pin), BLOCKMEM_STATUS_OK);
    blockmem_store_free(store); /* before the page and the pin */
    CHECK(page && page->count == 2 && page->sizes[1] == 3);
    CHECK(page && memcmp(page->keys + page->key_offsets[1], "k2", 2) == 0);
    CHECK(n == 3 && memcmp(p, "v22", 3) == 0);
    blockmem_list_page_free(page);
    blockmem_block_free(pin);
}

int main(void)
{
    RUN(rule_null_handle_is_invalid_argument_everywhere);
    RUN(rule_null_pointer_with_nonzero_length_is_invalid_argument);
    RUN(rule_null_pointer_with_zero_length_means_empty);
    RUN(rule_null_out_pointer_is_invalid_argument);
    RUN(rule_empty_key_is_invalid_key);
    RUN(rule_key_over_max_key_len_is_invalid_key);
    RUN(rule_keys_with_any_bytes_are_accepted);
    RUN(rule_huge_lengths_and_limits_are_typed_errors);
    RUN(rule_double_close_and_free_after_close_are_safe);
    RUN(rule_pages_and_pins_are_freed_independently_of_the_store);
    return check_report("test_badinput");
}
