/*
 * Options and limits: blockmem_options_init, NULL options, stats reporting
 * the limits (after close too), the struct_size versioning of the options
 * struct and of blockmem_cache_stats (older and newer callers, too small a
 * size); and the few rules about limits that the contract's cases
 * (test_cases) do not have yet.
 */
#include <stddef.h>

#include "check.h"

/* ---- limits: what the contract's cases cannot say ----
 *
 * A max_key_len of UINT64_MAX (no Go int holds it), checked by every
 * function that takes a key. */

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
/* ---- the options struct and struct_size ---- */

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

static void rule_stats_keep_the_limits_after_close(void)
{
    blockmem_store *store = new_store(1000, 100, 16);
    blockmem_stats st;
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    memset(&st, 0xEE, sizeof st);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.closed);
    CHECK(st.max_bytes == 1000 && st.max_block_size == 100 && st.max_key_len == 16);
    blockmem_store_free(store);
}

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

/* blockmem_store_cache_stats, versioned like the options: it writes each
 * field that lies wholly within struct_size and nothing past it (an older
 * caller's struct), ignores a newer caller's unknown fields, refuses a
 * struct_size below sizeof(size_t) and NULL pointers, writing nothing,
 * and answers on a closed store. */
static void rule_cache_stats_are_written_up_to_struct_size(void)
{
    blockmem_store *store = new_store_evicting(10, 0, 0, true);
    struct {
        blockmem_cache_stats known;
        uint64_t future_field[2];
    } newer, preset;
    const uint64_t want[4] = {1, 1, 1, 6}; /* hits, misses, evictions, bytes */
    const size_t offsets[4] = {offsetof(blockmem_cache_stats, hits),
                               offsetof(blockmem_cache_stats, misses),
                               offsetof(blockmem_cache_stats, evictions),
                               offsetof(blockmem_cache_stats, evicted_bytes)};
    uint8_t buf[8];
    size_t n = 0;
    CHECK_STATUS(blockmem_write(store, KEY("a"), KEY("aaaaaa")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), KEY("bbbbbb")), BLOCKMEM_STATUS_OK); /* evicts a */
    CHECK_STATUS(blockmem_read(store, KEY("b"), buf, sizeof buf, &n), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("a"), buf, sizeof buf, &n), BLOCKMEM_STATUS_NOT_FOUND);

    for (int closed = 0; closed < 2; closed++) {
        for (size_t sz = sizeof(size_t); sz <= sizeof newer; sz++) {
            memset(&newer, 0x55, sizeof newer);
            newer.known.struct_size = sz;
            preset = newer;
            if (!CHECK_STATUS(blockmem_store_cache_stats(store, &newer.known), BLOCKMEM_STATUS_OK))
                break;
            CHECK(newer.known.struct_size == sz);
            for (int f = 0; f < 4; f++) {
                uint64_t got, untouched;
                memcpy(&got, (const uint8_t *)&newer + offsets[f], sizeof got);
                memcpy(&untouched, (const uint8_t *)&preset + offsets[f], sizeof untouched);
                if (!CHECK(got == (offsets[f] + sizeof got <= sz ? want[f] : untouched)))
                    fprintf(stderr, "  struct_size %zu: field %d reads %llu\n", sz, f,
                            (unsigned long long)got);
            }
            CHECK(memcmp(newer.future_field, preset.future_field, sizeof newer.future_field)
                  == 0);
        }
        for (size_t sz = 0; sz < sizeof(size_t); sz++) {
            memset(&newer, 0x55, sizeof newer);
            newer.known.struct_size = sz;
            preset = newer;
            CHECK_STATUS(blockmem_store_cache_stats(store, &newer.known),
                         BLOCKMEM_STATUS_INVALID_ARGUMENT);
            CHECK(memcmp(&newer, &preset, sizeof newer) == 0);
        }
        CHECK_STATUS(blockmem_store_cache_stats(store, NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(blockmem_store_cache_stats(NULL, &newer.known),
                     BLOCKMEM_STATUS_INVALID_ARGUMENT);
        CHECK(memcmp(&newer, &preset, sizeof newer) == 0);
        CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    }
    blockmem_store_free(store);
}

int main(void)
{
    RUN(rule_max_key_len_caps_every_key_argument);
    RUN(rule_options_init_sets_struct_size_and_no_limits);
    RUN(rule_new_without_options_has_only_the_key_limit);
    RUN(rule_stats_keep_the_limits_after_close);
    RUN(rule_options_from_an_older_caller_are_read_up_to_struct_size);
    RUN(rule_options_from_a_newer_caller_ignore_unknown_fields);
    RUN(rule_struct_size_below_sizeof_size_t_is_invalid_argument);
    RUN(rule_cache_stats_are_written_up_to_struct_size);
    return check_report("test_limits");
}
