/*
 * Concurrency: many threads on one handle, a close in the middle, a
 * byte-capped store under concurrent writers (refusing, and in cache mode
 * evicting), proof that block data is copied outside the store's lock, and
 * listings and prefix deletions beside writers.
 *
 * Every block is a self-verifying payload (payload.h): a reader that ever
 * sees a mix of two writes (a torn read) finds a header or fill byte that
 * does not match.
 *
 * BLOCKMEM_STRESS_OPS (environment) sets the operations per thread and
 * phase; the default keeps the valgrind run short.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "payload.h"

#define GROUPS 4
#define PER_GROUP 16
#define NKEYS (GROUPS * PER_GROUP)
#define HDR PAYLOAD_HDR
#define MAX_FILL 3000

static unsigned long ops_per_thread = 20000;

static size_t key_of(uint32_t k, uint8_t out[16])
{
    return (size_t)snprintf((char *)out, 16, "t/%u/%02u", k / PER_GROUP, k % PER_GROUP);
}

static size_t make_block(uint32_t k, uint32_t v, uint8_t *buf)
{
    return payload_make(k, v, MAX_FILL, buf);
}

static int block_ok(uint32_t k, const uint8_t *b, size_t n)
{
    return payload_check(k, b, n, 1);
}

/* ---- the mixed workload ---- */

enum role { WRITER, READER, GETTER, RANGER, LISTER, DELETER, MONITOR };

struct shared {
    blockmem_store *store;
    uint64_t max_bytes;       /* 0: uncapped */
    atomic_uint version;
    atomic_ulong ops_done;
    atomic_int close_done;    /* set once blockmem_store_close returned */
    int may_close;            /* STORE_CLOSED is acceptable */
    atomic_ulong reads_verified, writes_ok, writes_full, closed_seen;
};

struct worker {
    struct shared *sh;
    enum role role;
    uint32_t seed;
    pthread_t thread;
};

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Checks a status against what the phase allows; `ok_also` is one more
 * acceptable status (or -1). Returns the status. */
static blockmem_status expect(struct shared *sh, int closed_before, blockmem_status st,
                              int ok_also, const char *what)
{
    check_saw_status(st);
    if (closed_before) {
        /* The operation started after close returned. */
        if (st != BLOCKMEM_STATUS_STORE_CLOSED)
            CHECK_FAILF("%s after close returned %s, want STORE_CLOSED", what,
                        blockmem_status_str(st));
        return st;
    }
    if (st == BLOCKMEM_STATUS_OK || (ok_also >= 0 && st == ok_also))
        return st;
    if (st == BLOCKMEM_STATUS_STORE_CLOSED && sh->may_close) {
        atomic_fetch_add(&sh->closed_seen, 1);
        return st;
    }
    CHECK_FAILF("%s returned %s", what, blockmem_status_str(st));
    return st;
}

static void do_write(struct worker *w, uint8_t *buf)
{
    struct shared *sh = w->sh;
    uint32_t k = rnd(&w->seed) % NKEYS;
    uint32_t v = atomic_fetch_add(&sh->version, 1) + 1;
    uint8_t key[16];
    size_t klen = key_of(k, key), n = make_block(k, v, buf);
    int closed = atomic_load(&sh->close_done);
    blockmem_status st = blockmem_write(sh->store, key, klen, buf, n);
    expect(sh, closed, st, sh->max_bytes ? BLOCKMEM_STATUS_STORE_FULL : -1, "write");
    if (st == BLOCKMEM_STATUS_OK)
        atomic_fetch_add(&sh->writes_ok, 1);
    else if (st == BLOCKMEM_STATUS_STORE_FULL)
        atomic_fetch_add(&sh->writes_full, 1);
}

/* Reads a whole block with size negotiation, as a careful caller would:
 * start with a guess, grow to the size reported, retry (the block may be
 * replaced in between). */
static void do_read(struct worker *w, uint8_t **buf, size_t *cap)
{
    struct shared *sh = w->sh;
    uint32_t k = rnd(&w->seed) % NKEYS;
    uint8_t key[16];
    size_t klen = key_of(k, key);
    for (int attempt = 0; attempt < 100; attempt++) {
        size_t n = 0;
        int closed = atomic_load(&sh->close_done);
        blockmem_status st = blockmem_read(sh->store, key, klen, *buf, *cap, &n);
        if (st == BLOCKMEM_STATUS_BUFFER_TOO_SMALL && !closed) {
            check_saw_status(st);
            if (!CHECK(n > *cap && n <= HDR + MAX_FILL))
                return;
            uint8_t *bigger = realloc(*buf, n);
            if (!bigger)
                return;
            *buf = bigger;
            *cap = n;
            continue;
        }
        if (expect(sh, closed, st, BLOCKMEM_STATUS_NOT_FOUND, "read") == BLOCKMEM_STATUS_OK) {
            if (!CHECK(block_ok(k, *buf, n)))
                fprintf(stderr, "  torn or wrong block for key %u (%zu bytes)\n", k, n);
            atomic_fetch_add(&sh->reads_verified, 1);
        }
        return;
    }
}

#define MAX_PINS 4
struct pin {
    blockmem_block *block;
    const uint8_t *data;
    size_t len;
    uint32_t k;
};

static void do_get(struct worker *w, struct pin *pins, int *npins)
{
    struct shared *sh = w->sh;
    uint32_t k = rnd(&w->seed) % NKEYS;
    uint8_t key[16];
    size_t klen = key_of(k, key);
    struct pin p = {NULL, NULL, 0, k};
    int closed = atomic_load(&sh->close_done);
    blockmem_status st = blockmem_get(sh->store, key, klen, &p.data, &p.len, &p.block);
    if (expect(sh, closed, st, BLOCKMEM_STATUS_NOT_FOUND, "get") != BLOCKMEM_STATUS_OK)
        return;
    CHECK(block_ok(k, p.data, p.len));
    atomic_fetch_add(&sh->reads_verified, 1);
    /* Keep a few pins across later overwrites, deletes and the close;
     * check them again when they are released. */
    if (*npins == MAX_PINS) {
        int i = (int)(rnd(&w->seed) % MAX_PINS);
        CHECK(block_ok(pins[i].k, pins[i].data, pins[i].len));
        blockmem_block_free(pins[i].block);
        pins[i] = p;
    } else {
        pins[(*npins)++] = p;
    }
}

static void do_range(struct worker *w)
{
    struct shared *sh = w->sh;
    uint32_t k = rnd(&w->seed) % NKEYS;
    uint8_t key[16], buf[256];
    size_t klen = key_of(k, key), n = 0;
    uint64_t size = 0;
    bool exists;
    int closed = atomic_load(&sh->close_done);
    switch (rnd(&w->seed) % 4) {
    case 0: /* the start of the block: header and first fill bytes */
        if (expect(sh, closed,
                   blockmem_read_range(sh->store, key, klen, 0, 64, buf, sizeof buf, &n),
                   BLOCKMEM_STATUS_NOT_FOUND, "read_range") == BLOCKMEM_STATUS_OK) {
            CHECK(payload_check(k, buf, n, 0));
            atomic_fetch_add(&sh->reads_verified, 1);
        }
        break;
    case 1: { /* somewhere in the fill: all one byte, or past the end */
        uint64_t off = HDR + rnd(&w->seed) % (MAX_FILL + 8);
        blockmem_status st = blockmem_read_range(sh->store, key, klen, off, sizeof buf, buf,
                                                 sizeof buf, &n);
        if (st == BLOCKMEM_STATUS_INVALID_RANGE && !closed) {
            check_saw_status(st);
            break;
        }
        if (expect(sh, closed, st, BLOCKMEM_STATUS_NOT_FOUND, "read_range") ==
            BLOCKMEM_STATUS_OK) {
            size_t i = 1;
            while (i < n && buf[i] == buf[0])
                i++;
            CHECK(i >= n);
        }
        break;
    }
    case 2:
        if (expect(sh, closed, blockmem_stat(sh->store, key, klen, &size),
                   BLOCKMEM_STATUS_NOT_FOUND, "stat") == BLOCKMEM_STATUS_OK)
            CHECK(size >= HDR && size <= HDR + MAX_FILL);
        break;
    default:
        expect(sh, closed, blockmem_exists(sh->store, key, klen, &exists), -1, "exists");
        break;
    }
}

/* Lists one group in small pages: keys strictly ascending (so no key twice
 * across pages), all in the group, sizes plausible. */
static void do_list(struct worker *w)
{
    struct shared *sh = w->sh;
    struct walk walk = {.last_len = 0};
    uint8_t prefix[8];
    size_t plen = (size_t)snprintf((char *)prefix, sizeof prefix, "t/%u/",
                                   rnd(&w->seed) % GROUPS);
    for (int pages = 0; pages < NKEYS; pages++) {
        blockmem_list_page *page = NULL;
        int closed = atomic_load(&sh->close_done);
        if (expect(sh, closed,
                   blockmem_list(sh->store, prefix, plen, walk.last, walk.last_len, 5, &page),
                   -1, "list") != BLOCKMEM_STATUS_OK)
            return;
        for (size_t i = 0; i < page->count; i++) {
            size_t klen;
            const uint8_t *k = page_key(page, i, &klen);
            CHECK(walk_key(&walk, k, klen));
            CHECK(klen >= plen && memcmp(k, prefix, plen) == 0);
            CHECK(page->sizes[i] >= HDR && page->sizes[i] <= HDR + MAX_FILL);
        }
        bool more = page->has_more;
        blockmem_list_page_free(page);
        if (!more)
            return;
    }
    CHECK_FAILF("a group of %d keys listed in more than %d pages", PER_GROUP, NKEYS);
}

static void do_delete(struct worker *w)
{
    struct shared *sh = w->sh;
    uint32_t r = rnd(&w->seed);
    int closed = atomic_load(&sh->close_done);
    if (r % 4 != 0) { /* mostly cheap queries, so blocks live a while */
        bool exists;
        uint8_t key[16];
        size_t klen = key_of(r / 16 % NKEYS, key);
        expect(sh, closed, blockmem_exists(sh->store, key, klen, &exists), -1, "exists");
    } else if (r % 64 == 0) {
        uint8_t prefix[8];
        uint64_t blocks = 0, bytes = 0;
        size_t plen = (size_t)snprintf((char *)prefix, sizeof prefix, "t/%u/", r / 16 % GROUPS);
        if (expect(sh, closed, blockmem_delete_prefix(sh->store, prefix, plen, &blocks, &bytes),
                   -1, "delete_prefix") == BLOCKMEM_STATUS_OK)
            CHECK(blocks <= PER_GROUP && bytes >= blocks * HDR
                  && bytes <= blocks * (HDR + MAX_FILL));
    } else {
        uint8_t key[16];
        size_t klen = key_of(r / 16 % NKEYS, key);
        bool existed;
        expect(sh, closed, blockmem_delete(sh->store, key, klen, &existed), -1, "delete");
    }
}

/* Watches the counters: never above the cap (or the possible maximum).
 * blockmem_total_size under a cap reads the one counter the cap is kept
 * in, so it never exceeds the cap even mid-write. Without a cap, it and
 * blockmem_block_count sum per-thread stripes without locking and may be
 * off by operations in flight, so only the stats snapshot is bounded. */
static void do_monitor(struct worker *w)
{
    struct shared *sh = w->sh;
    blockmem_stats st;
    uint64_t limit = sh->max_bytes ? sh->max_bytes : (uint64_t)NKEYS * (HDR + MAX_FILL);
    if (sh->max_bytes)
        CHECK(blockmem_total_size(sh->store) <= sh->max_bytes);
    CHECK_STATUS(blockmem_store_stats(sh->store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.total_size <= limit && st.block_count <= NKEYS);
    if (!atomic_load(&sh->close_done))
        (void)expect(sh, 0, blockmem_health_check(sh->store), -1, "health_check");
}

static void *work(void *arg)
{
    struct worker *w = arg;
    size_t cap = 512;
    uint8_t *buf = malloc(HDR + MAX_FILL);
    uint8_t *rbuf = malloc(cap);
    struct pin pins[MAX_PINS];
    int npins = 0;
    if (!buf || !rbuf) {
        CHECK_FAILF("out of memory in the test");
        free(buf);
        free(rbuf);
        return NULL;
    }
    for (unsigned long i = 0; i < ops_per_thread; i++) {
        switch (w->role) {
        case WRITER: do_write(w, buf); break;
        case READER: do_read(w, &rbuf, &cap); break;
        case GETTER: do_get(w, pins, &npins); break;
        case RANGER: do_range(w); break;
        case LISTER: do_list(w); break;
        case DELETER: do_delete(w); break;
        case MONITOR: do_monitor(w); break;
        }
        atomic_fetch_add(&w->sh->ops_done, 1);
    }
    for (int i = 0; i < npins; i++) {
        CHECK(block_ok(pins[i].k, pins[i].data, pins[i].len));
        blockmem_block_free(pins[i].block);
    }
    free(buf);
    free(rbuf);
    return NULL;
}

static void start(struct worker *ws, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
}

static void join(struct worker *ws, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pthread_join(ws[i].thread, NULL);
}

/* With writers quiet: counters equal a recount, and every block reads back
 * whole and intact. */
static void check_quiet_store(struct shared *sh)
{
    uint64_t count = 0, size = 0, verified = 0;
    uint8_t *buf = malloc(HDR + MAX_FILL);
    CHECK(recount(sh->store, 7, &count, &size));
    CHECK(counters_are(sh->store, count, size));
    if (sh->max_bytes)
        CHECK(size <= sh->max_bytes);
    for (uint32_t k = 0; buf && k < NKEYS; k++) {
        uint8_t key[16];
        size_t klen = key_of(k, key), n = 0;
        blockmem_status st = blockmem_read(sh->store, key, klen, buf, HDR + MAX_FILL, &n);
        if (st == BLOCKMEM_STATUS_NOT_FOUND)
            continue;
        CHECK_STATUS(st, BLOCKMEM_STATUS_OK);
        CHECK(block_ok(k, buf, n));
        verified++;
    }
    CHECK(verified == count);
    free(buf);
}

static void init_workers(struct worker *ws, size_t n, struct shared *sh, const enum role *roles)
{
    for (size_t i = 0; i < n; i++) {
        ws[i].sh = sh;
        ws[i].role = roles[i];
        ws[i].seed = 0x1234567u + (uint32_t)i * 7919u;
    }
}

static const enum role mixed_roles[] = {WRITER, WRITER, READER, GETTER,
                                        RANGER, LISTER, DELETER, MONITOR};
#define NMIXED (sizeof mixed_roles / sizeof mixed_roles[0])

static void rule_concurrent_operations_never_tear_and_counters_match_a_recount(void)
{
    struct shared sh = {0};
    struct worker ws[NMIXED];
    sh.store = new_store(0, 0, 0);
    init_workers(ws, NMIXED, &sh, mixed_roles);
    start(ws, NMIXED);
    join(ws, NMIXED);
    check_quiet_store(&sh);
    CHECK(atomic_load(&sh.reads_verified) > 0 && atomic_load(&sh.writes_ok) > 0);
    printf("       %lu ops, %lu writes, %lu whole reads verified\n",
           atomic_load(&sh.ops_done), atomic_load(&sh.writes_ok),
           atomic_load(&sh.reads_verified));
    blockmem_store_free(sh.store);
}

static void rule_operations_racing_with_close_finish_or_return_store_closed(void)
{
    struct shared sh = {0};
    struct worker ws[NMIXED];
    blockmem_stats st;
    sh.store = new_store(0, 0, 0);
    sh.may_close = 1;
    init_workers(ws, NMIXED, &sh, mixed_roles);
    start(ws, NMIXED);
    /* Close when about half the work is done. */
    while (atomic_load(&sh.ops_done) < ops_per_thread * NMIXED / 2)
        sched_yield();
    CHECK_STATUS(blockmem_store_close(sh.store), BLOCKMEM_STATUS_OK);
    atomic_store(&sh.close_done, 1);
    join(ws, NMIXED); /* pins held across the close are checked here */
    CHECK(counters_are(sh.store, 0, 0));
    CHECK_STATUS(blockmem_store_stats(sh.store, &st), BLOCKMEM_STATUS_OK);
    CHECK(st.closed);
    CHECK_STATUS(blockmem_health_check(sh.store), BLOCKMEM_STATUS_STORE_CLOSED);
    printf("       %lu ops, %lu STORE_CLOSED while racing the close\n",
           atomic_load(&sh.ops_done), atomic_load(&sh.closed_seen));
    blockmem_store_free(sh.store);
}

static void rule_capped_store_never_exceeds_max_bytes_under_concurrent_writers(void)
{
    static const enum role roles[] = {WRITER, WRITER, WRITER, WRITER, MONITOR, MONITOR,
                                      READER, DELETER};
    enum { NROLES = sizeof roles / sizeof roles[0] };
    struct shared sh = {0};
    struct worker ws[NROLES];
    sh.max_bytes = 32 * 1024; /* about a third of what the keys could hold */
    sh.store = new_store(sh.max_bytes, 0, 0);
    init_workers(ws, NROLES, &sh, roles);
    start(ws, NROLES);
    join(ws, NROLES);
    check_quiet_store(&sh);
    CHECK(atomic_load(&sh.writes_full) > 0); /* the cap was actually hit */
    printf("       %lu writes accepted, %lu refused with STORE_FULL\n",
           atomic_load(&sh.writes_ok), atomic_load(&sh.writes_full));
    blockmem_store_free(sh.store);
}

/* ---- cache mode under concurrent writers ----
 *
 * Four writers, each with keys of its own, write blocks from a few bytes
 * to 64 KiB into a store in cache mode whose cap holds a fraction of
 * them: every write succeeds, eviction making room. A sampler meanwhile
 * checks that blockmem_total_size and the stats snapshot never exceed the
 * cap and that the eviction counter never goes down, and reads random
 * keys (a block found verifies). Afterwards the counters equal a recount,
 * blocks were evicted, every block left is the last one its writer wrote
 * under its key, and the read counters add up to the reads made. */

#define CW_WRITERS 4
#define CW_KEYS 16 /* per writer */
#define CW_NKEYS (CW_WRITERS * CW_KEYS)
#define CW_MAX_SIZE (64 * 1024)
#define CW_CAP (256 * 1024) /* about 40% of what the keys would hold */

struct cache_run {
    blockmem_store *store;
    unsigned long writes_each;
    atomic_int writers_left;
    atomic_ulong writes_ok;
    unsigned long samples, reads, found; /* the sampler's */
    uint32_t last[CW_NKEYS];             /* version last written, 0: none */
};

struct cache_worker {
    struct cache_run *run;
    uint32_t id, seed;
    pthread_t thread;
};

static size_t cache_key(uint32_t k, uint8_t out[16])
{
    return (size_t)snprintf((char *)out, 16, "c/%u/%02u", k / CW_KEYS, k % CW_KEYS);
}

/* Sizes from a quarter each of four classes: up to 64 bytes, 1 KiB,
 * 8 KiB and 64 KiB (the header included). */
static size_t cache_max_fill(uint32_t r)
{
    static const size_t sizes[] = {64, 1024, 8 * 1024, CW_MAX_SIZE};
    return sizes[r % 4] - HDR;
}

static void *cache_write(void *arg)
{
    struct cache_worker *w = arg;
    struct cache_run *run = w->run;
    uint8_t *buf = malloc(CW_MAX_SIZE);
    if (!buf) {
        CHECK_FAILF("out of memory in the test");
        atomic_fetch_sub(&run->writers_left, 1);
        return NULL;
    }
    for (unsigned long i = 0; i < run->writes_each; i++) {
        uint32_t r = rnd(&w->seed), k = w->id * CW_KEYS + r % CW_KEYS, v = (uint32_t)i + 1;
        uint8_t key[16];
        size_t klen = cache_key(k, key), n = payload_make(k, v, cache_max_fill(r >> 8), buf);
        blockmem_status st = blockmem_write(run->store, key, klen, buf, n);
        if (!CHECK_STATUS(st, BLOCKMEM_STATUS_OK)) {
            fprintf(stderr, "  write of %zu bytes to key %u in cache mode\n", n, k);
            break;
        }
        run->last[k] = v; /* this writer's key: read by the others after join */
        atomic_fetch_add(&run->writes_ok, 1);
    }
    free(buf);
    atomic_fetch_sub(&run->writers_left, 1);
    return NULL;
}

/* Runs until the writers are done (at least once). */
static void cache_sample(struct cache_run *run, uint32_t seed)
{
    uint64_t evictions = 0, evicted_bytes = 0;
    uint8_t *buf = malloc(CW_MAX_SIZE);
    if (!CHECK(buf != NULL))
        return;
    do {
        blockmem_stats st;
        blockmem_cache_stats cs = {.struct_size = sizeof cs};
        uint64_t total = blockmem_total_size(run->store);
        if (!CHECK(total <= CW_CAP))
            fprintf(stderr, "  total_size %llu over the cap %d\n", (unsigned long long)total,
                    CW_CAP);
        CHECK_STATUS(blockmem_store_stats(run->store, &st), BLOCKMEM_STATUS_OK);
        CHECK(st.total_size <= CW_CAP && st.block_count <= CW_NKEYS && st.max_bytes == CW_CAP);
        CHECK_STATUS(blockmem_store_cache_stats(run->store, &cs), BLOCKMEM_STATUS_OK);
        CHECK(cs.evictions >= evictions && cs.evicted_bytes >= evicted_bytes);
        evictions = cs.evictions;
        evicted_bytes = cs.evicted_bytes;

        uint32_t k = rnd(&seed) % CW_NKEYS;
        uint8_t key[16];
        size_t klen = cache_key(k, key), n = 0;
        blockmem_status rs = blockmem_read(run->store, key, klen, buf, CW_MAX_SIZE, &n);
        check_saw_status(rs);
        run->reads++;
        if (rs == BLOCKMEM_STATUS_OK) {
            run->found++;
            if (!CHECK(payload_check(k, buf, n, 1)))
                fprintf(stderr, "  torn or wrong block for key %u (%zu bytes)\n", k, n);
        } else {
            CHECK_STATUS(rs, BLOCKMEM_STATUS_NOT_FOUND);
        }
        run->samples++;
    } while (atomic_load(&run->writers_left) > 0);
    free(buf);
}

static void rule_cache_mode_evicts_within_the_cap_under_concurrent_writers(void)
{
    struct cache_run run = {0};
    struct cache_worker ws[CW_WRITERS];
    blockmem_cache_stats cs = {.struct_size = sizeof cs};
    uint64_t count = 0, size = 0, verified = 0, absent = 0;
    uint8_t *buf = malloc(CW_MAX_SIZE);
    if (!CHECK(buf != NULL))
        return;
    run.store = new_store_evicting(CW_CAP, 0, 0, true);
    run.writes_each = ops_per_thread / 50 + 1;
    atomic_store(&run.writers_left, CW_WRITERS);
    for (uint32_t i = 0; i < CW_WRITERS; i++) {
        ws[i] = (struct cache_worker){&run, i, 0xC0FFEEu + i * 7919u, 0};
        if (pthread_create(&ws[i].thread, NULL, cache_write, &ws[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    cache_sample(&run, 0x5EED5u);
    for (int i = 0; i < CW_WRITERS; i++)
        pthread_join(ws[i].thread, NULL);

    CHECK(atomic_load(&run.writes_ok) == CW_WRITERS * run.writes_each);
    CHECK(recount(run.store, 7, &count, &size));
    CHECK(counters_are(run.store, count, size));
    CHECK(size <= CW_CAP && count > 0);
    CHECK_STATUS(blockmem_store_cache_stats(run.store, &cs), BLOCKMEM_STATUS_OK);
    if (!CHECK(cs.evictions > 0))
        fprintf(stderr, "  no eviction: the test did not exercise the cap\n");
    CHECK(cs.evicted_bytes >= cs.evictions * HDR && cs.evicted_bytes <= cs.evictions * CW_MAX_SIZE);
    /* Only the sampler read: one hit per block found, one miss per other. */
    CHECK(cs.hits == run.found && cs.misses == run.reads - run.found);

    /* Every block left is the last its writer wrote under the key. */
    for (uint32_t k = 0; k < CW_NKEYS; k++) {
        uint8_t key[16];
        uint32_t hdr[4];
        size_t klen = cache_key(k, key), n = 0;
        blockmem_status st = blockmem_read(run.store, key, klen, buf, CW_MAX_SIZE, &n);
        if (st == BLOCKMEM_STATUS_NOT_FOUND) {
            absent++;
            continue;
        }
        if (!CHECK_STATUS(st, BLOCKMEM_STATUS_OK))
            continue;
        memcpy(hdr, buf, sizeof hdr);
        if (!CHECK(payload_check(k, buf, n, 1) && run.last[k] != 0 && hdr[2] == run.last[k]))
            fprintf(stderr, "  key %u holds version %u, last written %u\n", k, hdr[2],
                    run.last[k]);
        verified++;
    }
    CHECK(verified == count);
    CHECK_STATUS(blockmem_store_cache_stats(run.store, &cs), BLOCKMEM_STATUS_OK);
    CHECK(cs.hits == run.found + verified && cs.misses == run.reads - run.found + absent);
    printf("       %lu writes, %llu evictions (%llu bytes), %llu blocks left; "
           "%lu samples\n",
           atomic_load(&run.writes_ok), (unsigned long long)cs.evictions,
           (unsigned long long)cs.evicted_bytes, (unsigned long long)count, run.samples);
    free(buf);
    blockmem_store_free(run.store);
}

/* ---- stats is one snapshot ----
 *
 * Readers poll blockmem_store_stats while the main thread writes 8-byte
 * blocks and then closes the store, round after round. Every snapshot must
 * come from one moment: total_size is 8 * block_count, and a closed store
 * has both counters 0. */

enum { SNAP_BLOCK = 8, SNAP_READERS = 2 };

struct snap_reader {
    blockmem_store *store;
    pthread_t thread;
    unsigned long polls, torn;
};

static void *poll_stats(void *arg)
{
    struct snap_reader *r = arg;
    for (;;) {
        blockmem_stats st;
        if (blockmem_store_stats(r->store, &st) != BLOCKMEM_STATUS_OK) {
            r->torn++;
            return NULL;
        }
        r->polls++;
        if (st.total_size != SNAP_BLOCK * st.block_count
            || (st.closed && st.block_count != 0))
            r->torn++;
        if (st.closed)
            return NULL;
    }
}

static void rule_stats_is_one_snapshot_even_racing_close(void)
{
    unsigned long rounds = ops_per_thread / 20 + 1, polls = 0, torn = 0;
    uint8_t data[SNAP_BLOCK] = {0};
    for (unsigned long round = 0; round < rounds; round++) {
        struct snap_reader readers[SNAP_READERS];
        blockmem_store *store = new_store(0, 0, 0);
        for (int i = 0; i < SNAP_READERS; i++) {
            readers[i] = (struct snap_reader){store, 0, 0, 0};
            if (pthread_create(&readers[i].thread, NULL, poll_stats, &readers[i]) != 0) {
                fprintf(stderr, "pthread_create failed\n");
                exit(2);
            }
        }
        for (uint8_t k = 0; k < 16; k++)
            CHECK_STATUS(blockmem_write(store, &k, 1, data, sizeof data), BLOCKMEM_STATUS_OK);
        CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
        for (int i = 0; i < SNAP_READERS; i++) {
            pthread_join(readers[i].thread, NULL);
            polls += readers[i].polls;
            torn += readers[i].torn;
        }
        blockmem_store_free(store);
    }
    if (!CHECK(torn == 0))
        fprintf(stderr, "  %lu of %lu snapshots mixed moments or read closed with blocks\n",
                torn, polls);
    printf("       %lu rounds, %lu snapshots\n", rounds, polls);
}

/* ---- copies happen outside the lock ----
 *
 * One thread's copy is stopped halfway: the last page of its source (for a
 * write) or destination (for a read) is protected, and the SIGSEGV handler
 * parks that thread inside the library's memcpy. Meanwhile another thread
 * runs operations that need the store lock, exclusively or shared. If the
 * copy were made under the lock, they would wait for it, and the test
 * reports it after a timeout (no hang: the parked copy is then released).
 * With a close in the middle, the parked copy must finish without touching
 * freed memory (the sanitizers and valgrind watch that). */

static long page_size;
static uint8_t *volatile trap_page;
static volatile int trap_restore;
static atomic_int trap_parked, trap_release;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    uint8_t *addr = si->si_addr, *page = trap_page;
    (void)ctx;
    if (page && addr >= page && addr < page + page_size) {
        struct timespec ms = {0, 1000000};
        atomic_store(&trap_parked, 1);
        while (!atomic_load(&trap_release))
            nanosleep(&ms, NULL);
        mprotect(page, (size_t)page_size, trap_restore);
        trap_page = NULL;
        return; /* the copy resumes */
    }
    signal(sig, SIG_DFL); /* not ours: crash as usual */
}

enum { TRAP_PAGES = 8 };

struct trapped {
    blockmem_store *store;
    int is_read;
    uint8_t *buf;
    size_t len, n;
    blockmem_status status;
};

static void *trapped_op(void *arg)
{
    struct trapped *t = arg;
    if (t->is_read)
        t->status = blockmem_read(t->store, KEY("big"), t->buf, t->len, &t->n);
    else
        t->status = blockmem_write(t->store, KEY("big"), t->buf, t->len);
    return NULL;
}

struct contender {
    blockmem_store *store;
    int close;
    blockmem_status st[6];
    atomic_int done;
};

static void *contend(void *arg)
{
    struct contender *c = arg;
    uint64_t size;
    blockmem_list_page *page = NULL;
    c->st[0] = blockmem_write(c->store, KEY("other"), KEY("x")); /* exclusive */
    c->st[1] = blockmem_stat(c->store, KEY("other"), &size);     /* shared */
    c->st[2] = blockmem_list(c->store, NULL, 0, NULL, 0, 0, &page);
    blockmem_list_page_free(page);
    c->st[3] = blockmem_delete(c->store, KEY("other"), NULL);
    c->st[4] = blockmem_delete_prefix(c->store, KEY("zzz"), NULL, NULL);
    c->st[5] = c->close ? blockmem_store_close(c->store) : BLOCKMEM_STATUS_OK;
    atomic_store(&c->done, 1);
    return NULL;
}

/* Waits up to `seconds` for *flag; returns whether it was set. */
static int wait_flag(atomic_int *flag, int seconds)
{
    struct timespec ms = {0, 1000000};
    for (long i = 0; i < seconds * 1000L; i++) {
        if (atomic_load(flag))
            return 1;
        nanosleep(&ms, NULL);
    }
    return atomic_load(flag);
}

static void copy_while_others_use_the_lock(int is_read, int close)
{
    size_t len = (size_t)page_size * TRAP_PAGES;
    uint8_t *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *pattern = malloc(len);
    struct trapped t = {0};
    struct contender c = {0};
    pthread_t tt, ct;
    if (!CHECK(region != MAP_FAILED && pattern != NULL))
        return;
    for (size_t i = 0; i < len; i++)
        pattern[i] = (uint8_t)(i * 31 + (i >> 12));
    t.store = new_store(0, 0, 0);
    t.is_read = is_read;
    t.buf = region;
    t.len = len;
    c.store = t.store;
    c.close = close;
    if (is_read) {
        CHECK_STATUS(blockmem_write(t.store, KEY("big"), pattern, len), BLOCKMEM_STATUS_OK);
        memset(region, 0, len);
    } else {
        memcpy(region, pattern, len);
    }
    uint8_t *last = region + len - (size_t)page_size;
    trap_restore = is_read ? PROT_READ | PROT_WRITE : PROT_READ;
    atomic_store(&trap_parked, 0);
    atomic_store(&trap_release, 0);
    trap_page = last;
    CHECK(mprotect(last, (size_t)page_size, is_read ? PROT_READ : PROT_NONE) == 0);

    pthread_create(&tt, NULL, trapped_op, &t);
    if (CHECK(wait_flag(&trap_parked, 60))) {
        pthread_create(&ct, NULL, contend, &c);
        if (!CHECK(wait_flag(&c.done, 20)))
            fprintf(stderr, "  operations waited for a %s copy in another thread: "
                            "the copy holds the store lock\n", is_read ? "read" : "write");
        atomic_store(&trap_release, 1);
        pthread_join(ct, NULL);
    } else {
        fprintf(stderr, "  the copy never reached the protected page\n");
        atomic_store(&trap_release, 1);
        mprotect(last, (size_t)page_size, trap_restore);
        trap_page = NULL;
    }
    pthread_join(tt, NULL);

    for (int i = 0; i < 6; i++)
        CHECK_STATUS(c.st[i], BLOCKMEM_STATUS_OK);
    if (is_read) {
        /* The block was found before the close: the copy completes. */
        CHECK_STATUS(t.status, BLOCKMEM_STATUS_OK);
        CHECK(t.n == len && memcmp(region, pattern, len) == 0);
    } else if (close) {
        /* The store closed while the data was being copied. */
        CHECK_STATUS(t.status, BLOCKMEM_STATUS_STORE_CLOSED);
        CHECK(counters_are(t.store, 0, 0));
    } else {
        CHECK_STATUS(t.status, BLOCKMEM_STATUS_OK);
        CHECK(block_equals(t.store, KEY("big"), pattern, len));
        CHECK(counters_are(t.store, 1, len));
    }
    blockmem_store_free(t.store);
    munmap(region, len);
    free(pattern);
}

static void rule_a_write_copies_its_data_outside_the_lock(void)
{
    copy_while_others_use_the_lock(0, 0);
}

static void rule_a_read_copies_its_data_outside_the_lock(void)
{
    copy_while_others_use_the_lock(1, 0);
}

static void rule_close_during_a_read_copy_is_safe(void)
{
    copy_while_others_use_the_lock(1, 1);
}

static void rule_close_during_a_write_copy_is_safe(void)
{
    copy_while_others_use_the_lock(0, 1);
}

/* ---- prefix work beside writers (docs/CONTRACT.md) ---- */

#define STABLE 120
#define CHURN_NAMES 100

struct churn {
    blockmem_store *store;
    atomic_int *stop;
    uint32_t seed;
};

/* Creates, rewrites and deletes "s/<g>/churn-NNN" keys and the
 * "file-<f>/churn-N" keys inside the files being deleted, and rewrites
 * "other/..." keys, until stopped. */
static void *churn_keys(void *arg)
{
    struct churn *c = arg;
    char key[32];
    uint8_t data[8] = "churning";
    while (!atomic_load(c->stop)) {
        uint32_t r = rnd(&c->seed);
        int n = snprintf(key, sizeof key, "s/%u/churn-%03u", r % 3, r / 4 % CHURN_NAMES);
        if (r % 7 < 3)
            blockmem_delete(c->store, (const uint8_t *)key, (size_t)n, NULL);
        else
            blockmem_write(c->store, (const uint8_t *)key, (size_t)n, data, 1 + r % 8);
        if (r % 97 == 0)
            blockmem_delete_prefix(c->store, (const uint8_t *)key, 12, NULL, NULL);
        n = snprintf(key, sizeof key, "file-%u/churn-%u", r / 8 % 20, r / 16 % 4);
        if (r % 2)
            blockmem_write(c->store, (const uint8_t *)key, (size_t)n, data, 2);
        else
            blockmem_delete(c->store, (const uint8_t *)key, (size_t)n, NULL);
        n = snprintf(key, sizeof key, "other/%u", r / 32 % 64);
        blockmem_write(c->store, (const uint8_t *)key, (size_t)n, data, 3);
    }
    return NULL;
}

static void start_churn(pthread_t *t, struct churn *c, blockmem_store *store, atomic_int *stop)
{
    for (uint32_t i = 0; i < 2; i++) {
        c[i] = (struct churn){store, stop, 0x9e3779b9u * (i + 1)};
        if (pthread_create(&t[i], NULL, churn_keys, &c[i]) != 0) {
            perror("pthread_create");
            exit(2);
        }
    }
}

static void stop_churn(pthread_t *t, atomic_int *stop)
{
    atomic_store(stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

/* Every stable key (stored, unchanged, for the whole run) is listed exactly
 * once, in order, with its size, in a walk by pages of 7; every listed key
 * was written at some time (a stable or a churn key). */
static void rule_listings_beside_writers_list_stable_keys_once(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    char key[32];
    uint8_t data[64] = {0};
    for (unsigned i = 0; i < STABLE; i++) {
        int n = snprintf(key, sizeof key, "s/%u/stable-%03u", i % 3, i);
        CHECK_STATUS(blockmem_write(store, (const uint8_t *)key, (size_t)n, data, 10 + i % 50),
                     BLOCKMEM_STATUS_OK);
    }
    atomic_int stop = 0;
    pthread_t t[2];
    struct churn c[2];
    start_churn(t, c, store, &stop);
    static const char *prefixes[] = {"s/", "s/0/", "s/1/st", "s/2/stable-1"};
    for (int round = 0; round < 200; round++) {
        const char *prefix = prefixes[round % 4];
        size_t plen = strlen(prefix);
        struct walk walk = {.last_len = 0};
        unsigned stable_seen = 0, stable_want = 0;
        for (unsigned i = 0; i < STABLE; i++) {
            int n = snprintf(key, sizeof key, "s/%u/stable-%03u", i % 3, i);
            stable_want += (size_t)n >= plen && memcmp(key, prefix, plen) == 0;
        }
        for (;;) {
            blockmem_list_page *page = NULL;
            if (!CHECK_STATUS(blockmem_list(store, (const uint8_t *)prefix, plen, walk.last,
                                            walk.last_len, 7, &page),
                              BLOCKMEM_STATUS_OK))
                goto out;
            for (size_t i = 0; i < page->count; i++) {
                size_t klen;
                const uint8_t *k = page_key(page, i, &klen);
                unsigned g, num;
                char kind[8];
                char text[32];
                if (!CHECK(walk_key(&walk, k, klen) && klen < sizeof text && klen >= plen
                           && memcmp(k, prefix, plen) == 0)) {
                    blockmem_list_page_free(page);
                    goto out;
                }
                memcpy(text, k, klen);
                text[klen] = 0;
                if (!CHECK(sscanf(text, "s/%u/%6[a-z]-%u", &g, kind, &num) == 3
                           && (strcmp(kind, "stable") == 0 || strcmp(kind, "churn") == 0))) {
                    blockmem_list_page_free(page);
                    goto out;
                }
                if (strcmp(kind, "stable") == 0) {
                    stable_seen++;
                    CHECK(page->sizes[i] == 10 + num % 50);
                }
            }
            bool more = page->has_more;
            blockmem_list_page_free(page);
            if (!more)
                break;
        }
        if (!CHECK(stable_seen == stable_want)) {
            fprintf(stderr, "prefix %s: %u stable keys listed, want %u\n", prefix, stable_seen,
                    stable_want);
            goto out;
        }
    }
out:
    stop_churn(t, &stop);
    blockmem_store_free(store);
}

/* A prefix deletion beside writers of other keys, and churn inside the
 * prefix, removes every block that was there when it began. */
static void rule_prefix_deletion_beside_writers_removes_what_was_there(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    atomic_int stop = 0;
    pthread_t t[2];
    struct churn c[2];
    start_churn(t, c, store, &stop);
    char key[32];
    uint8_t data[16] = {0};
    for (unsigned round = 0; round < 300; round++) {
        char file[16];
        int flen = snprintf(file, sizeof file, "file-%u/", round % 20);
        for (unsigned b = 0; b < 8; b++) {
            int n = snprintf(key, sizeof key, "%sblock-%u", file, b);
            CHECK_STATUS(blockmem_write(store, (const uint8_t *)key, (size_t)n, data, 16),
                         BLOCKMEM_STATUS_OK);
        }
        uint64_t blocks = 0, bytes = 0;
        CHECK_STATUS(blockmem_delete_prefix(store, (const uint8_t *)file, (size_t)flen, &blocks,
                                            &bytes),
                     BLOCKMEM_STATUS_OK);
        if (!CHECK(blocks >= 8 && bytes >= 8 * 16))
            break;
        for (unsigned b = 0; b < 8; b++) {
            bool exists = true;
            int n = snprintf(key, sizeof key, "%sblock-%u", file, b);
            CHECK_STATUS(blockmem_exists(store, (const uint8_t *)key, (size_t)n, &exists),
                         BLOCKMEM_STATUS_OK);
            CHECK(!exists);
        }
    }
    stop_churn(t, &stop);
    uint64_t count = 0, size = 0;
    CHECK(recount(store, 0, &count, &size));
    CHECK(counters_are(store, count, size));
    blockmem_store_free(store);
}

int main(void)
{
    const char *ops = getenv("BLOCKMEM_STRESS_OPS");
    struct sigaction sa;
    if (ops && strtoul(ops, NULL, 10) > 0)
        ops_per_thread = strtoul(ops, NULL, 10);
    page_size = sysconf(_SC_PAGESIZE);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0) {
        perror("sigaction");
        return 2;
    }
    printf("test_threads: %lu operations per thread and phase\n", ops_per_thread);

    RUN(rule_concurrent_operations_never_tear_and_counters_match_a_recount);
    RUN(rule_operations_racing_with_close_finish_or_return_store_closed);
    RUN(rule_capped_store_never_exceeds_max_bytes_under_concurrent_writers);
    RUN(rule_cache_mode_evicts_within_the_cap_under_concurrent_writers);
    RUN(rule_stats_is_one_snapshot_even_racing_close);
    RUN(rule_a_write_copies_its_data_outside_the_lock);
    RUN(rule_a_read_copies_its_data_outside_the_lock);
    RUN(rule_close_during_a_read_copy_is_safe);
    RUN(rule_close_during_a_write_copy_is_safe);
    RUN(rule_listings_beside_writers_list_stable_keys_once);
    RUN(rule_prefix_deletion_beside_writers_removes_what_was_there);
    return check_report("test_threads");
}
