/*
 * The panic boundary: a Rust panic inside an exported function comes back
 * as BLOCKMEM_STATUS_PANIC instead of unwinding into C, and the store stays
 * consistent and usable (the lock is released, no change is half-made).
 *
 * Needs the library built with the `fault-injection` feature, which exports
 * blockmem_test_arm_panic: the next operation on the store that takes its
 * lock panics while holding it, once. (Each panic prints Rust's panic
 * message on stderr; that is expected.)
 */
#include "check.h"

#ifndef BLOCKMEM_FAULT_INJECTION
#error "test_panic needs -DBLOCKMEM_FAULT_INJECTION and a fault-injection library"
#endif

static blockmem_store *store_with_data(void)
{
    blockmem_store *store = new_store(0, 0, 0);
    CHECK_STATUS(blockmem_write(store, KEY("d/a"), KEY("alpha")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("d/b"), KEY("beta")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("e"), KEY("epsilon")), BLOCKMEM_STATUS_OK);
    return store;
}

/* The store holds exactly its three original blocks and still works for
 * readers and writers (a leaked lock would hang or fail here). */
static void check_intact_and_usable(blockmem_store *store)
{
    uint64_t count = 0, size = 0;
    CHECK(block_equals(store, KEY("d/a"), "alpha", 5));
    CHECK(block_equals(store, KEY("d/b"), "beta", 4));
    CHECK(block_equals(store, KEY("e"), "epsilon", 7));
    CHECK(recount(store, 2, &count, &size));
    CHECK(count == 3 && size == 16);
    CHECK(counters_are(store, 3, 16));
    CHECK_STATUS(blockmem_health_check(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("probe"), KEY("p")), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete(store, KEY("probe"), NULL), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 3, 16));
}

static void rule_arm_panic_needs_a_handle(void)
{
    CHECK_STATUS(blockmem_test_arm_panic(NULL), BLOCKMEM_STATUS_INVALID_ARGUMENT);
}

static void rule_a_panic_in_write_returns_panic_and_writes_nothing(void)
{
    blockmem_store *store = store_with_data();
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("new"), KEY("x")), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("d/a"), KEY("replaced")), BLOCKMEM_STATUS_PANIC);
    check_intact_and_usable(store);
    blockmem_store_free(store);
}

static void rule_a_panic_in_delete_returns_panic_and_deletes_nothing(void)
{
    blockmem_store *store = store_with_data();
    uint64_t blocks = 77, bytes = 77;
    bool existed = true;
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete(store, KEY("d/a"), &existed), BLOCKMEM_STATUS_PANIC);
    CHECK(existed == true); /* output untouched */
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_delete_prefix(store, KEY("d/"), &blocks, &bytes),
                 BLOCKMEM_STATUS_PANIC);
    CHECK(blocks == 77 && bytes == 77);
    check_intact_and_usable(store);
    blockmem_store_free(store);
}

static void rule_a_panic_in_a_read_returns_panic_and_writes_no_output(void)
{
    blockmem_store *store = store_with_data();
    struct outputs o = outputs_preset();

    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read(store, KEY("d/a"), o.buf, sizeof o.buf, &o.len),
                 BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_read_range(store, KEY("d/a"), 1, 2, o.buf, sizeof o.buf, &o.len),
                 BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_get(store, KEY("d/a"), &o.data, &o.len, &o.pin), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_stat(store, KEY("d/a"), &o.u64[0]), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_exists(store, KEY("d/a"), &o.flag), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_list(store, NULL, 0, NULL, 0, 0, &o.page), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_health_check(store), BLOCKMEM_STATUS_PANIC);
    CHECK(outputs_untouched(&o));
    check_intact_and_usable(store);
    blockmem_store_free(store);
}

static void rule_a_fault_fires_once(void)
{
    blockmem_store *store = store_with_data();
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    /* Calls that do not take the store lock leave the fault armed. */
    CHECK(blockmem_block_count(store) == 3);
    CHECK_STATUS(blockmem_stat(store, KEY("e"), &(uint64_t){0}), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_stat(store, KEY("e"), &(uint64_t){0}), BLOCKMEM_STATUS_OK);
    check_intact_and_usable(store);
    blockmem_store_free(store);
}

static void rule_close_and_free_work_after_a_panic(void)
{
    blockmem_store *store = store_with_data();
    CHECK_STATUS(blockmem_test_arm_panic(store), BLOCKMEM_STATUS_OK);
    CHECK_STATUS(blockmem_write(store, KEY("x"), KEY("y")), BLOCKMEM_STATUS_PANIC);
    CHECK_STATUS(blockmem_store_close(store), BLOCKMEM_STATUS_OK);
    CHECK(counters_are(store, 0, 0));
    CHECK_STATUS(blockmem_health_check(store), BLOCKMEM_STATUS_STORE_CLOSED);
    blockmem_store_free(store); /* the leak checker sees every block freed */
}

int main(void)
{
    RUN(rule_arm_panic_needs_a_handle);
    RUN(rule_a_panic_in_write_returns_panic_and_writes_nothing);
    RUN(rule_a_panic_in_delete_returns_panic_and_deletes_nothing);
    RUN(rule_a_panic_in_a_read_returns_panic_and_writes_no_output);
    RUN(rule_a_fault_fires_once);
    RUN(rule_close_and_free_work_after_a_panic);
    return check_report("test_panic");
}
