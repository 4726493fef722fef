/*
 * Listing and prefix deletion: ascending byte order, byte-wise prefixes
 * (the empty prefix matches everything), pages with limit, start_after and
 * has_more, sizes, and pages that are snapshots owned by the caller.
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

static int has_prefix(const struct key *k, const uint8_t *p, size_t plen)
{
    return k->len >= plen && (plen == 0 || memcmp(k->b, p, plen) == 0);
}

static int page_key_is(const blockmem_list_page *page, size_t i, const uint8_t *k,
                       size_t len)
{
    size_t l = page->key_offsets[i + 1] - page->key_offsets[i];
    return l == len && (len == 0 || memcmp(page->keys + page->key_offsets[i], k, len) == 0);
}

/* Tricky keys for byte order and prefix bounds: NUL and 0xFF bytes,
 * prefixes of each other, bytes above 0x7F (which signed char compares
 * would get wrong). */
static struct key keys[] = {
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
        if (keys[i].len == k->len && memcmp(keys[i].b, k->b, k->len) == 0)
            return i;
    return SIZE_MAX;
}

/* Checks one listing against the model: every key with the prefix,
 * strictly after start_after, ascending, at most limit, with sizes. */
static void check_listing(const blockmem_store *store, const uint8_t *prefix,
                          size_t plen, const struct key *after, size_t limit)
{
    struct key sorted[NKEYS], want[NKEYS];
    size_t nwant = 0, total = 0;
    blockmem_list_page *page = NULL;
    memcpy(sorted, keys, sizeof keys);
    qsort(sorted, NKEYS, sizeof sorted[0], key_cmp);
    for (size_t i = 0; i < NKEYS; i++) {
        if (!has_prefix(&sorted[i], prefix, plen))
            continue;
        if (after && key_cmp(&sorted[i], after) <= 0)
            continue;
        total++;
        if (limit == 0 || nwant < limit)
            want[nwant++] = sorted[i];
    }
    if (!CHECK_STATUS(blockmem_list(store, prefix, plen, after ? after->b : NULL,
                                    after ? after->len : 0, limit, &page),
                      BLOCKMEM_STATUS_OK))
        return;
    CHECK(page->count == nwant);
    CHECK(page->has_more == (total > nwant));
    CHECK(page->key_offsets[0] == 0);
    for (size_t i = 0; i < nwant && i < page->count; i++) {
        if (!CHECK(page_key_is(page, i, want[i].b, want[i].len)))
            fprintf(stderr, "  prefix len %zu, position %zu\n", plen, i);
        CHECK(page->sizes[i] == size_of_key(&want[i]));
    }
    blockmem_list_page_free(page);
}

static void rule_list_is_in_ascending_byte_order(void)
{
    blockmem_store *store = store_with_keys();
    check_listing(store, NULL, 0, NULL, 0);
    uint64_t count = 0, size = 0;
    CHECK(recount(store, 1, &count, &size)); /* also checks the order */
    CHECK(count == NKEYS);
    blockmem_store_free(store);
}

static void rule_prefix_is_compared_bytewise(void)
{
    blockmem_store *store = store_with_keys();
    static const uint8_t p_a[] = {'a'}, p_a0[] = {'a', 0x00}, p_aff[] = {'a', 0xFF},
                         p_affff[] = {'a', 0xFF, 0xFF}, p_ff[] = {0xFF},
                         p_ffff[] = {0xFF, 0xFF}, p_ffffff[] = {0xFF, 0xFF, 0xFF},
                         p_ffffffff[] = {0xFF, 0xFF, 0xFF, 0xFF}, p_0[] = {0x00},
                         p_80[] = {0x80}, p_7f[] = {0x7F}, p_c[] = {'c'};
    const struct {
        const uint8_t *p;
        size_t len;
    } prefixes[] = {
        {p_a, 1},   {p_a0, 2},    {p_aff, 2}, {p_affff, 3}, {p_ff, 1},
        {p_ffff, 2}, {p_ffffff, 3}, {p_ffffffff, 4}, {p_0, 1}, {p_80, 1},
        {p_7f, 1},  {p_c, 1},
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        check_listing(store, prefixes[i].p, prefixes[i].len, NULL, 0);
    blockmem_store_free(store);
}

static void rule_empty_prefix_matches_every_key(void)
{
    blockmem_store *store = store_with_keys();
    blockmem_list_page *page = NULL;
    CHECK_STATUS(blockmem_list(store, (const uint8_t *)"", 0, NULL, 0, 0, &page),
                 BLOCKMEM_STATUS_OK);
    CHECK(page && page->count == NKEYS && !page->has_more);
    blockmem_list_page_free(page);
    blockmem_store_free(store);
}

static void rule_no_match_is_an_empty_page(void)
{
    blockmem_store *store = store_with_keys();
    blockmem_list_page *page = NULL;
    CHECK_STATUS(blockmem_list(store, KEY("zzz"), NULL, 0, 0, &page), BLOCKMEM_STATUS_OK);
    CHECK(page != NULL && page->count == 0 && !page->has_more);
    CHECK(page && page->key_offsets && page->key_offsets[0] == 0);
    blockmem_list_page_free(page);
    blockmem_store_free(store);

    store = new_store(0, 0, 0); /* an empty store */
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 10, &page), BLOCKMEM_STATUS_OK);
    CHECK(page != NULL && page->count == 0 && !page->has_more);
    blockmem_list_page_free(page);
    blockmem_store_free(store);
}

static void rule_pages_follow_limit_start_after_and_has_more(void)
{
    blockmem_store *store = store_with_keys();
    struct key sorted[NKEYS];
    struct key between = {{'a', 0x00, 0x00, 0x00}, 4}; /* not a stored key */
    struct key after_all = {{0xFF, 0xFF, 0xFF, 0xFF}, 4};
    memcpy(sorted, keys, sizeof keys);
    qsort(sorted, NKEYS, sizeof sorted[0], key_cmp);
    for (size_t limit = 0; limit <= NKEYS + 1; limit++) {
        check_listing(store, NULL, 0, NULL, limit);
        check_listing(store, (const uint8_t *)"a", 1, NULL, limit);
        /* start_after a stored key excludes it (strictly after). */
        for (size_t i = 0; i < NKEYS; i += 3)
            check_listing(store, NULL, 0, &sorted[i], limit);
        check_listing(store, NULL, 0, &between, limit);
        check_listing(store, (const uint8_t *)"a", 1, &between, limit);
        check_listing(store, NULL, 0, &after_all, limit);
        /* start_after below the prefix starts at the prefix; above it,
         * nothing. */
        check_listing(store, (const uint8_t *)"b", 1, &sorted[0], limit);
        check_listing(store, (const uint8_t *)"a", 1, &sorted[NKEYS - 1], limit);
    }
    blockmem_store_free(store);
}

static void rule_paging_visits_every_key_once(void)
{
    enum { N = 200 };
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t data[N];
    char name[32];
    memset(data, 1, sizeof data);
    for (int i = N - 1; i >= 0; i--) {
        int len = snprintf(name, sizeof name, "dir/%05d", i * 7 % N);
        CHECK_STATUS(blockmem_write(store, (const uint8_t *)name, (size_t)len, data,
                                    (size_t)(i * 7 % N)),
                     BLOCKMEM_STATUS_OK);
    }
    CHECK_STATUS(blockmem_write(store, KEY("dis"), data, 1), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("dir"), data, 1), BLOCKMEM_STATUS_OK);
    for (size_t limit = 1; limit <= 64; limit = limit * 2 + 1) {
        uint8_t last[32];
        size_t last_len = 0, seen = 0, pages = 0;
        for (;;) {
            blockmem_list_page *page = NULL;
            if (!CHECK_STATUS(blockmem_list(store, KEY("dir/"), last, last_len, limit,
                                            &page),
                              BLOCKMEM_STATUS_OK))
                break;
            pages++;
            CHECK(page->count <= limit);
            for (size_t i = 0; i < page->count; i++) {
                int len = snprintf(name, sizeof name, "dir/%05zu", seen);
                CHECK(page_key_is(page, i, (const uint8_t *)name, (size_t)len));
                CHECK(page->sizes[i] == seen);
                seen++;
            }
            if (page->count > 0) {
                last_len = page->key_offsets[page->count];
                last_len -= page->key_offsets[page->count - 1];
                memcpy(last, page->keys + page->key_offsets[page->count - 1], last_len);
            }
            bool more = page->has_more;
            size_t count = page->count;
            blockmem_list_page_free(page);
            if (!more || !CHECK(count > 0))
                break;
            if (!CHECK(pages <= N)) /* not making progress */
                break;
        }
        CHECK(seen == N);
        CHECK(pages == (N + limit - 1) / limit);
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

static void rule_delete_by_prefix_removes_exactly_the_matching_keys(void)
{
    static const uint8_t p_aff[] = {'a', 0xFF}, p_ff[] = {0xFF, 0xFF}, p_a0[] = {'a', 0x00};
    const struct {
        const uint8_t *p;
        size_t len;
    } prefixes[] = {{p_aff, 2}, {p_ff, 2}, {p_a0, 2}, {(const uint8_t *)"a", 1},
                    {(const uint8_t *)"", 0}};
    for (size_t t = 0; t < sizeof prefixes / sizeof prefixes[0]; t++) {
        blockmem_store *store = store_with_keys();
        uint64_t want_blocks = 0, want_bytes = 0, blocks = 0, bytes = 0;
        for (size_t i = 0; i < NKEYS; i++)
            if (has_prefix(&keys[i], prefixes[t].p, prefixes[t].len)) {
                want_blocks++;
                want_bytes += i;
            }
        CHECK_STATUS(blockmem_delete_prefix(store, prefixes[t].p, prefixes[t].len, &blocks,
                                            &bytes),
                     BLOCKMEM_STATUS_OK);
        CHECK(blocks == want_blocks && bytes == want_bytes);
        for (size_t i = 0; i < NKEYS; i++) {
            bool exists = false;
            CHECK_STATUS(blockmem_exists(store, keys[i].b, keys[i].len, &exists),
                         BLOCKMEM_STATUS_OK);
            CHECK(exists == !has_prefix(&keys[i], prefixes[t].p, prefixes[t].len));
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
    RUN(rule_list_is_in_ascending_byte_order);
    RUN(rule_prefix_is_compared_bytewise);
    RUN(rule_empty_prefix_matches_every_key);
    RUN(rule_no_match_is_an_empty_page);
    RUN(rule_pages_follow_limit_start_after_and_has_more);
    RUN(rule_paging_visits_every_key_once);
    RUN(rule_a_page_is_a_snapshot_owned_by_the_caller);
    RUN(rule_delete_by_prefix_removes_exactly_the_matching_keys);
    return check_report("test_list");
}
