/*
 * Range reads beyond the contract's fixed cases (test_cases): a model of
 * bytes [offset, min(offset + length, size)) checked on a block and on an
 * empty one for every offset up to past the end and many huge ones, each
 * against lengths up to UINT64_MAX; the C call's buffer capacity apart from
 * the length (too small a buffer reports the clamped size); offsets past 16
 * bits in a 1 MiB block.
 */
#include "check.h"

#define SIZE 17

static uint8_t block[SIZE];

/* The store the rules read: "r" holds block, "empty" nothing. */
static blockmem_store *store_with_block(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    fill_sequence(block, SIZE, 0xA0, 1);
    CHECK_STATUS(blockmem_write(store, KEY("r"), block, SIZE), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("empty"), NULL, 0), BLOCKMEM_STATUS_OK);
    return store;
}

/* The model: what a range read must return. */
static int model(uint64_t size, uint64_t off, uint64_t len, uint64_t *start,
                 uint64_t *end)
{
    if (off > size)
        return 0;
    *start = off;
    *end = len > size - off ? size : off + len; /* no overflow */
    return 1;
}

/* One read of key (holding data[0..size)) checked against the model: the
 * bytes and the length, nothing written past them, and on INVALID_RANGE
 * nothing written at all. */
static void check_range(const blockmem_store *store, const uint8_t *key, size_t key_len,
                        const uint8_t *data, uint64_t size, uint64_t off, uint64_t len)
{
    uint8_t buf[SIZE + 8];
    uint64_t start = 0, end = 0;
    size_t n = 12345;
    memset(buf, 0xCC, sizeof buf);
    blockmem_status st = blockmem_read_range(store, key, key_len, off, len, buf, sizeof buf, &n);
    if (!model(size, off, len, &start, &end)) {
        CHECK_STATUS(st, BLOCKMEM_STATUS_INVALID_RANGE);
        CHECK(n == 12345 && all_bytes_are(buf, sizeof buf, 0xCC));
        return;
    }
    CHECK_STATUS(st, BLOCKMEM_STATUS_OK);
    if (!CHECK(n == end - start))
        fprintf(stderr, "  size=%llu off=%llu len=%llu: n=%zu want %llu\n",
                (unsigned long long)size, (unsigned long long)off, (unsigned long long)len, n,
                (unsigned long long)(end - start));
    CHECK(n != end - start || memcmp(buf, data + start, n) == 0);
    CHECK(all_bytes_are(buf + (end - start), sizeof buf - (size_t)(end - start), 0xCC));
}

/* Every length of the list at one offset, on both blocks. */
static void check_offset(const blockmem_store *store, uint64_t off)
{
    static const uint64_t lens[] = {0, 1, 2, 5, 16, 17, 18, 100, UINT64_MAX / 2,
                                    UINT64_MAX - 17, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        check_range(store, KEY("r"), block, SIZE, off, lens[i]);
        check_range(store, KEY("empty"), block, 0, off, lens[i]);
    }
}

static void rule_range_matches_the_model_for_every_offset_and_length(void)
{
    blockmem_store *store = store_with_block();
    static const uint64_t huge_offs[] = {SIZE + 1000, (uint64_t)1 << 32, (uint64_t)1 << 63,
                                         UINT64_MAX - 1, UINT64_MAX};
    for (uint64_t off = 0; off <= SIZE + 3; off++)
        check_offset(store, off);
    for (size_t i = 0; i < sizeof huge_offs / sizeof huge_offs[0]; i++)
        check_offset(store, huge_offs[i]);
    blockmem_store_free(store);
}

static void rule_range_buffer_too_small_reports_the_clamped_size(void)
{
    blockmem_store *store = store_with_block();
    uint8_t buf[SIZE];
    size_t n = 0;
    memset(buf, 0xCC, sizeof buf);
    /* 10 bytes wanted, 9 available: nothing written, 10 reported. */
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 2, 10, buf, 9, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 10);
    /* Clamped: [5, 17) needs 12, not UINT64_MAX. */
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 5, UINT64_MAX, buf, 11, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 12);
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 5, UINT64_MAX, NULL, 0, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 12);
    CHECK(all_bytes_are(buf, sizeof buf, 0xCC));
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 5, UINT64_MAX, buf, n, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 12 && memcmp(buf, block + 5, 12) == 0);
    blockmem_store_free(store);
}

static void rule_range_of_a_large_block(void)
{
    /* Offsets past 4 GiB are not needed for correctness, but a 1 MiB block
     * exercises offsets beyond 16 bits and a copy of real size. */
    enum { BIG = 1 << 20 };
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t *data = malloc(BIG), *buf = malloc(BIG);
    size_t n = 0;
    if (!CHECK(data && buf))
        goto out;
    for (size_t i = 0; i < BIG; i++)
        data[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 16));
    CHECK_STATUS(blockmem_write(store, KEY("big"), data, BIG), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read_range(store, KEY("big"), BIG / 2, 65536, buf, BIG, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 65536 && memcmp(buf, data + BIG / 2, n) == 0);
    CHECK_STATUS(blockmem_read_range(store, KEY("big"), BIG - 3, 65536, buf, BIG, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 3 && memcmp(buf, data + BIG - 3, 3) == 0);
    CHECK_STATUS(blockmem_read(store, KEY("big"), buf, BIG, &n), BLOCKMEM_STATUS_OK);
    CHECK(n == BIG && memcmp(buf, data, BIG) == 0);
out:
    free(data);
    free(buf);
    blockmem_store_free(store);
}

int main(void)
{
    RUN(rule_range_matches_the_model_for_every_offset_and_length);
    RUN(rule_range_buffer_too_small_reports_the_clamped_size);
    RUN(rule_range_of_a_large_block);
    return check_report("test_range");
}
