/* Zero-copy streaming through a socket: serve a stored block with send(2)
 * straight from its pinned memory, and receive a block with recv(2)
 * straight into reserved memory that is published only when complete. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <sys/socket.h>
#include <blockmem.h>

bool serve_block(blockmem_store *store, const uint8_t *key, size_t key_len, int fd)
{
    const uint8_t *data;
    size_t len;
    blockmem_block *pin;
    if (blockmem_get(store, key, key_len, &data, &len, &pin) != BLOCKMEM_STATUS_OK)
        return false;
    bool ok = true;
    for (size_t sent = 0; ok && sent < len;) { /* no copy, no lock held */
        ssize_t n = send(fd, data + sent, len - sent, 0);
        ok = n > 0;
        sent += ok ? (size_t)n : 0;
    }
    blockmem_block_free(pin); /* the bytes stayed valid until here */
    return ok;
}

bool receive_block(blockmem_store *store, const uint8_t *key, size_t key_len, int fd,
                   size_t size)
{
    uint8_t *dst;
    blockmem_reservation *r;
    if (blockmem_reserve(store, key, key_len, size, &dst, &r) != BLOCKMEM_STATUS_OK)
        return false;
    if (size > 0 && recv(fd, dst, size, MSG_WAITALL) != (ssize_t)size) {
        blockmem_reservation_free(r); /* abort: nothing was ever visible */
        return false;
    }
    return blockmem_commit(store, r) == BLOCKMEM_STATUS_OK; /* consumes r */
}
