/*
 * The bad-input matrix: NULL handles, NULL pointers with and without
 * lengths (a NULL empty key through every function), NULL out-pointers,
 * each of the 256 byte values as a key, lengths above PTRDIFF_MAX, and the
 * handle lifecycle misuse that the API allows (double close, free after
 * close, free(NULL), pages and pins freed after the store). Every case
 * must give a typed status, never a crash, write no output and leave the
 * store as it was. Empty and over-long keys, through every operation, are
 * in the contract's cases (test_cases).
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
    /* An empty key: INVALID_KEY from every function, outputs untouched. */
    check_every_key_call(store, NULL, 0, BLOCKMEM_STATUS_INVALID_KEY);
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

/* Each of the 256 byte values is a key of its own, and so is one key that
 * holds them all; listing gives back their exact bytes, in byte order. */
static void rule_every_byte_value_makes_a_key(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t all[256];
    blockmem_list_page *page = NULL;
    fill_sequence(all, sizeof all, 255, 255); /* 255, 254, ..., 0 */
    for (unsigned b = 0; b < 256; b++) {
        uint8_t key = (uint8_t)b;
        CHECK_STATUS(blockmem_write(store, &key, 1, &key, 1), BLOCKMEM_STATUS_OK);
    }
    CHECK_STATUS(blockmem_write(store, all, sizeof all, all, sizeof all), BLOCKMEM_STATUS_OK);
    for (unsigned b = 0; b < 256; b++) {
        uint8_t key = (uint8_t)b;
        if (!CHECK(block_equals(store, &key, 1, &key, 1)))
            fprintf(stderr, "  key 0x%02x\n", b);
    }
    CHECK(block_equals(store, all, sizeof all, all, sizeof all));
    /* 0x00, 0x01, ..., 0xff, then the long key (it starts with 0xff). */
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &page), BLOCKMEM_STATUS_OK);
    if (CHECK(page && page->count == 257)) {
        for (size_t i = 0; i < page->count; i++) {
            size_t len;
            const uint8_t *k = page_key(page, i, &len);
            uint8_t one = (uint8_t)i;
            if (!CHECK(i < 256 ? len == 1 && k[0] == one
                               : len == sizeof all && memcmp(k, all, len) == 0))
                fprintf(stderr, "  position %zu\n", i);
        }
    }
    blockmem_list_page_free(page);
    blockmem_store_free(store);
}

/* Lengths beyond PTRDIFF_MAX cannot describe real memory: the library
 * refuses them before reading or writing anything. A page limit is a
 * count, not a length: SIZE_MAX is no limit. */
static void rule_huge_lengths_are_invalid_argument_a_huge_limit_is_none(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    const size_t huge[] = {(size_t)PTRDIFF_MAX + 1, SIZE_MAX};
    const uint8_t small[4] = {1, 2, 3, 4};
    const int32_t bad = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    struct outputs o = outputs_preset();
    blockmem_list_page *page = NULL;

    CHECK_STATUS(blockmem_write(store, KEY("k"), small, sizeof small), BLOCKMEM_STATUS_OK);
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        check_every_key_call(store, small, huge[i], bad);
        CHECK_STATUS(blockmem_write(store, KEY("k"), small, huge[i]), bad);
        CHECK_STATUS(blockmem_read(store, KEY("k"), o.buf, huge[i], &o.len), bad);
        CHECK_STATUS(blockmem_read_range(store, KEY("k"), 0, 1, o.buf, huge[i], &o.len), bad);
        CHECK_STATUS(blockmem_list(store, small, huge[i], NULL, 0, 0, &o.page), bad);
        CHECK_STATUS(blockmem_list(store, NULL, 0, small, huge[i], 0, &o.page), bad);
        CHECK_STATUS(blockmem_delete_prefix(store, small, huge[i], &o.u64[0], &o.u64[1]), bad);
    }
    CHECK(outputs_untouched(&o));
    CHECK(counters_are(store, 1, 4));
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, SIZE_MAX, &page), BLOCKMEM_STATUS_OK);
    CHECK(page && page->count == 1 && !page->has_more);
    blockmem_list_page_free(page);
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
    RUN(rule_every_byte_value_makes_a_key);
    RUN(rule_huge_lengths_are_invalid_argument_a_huge_limit_is_none);
    RUN(rule_double_close_and_free_after_close_are_safe);
    RUN(rule_pages_and_pins_are_freed_independently_of_the_store);
    return check_report("test_badinput");
}
