/*
 * Zero-copy streaming: writes through a reservation (reserve, fill in
 * place, commit or abort) and pins released through their reference count
 * without a call, alone, across an eviction (cache mode) and under threads
 * that overwrite and delete.
 */
#include <pthread.h>

#include "check.h"
#include "payload.h"

/* Reserves `size` bytes for key, or fails the check and returns NULL. */
static blockmem_reservation *reserve(blockmem_store *store, const uint8_t *key,
                                     size_t key_len, size_t size, uint8_t **data)
{
    blockmem_reservation *r = NULL;
    if (!CHECK_STATUS(blockmem_reserve(store, key, key_len, size, data, &r),
                      BLOCKMEM_STATUS_OK))
        return NULL;
    CHECK(r != NULL && *data != NULL);
    return r;
}

static void rule_a_reservation_is_invisible_until_commit(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t *data = NULL;
    bool exists = true;
    CHECK_STATUS(blockmem_write(store, KEY("old"), KEY("previous")), BLOCKMEM_STATUS_OK);
    blockmem_reservation *fresh = reserve(store, KEY("new"), 5, &data);
    if (!fresh)
        goto out;
    for (int i = 0; i < 5; i++)
        CHECK(data[i] == 0); /* zeroed */
    memcpy(data, "fresh", 5);
    uint8_t *data2 = NULL;
    blockmem_reservation *replacing = reserve(store, KEY("old"), 3, &data2);
    memcpy(data2, "new", 3);
    /* Filled but not committed: nothing visible, nothing counted. */
    CHECK_STATUS(blockmem_exists(store, KEY("new"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(!exists);
    CHECK(block_equals(store, KEY("old"), "previous", 8));
    CHECK(counters_are(store, 1, 8));
    CHECK_STATUS(blockmem_commit(store, fresh), BLOCKMEM_STATUS_OK);
    CHECK(block_equals(store, KEY("new"), "fresh", 5));
    CHECK_STATUS(blockmem_commit(store, replacing), BLOCKMEM_STATUS_OK);
    CHECK(block_equals(store, KEY("old"), "new", 3));
    CHECK(counters_are(store, 2, 8));
out:
    blockmem_store_free(store);
}

static void rule_freeing_a_reservation_aborts_it(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t *data = NULL;
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("kept")), BLOCKMEM_STATUS_OK);
    blockmem_reservation *r = reserve(store, KEY("k"), 64, &data);
    memset(data, 'x', 64);
    blockmem_reservation_free(r); /* the leak checkers see it freed */
    blockmem_reservation_free(NULL);
    CHECK(block_equals(store, KEY("k"), "kept", 4));
    CHECK(counters_are(store, 1, 4));
    blockmem_store_free(store);
}

static void rule_reserve_checks_the_key_and_caps_first(void)
{
    blockmem_store *store = new_store(100, 50, 4);
    static uint8_t sentinel_byte;
    uint8_t *data = &sentinel_byte;
    blockmem_reservation *sentinel = (blockmem_reservation *)(uintptr_t)0x5678;
    blockmem_reservation *r = sentinel;
    const int32_t bad = BLOCKMEM_STATUS_INVALID_ARGUMENT;
    CHECK_STATUS(blockmem_reserve(store, KEY(""), 1, &data, &r), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_reserve(store, KEY("12345"), 1, &data, &r),
                 BLOCKMEM_STATUS_INVALID_KEY);
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), 51, &data, &r),
                 BLOCKMEM_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), SIZE_MAX, &data, &r), bad);
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), (size_t)PTRDIFF_MAX + 1, &data, &r), bad);
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), 1, NULL, &r), bad);
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), 1, &data, NULL), bad);
    CHECK_STATUS(blockmem_reserve(store, NULL, 1, 1, &data, &r), bad);
    CHECK_STATUS(blockmem_reserve(NULL, KEY("k"), 1, &data, &r), bad);
    CHECK(data == &sentinel_byte && r == sentinel);
    blockmem_store_free(store);

    store = new_store(100, 0, 0); /* no block cap: too big for the store */
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), 101, &data, &r), BLOCKMEM_STATUS_STORE_FULL);
    CHECK(data == &sentinel_byte && r == sentinel);
    CHECK(counters_are(store, 0, 0));
    /* What is stored counts: 70 + 40 is refused before anything is filled,
     * while replacing the 70 bytes with 100 fits. */
    static const uint8_t seventy[70];
    CHECK_STATUS(blockmem_write(store, KEY("a"), seventy, sizeof seventy), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_reserve(store, KEY("b"), 40, &data, &r), BLOCKMEM_STATUS_STORE_FULL);
    CHECK(data == &sentinel_byte && r == sentinel);
    CHECK_STATUS(blockmem_reserve(store, KEY("a"), 100, &data, &r), BLOCKMEM_STATUS_OK);
    if (CHECK(r != sentinel && data != &sentinel_byte))
        blockmem_reservation_free(r);
    CHECK(counters_are(store, 1, 70));
    blockmem_store_free(store);
}

static void rule_commit_checks_the_caps_again_and_always_consumes(void)
{
    blockmem_store *store = new_store(100, 0, 0);
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    blockmem_reservation *ra = reserve(store, KEY("a"), 60, &a);
    blockmem_reservation *rb = reserve(store, KEY("b"), 60, &b);
    blockmem_reservation *rc = reserve(store, KEY("a"), 100, &c);
    /* Both fit alone; together they do not: the second commit fails. */
    CHECK_STATUS(blockmem_commit(store, ra), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_commit(store, rb), BLOCKMEM_STATUS_STORE_FULL);
    CHECK(counters_are(store, 1, 60));
    /* A replacement counts as total - old + new: 60 - 60 + 100 fits. */
    CHECK_STATUS(blockmem_commit(store, rc), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 1, 100));
    /* Argument errors consume the reservation too (the leak checkers
     * would see it otherwise). */
    /* 0 bytes fit a full store, and their memory is not NULL (reserve checks). */
    blockmem_reservation *rd = reserve(store, KEY("d"), 0, &a);
    CHECK_STATUS(blockmem_commit(NULL, rd), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(blockmem_commit(store, NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
    CHECK(counters_are(store, 1, 100));
    blockmem_store_free(store);
}

static void rule_commit_after_close_is_store_closed(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    uint8_t *data = NULL;
    blockmem_reservation *r = reserve(store, KEY("k"), 8, &data);
    blockmem_reservation *kept = reserve(store, KEY("j"), 8, &data);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_commit(store, r), BLOCKMEM_STATUS_STORE_CLOSED);
    CHECK_STATUS(blockmem_reserve(store, KEY("k"), 8, &data, &r), BLOCKMEM_STATUS_STORE_CLOSED);
    /* Key and caps are still checked first on a closed store. */
    CHECK_STATUS(blockmem_reserve(store, KEY(""), 8, &data, &r), BLOCKMEM_STATUS_INVALID_KEY);
    CHECK(counters_are(store, 0, 0));
    blockmem_store_free(store);
    /* A reservation outlives the handle; writing and freeing it is fine. */
    memset(data, 'z', 8);
    blockmem_reservation_free(kept);
}

/* ---- pins released through their reference count ---- */

/* Releases a pin by the header's protocol: a compare-and-swap from c to
 * c - 1 while 2 <= c < BLOCKMEM_PIN_REFS_LIMIT, else blockmem_block_free.
 * Returns 1 when it needed the call. */
static int release_pin(blockmem_block *pin)
{
    _Atomic uint32_t *refs = (_Atomic uint32_t *)(void *)pin;
    uint32_t c = atomic_load_explicit(refs, memory_order_relaxed);
    while (c >= 2 && c < BLOCKMEM_PIN_REFS_LIMIT) {
        if (atomic_compare_exchange_weak_explicit(refs, &c, c - 1, memory_order_release,
                                                  memory_order_relaxed))
            return 0;
    }
    blockmem_block_free(pin);
    return 1;
}

static uint32_t refs_of(const blockmem_block *pin)
{
    return atomic_load((_Atomic uint32_t *)(void *)(uintptr_t)pin);
}

static void rule_a_pin_points_at_its_reference_count(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    const uint8_t *p1 = NULL, *p2 = NULL;
    size_t n1 = 0, n2 = 0;
    blockmem_block *b1 = NULL, *b2 = NULL;
    CHECK(blockmem_abi_version() == BLOCKMEM_ABI_VERSION);
    CHECK(BLOCKMEM_PIN_REFS_BITS == 32 && sizeof(_Atomic uint32_t) == 4);
    CHECK(BLOCKMEM_PIN_REFS_LIMIT == (uint64_t)1 << 31);
    CHECK_STATUS(blockmem_write(store, KEY("k"), KEY("pinned")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p1, &n1, &b1), BLOCKMEM_STATUS_OK);
    CHECK(refs_of(b1) == 2); /* the store's reference and this pin */
    CHECK_STATUS(blockmem_get(store, KEY("k"), &p2, &n2, &b2), BLOCKMEM_STATUS_OK);
    CHECK(b1 == b2 && refs_of(b1) == 3);
    CHECK(release_pin(b1) == 0); /* not the last: no call */
    CHECK(refs_of(b2) == 2);
    CHECK_STATUS(blockmem_delete(store, KEY("k"), NULL), BLOCKMEM_STATUS_OK);
    CHECK(refs_of(b2) == 1 && n2 == 6 && memcmp(p2, "pinned", 6) == 0);
    CHECK(release_pin(b2) == 1); /* the last: the library frees it */
    blockmem_store_free(store);
}

/* A pinned block that cache mode evicts stays valid and unchanged for its
 * pin: the store drops its own reference (the count falls to the pin's
 * one), the key reads as gone, the bytes stop counting in the total, and
 * the pin's release is the last one, which frees the block (ASan and
 * valgrind see no leak, and no use after free while later writes reuse
 * the memory). `size` picks a small block or one on the library's path
 * for large blocks; fillers of `filler` bytes evict it. */
static void pin_survives_eviction(size_t size, uint64_t cap, size_t filler)
{
    blockmem_store *store = new_store_evicting(cap, 0, 0, true);
    uint8_t *want = malloc(size), *fill = malloc(filler);
    const uint8_t *p = NULL;
    size_t n = 0;
    blockmem_block *pin = NULL;
    bool exists = true;
    int writes = 0;
    uint64_t count = 0, total = 0;
    blockmem_cache_stats cs = {.struct_size = sizeof cs};
    if (!CHECK(want != NULL && fill != NULL))
        goto out;
    fill_sequence(want, size, 7, 13);
    memset(fill, 'f', filler);
    CHECK_STATUS(blockmem_write(store, KEY("pinned"), want, size), BLOCKMEM_STATUS_OK);
    if (!CHECK_STATUS(blockmem_get(store, KEY("pinned"), &p, &n, &pin), BLOCKMEM_STATUS_OK))
        goto out;
    CHECK(n == size && memcmp(p, want, size) == 0 && refs_of(pin) == 2);

    /* Fill the store until the policy picks the pinned block. The pin was
     * a read, so each filler is read once too: a policy that keeps read
     * blocks (S3-FIFO keeps them from a stream of blocks never read) has
     * to choose among equals. */
    while (exists && writes < 1000) {
        uint8_t key[16], byte;
        size_t klen = (size_t)snprintf((char *)key, sizeof key, "o/%d", writes++);
        CHECK_STATUS(blockmem_write(store, key, klen, fill, filler), BLOCKMEM_STATUS_OK);
        CHECK_STATUS(blockmem_read_range(store, key, klen, 0, 1, &byte, 1, &n),
                     BLOCKMEM_STATUS_OK);
        CHECK_STATUS(blockmem_exists(store, KEY("pinned"), &exists), BLOCKMEM_STATUS_OK);
    }
    if (!CHECK(!exists)) {
        fprintf(stderr, "  %d writes of %zu bytes did not evict the pinned block\n", writes,
                filler);
        blockmem_block_free(pin);
        goto out;
    }
    printf("       a %zu-byte pinned block evicted by %d writes of %zu bytes\n", size, writes,
           filler);
    CHECK(refs_of(pin) == 1); /* the store let go of it */
    uint8_t buf[8];
    uint64_t stat_size = 0;
    const uint8_t *p2 = NULL;
    blockmem_block *pin2 = NULL;
    CHECK_STATUS(blockmem_read(store, KEY("pinned"), buf, sizeof buf, &n),
                 BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_stat(store, KEY("pinned"), &stat_size), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK_STATUS(blockmem_get(store, KEY("pinned"), &p2, &n, &pin2), BLOCKMEM_STATUS_NOT_FOUND);
    CHECK(recount(store, 0, &count, &total));
    CHECK(counters_are(store, count, total) && total <= cap);
    CHECK_STATUS(blockmem_store_cache_stats(store, &cs), BLOCKMEM_STATUS_OK);
    CHECK(cs.evictions >= 1 && cs.evicted_bytes >= size);

    /* More writes, the key among them, reuse what was freed meanwhile. */
    for (int i = 0; i < 2 * writes; i++) {
        uint8_t key[16];
        size_t klen = (size_t)snprintf((char *)key, sizeof key, "o/%d", writes + i);
        CHECK_STATUS(blockmem_write(store, key, klen, fill, filler), BLOCKMEM_STATUS_OK);
    }
    CHECK_STATUS(blockmem_write(store, KEY("pinned"), fill, filler), BLOCKMEM_STATUS_OK);
    CHECK(memcmp(p, want, size) == 0);
    CHECK(release_pin(pin) == 1); /* the last reference: the library frees it */
    CHECK(block_equals(store, KEY("pinned"), fill, filler));
out:
    free(want);
    free(fill);
    blockmem_store_free(store);
}

static void rule_a_pinned_block_survives_its_eviction(void)
{
    pin_survives_eviction(100, 1024, 100);
    pin_survives_eviction(200 * 1024, 512 * 1024, 16 * 1024);
}

/* Threads pin, verify and release (by the protocol) self-verifying blocks
 * while others overwrite them (by write and by reservation) and delete
 * them. ASan and valgrind check that no block is freed while pinned and
 * that none leaks. */
enum { NKEYS = 16, MAX_FILL = 1000, HELD = 3 };

struct race {
    blockmem_store *store;
    atomic_uint version;
    unsigned long ops;
    atomic_int writers_left;
    atomic_ulong by_cas, by_call, verified;
};

struct racer {
    struct race *race;
    int role;
    uint32_t seed;
    pthread_t thread;
};

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static size_t stream_key(uint32_t k, uint8_t key[8])
{
    return (size_t)snprintf((char *)key, 8, "s/%02u", k);
}

static void pin_and_release(struct racer *w, blockmem_block **held, uint32_t *held_key,
                            const uint8_t **held_data, size_t *held_len)
{
    struct race *r = w->race;
    uint32_t k = next(&w->seed) % NKEYS, slot = next(&w->seed) % HELD;
    uint8_t key[8];
    const uint8_t *data = NULL;
    size_t len = 0;
    blockmem_block *pin = NULL;
    int32_t st = blockmem_get(r->store, key, stream_key(k, key), &data, &len, &pin);
    check_saw_status(st);
    if (st == BLOCKMEM_STATUS_NOT_FOUND)
        return;
    if (!CHECK_STATUS(st, BLOCKMEM_STATUS_OK))
        return;
    CHECK(payload_check(k, data, len, 1));
    atomic_fetch_add(&r->verified, 1);
    if (held[slot]) { /* held across other threads' writes and deletes */
        CHECK(payload_check(held_key[slot], held_data[slot], held_len[slot], 1));
        atomic_fetch_add(release_pin(held[slot]) ? &r->by_call : &r->by_cas, 1);
    }
    held[slot] = pin;
    held_key[slot] = k;
    held_data[slot] = data;
    held_len[slot] = len;
}

static void overwrite_or_delete(struct racer *w, uint8_t *buf)
{
    struct race *r = w->race;
    uint32_t k = next(&w->seed) % NKEYS, how = next(&w->seed) % 4;
    uint32_t v = atomic_fetch_add(&r->version, 1);
    uint8_t key[8];
    size_t klen = stream_key(k, key);
    if (how == 0) {
        CHECK_STATUS(blockmem_delete(r->store, key, klen, NULL), BLOCKMEM_STATUS_OK);
    } else if (how == 1) {
        size_t n = payload_make(k, v, MAX_FILL, buf);
        CHECK_STATUS(blockmem_write(r->store, key, klen, buf, n), BLOCKMEM_STATUS_OK);
    } else {
        uint8_t *data = NULL;
        blockmem_reservation *res = NULL;
        size_t n = payload_size(k, v, MAX_FILL);
        if (!CHECK_STATUS(blockmem_reserve(r->store, key, klen, n, &data, &res),
                          BLOCKMEM_STATUS_OK))
            return;
        payload_make(k, v, MAX_FILL, data);
        if (how == 3)
            blockmem_reservation_free(res); /* an abort now and then */
        else
            CHECK_STATUS(blockmem_commit(r->store, res), BLOCKMEM_STATUS_OK);
    }
}

static void *race_work(void *arg)
{
    struct racer *w = arg;
    blockmem_block *held[HELD] = {NULL};
    uint32_t held_key[HELD];
    const uint8_t *held_data[HELD];
    size_t held_len[HELD];
    uint8_t buf[PAYLOAD_HDR + MAX_FILL];
    /* Readers keep going until the writers are done, so they overlap
     * however the threads are scheduled. */
    for (unsigned long i = 0; i < w->race->ops || (w->role == 0 && atomic_load(&w->race->writers_left));
         i++) {
        if (w->role == 0)
            pin_and_release(w, held, held_key, held_data, held_len);
        else
            overwrite_or_delete(w, buf);
    }
    if (w->role != 0)
        atomic_fetch_sub(&w->race->writers_left, 1);
    for (int i = 0; i < HELD; i++)
        if (held[i]) {
            CHECK(payload_check(held_key[i], held_data[i], held_len[i], 1));
            atomic_fetch_add(release_pin(held[i]) ? &w->race->by_call : &w->race->by_cas, 1);
        }
    return NULL;
}

static void rule_pins_released_by_count_survive_overwrites_and_deletes(void)
{
    enum { READERS = 3, WRITERS = 2 };
    struct race r = {0};
    struct racer ws[READERS + WRITERS];
    const char *ops = getenv("BLOCKMEM_STRESS_OPS");
    r.store = new_store(0, 0, 0);
    r.ops = ops && strtoul(ops, NULL, 10) > 0 ? strtoul(ops, NULL, 10) : 20000;
    atomic_store(&r.writers_left, WRITERS);
    for (uint32_t k = 0; k < NKEYS; k++) {
        uint8_t key[8], buf[PAYLOAD_HDR + MAX_FILL];
        size_t n = payload_make(k, 0, MAX_FILL, buf);
        CHECK_STATUS(blockmem_write(r.store, key, stream_key(k, key), buf, n), BLOCKMEM_STATUS_OK);
    }
    for (int i = 0; i < READERS + WRITERS; i++) {
        ws[i] = (struct racer){&r, i >= READERS, 0x9E3779B9u + (uint32_t)i * 7919u, 0};
        if (pthread_create(&ws[i].thread, NULL, race_work, &ws[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    for (int i = 0; i < READERS + WRITERS; i++)
        pthread_join(ws[i].thread, NULL);
    /* Both ways of releasing were exercised. */
    CHECK(atomic_load(&r.by_cas) > 0 && atomic_load(&r.by_call) > 0);
    CHECK(atomic_load(&r.verified) > 0);
    printf("       %lu pins verified; released %lu without a call, %lu by the call\n",
           atomic_load(&r.verified), atomic_load(&r.by_cas), atomic_load(&r.by_call));
    blockmem_store_free(r.store);
}

int main(void)
{
    RUN(rule_a_reservation_is_invisible_until_commit);
    RUN(rule_freeing_a_reservation_aborts_it);
    RUN(rule_reserve_checks_the_key_and_caps_first);
    RUN(rule_commit_checks_the_caps_again_and_always_consumes);
    RUN(rule_commit_after_close_is_store_closed);
    RUN(rule_a_pin_points_at_its_reference_count);
    RUN(rule_a_pinned_block_survives_its_eviction);
    RUN(rule_pins_released_by_count_survive_overwrites_and_deletes);
    return check_report("test_stream");
}
