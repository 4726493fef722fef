/*
 * Errors: every status code, with its stable number and its message; each
 * produced by the library in the situation docs/CONTRACT.md names; outputs
 * written only on success; on error the store is unchanged; every
 * operation after close returns STORE_CLOSED.
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

/* Each status, produced by the library where docs/CONTRACT.md says it occurs.
 * (PANIC: test_panic.c; OUT_OF_MEMORY: test_oom.c.) */
static void rule_each_error_is_returned_where_the_contract_says(void)
{
    blockmem_store *store = new_store(100, 50, 8);
    uint8_t data[60] = {0}, buf[4];
    size_t n = 0;

    CHECK_STATUS(blockmem_write(store, KEY("k"), data, 10), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("absent"), buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_write(store, KEY("123456789"), data, 1),
                 BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_write(store, NULL, 0, data, 1), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 11, 1, buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_INVALID_RANGE);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_BUFFER_TOO_SMALL);
    CHECK(n == 10);
    CHECK_STATUS(blockmem_write(store, KEY("big"), data, 51),
                 BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 50), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), data, 41), BLOCKMEM_STATUS_STORE_FULL);
    CHECK_STATUS(blockmem_write(NULL, KEY("k"), data, 1),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_store_new(NULL, NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("k"), data, 1), BLOCKMEM_STATUS_STORE_CLOSED);
    blockmem_store_free(store);
}

static void rule_outputs_are_written_only_on_success(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    blockmem_store *sentinel_store = (blockmem_store *)(uintptr_t)0x1234;
    blockmem_store *out_store = sentinel_store;
    blockmem_list_page *sentinel_page = (blockmem_list_page *)(uintptr_t)0x5678;
    blockmem_list_page *page = sentinel_page;
    blockmem_block *sentinel_block = (blockmem_block *)(uintptr_t)0x9abc;
    blockmem_block *pin = sentinel_block;
    static const uint8_t sentinel_data[] = "sentinel";
    const uint8_t *data = sentinel_data;
    size_t n = 777;
    uint64_t size = 777, blocks = 777, bytes = 777;
    bool flag = true;
    blockmem_options opts;
    blockmem_stats st;

    /* A failed store_new leaves *out_store alone. */
    CHECK_STATUS(blockmem_options_init(&opts), BLOCKMEM_STATUS_OK);
    opts.struct_size = 1;
    CHECK_STATUS(blockmem_store_new(&opts, &out_store), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(out_store == sentinel_store);

    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("0123456789")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("missing"), NULL, 0, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(n == 777);
    CHECK_STATUS(blockmem_read_range(store, KEY("k"), 11, 0, NULL, 0, &n),
                 BLOCKMEM_STATUS_INVALID_RANGE);
    CHECK(n == 777);
    CHECK_STATUS(blockmem_read(store, KEY(""), NULL, 0, &n), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(n == 777);
    CHECK_STATUS(blockmem_stat(store, KEY("missing"), &size), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(size == 777);
    CHECK_STATUS(blockmem_exists(store, KEY(""), &flag), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(flag == true);
    CHECK_STATUS(blockmem_get(store, KEY("missing"), &data, &n, &pin),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(data == sentinel_data && n == 777 && pin == sentinel_block);
    /* NULL out_block: nothing is pinned, the other outputs stay alone. */
    CHECK_STATUS(blockmem_get(store, KEY("k"), &data, &n, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(data == sentinel_data && n == 777);
    CHECK_STATUS(blockmem_delete(store, KEY(""), &flag), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(flag == true);

    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &page),
                 BLOCKMEM_STATUS_STORE_CLOSED);
    CHECK(page == sentinel_page);
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("k"), &blocks, &bytes),
                 BLOCKMEM_STATUS_STORE_CLOSED);
    CHECK(blocks == 777 && bytes == 777);
    CHECK_STATUS(blockmem_stat(store, KEY("k"), &size), BLOCKMEM_STATUS_STORE_CLOSED);
    CHECK(size == 777);
    memset(&st, 0x5A, sizeof st);
    CHECK_STATUS(blockmem_store_stats(NULL, &st), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(st.block_count == 0x5A5A5A5A5A5A5A5AULL);
    blockmem_store_free(store);
}

/* Snapshot of a small store for "nothing changed" checks. */
struct snapshot {
    uint64_t count, size;
    uint8_t a[64], b[64];
    size_t a_len, b_len;
};

static void take(const blockmem_store *store, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->count = blockmem_block_count(store);
    s->size = blockmem_total_size(store);
    if (blockmem_read(store, KEY("a"), s->a, sizeof s->a, &s->a_len) != BLOCKMEM_STATUS_OK)
        s->a_len = SIZE_MAX;
    if (blockmem_read(store, KEY("b"), s->b, sizeof s->b, &s->b_len) != BLOCKMEM_STATUS_OK)
        s->b_len = SIZE_MAX;
}

static int same(const struct snapshot *x, const struct snapshot *y)
{
    return memcmp(x, y, sizeof *x) == 0;
}

static void rule_on_any_error_nothing_changes(void)
{
    blockmem_store *store = new_store(100, 40, 4);
    struct snapshot before, after;
    uint8_t data[64];
    memset(data, 'q', sizeof data);
    CHECK_STATUS(blockmem_write(store, KEY("a"), KEY("alpha")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("b"), data, 40), BLOCKMEM_STATUS_OK);
    take(store, &before);
    CHECK(before.count == 2 && before.size == 45);

    /* Each failing write, including failing replacements of "a". */
    CHECK_STATUS(blockmem_write(store, KEY("toolong"), data, 1), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 41), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_write(store, KEY("c"), data, 40), BLOCKMEM_STATUS_OK);
    take(store, &before);
    CHECK_STATUS(blockmem_write(store, KEY("a"), data, 21), BLOCKMEM_STATUS_STORE_FULL);
    CHECK_STATUS(blockmem_write(store, KEY("d"), data, 16), BLOCKMEM_STATUS_STORE_FULL);
    CHECK_STATUS(blockmem_write(store, KEY("a"), NULL, 5), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_write(store, NULL, 1, data, 5), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    take(store, &after);
    CHECK(same(&before, &after));
    /* Failing reads, deletes and listings change nothing either. */
    CHECK_STATUS(blockmem_delete(store, KEY(""), NULL), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_delete(store, NULL, 3, NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_delete_prefix(store, NULL, 1, NULL, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_list(store, KEY("a"), NULL, 0, 0, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    take(store, &after);
    CHECK(same(&before, &after));
    CHECK(after.count == 3 && after.size == 85);
    blockmem_store_free(store);
}

static void rule_every_operation_after_close_returns_store_closed(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    blockmem_stats st;
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("v")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    check_every_key_call(store, KEY("k"), BLOCKMEM_STATUS_STORE_CLOSED);
    check_every_store_call(store, BLOCKMEM_STATUS_STORE_CLOSED);
    /* These still answer: close is idempotent, counters read 0. */
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_store_stats(store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.closed && st.block_count == 0 && st.total_size == 0);
    CHECK(blockmem_block_count(store) == 0 && blockmem_total_size(store) == 0);
    blockmem_store_free(store);
}

/* A bad call is reported as such even on a closed store: argument and key
 * checks come before the closed check. */
static void rule_bad_arguments_are_reported_before_store_closed(void)
{
    blockmem_store *store = new_store(0, 4, 3);
    uint8_t buf[8];
    size_t n = 0;
    uint64_t u = 0;
    blockmem_list_page *page = NULL;
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY(""), KEY("v")), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_write(store, KEY("long"), KEY("v")), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("12345")), BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_write(store, KEY("k"), NULL, 1), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_write(store, KEY("k"), buf, (size_t)PTRDIFF_MAX + 1),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_read(store, KEY("k"), buf, sizeof buf, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_read(store, KEY(""), buf, sizeof buf, &n), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_stat(store, KEY("k"), NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_delete(store, NULL, 1, NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_delete_prefix(store, NULL, 1, &u, &u),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, NULL),
                 BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &page), BLOCKMEM_STATUS_STORE_CLOSED);
    blockmem_store_free(store);
}

int main(void)
{
    RUN(rule_status_str_describes_every_code);
    RUN(rule_status_str_handles_unknown_codes);
    RUN(rule_each_error_is_returned_where_the_contract_says);
    RUN(rule_outputs_are_written_only_on_success);
    RUN(rule_on_any_error_nothing_changes);
    RUN(rule_every_operation_after_close_returns_store_closed);
    RUN(rule_bad_arguments_are_reported_before_store_closed);
    return check_report("test_errors");
}
