/*
 * blockmem from C: a tour of the API.
 *
 * Build against the build tree or an installed copy with pkg-config:
 *
 *     cc example.c $(pkg-config --cflags --libs blockmem)
 *
 * (`make -C bindings/c example` links it statically and runs it.)
 *
 * Conventions used throughout: every function returns a blockmem_status
 * (0 is BLOCKMEM_STATUS_OK); keys and data are (pointer, length) pairs,
 * borrowed for the call only, and keys are bytes, not C strings; results
 * come back through out-pointers that are written only on success.
 */
#define _POSIX_C_SOURCE 200809L /* socketpair, read, write */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <blockmem.h>

/* Reports a failed call and exits. A real program would handle the
 * error; the message comes from the library. */
static void must(blockmem_status status, const char *what)
{
    if (status != BLOCKMEM_STATUS_OK) {
        fprintf(stderr, "%s: %s (status %d)\n", what,
                blockmem_status_str(status), (int)status);
        exit(1);
    }
}

/* write(2) until all of buf[0..len) is sent; 0 on error. send(2) on a
 * socket works the same way. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        buf += n;
        len -= (size_t)n;
    }
    return 1;
}

/* read(2) exactly len bytes into buf; 0 on error or early end of stream. */
static int read_all(int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        buf += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Prints a key, which may hold any byte, escaping what is not printable. */
static void print_key(const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (key[i] >= 0x20 && key[i] < 0x7f)
            putchar(key[i]);
        else
            printf("\\x%02x", key[i]);
    }
}

int main(void)
{
    printf("blockmem %s\n", blockmem_version());

    /* 1. Create a store. Options start from blockmem_options_init(), which
     *    sets struct_size so newer libraries can grow the struct; every
     *    limit left at 0 means "no limit" (max_key_len 0 means 1024). */
    blockmem_options opts;
    must(blockmem_options_init(&opts), "options_init");
    opts.max_bytes = 64 * 1024 * 1024;   /* cap the sum of all blocks */
    opts.max_block_size = 4 * 1024 * 1024; /* and each block */

    blockmem_store *store = NULL;
    must(blockmem_store_new(&opts, &store), "store_new");

    /* 2. Write blocks. The store keeps its own copy, so the caller's
     *    buffer may be reused or freed right after the call. */
    const char *hello = "hello, block";
    const char *key = "share/content/chunk-0/block-0";
    must(blockmem_write(store, (const uint8_t *)key, strlen(key),
                        (const uint8_t *)hello, strlen(hello)),
         "write");

    char name[64];
    for (int i = 1; i <= 4; i++) {
        uint8_t data[100];
        memset(data, 'a' + i, sizeof data);
        int n = snprintf(name, sizeof name, "share/content/chunk-0/block-%d", i);
        must(blockmem_write(store, (const uint8_t *)name, (size_t)n, data,
                            sizeof data / (size_t)i),
             "write");
    }
    must(blockmem_write(store, (const uint8_t *)"other/x", 7, NULL, 0),
         "write an empty block");

    /* 3. Read into a caller buffer. Asking with no buffer at all returns
     *    BUFFER_TOO_SMALL and the size needed; nothing else is written. */
    size_t needed = 0;
    blockmem_status st =
        blockmem_read(store, (const uint8_t *)key, strlen(key), NULL, 0, &needed);
    if (st != BLOCKMEM_STATUS_BUFFER_TOO_SMALL) /* or OK for an empty block */
        must(st, "read (size query)");
    char *buf = malloc(needed + 1);
    if (!buf)
        return 1;
    size_t got = 0;
    must(blockmem_read(store, (const uint8_t *)key, strlen(key),
                       (uint8_t *)buf, needed, &got),
         "read");
    buf[got] = '\0';
    printf("read %zu bytes: \"%s\"\n", got, buf);
    free(buf);
    /* A block can change between the size query and the read; a robust
     * reader loops while it gets BUFFER_TOO_SMALL, or starts with a
     * buffer of max_block_size bytes and never needs the query. */

    /* 4. Read a range: bytes [offset, offset + length), clamped at the end
     *    of the block; an offset past the end is INVALID_RANGE. */
    char part[8];
    must(blockmem_read_range(store, (const uint8_t *)key, strlen(key), 7,
                             UINT64_MAX /* "to the end" */, (uint8_t *)part,
                             sizeof part, &got),
         "read_range");
    printf("range [7, end): \"%.*s\"\n", (int)got, part);

    /* 5. Zero-copy read: blockmem_get pins the block and hands out a
     *    pointer to its immutable bytes, valid until blockmem_block_free,
     *    even if the key is overwritten or deleted meanwhile. */
    const uint8_t *data = NULL;
    size_t len = 0;
    blockmem_block *pin = NULL;
    must(blockmem_get(store, (const uint8_t *)key, strlen(key), &data, &len, &pin),
         "get");
    must(blockmem_write(store, (const uint8_t *)key, strlen(key),
                        (const uint8_t *)"replaced", 8),
         "overwrite");
    printf("pinned block still reads \"%.*s\"\n", (int)len, (const char *)data);
    blockmem_block_free(pin);

    /* 6. Zero-copy streaming over a connection (a socketpair stands in for
     *    a network socket). Serving: pin the block and hand the pinned
     *    bytes straight to write(2)/send(2); no copy in user space, and no
     *    lock held while the kernel copies. Receiving: reserve the block's
     *    memory, read(2)/recv(2) straight into it, then commit: readers see
     *    nothing until the commit, and on a short read the reservation is
     *    freed (an abort) and nothing changes. */
    int conn[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, conn) != 0) {
        perror("socketpair");
        return 1;
    }
    must(blockmem_get(store, (const uint8_t *)key, strlen(key), &data, &len, &pin), "get");
    int sent = write_all(conn[0], data, len);
    blockmem_block_free(pin); /* after the write: the bytes are pinned until here */
    if (!sent) {
        perror("write");
        return 1;
    }
    const char *copy_key = "share/content/chunk-1/block-0";
    uint8_t *dst = NULL;
    blockmem_reservation *incoming = NULL;
    must(blockmem_reserve(store, (const uint8_t *)copy_key, strlen(copy_key), len, &dst,
                          &incoming),
         "reserve");
    if (!read_all(conn[1], dst, len)) {
        blockmem_reservation_free(incoming); /* abort: nothing was stored */
        perror("read");
        return 1;
    }
    must(blockmem_commit(store, incoming), "commit"); /* consumes the reservation */
    close(conn[0]);
    close(conn[1]);
    size_t streamed = 0;
    char copy[16];
    must(blockmem_read(store, (const uint8_t *)copy_key, strlen(copy_key), (uint8_t *)copy,
                       sizeof copy, &streamed),
         "read");
    printf("served %zu bytes from a pin, streamed in as \"%.*s\"\n", len, (int)streamed, copy);

    /* 7. Stat and exists: metadata without copying data. */
    uint64_t size = 0;
    must(blockmem_stat(store, (const uint8_t *)key, strlen(key), &size), "stat");
    bool exists = false;
    must(blockmem_exists(store, (const uint8_t *)"nope", 4, &exists), "exists");
    printf("stat: %" PRIu64 " bytes; \"nope\" exists: %s\n", size,
           exists ? "yes" : "no");

    /* Errors are plain values; blockmem_status_str describes them. */
    st = blockmem_stat(store, (const uint8_t *)"nope", 4, &size);
    printf("stat(\"nope\"): %s\n", blockmem_status_str(st));

    /* 8. List keys under a prefix, a page at a time. A page is one call
     *    and one allocation, freed with blockmem_list_page_free. To get the
     *    next page, pass the last key of this one as start_after. */
    const char *prefix = "share/";
    uint8_t last[1024]; /* keys are at most max_key_len bytes */
    size_t last_len = 0;
    int page_no = 0;
    for (;;) {
        blockmem_list_page *page = NULL;
        must(blockmem_list(store, (const uint8_t *)prefix, strlen(prefix),
                           last, last_len, 2 /* keys per page */, &page),
             "list");
        page_no++;
        for (size_t i = 0; i < page->count; i++) {
            const uint8_t *k = page->keys + page->key_offsets[i];
            size_t klen = page->key_offsets[i + 1] - page->key_offsets[i];
            printf("page %d: ", page_no);
            print_key(k, klen);
            printf(" (%" PRIu64 " bytes)\n", page->sizes[i]);
            if (i + 1 == page->count) { /* remember where to resume */
                memcpy(last, k, klen);
                last_len = klen;
            }
        }
        bool more = page->has_more;
        blockmem_list_page_free(page);
        if (!more)
            break;
    }

    /* 9. Delete one key (a missing key is not an error), then a prefix. */
    bool existed = false;
    must(blockmem_delete(store, (const uint8_t *)"other/x", 7, &existed), "delete");
    printf("deleted other/x (existed: %s)\n", existed ? "yes" : "no");
    uint64_t blocks = 0, bytes = 0;
    must(blockmem_delete_prefix(store, (const uint8_t *)"share/content/", 14,
                                &blocks, &bytes),
         "delete_prefix");
    printf("deleted %" PRIu64 " blocks, %" PRIu64 " bytes\n", blocks, bytes);

    /* 10. Counters: O(1), exact. */
    must(blockmem_write(store, (const uint8_t *)"k", 1, (const uint8_t *)"v", 1),
         "write");
    blockmem_stats stats;
    must(blockmem_store_stats(store, &stats), "stats");
    printf("stats: %" PRIu64 " blocks, %" PRIu64 " bytes (cap %" PRIu64
           "), health: %s\n",
           stats.block_count, stats.total_size, stats.max_bytes,
           blockmem_status_str(blockmem_health_check(store)));

    /* 11. Close frees every block; later calls return STORE_CLOSED. Free
     *     releases the handle (and closes it if needed). */
    must(blockmem_store_close(store), "close");
    printf("after close: %" PRIu64 " blocks, write -> %s\n",
           blockmem_block_count(store),
           blockmem_status_str(blockmem_write(store, (const uint8_t *)"k", 1,
                                              NULL, 0)));
    blockmem_store_free(store);
    return 0;
}
