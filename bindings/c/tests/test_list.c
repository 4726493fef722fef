/*
 * Listing and prefix deletion checked against a model, beyond the
 * contract's fixed cases (test_cases): on keys that probe byte order and
 * prefix bounds, every listing for a table of prefixes, every limit and a
 * range of start_after keys, and a prefix deletion for each prefix; and a
 * page is a snapshot the caller owns, valid after the store is freed.
 */
#include "check.h"

/* A key as (bytes, length), for the model. */
struct key {
    uint8_t b[8];
    size_t len;
};

static int key_cmp(const void *pa, const void *pb)
{
    const struct key *a = pa, *b = pb;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->b, b->b, m);
    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

static int has_prefix(const struct key *k, const struct key *prefix)
{
    return k->len >= prefix->len && memcmp(k->b, prefix->b, prefix->len) == 0;
}

static int page_key_is(const blockmem_list_page *page, size_t i, const uint8_t *k,
                       size_t len)
{
    size_t l;
    const uint8_t *p = page_key(page, i, &l);
    return l == len && memcmp(p, k, len) == 0;
}

/* Tricky keys for byte order and prefix bounds: NUL and 0xFF bytes,
 * prefixes of each other, bytes above 0x7F (which signed char compares
 * would get wrong). Key i holds i bytes. */
static const struct key keys[] = {
    {{'a'}, 1},
    {{'a', 0x00}, 2},
    {{'a', 0x00, 0x00}, 3},
    {{'a', 0x01}, 2},
    {{'a', 'b'}, 2},
    {{'a', 0x7F}, 2},
    {{'a', 0x80}, 2},
    {{'a', 0xFF}, 2},
    {{'a', 0xFF, 0xFF}, 3},
    {{'a', 0xFF, 0xFF, 0x00}, 4},
    {{'b'}, 1},
    {{0x00}, 1},
    {{0x7F, 'x'}, 2},
    {{0x80}, 1},
    {{0xFF}, 1},
    {{0xFF, 0xFF}, 2},
    {{0xFF, 0xFF, 0xFF}, 3},
    {{'`', 'z'}, 2},
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* The prefixes the model is checked for: empty, stored keys and not,
 * ending in 0x00 or 0xFF, longer than every key, matching nothing. */
static const struct key prefixes[] = {
    {{0}, 0},
    {{'a'}, 1}, {{'a', 0x00}, 2}, {{'a', 0xFF}, 2}, {{'a', 0xFF, 0xFF}, 3}, {{'b'}, 1},
    {{0xFF}, 1}, {{0xFF, 0xFF}, 2}, {{0xFF, 0xFF, 0xFF}, 3}, {{0xFF, 0xFF, 0xFF, 0xFF}, 4},
    {{0x00}, 1}, {{0x80}, 1}, {{0x7F}, 1}, {{'c'}, 1},
};
#define NPREFIXES (sizeof prefixes / sizeof prefixes[0])

static blockmem_store *store_with_keys(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[NKEYS];
    memset(data, 'd', sizeof data);
    /* Written in reverse so the store, not insertion order, sorts them. */
    for (size_t i = NKEYS; i-- > 0;)
        CHECK_STATUS(blockmem_write(store, keys[i].b, keys[i].len, data, i),
                     BLOCKMEM_STATUS_OK);
    return store;
}

static size_t size_of_key(const struct key *k)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (key_cmp(&keys[i], k) == 0)
            return i;
    return SIZE_MAX;
}

/* Checks one listing against the model: every key with the prefix,
 * strictly after start_after, ascending, at most limit, with sizes. */
static void check_listing(const blockmem_store *store, const struct key *prefix,
                          const struct key *after, size_t limit)
{
    struct key sorted[NKEYS], want[NKEYS];
    size_t nwant = 0, total = 0;
    blockmem_list_page *page = NULL;
    memcpy(sorted, keys, sizeof keys);
    qsort(sorted, NKEYS, sizeof sorted[0], key_cmp);
    for (size_t i = 0; i < NKEYS; i++) {
        if (!has_prefix(&sorted[i], prefix))
            continue;
        if (after && key_cmp(&sorted[i], after) <= 0)
            continue;
        total++;
        if (limit == 0 || nwant < limit)
            want[nwant++] = sorted[i];
    }
    if (!CHECK_STATUS(blockmem_list(store, prefix->b, prefix->len, after ? after->b : NULL,
                                    after ? after->len : 0, limit, &page),
                      BLOCKMEM_STATUS_OK))
        return;
    CHECK(page->count == nwant);
    CHECK(page->has_more == (total > nwant));
    CHECK(page->key_offsets[0] == 0);
    for (size_t i = 0; i < nwant && i < page->count; i++) {
        if (!CHECK(page_key_is(page, i, want[i].b, want[i].len)))
            fprintf(stderr, "  prefix len %zu, position %zu\n", prefix->len, i);
        CHECK(page->sizes[i] == size_of_key(&want[i]));
    }
    blockmem_list_page_free(page);
}

/* Every prefix, with every limit (0: none) up to past the number of keys,
 * from the start and after: stored keys (every third, and the first and
 * last), a key between stored ones, a key after all of them. */
static void rule_listing_matches_the_model(void)
{
    blockmem_store *store = store_with_keys();
    struct key sorted[NKEYS];
    const struct key between = {{'a', 0x00, 0x00, 0x00}, 4}; /* not a stored key */
    const struct key after_all = {{0xFF, 0xFF, 0xFF, 0xFF}, 4};
    memcpy(sorted, keys, sizeof keys);
    qsort(sorted, NKEYS, sizeof sorted[0], key_cmp);
    for (size_t p = 0; p < NPREFIXES; p++) {
        for (size_t limit = 0; limit <= NKEYS + 1; limit++) {
            check_listing(store, &prefixes[p], NULL, limit);
            for (size_t i = 0; i < NKEYS; i += 3)
                check_listing(store, &prefixes[p], &sorted[i], limit);
            check_listing(store, &prefixes[p], &sorted[NKEYS - 1], limit);
            check_listing(store, &prefixes[p], &between, limit);
            check_listing(store, &prefixes[p], &after_all, limit);
        }
    }
    blockmem_store_free(store);
}

static void rule_a_page_is_a_snapshot_owned_by_the_caller(void)
{
    blockmem_store *store = store_with_keys();
    blockmem_list_page *page = NULL, *page2 = NULL;
    CHECK_STATUS(blockmem_list(store, KEY("a"), NULL, 0, 0, &page), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_list(store, KEY("a"), NULL, 0, 0, &page2), BLOCKMEM_STATUS_OK);
    size_t count = page->count;
    /* Change the store under the pages. */
    CHECK_STATUS(blockmem_write(store, KEY("a\x01\x02"), KEY("new")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("a"), NULL, NULL), BLOCKMEM_STATUS_OK);
    blockmem_list_page_free(page2); /* pages are independent */
    CHECK(page->count == count && count == 10);
    CHECK(page_key_is(page, 0, (const uint8_t *)"a", 1));
    CHECK(page->sizes[0] == 0);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    blockmem_store_free(store);
    CHECK(page_key_is(page, count - 1, keys[9].b, keys[9].len));
    blockmem_list_page_free(page);
}

static void rule_delete_by_prefix_matches_the_model(void)
{
    for (size_t p = 0; p < NPREFIXES; p++) {
        blockmem_store *store = store_with_keys();
        uint64_t want_blocks = 0, want_bytes = 0, blocks = 0, bytes = 0;
        for (size_t i = 0; i < NKEYS; i++)
            if (has_prefix(&keys[i], &prefixes[p])) {
                want_blocks++;
                want_bytes += i;
            }
        CHECK_STATUS(blockmem_delete_prefix(store, prefixes[p].b, prefixes[p].len, &blocks,
                                            &bytes),
                     BLOCKMEM_STATUS_OK);
        CHECK(blocks == want_blocks && bytes == want_bytes);
        for (size_t i = 0; i < NKEYS; i++) {
            bool exists = false;
            CHECK_STATUS(blockmem_exists(store, keys[i].b, keys[i].len, &exists),
                         BLOCKMEM_STATUS_OK);
            CHECK(exists == !has_prefix(&keys[i], &prefixes[p]));
        }
        uint64_t count = 0, size = 0;
        CHECK(recount(store, 4, &count, &size));
        CHECK(counters_are(store, count, size));
        CHECK(count == NKEYS - want_blocks);
        blockmem_store_free(store);
    }
}

int main(void)
{
    RUN(rule_listing_matches_the_model);
    RUN(rule_a_page_is_a_snapshot_owned_by_the_caller);
    RUN(rule_delete_by_prefix_matches_the_model);
    return check_report("test_list");
}
