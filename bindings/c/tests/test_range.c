/*
 * Range reads: bytes [offset, min(offset + length, size)), offset == size
 * or length == 0 is empty, offset > size is INVALID_RANGE, offset + length
 * never overflows (it clamps), and the caller-buffer rules apply.
 */
#include "check.h"

#define SIZE 17

static uint8_t block[SIZE];

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

static void rule_range_matches_the_model_for_every_offset_and_length(void)
{
    blockmem_store *store = store_with_block();
    uint8_t buf[SIZE + 8];
    const uint64_t lens[] = {0, 1, 2, 5, 16, 17, 18, 100, UINT64_MAX / 2,
                             UINT64_MAX - 17, UINT64_MAX - 1, UINT64_MAX};
    for (uint64_t off = 0; off <= SIZE + 3; off++) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            uint64_t start = 0, end = 0, len = lens[li];
            size_t n = 12345;
            memset(buf, 0xCC, sizeof buf);
            blockmem_status st =
                blockmem_read_range(store, KEY("r"), off, len, buf, sizeof buf, &n);
            if (!model(SIZE, off, len, &start, &end)) {
                CHECK_STATUS(st, BLOCKMEM_STATUS_INVALID_RANGE);
                CHECK(n == 12345 && buf[0] == 0xCC);
                continue;
            }
            CHECK_STATUS(st, BLOCKMEM_STATUS_OK);
            if (!CHECK(n == end - start))
                fprintf(stderr, "  off=%llu len=%llu: n=%zu want %llu\n",
                        (unsigned long long)off, (unsigned long long)len, n,
                        (unsigned long long)(end - start));
            CHECK(memcmp(buf, block + start, (size_t)(end - start)) == 0);
            CHECK(buf[end - start] == 0xCC); /* nothing past the result */
        }
    }
    CHECK(counters_are(store, 2, SIZE));
    blockmem_store_free(store);
}

static void rule_range_at_the_end_or_of_length_zero_is_empty(void)
{
    blockmem_store *store = store_with_block();
    size_t n = 99;
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), SIZE, 5, NULL, 0, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    n = 99;
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 3, 0, NULL, 0, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    n = 99;
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 0, 0, NULL, 0, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    blockmem_store_free(store);
}

static void rule_range_offset_past_the_end_is_invalid_range(void)
{
    blockmem_store *store = store_with_block();
    uint8_t buf[4] = {7, 7, 7, 7};
    size_t n = 99;
    const uint64_t offs[] = {SIZE + 1, SIZE + 1000, (uint64_t)1 << 32, (uint64_t)1 << 63,
                             UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        CHECK_STATUS(blockmem_read_range(store, KEY("r"), offs[i], 0, buf, sizeof buf, &n),
                     BLOCKMEM_STATUS_INVALID_RANGE);
        CHECK_STATUS(blockmem_read_range(store, KEY("r"), offs[i], UINT64_MAX, buf,
                                         sizeof buf, &n),
                     BLOCKMEM_STATUS_INVALID_RANGE);
    }
    CHECK(n == 99 && buf[0] == 7);
    blockmem_store_free(store);
}

static void rule_range_offset_plus_length_overflow_clamps(void)
{
    blockmem_store *store = store_with_block();
    uint8_t buf[SIZE];
    size_t n = 0;
    /* offset + length wraps past 2^64 in each of these. */
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), 1, UINT64_MAX, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == SIZE - 1 && memcmp(buf, block + 1, SIZE - 1) == 0);
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), SIZE - 1, UINT64_MAX - SIZE + 2, buf,
                                     sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 1 && buf[0] == block[SIZE - 1]);
    CHECK_STATUS(blockmem_read_range(store, KEY("r"), SIZE, UINT64_MAX, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    blockmem_store_free(store);
}

static void rule_range_of_an_empty_block(void)
{
    blockmem_store *store = store_with_block();
    uint8_t buf[4];
    size_t n = 99;
    CHECK_STATUS(blockmem_read_range(store, KEY("empty"), 0, UINT64_MAX, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_OK);
    CHECK(n == 0);
    CHECK_STATUS(blockmem_read_range(store, KEY("empty"), 1, 0, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_INVALID_RANGE);
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

static void rule_range_of_a_missing_key_is_not_found(void)
{
    blockmem_store *store = store_with_block();
    uint8_t buf[4];
    size_t n = 99;
    CHECK_STATUS(blockmem_read_range(store, KEY("nope"), 0, 1, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_read_range(store, KEY("nope"), UINT64_MAX, 1, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(n == 99);
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
    RUN(rule_range_at_the_end_or_of_length_zero_is_empty);
    RUN(rule_range_offset_past_the_end_is_invalid_range);
    RUN(rule_range_offset_plus_length_overflow_clamps);
    RUN(rule_range_of_an_empty_block);
    RUN(rule_range_buffer_too_small_reports_the_clamped_size);
    RUN(rule_range_of_a_missing_key_is_not_found);
    RUN(rule_range_of_a_large_block);
    return check_report("test_range");
}
