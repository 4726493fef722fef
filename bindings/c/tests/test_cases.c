/*
 * The contract cases (docs/contract-cases.txt, whose header defines the
 * format) replayed through the C ABI: test_cases CASES_FILE.
 *
 * Expectations and results are both written in one canonical text form (a
 * byte string always spelt the same way, numbers in decimal), so a step
 * passes when the two strings are equal and a mismatch shows both. The
 * store's whole state (every key and its data, the counters, whether it is
 * closed) is written the same way after every step, and a step that fails
 * must leave it unchanged. A malformed line stops the program before any
 * case runs. In the summary line, tests are cases and checks are steps.
 */
#include "check.h"

#include <ctype.h>
#include <stdarg.h>

#define BIG_BUF (((size_t)1 << 20) + 1) /* the buffer of read and range */
#define CANARY 0xEE

enum op_id { WRITE, STREAM, READ, GET, RANGE, INTO, RANGE_INTO, STAT, EXISTS, DELETE,
             DELETE_PREFIX, LIST, PAGE, COUNT, SIZE, STATS, HEALTH, CLOSE, EVICTIONS };

/* Each operation's arguments (b: a byte string, n: a number) and the shape
 * of its result (b, n, and o: ok, t: true|false, s: open|closed, m:
 * more|end, L: byte string and number pairs); any may give an error. */
static const struct op {
    const char *name, *args, *want;
} ops[] = {
    [WRITE] = {"write", "bb", "o"},      [STREAM] = {"stream", "bb", "o"},
    [READ] = {"read", "b", "b"},         [GET] = {"get", "b", "b"},
    [RANGE] = {"range", "bnn", "b"},     [INTO] = {"into", "bn", "b"},
    [RANGE_INTO] = {"range_into", "bnn", "b"},
    [STAT] = {"stat", "b", "n"},         [EXISTS] = {"exists", "b", "t"},
    [DELETE] = {"delete", "b", "t"},     [DELETE_PREFIX] = {"delete_prefix", "b", "nn"},
    [LIST] = {"list", "b", "L"},         [PAGE] = {"page", "bbn", "Lm"},
    [COUNT] = {"count", "", "n"},        [SIZE] = {"size", "", "n"},
    [STATS] = {"stats", "", "nns"},      [HEALTH] = {"health", "", "o"},
    [CLOSE] = {"close", "", "o"},        [EVICTIONS] = {"evictions", "", "nn"},
};

/* By status; 1 to 8 are the error names a case may expect. */
static const char *const status_names[] = {
    "ok", "not_found", "store_closed", "invalid_key", "invalid_range", "buffer_too_small",
    "block_too_large", "store_full", "out_of_memory", "invalid_argument", "panic",
};

struct tok {
    int is_bytes; /* a byte string; else a word, NUL-terminated */
    uint8_t *p;   /* never NULL, even for "" */
    size_t n;
    int is_num;   /* a word that is a number, of value num */
    uint64_t num;
};

struct step {
    int line;
    enum op_id op;
    struct tok args[3];
    char *want; /* canonical */
};

struct test_case {
    int line;
    char *name;
    uint64_t max_bytes, max_block_size, max_key_len, evict;
    struct step *steps;
    size_t n_steps;
};

static const char *cases_path;
static int cur_line; /* where a mismatch is reported */
static const char *cur_case = "", *cur_op = "";

static void *xrealloc(void *p, size_t n)
{
    if (!(p = realloc(p, n ? n : 1))) {
        fprintf(stderr, "test_cases: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- canonical text ---- */

struct str {
    char *p;
    size_t n, cap;
};
#define SEP(s) ((s)->n ? " " : "") /* items are separated by one space */

static void str_add(struct str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t len = (size_t)vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (s->n + len + 1 > s->cap)
        s->p = xrealloc(s->p, s->cap = (s->n + len + 1) * 2);
    va_start(ap, fmt);
    vsnprintf(s->p + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    s->n += len;
}

/* A byte string: N*HH for 16 or more of one byte, else quoted, with
 * printable ASCII as is and \\ \" \xHH. */
static void str_bytes(struct str *s, const uint8_t *p, size_t n)
{
    if (n >= 16 && all_bytes_are(p, n, p[0])) {
        str_add(s, "%s%zu*%02x", SEP(s), n, p[0]);
        return;
    }
    str_add(s, "%s\"", SEP(s));
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\')
            str_add(s, "\\%c", p[i]);
        else
            str_add(s, p[i] >= 0x20 && p[i] < 0x7f ? "%c" : "\\x%02x", p[i]);
    }
    str_add(s, "\"");
}

static void str_u64(struct str *s, uint64_t v)
{
    str_add(s, "%s%llu", SEP(s), (unsigned long long)v);
}

static const char *status_name(int32_t st)
{
    return st >= 0 && st <= BLOCKMEM_STATUS_PANIC ? status_names[st] : "(unknown status)";
}

/* The text built, handed to the caller ("" when nothing was added). */
static char *str_take(struct str *s)
{
    str_add(s, "%s", "");
    return s->p;
}

/* ---- parsing ---- */

static int parse_line_no;

static _Noreturn void malformed(const char *why)
{
    fprintf(stderr, "%s:%d: malformed line: %s\n", cases_path, parse_line_no, why);
    exit(1);
}

static int parse_u64(const char *w, uint64_t *out)
{
    uint64_t v = 0;
    for (const char *c = w; *c; c++) {
        if (!isdigit((unsigned char)*c) || v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    *out = v;
    return *w != '\0';
}

static int hex_byte(const char *h)
{
    char two[3] = {h[0], h[0] ? h[1] : '\0', '\0'};
    return isxdigit((unsigned char)two[0]) && isxdigit((unsigned char)two[1])
               ? (int)strtol(two, NULL, 16) : -1;
}

/* Splits a line into tokens, at most max; returns how many. */
static size_t tokenize(char *s, struct tok *toks, size_t max)
{
    size_t n = 0;
    for (;;) {
        s += strspn(s, " \t");
        if (!*s)
            return n;
        if (n == max)
            malformed("too many tokens");
        struct tok *t = memset(&toks[n++], 0, sizeof *t);
        size_t len = strcspn(s, " \t");
        char *star = memchr(s, '*', len);
        int c;
        t->p = xrealloc(NULL, (*s == '"' ? strlen(s) : len) + 1);
        if (*s == '"') { /* "text", which may hold spaces */
            t->is_bytes = 1;
            for (s++; *s != '"'; s++, t->n++) {
                if (!(c = (unsigned char)*s))
                    malformed("unterminated string");
                if (c == '\\') {
                    if (s[1] == 'x' && (c = hex_byte(s + 2)) >= 0)
                        s += 3;
                    else if (s[1] == '\\' || s[1] == '"')
                        c = *++s;
                    else
                        malformed("bad escape in a string");
                }
                t->p[t->n] = (uint8_t)c;
            }
            if (*++s && *s != ' ' && *s != '\t')
                malformed("no space after a string");
            continue;
        }
        memcpy(t->p, s, len);
        t->p[len] = '\0';
        if (star) { /* N*HH */
            uint64_t count;
            size_t at = (size_t)(star - s);
            t->p[at] = '\0';
            c = at + 3 == len ? hex_byte(star + 1) : -1;
            if (c < 0 || !parse_u64((char *)t->p, &count) || count > ((size_t)1 << 30))
                malformed("bad N*HH repetition");
            t->is_bytes = 1;
            t->n = (size_t)count;
            t->p = memset(xrealloc(t->p, t->n), c, t->n);
        } else {
            t->is_num = parse_u64((char *)t->p, &t->num);
        }
        s += len;
    }
}

static int is_word(const struct tok *t, const char *w)
{
    return !t->is_bytes && strcmp((const char *)t->p, w) == 0;
}

/* Whether toks[0..n) have the shape pat (see ops). */
static int shape_ok(const char *pat, const struct tok *t, size_t n)
{
    size_t i = 0;
    for (; *pat; pat++) {
        while (*pat == 'L' && i + 1 < n && t[i].is_bytes && t[i + 1].is_num)
            i += 2;
        if (*pat == 'L')
            continue;
        if (i == n)
            return 0;
        int ok = *pat == 'b' ? t[i].is_bytes : *pat == 'n' ? t[i].is_num
                 : *pat == 'o' ? is_word(&t[i], "ok")
                 : *pat == 't' ? is_word(&t[i], "true") || is_word(&t[i], "false")
                 : *pat == 's' ? is_word(&t[i], "open") || is_word(&t[i], "closed")
                               : is_word(&t[i], "more") || is_word(&t[i], "end");
        if (!ok)
            return 0;
        i++;
    }
    return i == n;
}

/* Adds the step or the options on a line to the cases. */
static void parse_line(char *line, struct test_case **cases, size_t *n_cases)
{
    struct tok t[256];
    size_t n = tokenize(line, t, 256), arrow = 0, i;
    struct test_case *c = *n_cases ? &(*cases)[*n_cases - 1] : NULL;
    if (is_word(&t[0], "case")) {
        if (n != 2 || t[1].is_bytes)
            malformed("want `case NAME`");
        *cases = xrealloc(*cases, (*n_cases + 1) * sizeof **cases);
        c = memset(&(*cases)[(*n_cases)++], 0, sizeof *c);
        c->line = parse_line_no;
        c->name = (char *)t[1].p;
        t[1].p = NULL;
    } else if (is_word(&t[0], "options")) {
        if (!c || c->n_steps)
            malformed("options must come right after `case`");
        for (i = 1; i < n; i++) {
            char *w = (char *)t[i].p, *eq = t[i].is_bytes ? NULL : strchr(w, '=');
            uint64_t *field = !eq ? NULL
                : !strncmp(w, "max_bytes=", 10)      ? &c->max_bytes
                : !strncmp(w, "max_block_size=", 15) ? &c->max_block_size
                : !strncmp(w, "max_key_len=", 12)    ? &c->max_key_len
                : !strncmp(w, "evict=", 6)           ? &c->evict : NULL;
            if (!field || !parse_u64(eq + 1, field))
                malformed("want NAME=N, NAME one of max_bytes, max_block_size, max_key_len, evict");
        }
    } else {
        enum op_id op = 0;
        while (op <= EVICTIONS && !is_word(&t[0], ops[op].name))
            op++;
        if (op > EVICTIONS)
            malformed("unknown operation");
        if (!c)
            malformed("a step before the first case");
        while (arrow < n && !is_word(&t[arrow], "->"))
            arrow++;
        if (arrow == n)
            malformed("no `->`");
        if (!shape_ok(ops[op].args, t + 1, arrow - 1))
            malformed("wrong arguments for the operation");
        const struct tok *w = t + arrow + 1;
        size_t nw = n - arrow - 1;
        int error = 0;
        for (int s = 1; s <= BLOCKMEM_STATUS_OUT_OF_MEMORY; s++)
            if (nw && is_word(w, status_names[s]))
                error = s == BLOCKMEM_STATUS_BUFFER_TOO_SMALL ? nw == 2 && w[1].is_num
                                                              : nw == 1;
        if (!error && !shape_ok(ops[op].want, w, nw))
            malformed("wrong result for the operation");
        c->steps = xrealloc(c->steps, (c->n_steps + 1) * sizeof *c->steps);
        struct step *st = memset(&c->steps[c->n_steps++], 0, sizeof *st);
        struct str want = {0};
        st->line = parse_line_no;
        st->op = op;
        for (i = 0; i < nw; i++) {
            if (w[i].is_bytes)
                str_bytes(&want, w[i].p, w[i].n);
            else if (w[i].is_num)
                str_u64(&want, w[i].num);
            else
                str_add(&want, "%s%s", SEP(&want), (const char *)w[i].p);
        }
        st->want = str_take(&want);
        for (i = 1; i < arrow; i++) {
            st->args[i - 1] = t[i];
            t[i].p = NULL;
        }
    }
    for (i = 0; i < n; i++)
        free(t[i].p);
}

/* ---- running ---- */

static void mismatch(const char *what, const char *want, const char *got)
{
    atomic_fetch_add(&check_failures, 1);
    fprintf(stderr, "%s:%d: case %s: %s%s: want %.300s%s, got %.300s%s\n", cases_path,
            cur_line, cur_case, cur_op, what, want, strlen(want) > 300 ? "..." : "", got,
            strlen(got) > 300 ? "..." : "");
}

/* read, range, into, range_into: copies into a cap-byte buffer of CANARY,
 * every byte past what the library reports (all, on an error) unchanged. */
static int32_t copy(const blockmem_store *store, const struct tok *k, int range,
                    uint64_t off, uint64_t len, size_t cap, struct str *got)
{
    uint8_t *buf = cap ? memset(xrealloc(NULL, cap), CANARY, cap) : NULL;
    size_t n = 0;
    int32_t st = range ? blockmem_read_range(store, k->p, k->n, off, len, buf, cap, &n)
                       : blockmem_read(store, k->p, k->n, buf, cap, &n);
    if (st == BLOCKMEM_STATUS_OK && n > cap)
        str_add(got, "a length of %zu for a %zu-byte buffer", n, cap);
    else if (st == BLOCKMEM_STATUS_OK)
        str_bytes(got, buf, n);
    else
        str_add(got, "%s", status_name(st));
    if (st == BLOCKMEM_STATUS_BUFFER_TOO_SMALL)
        str_u64(got, n);
    for (size_t i = st == BLOCKMEM_STATUS_OK && n <= cap ? n : 0; i < cap; i++) {
        if (buf[i] != CANARY) {
            char g[64];
            snprintf(g, sizeof g, "0x%02x at byte %zu", buf[i], i);
            mismatch(" (buffer past the result)", "0xee", g);
            break;
        }
    }
    free(buf);
    return st;
}

/* Runs one step: its status, and its result in canonical form in got. */
static int32_t run_op(const blockmem_store *store, const struct step *step, struct str *got)
{
    const struct tok *a = step->args;
    const uint8_t *data = NULL;
    uint8_t *mem = NULL;
    size_t n = 0;
    uint64_t v[2] = {0, 0};
    bool flag = false;
    blockmem_block *pin = NULL;
    blockmem_reservation *r = NULL;
    blockmem_list_page *page = NULL;
    blockmem_stats stats;
    int32_t st = BLOCKMEM_STATUS_OK;
    switch (step->op) {
    case WRITE: st = blockmem_write(store, a[0].p, a[0].n, a[1].p, a[1].n); break;
    case STREAM:
        st = blockmem_reserve(store, a[0].p, a[0].n, a[1].n, &mem, &r);
        if (st == BLOCKMEM_STATUS_OK) {
            memcpy(mem, a[1].p, a[1].n);
            st = blockmem_commit(store, r);
        }
        break;
    case READ: return copy(store, &a[0], 0, 0, 0, BIG_BUF, got);
    case INTO: return copy(store, &a[0], 0, 0, 0, (size_t)a[1].num, got);
    case RANGE: return copy(store, &a[0], 1, a[1].num, a[2].num, BIG_BUF, got);
    case RANGE_INTO: return copy(store, &a[0], 1, a[1].num, a[2].num, (size_t)a[2].num, got);
    case GET:
        if ((st = blockmem_get(store, a[0].p, a[0].n, &data, &n, &pin)) == BLOCKMEM_STATUS_OK)
            str_bytes(got, data, n);
        blockmem_block_free(pin);
        break;
    case STAT:
        if ((st = blockmem_stat(store, a[0].p, a[0].n, &v[0])) == BLOCKMEM_STATUS_OK)
            str_u64(got, v[0]);
        break;
    case EXISTS:
    case DELETE:
        st = step->op == EXISTS ? blockmem_exists(store, a[0].p, a[0].n, &flag)
                                : blockmem_delete(store, a[0].p, a[0].n, &flag);
        if (st == BLOCKMEM_STATUS_OK)
            str_add(got, flag ? "true" : "false");
        break;
    case DELETE_PREFIX:
        st = blockmem_delete_prefix(store, a[0].p, a[0].n, &v[0], &v[1]);
        if (st == BLOCKMEM_STATUS_OK)
            str_add(got, "%llu %llu", (unsigned long long)v[0], (unsigned long long)v[1]);
        break;
    case LIST:
    case PAGE:
        st = step->op == LIST ? blockmem_list(store, a[0].p, a[0].n, NULL, 0, 0, &page)
                              : blockmem_list(store, a[0].p, a[0].n, a[1].p, a[1].n,
                                              (size_t)a[2].num, &page);
        for (size_t i = 0; st == BLOCKMEM_STATUS_OK && i < page->count; i++) {
            size_t klen;
            const uint8_t *key = page_key(page, i, &klen);
            str_bytes(got, key, klen);
            str_u64(got, page->sizes[i]);
        }
        if (st == BLOCKMEM_STATUS_OK && (step->op == PAGE || page->has_more))
            str_add(got, "%s%s", SEP(got), page->has_more ? "more" : "end");
        blockmem_list_page_free(page);
        break;
    case COUNT: str_u64(got, blockmem_block_count(store)); break;
    case SIZE: str_u64(got, blockmem_total_size(store)); break;
    case STATS:
        if ((st = blockmem_store_stats(store, &stats)) == BLOCKMEM_STATUS_OK)
            str_add(got, "%llu %llu %s", (unsigned long long)stats.block_count,
                    (unsigned long long)stats.total_size, stats.closed ? "closed" : "open");
        break;
    case HEALTH: st = blockmem_health_check(store); break;
    case CLOSE: st = blockmem_store_close(store); break;
    case EVICTIONS: {
        blockmem_cache_stats cs = {.struct_size = sizeof cs};
        if ((st = blockmem_store_cache_stats(store, &cs)) == BLOCKMEM_STATUS_OK)
            str_add(got, "%llu %llu", (unsigned long long)cs.evictions,
                    (unsigned long long)cs.evicted_bytes);
        break;
    }
    }
    if (st != BLOCKMEM_STATUS_OK || (got->n == 0 && ops[step->op].want[0] == 'o'))
        str_add(got, "%s", status_name(st));
    return st;
}

/* The store's whole state: KEY=DATA ..., then count, size and open|closed.
 * While it is open, checks that the counters equal a recount of a full
 * listing and that every listed size is the size read. */
static char *snapshot(const blockmem_store *store)
{
    struct str s = {0};
    blockmem_stats stats = {0};
    blockmem_list_page *page = NULL;
    uint64_t count = blockmem_block_count(store), size = blockmem_total_size(store);
    uint64_t recount = 0, resize = 0;
    char want[64], got[128];
    if (blockmem_store_stats(store, &stats) != BLOCKMEM_STATUS_OK)
        mismatch(" (stats after the step)", "ok", "an error");
    int32_t st = stats.closed ? BLOCKMEM_STATUS_OK
                              : blockmem_list(store, NULL, 0, NULL, 0, 0, &page);
    if (st != BLOCKMEM_STATUS_OK)
        mismatch(" (a full listing after the step)", "ok", status_name(st));
    for (size_t i = 0; page && i < page->count; i++) {
        size_t klen, dlen = 0;
        const uint8_t *key = page_key(page, i, &klen), *data = NULL;
        blockmem_block *pin = NULL;
        struct str d = {0};
        st = blockmem_get(store, key, klen, &data, &dlen, &pin);
        if (st == BLOCKMEM_STATUS_OK)
            str_bytes(&d, data, dlen);
        else
            str_add(&d, "%s", status_name(st));
        str_bytes(&s, key, klen);
        str_add(&s, "=%s", d.p);
        if (st != BLOCKMEM_STATUS_OK || dlen != page->sizes[i]) {
            snprintf(want, sizeof want, "%llu bytes", (unsigned long long)page->sizes[i]);
            mismatch(" (a listed size against the block read)", want, d.p);
        }
        free(d.p);
        blockmem_block_free(pin);
        recount++;
        resize += page->sizes[i];
    }
    if (page && (page->has_more || !counters_are(store, recount, resize) ||
                 count != recount || size != resize)) {
        snprintf(want, sizeof want, "%llu %llu end", (unsigned long long)recount,
                 (unsigned long long)resize);
        snprintf(got, sizeof got, "%llu %llu %s (stats: %llu %llu)",
                 (unsigned long long)count, (unsigned long long)size,
                 page->has_more ? "more" : "end", (unsigned long long)stats.block_count,
                 (unsigned long long)stats.total_size);
        mismatch(" (count and size against a recount of a full listing)", want, got);
    }
    blockmem_list_page_free(page);
    str_add(&s, "%s%llu %llu %s", SEP(&s), (unsigned long long)count,
            (unsigned long long)size, stats.closed ? "closed" : "open");
    return str_take(&s);
}

static void run_case(const struct test_case *c)
{
    blockmem_store *store = new_store_evicting(c->max_bytes, c->max_block_size, c->max_key_len,
                                               c->evict != 0);
    cur_case = c->name;
    cur_line = c->line;
    cur_op = "case";
    check_tests++;
    char *before = snapshot(store);
    for (size_t i = 0; i < c->n_steps; i++) {
        const struct step *step = &c->steps[i];
        struct str got = {0};
        cur_line = step->line;
        cur_op = ops[step->op].name;
        atomic_fetch_add(&check_count, 1);
        int32_t st = run_op(store, step, &got);
        check_saw_status(st);
        if (strcmp(str_take(&got), step->want) != 0)
            mismatch("", step->want, got.p);
        char *after = snapshot(store);
        if (st != BLOCKMEM_STATUS_OK && strcmp(before, after) != 0)
            mismatch(" (a failed step changed the store)", before, after);
        free(got.p);
        free(before);
        before = after;
    }
    free(before);
    blockmem_store_free(store);
}

int main(int argc, char **argv)
{
    struct test_case *cases = NULL;
    size_t n_cases = 0, line_cap = 0;
    unsigned long steps = 0;
    char *line = NULL;
    FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
    if (argc != 2)
        fprintf(stderr, "usage: test_cases CASES_FILE\n");
    else if (!f)
        perror(argv[1]);
    if (!f)
        return 2;
    cases_path = argv[1];
    while (getline(&line, &line_cap, f) >= 0) {
        parse_line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        size_t skip = strspn(line, " \t");
        if (line[skip] != '\0' && line[skip] != '#')
            parse_line(line, &cases, &n_cases);
    }
    free(line);
    fclose(f);
    if (n_cases == 0) {
        fprintf(stderr, "%s: no cases\n", cases_path);
        return 1;
    }
    for (size_t i = 0; i < n_cases; i++) {
        run_case(&cases[i]);
        steps += cases[i].n_steps;
        for (size_t j = 0; j < cases[i].n_steps; j++) {
            for (int k = 0; k < 3; k++)
                free(cases[i].steps[j].args[k].p);
            free(cases[i].steps[j].want);
        }
        free(cases[i].steps);
        free(cases[i].name);
    }
    free(cases);
    printf("contract cases: %zu cases, %lu steps, from %s\n", n_cases, steps, cases_path);
    return check_report("test_cases");
}
