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
 *   bare_read    the same read in bare C over the store's own blocks:
 *                what the index's design costs before anything the
 *                store adds (see bare_read below)
 *   bare_read_nolock  the same without the shard's reader count
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

enum op { WRITE, READ, GET, MIX, MEMCPY_RING, MALLOC_RING, MIX_RING, BARE, BARE_NOLOCK };

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
    {"bare_read", BARE, 0},      {"bare_read_nolock", BARE_NOLOCK, 0},
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
  blockmem_block *pin[KEYS]; /* the blocks bare_read copies from */
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

/*
 * bare_read: a reference for `read`, the same read through sharded locks
 * written as bare C, so the report shows what the index's design costs
 * before anything the store adds (argument checks, the ordered set, the
 * panic boundary). It hashes the key with the store's hash, takes its
 * shard's reader count (two atomic read-modify-writes, as a reader-writer
 * lock's read side), finds the entry with that hash in the shard's one
 * node, reads the block's header, checks the key stored there, copies the
 * data and drops the count. Its entries point at the store's own blocks
 * (pinned with blockmem_get while the case runs), so it follows the same
 * pointers and copies the same memory as `read`. It is not a store:
 * nothing writes it while it runs and it keeps no order.
 * bare_read_nolock skips the reader count as well.
 */
#define BARE_SHARD_BITS 9 /* 512 shards, as the store */
#define BARE_SHARDS (1 << BARE_SHARD_BITS)

/*
 * A block as src/block.rs lays it out (a pin points at its start): a
 * 16-byte header, the key, and the data at the next multiple of 16.
 * bare_fill checks this against what blockmem_get reports.
 */
struct bare_block {
  uint32_t refs, key_len;
  size_t data_len;
  uint8_t key[];
};

static const uint8_t *bare_data(const struct bare_block *b) {
  return (const uint8_t *)b + ((sizeof *b + b->key_len + 15) & ~(size_t)15);
}

struct bare_entry { /* 16 bytes, as the store's entries */
  uint64_t hash;
  const struct bare_block *block;
};

struct bare_shard {
  _Alignas(128) atomic_ulong readers;
  struct bare_entry *node;
  size_t n, cap;
};

static struct bare_shard bare[BARE_SHARDS];

/* The store's key hash (src/index.rs), on a little-endian machine. */
static uint64_t bare_fold(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t bare_word(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

static uint64_t bare_half(const uint8_t *p) {
  uint32_t w;
  memcpy(&w, p, 4);
  return w;
}

static uint64_t bare_hash(const uint8_t *key, size_t n) {
  const uint64_t p0 = 0xa0761d6478bd642full, p1 = 0xe7037ed1a0b428dbull;
  uint64_t h = p0 ^ n, a = 0, b = 0;
  if (n > 16) {
    for (size_t at = 0; n - at > 16; at += 16)
      h = bare_fold(bare_word(key + at) ^ p1, bare_word(key + at + 8) ^ h);
    a = bare_word(key + n - 16);
    b = bare_word(key + n - 8);
  } else if (n >= 8) {
    a = bare_word(key);
    b = bare_word(key + n - 8);
  } else if (n >= 4) {
    a = bare_half(key) << 32 | bare_half(key + n - 4);
  } else if (n > 0) {
    a = (uint64_t)key[0] << 16 | (uint64_t)key[n / 2] << 8 | key[n - 1];
  }
  return bare_fold(a ^ p1, b ^ h) ^ bare_fold(h, p1);
}

static struct bare_shard *bare_shard(uint64_t hash) {
  return &bare[hash >> (64 - BARE_SHARD_BITS)];
}

__attribute__((noinline)) static size_t bare_read(const uint8_t *key, size_t key_len,
                                                  uint8_t *buf, int lock) {
  uint64_t h = bare_hash(key, key_len);
  struct bare_shard *sh = bare_shard(h);
  if (lock) atomic_fetch_add_explicit(&sh->readers, 1, memory_order_acquire);
  size_t n = 0;
  for (size_t i = 0; i < sh->n; i++) {
    const struct bare_block *b = sh->node[i].block;
    if (sh->node[i].hash == h && b->key_len == key_len && memcmp(b->key, key, key_len) == 0) {
      n = b->data_len;
      memcpy(buf, bare_data(b), n);
      break;
    }
  }
  if (lock) atomic_fetch_sub_explicit(&sh->readers, 1, memory_order_release);
  return n;
}

/* Empties the bare index and releases the pins it read through. */
static void bare_clear(struct worker *ws, int threads) {
  for (int i = 0; i < BARE_SHARDS; i++) bare[i].n = 0;
  for (int t = 0; t < threads; t++) {
    for (int i = 0; i < KEYS; i++) {
      blockmem_block_free(ws[t].pin[i]);
      ws[t].pin[i] = NULL;
    }
  }
}

/* Points the bare index at the store's current blocks under the workers' keys. */
static void bare_fill(struct worker *ws, int threads) {
  bare_clear(ws, threads);
  for (int t = 0; t < threads; t++) {
    for (int i = 0; i < KEYS; i++) {
      struct worker *w = &ws[t];
      const uint8_t *key = (const uint8_t *)w->keys[i];
      size_t key_len = w->key_len[i], len;
      const uint8_t *data;
      blockmem_status st = blockmem_get(g.store, key, key_len, &data, &len, &w->pin[i]);
      if (st != BLOCKMEM_STATUS_OK) die("blockmem_get", st);
      const struct bare_block *b = (const struct bare_block *)w->pin[i];
      if (b->key_len != key_len || memcmp(b->key, key, key_len) != 0 || b->data_len != len ||
          bare_data(b) != data) {
        fprintf(stderr, "scaling: bare_read's block layout no longer matches src/block.rs\n");
        exit(1);
      }
      uint64_t hash = bare_hash(key, key_len);
      struct bare_shard *sh = bare_shard(hash);
      if (sh->n == sh->cap) {
        sh->cap = sh->cap ? 2 * sh->cap : 4;
        sh->node = realloc(sh->node, sh->cap * sizeof *sh->node);
        if (!sh->node) {
          fprintf(stderr, "scaling: out of memory\n");
          exit(1);
        }
      }
      sh->node[sh->n++] = (struct bare_entry){hash, b};
    }
  }
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
  case BARE:
  case BARE_NOLOCK:
    if (bare_read(key, key_len, w->dst, op == BARE) != g.size) {
      fprintf(stderr, "scaling: bare_read found no block\n");
      exit(1);
    }
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
  if (k->op == BARE || k->op == BARE_NOLOCK) bare_fill(ws, threads);
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
  if (k->op == BARE || k->op == BARE_NOLOCK) bare_clear(ws, threads);
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
      w->pin[i] = NULL;
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
