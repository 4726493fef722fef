// The header as C++ sees it: it compiles with -std=c++11 -pedantic, links
// with C names, and the status type is a 32-bit enum.
#include <blockmem.h>

#include <cstdint>
#include <type_traits>

static_assert(sizeof(blockmem_status) == 4, "status is int32_t");
static_assert(std::is_same<std::underlying_type<blockmem_status>::type, int32_t>::value,
              "status enum is backed by int32_t");
static_assert(BLOCKMEM_STATUS_PANIC == 10, "numbers are stable");

// Declarations have the expected C types (a mismatch fails to compile).
static blockmem_status (*const write_fn)(const blockmem_store *, const uint8_t *, size_t,
                                         const uint8_t *, size_t) = &blockmem_write;
static void (*const free_fn)(blockmem_store *) = &blockmem_store_free;
