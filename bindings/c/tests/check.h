/*
 * A tiny test harness shared by the C test programs.
 *
 * CHECK(cond) and CHECK_STATUS(call, want) count every check and report
 * failures with file, line and the rule being tested, and carry on so one
 * run shows every broken rule. They are safe to use from several threads.
 * CHECK_STATUS also records which statuses the library actually returned,
 * so the runner can prove that the suite produces every status code.
 *
 * A test program defines one function per contract rule, named after the
 * rule, and calls them with RUN(rule_...) from main(), which ends with
 * `return check_report("test_name");`.
 */
#ifndef BLOCKMEM_TEST_CHECK_H
#define BLOCKMEM_TEST_CHECK_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <blockmem.h>

static atomic_ulong check_count;
static atomic_ulong check_failures;
static atomic_uint check_statuses_seen; /* bit n set: status n returned */
static unsigned long check_tests;
static const char *check_rule = "(none)";

static inline int check_fail_(const char *file, int line)
{
    unsigned long n = atomic_fetch_add(&check_failures, 1) + 1;
    if (n > 50)
        return 0; /* enough detail; the count still goes up */
    fprintf(stderr, "FAIL %s:%d in %s: ", file, line, check_rule);
    return 1;
}

static inline int check_(int ok, const char *expr, const char *file, int line)
{
    atomic_fetch_add(&check_count, 1);
    if (!ok && check_fail_(file, line))
        fprintf(stderr, "%s\n", expr);
    return ok;
}

static inline int check_status_(int32_t got, int32_t want, const char *expr,
                         const char *file, int line)
{
    atomic_fetch_add(&check_count, 1);
    if (got >= 0 && got < 32)
        atomic_fetch_or(&check_statuses_seen, 1u << got);
    if (got != want) {
        if (check_fail_(file, line))
            fprintf(stderr, "%s returned \"%s\" (%d), want \"%s\" (%d)\n", expr,
                    blockmem_status_str(got), (int)got, blockmem_status_str(want),
                    (int)want);
        return 0;
    }
    return 1;
}

/* Records a status returned by a call whose result is checked by hand
 * (for example in stress loops that accept several outcomes). */
static inline void check_saw_status(int32_t got)
{
    if (got >= 0 && got < 32)
        atomic_fetch_or(&check_statuses_seen, 1u << got);
}

#define CHECK(cond) check_(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_STATUS(call, want)                                              \
    check_status_((int32_t)(call), (int32_t)(want), #call, __FILE__, __LINE__)
/* Unconditional failure with a printf-style message. */
#define CHECK_FAILF(...)                                                      \
    do {                                                                      \
        atomic_fetch_add(&check_count, 1);                                    \
        if (check_fail_(__FILE__, __LINE__)) {                                \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

#define RUN(rule)                                                             \
    do {                                                                      \
        unsigned long before_ = atomic_load(&check_count);                    \
        unsigned long failed_ = atomic_load(&check_failures);                 \
        check_rule = #rule;                                                   \
        check_tests++;                                                        \
        rule();                                                               \
        printf("  %-4s %s (%lu checks)\n",                                    \
               atomic_load(&check_failures) == failed_ ? "ok" : "FAIL", #rule, \
               atomic_load(&check_count) - before_);                          \
        fflush(stdout);                                                       \
    } while (0)

/* Prints the summary lines the runner parses; returns the exit status. */
static inline int check_report(const char *program)
{
    unsigned seen = atomic_load(&check_statuses_seen);
    unsigned long failures = atomic_load(&check_failures);
    printf("%s: %lu tests, %lu checks, %lu failures\n", program, check_tests,
           atomic_load(&check_count), failures);
    printf("statuses:");
    for (int s = 0; s < 32; s++)
        if (seen & (1u << s))
            printf(" %d", s);
    printf("\n");
    fflush(stdout);
    return failures == 0 ? 0 : 1;
}

/* ---- helpers shared by the tests ---- */

/* A string literal as a (pointer, length) key, without its NUL. */
#define KEY(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

/* Creates a store with the given limits (0 = none / default), in cache
 * mode if evict, or exits: every test needs one. */
static inline blockmem_store *new_store_evicting(uint64_t max_bytes, uint64_t max_block_size,
                                                 uint64_t max_key_len, bool evict)
{
    blockmem_options opts;
    blockmem_store *store = NULL;
    if (blockmem_options_init(&opts) != BLOCKMEM_STATUS_OK) {
        fprintf(stderr, "blockmem_options_init failed\n");
        exit(2);
    }
    opts.max_bytes = max_bytes;
    opts.max_block_size = max_block_size;
    opts.max_key_len = max_key_len;
    opts.evict = evict;
    if (blockmem_store_new(&opts, &store) != BLOCKMEM_STATUS_OK || !store) {
        fprintf(stderr, "blockmem_store_new failed\n");
        exit(2);
    }
    return store;
}

/* A store with the given limits (0 = none / default), or exits. */
static inline blockmem_store *new_store(uint64_t max_bytes, uint64_t max_block_size,
                                        uint64_t max_key_len)
{
    return new_store_evicting(max_bytes, max_block_size, max_key_len, false);
}

/* Fills buf[0..len) with first, first + step, first + 2 * step, ...
 * (modulo 256): distinct, recognisable bytes for copies to be checked. */
static inline void fill_sequence(uint8_t *buf, size_t len, uint8_t first, uint8_t step)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(first + i * step);
}

/* Whether every byte of buf[0..len) is `byte` (a canary left untouched). */
static inline int all_bytes_are(const uint8_t *buf, size_t len, uint8_t byte)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != byte)
            return 0;
    return 1;
}

/* Whether the block under key holds exactly want[0..want_len). */
static inline int block_equals(const blockmem_store *store, const uint8_t *key,
                        size_t key_len, const void *want, size_t want_len)
{
    size_t cap = want_len ? want_len : 1;
    uint8_t *buf = malloc(cap);
    size_t n = 0;
    int ok;
    if (!buf)
        return 0;
    ok = blockmem_read(store, key, key_len, buf, cap, &n) == BLOCKMEM_STATUS_OK
         && n == want_len && (want_len == 0 || memcmp(buf, want, n) == 0);
    free(buf);
    return ok;
}

/* Whether the counters read (count, size), through both the single-value
 * getters and blockmem_store_stats. */
static inline int counters_are(const blockmem_store *store, uint64_t count,
                        uint64_t size)
{
    blockmem_stats st;
    memset(&st, 0xA5, sizeof st);
    return blockmem_block_count(store) == count
           && blockmem_total_size(store) == size
           && blockmem_store_stats(store, &st) == BLOCKMEM_STATUS_OK
           && st.block_count == count && st.total_size == size;
}

/* Key i of a page: its bytes, and its length in *len. */
static inline const uint8_t *page_key(const blockmem_list_page *page, size_t i, size_t *len)
{
    *len = page->key_offsets[i + 1] - page->key_offsets[i];
    return page->keys + page->key_offsets[i];
}

/* A walk over a listing by pages, as a caller resumes one: `last` is the
 * last key seen, which the next page starts after (its start_after). */
struct walk {
    uint8_t last[BLOCKMEM_DEFAULT_MAX_KEY_LEN];
    size_t last_len; /* 0: no key seen yet (keys are never empty) */
};

/* Takes k as the walk's next key: returns whether it sorts strictly after
 * the one before (the first key always does) and fits in `last`, which it
 * becomes. */
static inline int walk_key(struct walk *w, const uint8_t *k, size_t klen)
{
    size_t m = klen < w->last_len ? klen : w->last_len;
    int order = memcmp(w->last, k, m);
    int after = w->last_len == 0 || order < 0 || (order == 0 && w->last_len < klen);
    if (klen > sizeof w->last)
        return 0;
    memcpy(w->last, k, klen);
    w->last_len = klen;
    return after;
}

/* Counts blocks and bytes by listing every key (pages of page_limit),
 * checking order on the way. Returns 0 if listing failed, or a key was out
 * of order or longer than BLOCKMEM_DEFAULT_MAX_KEY_LEN. */
static inline int recount(const blockmem_store *store, size_t page_limit,
                   uint64_t *out_count, uint64_t *out_size)
{
    struct walk walk = {.last_len = 0};
    uint64_t count = 0, size = 0;
    int ok = 1, more = 1;
    while (ok && more) {
        blockmem_list_page *page = NULL;
        if (blockmem_list(store, NULL, 0, walk.last, walk.last_len, page_limit, &page)
            != BLOCKMEM_STATUS_OK) {
            ok = 0;
            break;
        }
        for (size_t i = 0; ok && i < page->count; i++) {
            size_t klen;
            const uint8_t *k = page_key(page, i, &klen);
            ok = walk_key(&walk, k, klen); /* strictly ascending */
            count++;
            size += page->sizes[i];
        }
        more = page->has_more;
        if (more && page->count == 0)
            ok = 0; /* "more" with an empty page would never end */
        blockmem_list_page_free(page);
    }
    *out_count = count;
    *out_size = size;
    return ok;
}

/* ---- the call matrices shared by the error tests ----
 *
 * Many rules hold for every function of a kind (a NULL handle, a closed
 * store, a bad key): these call each such function once, with valid other
 * arguments, and check the status. On an error every output must stay as
 * it was and nothing may be pinned or reserved. */

/* One of every kind of output the functions write, preset to values that
 * no successful call writes, so that outputs_untouched tells whether a
 * failed call wrote any of them. */
struct outputs {
    uint8_t buf[8];
    size_t len;
    uint64_t u64[2];
    bool flag;
    const uint8_t *data;
    uint8_t *writable;
    blockmem_block *pin;
    blockmem_reservation *reservation;
    blockmem_list_page *page;
};

/* What the preset pointers point at: not NULL, so that a failed call
 * writing NULL is caught too. */
static uint8_t outputs_sentinel[1];

static inline struct outputs outputs_preset(void)
{
    struct outputs o = {.len = 7, .u64 = {7, 7}, .flag = true};
    memset(o.buf, 0xCC, sizeof o.buf);
    o.data = o.writable = outputs_sentinel;
    o.pin = (blockmem_block *)(void *)outputs_sentinel;
    o.reservation = (blockmem_reservation *)(void *)outputs_sentinel;
    o.page = (blockmem_list_page *)(void *)outputs_sentinel;
    return o;
}

static inline int outputs_untouched(const struct outputs *o)
{
    struct outputs preset = outputs_preset();
    return all_bytes_are(o->buf, sizeof o->buf, 0xCC) && o->len == preset.len
           && o->u64[0] == preset.u64[0] && o->u64[1] == preset.u64[1]
           && o->flag == preset.flag && o->data == preset.data
           && o->writable == preset.writable && o->pin == preset.pin
           && o->reservation == preset.reservation && o->page == preset.page;
}

/* Every function that takes the handle and a key, with (key, key_len). */
static inline void check_every_key_call(const blockmem_store *store, const uint8_t *key,
                                        size_t key_len, int32_t want)
{
    struct outputs o = outputs_preset();
    CHECK_STATUS(blockmem_write(store, key, key_len, KEY("v")), want);
    CHECK_STATUS(blockmem_read(store, key, key_len, o.buf, sizeof o.buf, &o.len), want);
    CHECK_STATUS(blockmem_read_range(store, key, key_len, 0, 1, o.buf, sizeof o.buf, &o.len),
                 want);
    CHECK_STATUS(blockmem_get(store, key, key_len, &o.data, &o.len, &o.pin), want);
    CHECK_STATUS(blockmem_stat(store, key, key_len, &o.u64[0]), want);
    CHECK_STATUS(blockmem_exists(store, key, key_len, &o.flag), want);
    CHECK_STATUS(blockmem_delete(store, key, key_len, &o.flag), want);
    CHECK_STATUS(blockmem_reserve(store, key, key_len, 1, &o.writable, &o.reservation), want);
    if (want != BLOCKMEM_STATUS_OK)
        CHECK(outputs_untouched(&o));
}

/* Every function that takes the handle but no key (stats, close and the
 * counters answer on a closed store, so they are not here). */
static inline void check_every_store_call(const blockmem_store *store, int32_t want)
{
    struct outputs o = outputs_preset();
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("k"), &o.u64[0], &o.u64[1]), want);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &o.page), want);
    CHECK_STATUS(blockmem_health_check(store), want);
    if (want != BLOCKMEM_STATUS_OK)
        CHECK(outputs_untouched(&o));
}

#endif /* BLOCKMEM_TEST_CHECK_H */
