/*
 * Self-verifying block payloads, shared by the C tests.
 *
 * A payload describes itself: a 16-byte header (magic, key number,
 * version, size) followed by a fill byte derived from key and version, so
 * a reader that ever sees a mix of two writes (a torn read), a block of
 * another key, or a short block finds a header or fill byte that does not
 * match.
 */
#ifndef BLOCKMEM_TEST_PAYLOAD_H
#define BLOCKMEM_TEST_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PAYLOAD_HDR 16
#define PAYLOAD_MAGIC 0x31546D42u /* "BmT1" */

static inline uint32_t payload_mix(uint32_t k, uint32_t v)
{
    uint32_t x = k * 0x9E3779B1u ^ v * 0x85EBCA77u;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return x;
}

static inline uint8_t payload_fill(uint32_t k, uint32_t v)
{
    return (uint8_t)(payload_mix(k, v) >> 24);
}

/* The size of payload (k, v): the header plus 0 to max_fill bytes. */
static inline size_t payload_size(uint32_t k, uint32_t v, size_t max_fill)
{
    return PAYLOAD_HDR + payload_mix(v, k) % (max_fill + 1);
}

/* Writes payload (k, v) into buf, which holds payload_size(k, v, max_fill)
 * bytes; returns that size. */
static inline size_t payload_make(uint32_t k, uint32_t v, size_t max_fill, uint8_t *buf)
{
    size_t size = payload_size(k, v, max_fill);
    uint32_t hdr[4] = {PAYLOAD_MAGIC, k, v, (uint32_t)size};
    memcpy(buf, hdr, PAYLOAD_HDR);
    memset(buf + PAYLOAD_HDR, payload_fill(k, v), size - PAYLOAD_HDR);
    return size;
}

/* Whether b[0..n) is a consistent start of a payload of key k: the whole
 * payload when `whole`, otherwise any prefix of at least the header. */
static inline int payload_check(uint32_t k, const uint8_t *b, size_t n, int whole)
{
    uint32_t hdr[4];
    if (n < PAYLOAD_HDR)
        return 0;
    memcpy(hdr, b, PAYLOAD_HDR);
    if (hdr[0] != PAYLOAD_MAGIC || hdr[1] != k || (whole ? hdr[3] != n : hdr[3] < n))
        return 0;
    uint8_t f = payload_fill(k, hdr[2]);
    for (size_t i = PAYLOAD_HDR; i < n; i++)
        if (b[i] != f)
            return 0;
    return 1;
}

#endif /* BLOCKMEM_TEST_PAYLOAD_H */
