/*
 * Real-size rows through the C ABI: a store of 256 MiB of 64 KiB or 1 MiB
 * blocks under file-system keys, overwrites and reads of random keys, next
 * to the machine's own limits measured the same way in the same run (the C
 * counterpart of benches/store.rs's large_set group).
 *
 *   large_set DURATION_MS RUNS > table.csv
 *
 * Cases, one thread, each op on a random key among the set's:
 *   write                blockmem_write, replacing the key's block
 *   read                 blockmem_read into one buffer of the block's size
 *   limit_recycled_copy  the write limit: a copy into a spare buffer, which
 *                        then trades places with a random one of as many
 *                        buffers as the store holds blocks (memory that
 *                        was recycled, as a freed block's is)
 *   limit_memcpy         the read limit: memcpy from a random one of those
 *                        buffers into one buffer
 *
 * Each cell runs DURATION_MS; the best of RUNS runs is kept, the cases
 * taking turns within each run. Every cell also counts the process's minor
 * page faults. Before the first run the store's blocks are all rewritten
 * once, so the writes measured reuse freed memory, as in a store that has
 * been running. Prints CSV: case, size, ns_per_op, faults_per_op (of the
 * best run).
 */
#define _GNU_SOURCE
#include <blockmem.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SET_BYTES ((size_t)256 << 20)

enum op { WRITE, READ, LIMIT_WRITE, LIMIT_READ };

static const struct {
  const char *name;
  enum op op;
} CASES[] = {
    {"write", WRITE},
    {"read", READ},
    {"limit_recycled_copy", LIMIT_WRITE},
    {"limit_memcpy", LIMIT_READ},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static const struct {
  const char *name;
  size_t bytes;
} SIZES[] = {{"64KB", 64 << 10}, {"1MB", 1 << 20}};

struct set {
  blockmem_store *store;
  size_t size, n;
  char (*keys)[64];
  size_t *key_len;
  uint8_t *data, *dst, *spare;
  uint8_t **slots;
  uint64_t rng;
};

static void die(const char *what, blockmem_status st) {
  fprintf(stderr, "large_set: %s failed: %s\n", what, blockmem_status_str(st));
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "large_set: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long minor_faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* xorshift64: a random index below n. */
static size_t next(struct set *s) {
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  return (size_t)(s->rng % s->n);
}

static void op(struct set *s, enum op o) {
  size_t i = next(s), got = 0;
  blockmem_status st;
  uint8_t *t;
  switch (o) {
  case WRITE:
    st = blockmem_write(s->store, (const uint8_t *)s->keys[i], s->key_len[i], s->data, s->size);
    if (st != BLOCKMEM_STATUS_OK) die("blockmem_write", st);
    break;
  case READ:
    st = blockmem_read(s->store, (const uint8_t *)s->keys[i], s->key_len[i], s->dst, s->size, &got);
    if (st != BLOCKMEM_STATUS_OK || got != s->size) die("blockmem_read", st);
    break;
  case LIMIT_WRITE:
    memcpy(s->spare, s->data, s->size);
    t = s->slots[i];
    s->slots[i] = s->spare;
    s->spare = t;
    break;
  case LIMIT_READ:
    memcpy(s->dst, s->slots[i], s->size);
    break;
  }
}

/* One cell: ns per op and faults per op over duration_ms. */
static void measure(struct set *s, enum op o, int duration_ms, double *ns, double *faults) {
  long f0 = minor_faults();
  double start = now_ns(), end = start + duration_ms * 1e6, t = start;
  uint64_t ops = 0;
  while (t < end) {
    for (int k = 0; k < 8; k++) op(s, o);
    ops += 8;
    t = now_ns();
  }
  *ns = (t - start) / ops;
  *faults = (double)(minor_faults() - f0) / ops;
}

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) <= 0 || atoi(argv[2]) <= 0) {
    fprintf(stderr, "usage: %s DURATION_MS RUNS\n", argv[0]);
    return 2;
  }
  int duration_ms = atoi(argv[1]), runs = atoi(argv[2]);
  printf("case,size,ns_per_op,faults_per_op\n");
  for (size_t z = 0; z < sizeof SIZES / sizeof SIZES[0]; z++) {
    struct set s = {.size = SIZES[z].bytes, .rng = 0x9e3779b97f4a7c15u};
    s.n = SET_BYTES / s.size;
    blockmem_status st = blockmem_store_new(NULL, &s.store);
    if (st != BLOCKMEM_STATUS_OK) die("blockmem_store_new", st);
    s.keys = xmalloc(s.n * sizeof *s.keys);
    s.key_len = xmalloc(s.n * sizeof *s.key_len);
    s.data = xmalloc(s.size);
    s.dst = xmalloc(s.size);
    s.spare = xmalloc(s.size);
    s.slots = xmalloc(s.n * sizeof *s.slots);
    for (size_t b = 0; b < s.size; b++) s.data[b] = (uint8_t)(b * 31 >> 3);
    memset(s.dst, 0, s.size);
    memset(s.spare, 0, s.size);
    for (size_t i = 0; i < s.n; i++) {
      s.key_len[i] = (size_t)snprintf(s.keys[i], sizeof s.keys[i], "share/content/file-%zu/block-%zu", i / 8, i % 8);
      s.slots[i] = xmalloc(s.size);
      memcpy(s.slots[i], s.data, s.size);
    }
    /* Every block written, then rewritten once. */
    for (int pass = 0; pass < 2; pass++) {
      for (size_t i = 0; i < s.n; i++) {
        st = blockmem_write(s.store, (const uint8_t *)s.keys[i], s.key_len[i], s.data, s.size);
        if (st != BLOCKMEM_STATUS_OK) die("blockmem_write", st);
      }
    }
    double best[NCASES], faults[NCASES];
    for (size_t c = 0; c < NCASES; c++) best[c] = 1e300;
    for (int r = 0; r < runs; r++) {
      for (size_t c = 0; c < NCASES; c++) {
        double ns, f;
        measure(&s, CASES[c].op, duration_ms, &ns, &f);
        if (ns < best[c]) {
          best[c] = ns;
          faults[c] = f;
        }
      }
    }
    for (size_t c = 0; c < NCASES; c++) {
      printf("%s,%s,%.6g,%.4g\n", CASES[c].name, SIZES[z].name, best[c], faults[c]);
    }
    fflush(stdout);
    fprintf(stderr, "large_set: %s done\n", SIZES[z].name);
    blockmem_store_free(s.store);
    for (size_t i = 0; i < s.n; i++) free(s.slots[i]);
    free(s.slots);
    free(s.spare);
    free(s.dst);
    free(s.data);
    free(s.key_len);
    free(s.keys);
  }
  return 0;
}
