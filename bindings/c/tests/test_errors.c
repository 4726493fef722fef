/*
 * Status codes and outputs: a stable message for every code, outputs
 * written only on success (every function on a closed store, and the
 * errors of an open one), and INVALID_ARGUMENT reported before
 * STORE_CLOSED. Which error each operation gives where is in the
 * contract's cases (test_cases).
 */
#include "check.h"

/* The numbers are fixed at compile time in header_c.c; the messages come
 * from the library's one table. */
static void rule_status_str_describes_every_code(void)
{
    /* These two are the Go sentinels' messages, word for word. */
    CHECK(strcmp(blockmem_status_str(BLOCKMEM_STATUS_NOT_FOUND), "block not found") == 0);
    CHECK(strcmp(blockmem_status_str(BLOCKMEM_STATUS_STORE_CLOSED), "store is closed") == 0);
    CHECK(strcmp(blockmem_status_str(BLOCKMEM_STATUS_OK), "ok") == 0);
    for (int32_t s = BLOCKMEM_STATUS_OK; s <= BLOCKMEM_STATUS_PANIC; s++) {
        const char *msg = blockmem_status_str(s);
        if (!CHECK(msg != NULL && msg[0] != '\0' && strcmp(msg, "unknown status") != 0))
            fprintf(stderr, "  status %d has no message\n", (int)s);
        /* Static strings: the same pointer every time. */
        CHECK(blockmem_status_str(s) == msg);
        for (int32_t t = BLOCKMEM_STATUS_OK; t < s; t++)
            CHECK(msg != NULL && strcmp(blockmem_status_str(t), msg) != 0);
    }
}

static void rule_status_str_handles_unknown_codes(void)
{
    const int32_t unknown[] = {-1, BLOCKMEM_STATUS_PANIC + 1, BLOCKMEM_STATUS_PANIC + 2,
                               100, 255, 256, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = blockmem_status_str(unknown[i]);
        CHECK(s != NULL && strcmp(s, "unknown status") == 0);
    }
}

static void rule_outputs_are_written_only_on_success(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    blockmem_store *const sentinel_store = (blockmem_store *)(void *)outputs_sentinel;
    blockmem_store *out_store = sentinel_store;
    blockmem_options opts;
    blockmem_stats st;
    struct outputs o = outputs_preset();

    /* A failed store_new leaves *out_store alone. */
    CHECK_STATUS(blockmem_options_init(&opts), BLOCKMEM_STATUS_OK);
    opts.struct_size = 1;
    CHECK_STATUS(blockmem_store_new(&opts, &out_store), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(out_store == sentinel_store);
    /* So does stats with no handle. */
    memset(&st, 0x5A, sizeof st);
    CHECK_STATUS(blockmem_store_stats(NULL, &st), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(st.block_count == 0x5A5A5A5A5A5A5A5AULL);

    /* The errors of an open store that need no bad argument. (INVALID_KEY
     * and INVALID_ARGUMENT, every function: test_badinput.) */
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("0123456789")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("missing"), o.buf, sizeof o.buf, &o.len),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_read_range(store, KEY("missing"), 0, 1, o.buf, sizeof o.buf, &o.len),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 11, 0, o.buf, sizeof o.buf, &o.len),
                 BLOCKMEM_STATUS_INVALID_RANGE);
    CHECK_STATUS(blockmem_get(store, KEY("missing"), &o.data, &o.len, &o.pin),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_stat(store, KEY("missing"), &o.u64[0]), BLOCKMEM_STATUS_NOT_FOUND);
    /* A NULL out_block: nothing pinned, the other outputs left alone. */
    CHECK_STATUS(blockmem_get(store, KEY("k"), &o.data, &o.len, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(outputs_untouched(&o));

    /* A closed store: every function. */
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    check_every_key_call(store, KEY("k"), BLOCKMEM_STATUS_STORE_CLOSED);
    check_every_store_call(store, BLOCKMEM_STATUS_STORE_CLOSED);
    blockmem_store_free(store);
}

/* A bad call is reported as such even on a closed store: the argument
 * checks come before the closed check. (Key and size checks, too: the
 * contract's cases.) */
static void rule_bad_arguments_are_reported_before_store_closed(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t buf[8];
    const int32_t bad = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    check_every_key_call(store, NULL, 1, bad);
    CHECK_STATUS(blockmem_write(store, KEY("k"), NULL, 1), bad);
    CHECK_STATUS(blockmem_write(store, KEY("k"), buf, (size_t)PTRDIFF_MAX + 1), bad);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, NULL), bad);
    CHECK_STATUS(blockmem_stat(store, KEY("k"), NULL), bad);
    CHECK_STATUS(blockmem_delete_prefix(store, NULL, 1, NULL, NULL), bad);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, NULL), bad);
    blockmem_store_free(store);
}

int main(void)
{
    RUN(rule_status_str_describes_every_code);
    RUN(rule_status_str_handles_unknown_codes);
    RUN(rule_outputs_are_written_only_on_success);
    RUN(rule_bad_arguments_are_reported_before_store_closed);
    return check_report("test_errors");
}
