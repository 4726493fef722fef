/*
 * Allocation failure: a write whose copy cannot be allocated returns
 * BLOCKMEM_STATUS_OUT_OF_MEMORY (a typed error, never an abort), changes
 * nothing, and leaves the store working.
 *
 * The source is a real, readable 1 GiB mapping that is never touched (the
 * store must fail before copying). The process is then limited so the
 * store's 1 GiB copy cannot be allocated:
 *  - plain and valgrind builds: RLIMIT_AS set just above current use;
 *  - AddressSanitizer builds (whose shadow memory rules out RLIMIT_AS):
 *    the sanitizer allocator's own size cap, returning NULL on failure.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
/* Read by the AddressSanitizer runtime at start-up. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=256";
}
#endif

#define BIG ((size_t)1 << 30)
#define MARGIN ((rlim_t)256 << 20)

static const uint8_t *big_source; /* BIG readable bytes, never touched */
static struct rlimit saved_limit;
static int limited;

#ifndef UNDER_ASAN
/* Current address-space size of this process in bytes, from /proc. */
static rlim_t address_space_in_use(void)
{
    char line[256];
    unsigned long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
            break;
    fclose(f);
    return (rlim_t)kb * 1024;
}
#endif

static int limit_memory(void)
{
#ifdef UNDER_ASAN
    return 1; /* the allocator cap set in __asan_default_options */
#else
    struct rlimit lim;
    rlim_t used = address_space_in_use();
    if (used == 0 || getrlimit(RLIMIT_AS, &saved_limit) != 0)
        return 0;
    lim = saved_limit;
    lim.rlim_cur = used + MARGIN;
    if (saved_limit.rlim_max != RLIM_INFINITY && lim.rlim_cur > saved_limit.rlim_max)
        return 0;
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        return 0;
    limited = 1;
    return 1;
#endif
}

static void unlimit_memory(void)
{
    if (limited)
        setrlimit(RLIMIT_AS, &saved_limit);
    limited = 0;
}

static void rule_failed_allocation_is_out_of_memory_and_changes_nothing(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    const uint8_t small[] = "still here";
    CHECK_STATUS(blockmem_write(store, KEY("keep"), small, sizeof small),
                 BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("replace-me"), small, 4),
                 BLOCKMEM_STATUS_OK);

    if (!CHECK(limit_memory()))
        goto out;

    /* A small write still fits in the margin: the limit is not absurd. */
    CHECK_STATUS(blockmem_write(store, KEY("small"), small, 3),
                 BLOCKMEM_STATUS_OK);

    /* A new key whose copy cannot be allocated. */
    CHECK_STATUS(blockmem_write(store, KEY("huge"), big_source, BIG),
                 BLOCKMEM_STATUS_OUT_OF_MEMORY);
    /* Replacing an existing key: the old block must survive. */
    CHECK_STATUS(blockmem_write(store, KEY("replace-me"), big_source, BIG),
                 BLOCKMEM_STATUS_OUT_OF_MEMORY);

    /* Nothing changed. */
    CHECK(counters_are(store, 3, sizeof small + 4 + 3));
    bool exists = true;
    CHECK_STATUS(blockmem_exists(store, KEY("huge"), &exists), BLOCKMEM_STATUS_OK);
    CHECK(!exists);
    CHECK(block_equals(store, KEY("replace-me"), small, 4));
    CHECK(block_equals(store, KEY("keep"), small, sizeof small));

    /* The store keeps working, limited or not. */
    CHECK_STATUS(blockmem_health_check(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("after"), small, 5), BLOCKMEM_STATUS_OK);
    unlimit_memory();
    CHECK_STATUS(blockmem_write(store, KEY("after2"), small, 6), BLOCKMEM_STATUS_OK);
    CHECK(block_equals(store, KEY("after"), small, 5));
    CHECK(block_equals(store, KEY("after2"), small, 6));
    uint64_t count = 0, size = 0;
    CHECK(recount(store, 2, &count, &size));
    CHECK(count == 5 && size == sizeof small + 4 + 3 + 5 + 6);
    CHECK(counters_are(store, count, size));
out:
    unlimit_memory();
    blockmem_store_free(store);
}

/* More key bytes than can be allocated while limited: a listing of them
 * and a prefix deletion of them (which collects its keys before removing
 * any) both fail with OUT_OF_MEMORY and change nothing. */
#define MANY_KEYS (((size_t)1 << 16) + 64)
#define LONG_KEY 4096

static void rule_failed_listing_or_prefix_deletion_changes_nothing(void)
{
    blockmem_store *store = new_store(0, 0, LONG_KEY);
    static uint8_t key[LONG_KEY];
    memset(key, 'k', sizeof key);
    for (size_t i = 0; i < MANY_KEYS; i++) {
        memcpy(key + LONG_KEY - sizeof i, &i, sizeof i);
        if (blockmem_write(store, key, sizeof key, key, 1) != BLOCKMEM_STATUS_OK) {
            CHECK_FAILF("writing key %zu failed", i);
            goto out;
        }
    }
    if (!CHECK(limit_memory()))
        goto out;
    blockmem_list_page *page = NULL;
    CHECK_STATUS(blockmem_list(store, key, 4, NULL, 0, 0, &page),
                 BLOCKMEM_STATUS_OUT_OF_MEMORY);
    CHECK(page == NULL);
    uint64_t blocks = 7, bytes = 7;
    CHECK_STATUS(blockmem_delete_prefix(store, key, 4, &blocks, &bytes),
                 BLOCKMEM_STATUS_OUT_OF_MEMORY);
    CHECK(counters_are(store, MANY_KEYS, MANY_KEYS));
    CHECK(block_equals(store, key, sizeof key, key, 1));
    /* A prefix deletion that needs little memory still works. */
    CHECK_STATUS(blockmem_delete_prefix(store, key, sizeof key, &blocks, &bytes),
                 BLOCKMEM_STATUS_OK);
    CHECK(blocks == 1 && bytes == 1);
    CHECK(counters_are(store, MANY_KEYS - 1, MANY_KEYS - 1));
    unlimit_memory();
#ifndef UNDER_ASAN
    /* Unlimited (the sanitizer's cap stays), the whole deletion works. */
    CHECK_STATUS(blockmem_delete_prefix(store, key, 4, &blocks, &bytes),
                 BLOCKMEM_STATUS_OK);
    CHECK(blocks == MANY_KEYS - 1 && bytes == MANY_KEYS - 1);
    CHECK(counters_are(store, 0, 0));
#endif
out:
    unlimit_memory();
    blockmem_store_free(store);
}

int main(void)
{
    void *src = mmap(NULL, BIG, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (src == MAP_FAILED) {
        fprintf(stderr, "test_oom: cannot map the %zu-byte source: %s\n", BIG,
                strerror(errno));
        return 2;
    }
    big_source = src;
    RUN(rule_failed_allocation_is_out_of_memory_and_changes_nothing);
    RUN(rule_failed_listing_or_prefix_deletion_changes_nothing);
    munmap(src, BIG);
    return check_report("test_oom");
}
