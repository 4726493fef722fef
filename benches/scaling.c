/*
 * Scaling through the C ABI: aggregate throughput of blockmem operations
 * from 1 thread up to a given count, next to the machine's own limits
 * measured the same way in the same run.
 *
 *   scaling MAX_THREADS DURATION_MS RUNS > table.csv
 *
 * Cases (each thread works on its own KEYS keys, cycling through them):
 *   write        blockmem_write, replacing the thread's own keys
 *   read         blockmem_read into a buffer of the block's size
 *   get          zero-copy: blockmem_get, touch one byte, blockmem_block_free
 *   mix          9 reads then 1 write, repeated
 *   *_hot        the same with every thread on one shared key
 *   memcpy_ring  the read limit: memcpy from KEYS buffers in turn
 *   malloc_ring  the write limit: free + malloc + memcpy into a ring of KEYS
 *   mix_ring     the mix limit: 9 memcpy_ring steps then 1 malloc_ring step
 *
 * Each cell runs DURATION_MS; the best of RUNS runs is kept, the cases
 * taking turns within each run. Prints CSV: case, size, threads,
 * ops_per_s (all threads together), ns_per_op (per thread).
 */
#define _GNU_SOURCE
#include <blockmem.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYS 64
#define MAX_THREADS 1024

enum op { WRITE, READ, GET, MIX, MEMCPY_RING, MALLOC_RING, MIX_RING };

struct kase {
  const char *name;
  enum op op;
  int hot;
};

static const struct kase CASES[] = {
    {"write", WRITE, 0},        {"read", READ, 0},
    {"get", GET, 0},            {"mix", MIX, 0},
    {"write_hot", WRITE, 1},    {"read_hot", READ, 1},
    {"get_hot", GET, 1},        {"mix_hot", MIX, 1},
    {"memcpy_ring", MEMCPY_RING, 0}, {"malloc_ring", MALLOC_RING, 0},
    {"mix_ring", MIX_RING, 0},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static const struct {
  const char *name;
  size_t bytes;
} SIZES[] = {{"1KB", 1024}, {"64KB", 64 * 1024}, {"1MB", 1024 * 1024}};

struct worker {
  pthread_t tid;
  int index;
  char keys[KEYS][48];
  size_t key_len[KEYS];
  uint8_t *src;              /* what writes store */
  uint8_t *dst;              /* where reads land */
  uint8_t *ring_src[KEYS];   /* memcpy ring sources */
  uint8_t *ring_blk[KEYS];   /* malloc ring blocks */
  double ops_per_s;
  volatile uint8_t sink;     /* a byte a zero-copy read touched */
};

static struct {
  blockmem_store *store;
  size_t size;
  const struct kase *kase;
  pthread_barrier_t start;
  atomic_int stop;
} g;

static const char HOT_KEY[] = "share/content/chunk-hot/block-0";

static void die(const char *what, blockmem_status st) {
  fprintf(stderr, "scaling: %s: %s\n", what, blockmem_status_str(st));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void store_write(const uint8_t *key, size_t key_len, const uint8_t *data) {
  blockmem_status st = blockmem_write(g.store, key, key_len, data, g.size);
  if (st != BLOCKMEM_STATUS_OK) die("blockmem_write", st);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "scaling: out of memory\n");
    exit(1);
  }
  return p;
}

/* One operation of the current case on slot i of worker w. */
static void step(struct worker *w, enum op op, unsigned long i) {
  unsigned slot = (unsigned)(i % KEYS);
  int hot = g.kase->hot;
  const uint8_t *key = hot ? (const uint8_t *)HOT_KEY : (const uint8_t *)w->keys[slot];
  size_t key_len = hot ? sizeof HOT_KEY - 1 : w->key_len[slot];
  size_t n = 0;
  blockmem_status st;
  switch (op) {
  case WRITE:
    store_write(key, key_len, w->src);
    break;
  case READ:
    st = blockmem_read(g.store, key, key_len, w->dst, g.size, &n);
    if (st != BLOCKMEM_STATUS_OK || n != g.size) die("blockmem_read", st);
    break;
  case GET: {
    const uint8_t *data;
    blockmem_block *pin;
    st = blockmem_get(g.store, key, key_len, &data, &n, &pin);
    if (st != BLOCKMEM_STATUS_OK) die("blockmem_get", st);
    w->sink = data[n - 1]; /* per worker: a shared sink would be a shared written line */
    blockmem_block_free(pin);
    break;
  }
  case MIX:
    step(w, i % 10 == 9 ? WRITE : READ, i);
    break;
  case MEMCPY_RING:
    memcpy(w->dst, w->ring_src[slot], g.size);
    __asm__ volatile("" : : "r"(w->dst) : "memory");
    break;
  case MALLOC_RING:
    free(w->ring_blk[slot]);
    w->ring_blk[slot] = xmalloc(g.size);
    memcpy(w->ring_blk[slot], w->src, g.size);
    __asm__ volatile("" : : "r"(w->ring_blk[slot]) : "memory");
    break;
  case MIX_RING:
    step(w, i % 10 == 9 ? MALLOC_RING : MEMCPY_RING, i);
    break;
  }
}

static void *run_worker(void *arg) {
  struct worker *w = arg;
  enum op op = g.kase->op;
  unsigned long ops = 0;
  pthread_barrier_wait(&g.start);
  double t0 = now();
  while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) step(w, op, ops++);
  w->ops_per_s = (double)ops / (now() - t0);
  return NULL;
}

/* Aggregate operations per second of one case on `threads` workers. */
static double measure(struct worker *ws, int threads, const struct kase *k, int duration_ms) {
  g.kase = k;
  atomic_store(&g.stop, 0);
  pthread_barrier_init(&g.start, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; t++) pthread_create(&ws[t].tid, NULL, run_worker, &ws[t]);
  pthread_barrier_wait(&g.start);
  struct timespec d = {duration_ms / 1000, (long)(duration_ms % 1000) * 1000000L};
  nanosleep(&d, NULL);
  atomic_store(&g.stop, 1);
  double total = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(ws[t].tid, NULL);
    total += ws[t].ops_per_s;
  }
  pthread_barrier_destroy(&g.start);
  return total;
}

static void setup(struct worker *ws, int threads) {
  for (int t = 0; t < threads; t++) {
    struct worker *w = &ws[t];
    w->index = t;
    w->src = xmalloc(g.size);
    w->dst = xmalloc(g.size);
    for (size_t b = 0; b < g.size; b++) w->src[b] = (uint8_t)(b * 31 >> 3);
    memset(w->dst, 1, g.size);
    for (int i = 0; i < KEYS; i++) {
      w->key_len[i] = (size_t)snprintf(w->keys[i], sizeof w->keys[i],
                                       "share/content/chunk-%04d/block-%d", t, i);
      store_write((const uint8_t *)w->keys[i], w->key_len[i], w->src);
      w->ring_src[i] = xmalloc(g.size);
      memcpy(w->ring_src[i], w->src, g.size);
      w->ring_blk[i] = xmalloc(g.size);
      memcpy(w->ring_blk[i], w->src, g.size);
    }
  }
  store_write((const uint8_t *)HOT_KEY, sizeof HOT_KEY - 1, ws[0].src);
}

static void teardown(struct worker *ws, int threads) {
  for (int t = 0; t < threads; t++) {
    free(ws[t].src);
    free(ws[t].dst);
    for (int i = 0; i < KEYS; i++) {
      free(ws[t].ring_src[i]);
      free(ws[t].ring_blk[i]);
    }
  }
}

/* 1, 2, 3, 4, 6, 8, 12, 16, 24, ... up to max, and max itself. */
static int next_threads(int n, int max) {
  if (n >= max) return 0;
  int next = n < 4 ? n + 1 : ((n & (n - 1)) == 0 ? n + n / 2 : n / 3 * 4);
  return next < max ? next : max;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MAX_THREADS DURATION_MS RUNS\n", argv[0]);
    return 2;
  }
  int max = atoi(argv[1]), duration_ms = atoi(argv[2]), runs = atoi(argv[3]);
  if (max < 1 || max > MAX_THREADS || duration_ms < 1 || runs < 1) {
    fprintf(stderr, "scaling: bad arguments\n");
    return 2;
  }
  static struct worker ws[MAX_THREADS];
  printf("case,size,threads,ops_per_s,ns_per_op\n");
  for (size_t s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
    for (int threads = 1; threads; threads = next_threads(threads, max)) {
      blockmem_status st = blockmem_store_new(NULL, &g.store);
      if (st != BLOCKMEM_STATUS_OK) die("blockmem_store_new", st);
      g.size = SIZES[s].bytes;
      setup(ws, threads);
      double best[NCASES] = {0};
      for (int r = 0; r < runs; r++) {
        for (size_t c = 0; c < NCASES; c++) {
          double x = measure(ws, threads, &CASES[c], duration_ms);
          if (x > best[c]) best[c] = x;
        }
      }
      for (size_t c = 0; c < NCASES; c++) {
        printf("%s,%s,%d,%.6g,%.4g\n", CASES[c].name, SIZES[s].name, threads, best[c],
               1e9 * threads / best[c]);
      }
      fflush(stdout);
      fprintf(stderr, "scaling: %s, %d thread(s) done\n", SIZES[s].name, threads);
      teardown(ws, threads);
      blockmem_store_free(g.store);
    }
  }
  return 0;
}
