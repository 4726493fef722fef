/* Compile-time checks of the ABI as C sees it: stable status numbers and
 * struct layouts. Compiled with -std=c11 -Wall -Wextra -Werror -pedantic. */
#include <stddef.h>

#include <blockmem.h>
#include <blockmem.h> /* the include guard works */

_Static_assert(sizeof(blockmem_status) == 4, "status is int32_t");
_Static_assert(BLOCKMEM_STATUS_OK == 0, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_NOT_FOUND == 1, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_STORE_CLOSED == 2, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_INVALID_KEY == 3, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_INVALID_RANGE == 4, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_BUFFER_TOO_SMALL == 5, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_BLOCK_TOO_LARGE == 6, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_STORE_FULL == 7, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_OUT_OF_MEMORY == 8, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_INVALID_ARGUMENT == 9, "numbers are stable");
_Static_assert(BLOCKMEM_STATUS_PANIC == 10, "numbers are stable");

/* struct_size comes first so a library can read it from any version. */
_Static_assert(offsetof(blockmem_options, struct_size) == 0, "layout");
_Static_assert(offsetof(blockmem_options, max_bytes) == sizeof(size_t), "layout");
/* Fields are only ever appended: an older caller's struct_size covers a
 * prefix of them. */
_Static_assert(offsetof(blockmem_options, evict) == sizeof(size_t) + 3 * sizeof(uint64_t), "layout");
_Static_assert(offsetof(blockmem_cache_stats, struct_size) == 0, "layout");
_Static_assert(offsetof(blockmem_cache_stats, hits) == sizeof(size_t), "layout");
_Static_assert(offsetof(blockmem_cache_stats, evicted_bytes) ==
                   sizeof(size_t) + 3 * sizeof(uint64_t), "layout");
