/* Stores one block and reads it back. */
#include <stdio.h>
#include <string.h>

#include <blockmem.h>

int main(void)
{
    blockmem_store *store = NULL;
    blockmem_status st = blockmem_store_new(NULL, &store); /* NULL: defaults */
    if (st != BLOCKMEM_STATUS_OK) {
        fprintf(stderr, "blockmem_store_new: %s\n", blockmem_status_str(st));
        return 1;
    }

    const char *key = "share/content/chunk-0/block-0";
    const char *data = "hello, blockmem";
    uint8_t buf[64];
    size_t len = 0;
    st = blockmem_write(store, (const uint8_t *)key, strlen(key),
                        (const uint8_t *)data, strlen(data));
    if (st == BLOCKMEM_STATUS_OK)
        st = blockmem_read(store, (const uint8_t *)key, strlen(key),
                           buf, sizeof buf, &len);
    if (st != BLOCKMEM_STATUS_OK) {
        fprintf(stderr, "blockmem: %s\n", blockmem_status_str(st));
        blockmem_store_free(store);
        return 1;
    }
    printf("blockmem %s: read %.*s\n", blockmem_version(), (int)len, (const char *)buf);
    blockmem_store_free(store);
    return 0;
}
