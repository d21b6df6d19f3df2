/* The per-commit inner loops of the git fast path (extractors.git.fastdiff, diffstat) in C.
 *
 * tree_changes(odb, cache, older, old_id, new_id, dir_filter, file_filter) -> (changes, loaded)
 *     The changed files between two trees (raw ids; None = the empty tree), walked whole in one
 *     call, descending only into subtrees whose ids differ: fastdiff.TreeComparer's walk, step for
 *     step. `changes` is the list of (path, old_mode, old_id, new_mode, new_id) in the reference's
 *     order; a str (the reason) where the reference raises Unusual; None where a tree is out of
 *     git's order (the reference then walks). Trees are read through the dicts `cache` and
 *     `older` (raw id -> raw tree; a tree found in `older` or read from `odb` is stored into
 *     `cache`); `loaded` is the number of bytes stored. `dir_filter(path + "/")` and
 *     `file_filter(path)` (or None) are the path scope's tests.
 *
 * tree_delta(old_raw, new_raw) -> list[tuple] | None
 *     The entries that differ between two raw tree objects (None = the empty tree), merged by
 *     name and sorted by name bytes: (name, old_mode, old_id, new_mode, new_id), None on the
 *     side where the name is absent. None when a tree is not in git's canonical order (the
 *     Python reference, set arithmetic on the entries, then decides).
 *
 * bind(diff_blobs, diff_options_init, flags)
 *     The addresses of libgit2's git_diff_blobs and git_diff_options_init, taken from the
 *     libgit2 pygit2 has loaded (no libgit2 headers or link at build time), and the diff flags.
 *
 * tree_changes_many(odb, pairs, dir_filter, file_filter) -> list
 *     tree_changes of many (old_id or None, new_id) pairs at once, without the cache: the walk
 *     goes level by level over all the pairs and reads each level's trees one directory's
 *     versions in a row, newest first (libgit2 rebuilds a tree from its pack's delta chain
 *     through a small cache of delta bases, which consecutive versions reuse). Per pair: its
 *     changes in the depth-first walk's order; a str where the walk declines (the reason, the
 *     first met level by level); False where a tree is out of git's order; the KeyError or
 *     ValueError where a tree could not be read.
 *
 * blob_diffs(repository_pointer, [(old_id, new_id, driver_path), ...]) -> list
 *     blob_diff of many pairs of blobs given by raw id (None = absent), looked up here (bound by
 *     bind_objects); an item's new version is taken from the previous item's old version when
 *     it is the same blob (one file's versions come in a row, newest first). Per item: as
 *     blob_diff, or "not a blob" where an id names another kind of object, or the KeyError or
 *     ValueError where a blob could not be read.
 *
 * blob_diffs(repository_pointer, [(old_id, new_id, driver_path, path, old_mode, new_mode), ...], True)
 *     The same, each file's hunk lines hashed here with its header (path and modes as bytes,
 *     a mode None where its side is absent) into its share of the stable patch-id, as
 *     diffstat.ChangeReader._native_row hashes them: (added, removed, SHA-1 as a little-endian
 *     integer) per item instead of the body (no body bytes, no hashing in Python).
 *
 * plain_changes_many(repository_pointer, walked, file_change, with_patch_id) -> list
 *     diffstat.ChangeReader's bookkeeping of a batch, for the pairs whose files are all plain
 *     changes: `walked` holds each pair's changes as tree_changes_many gives them. A pair is
 *     taken when it is a non-empty list of changes with ASCII paths that does not both add and
 *     delete files (no rename possible). The files of all the pairs taken are diffed as
 *     blob_diffs does with `hashed`, sorted by path and then in the pairs' order (one file's
 *     versions in a row, newest first), in a repository without attribute files (no driver
 *     path). Per pair: (files, patch-id) with a `file_change` (FileChange, a named tuple) per
 *     file in the pair's order and the patch-id's hex digits (None without `with_patch_id`); a
 *     str where a file declines ("no hunks", "not a blob": the whole-tree diff takes the pair);
 *     the KeyError or ValueError where a blob could not be read; None where not taken.
 *
 * has_diff_attr(repository_pointer, path) -> bool
 *     Whether a `diff` attribute applies to a path, by libgit2's git_attr_get and
 *     git_attr_value (bound by bind_attr), as pygit2's Repository.get_attr(path, "diff") is not None.
 *
 * blob_diff(old_blob_pointer, new_blob_pointer, path) -> (added, removed, body) | None
 *     libgit2's diff of two blobs (a pygit2 object's `_pointer`; None = absent) with the bound
 *     flags, read from its line callbacks instead of a printed patch: the added and removed line
 *     counts (as Patch.line_stats) and the hunk lines as git's patch-id hashes them (origin
 *     `+`/`-` kept, context marks, hunk headers and `\ No newline` markers left out, whitespace
 *     removed). None when the diff has no hunks (binary, or an empty file). The caller hashes
 *     the header and body (hashlib), or blob_diffs with `hashed` does (SHA-1 below).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- tree_delta -------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *mode;
    Py_ssize_t mode_len;
    const unsigned char *name;
    Py_ssize_t name_len;
    const unsigned char *id; /* 20 bytes */
    int is_tree;
} Entry;

typedef struct {
    Entry *items;
    Py_ssize_t len;
} Entries;

/* git's base_name_compare(): names compare as bytes, a tree's as if it ended in '/'. */
static int entry_cmp(const Entry *a, const Entry *b) {
    Py_ssize_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    /* names are short and differ early: a loop beats a call to memcmp (every entry of every
     * tree read is compared with the one before it) */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (a->name[i] != b->name[i])
            return (int)a->name[i] - (int)b->name[i];
    }
    unsigned char ca = n < a->name_len ? a->name[n] : (a->is_tree ? '/' : 0);
    unsigned char cb = n < b->name_len ? b->name[n] : (b->is_tree ? '/' : 0);
    return (int)ca - (int)cb;
}

/* Whether two entries are the same mode, name and id: an entry's parts lie in a row in its tree. */
static int same_entry(const Entry *a, const Entry *b) {
    size_t n = (size_t)(a->id + 20 - a->mode);
    return n == (size_t)(b->id + 20 - b->mode) && memcmp(a->mode, b->mode, n) == 0;
}

/* Parses a raw tree; 1 when it parsed in strictly increasing git order, 0 when not (or when
 * malformed), -1 on memory failure. */
static int parse_tree(const unsigned char *raw, Py_ssize_t len, Entries *out) {
    out->items = NULL;
    out->len = 0;
    Py_ssize_t cap = len / 28 + 1; /* an entry takes at least 1+1+1+1+20 bytes */
    out->items = PyMem_Malloc(sizeof(Entry) * (size_t)cap);
    if (out->items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t i = 0;
    while (i < len) {
        const unsigned char *sp = memchr(raw + i, ' ', (size_t)(len - i));
        if (sp == NULL)
            return 0;
        Py_ssize_t name_at = sp - raw + 1;
        const unsigned char *nul = memchr(raw + name_at, 0, (size_t)(len - name_at));
        if (nul == NULL || (nul - raw) + 21 > len)
            return 0;
        if (out->len == cap) {
            cap *= 2;
            Entry *grown = PyMem_Realloc(out->items, sizeof(Entry) * (size_t)cap);
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            out->items = grown;
        }
        Entry *e = &out->items[out->len];
        e->mode = raw + i;
        e->mode_len = sp - (raw + i);
        e->name = raw + name_at;
        e->name_len = nul - (raw + name_at);
        e->id = nul + 1;
        e->is_tree = e->mode_len == 5 && memcmp(e->mode, "40000", 5) == 0;
        if (out->len > 0 && entry_cmp(&out->items[out->len - 1], e) >= 0)
            return 0;
        out->len++;
        i = (nul - raw) + 21;
    }
    return 1;
}

typedef struct {
    const Entry *old;
    const Entry *new;
} Pair;

static int pair_cmp(const void *x, const void *y) {
    const Pair *a = x, *b = y;
    const Entry *ea = a->old ? a->old : a->new;
    const Entry *eb = b->old ? b->old : b->new;
    Py_ssize_t n = ea->name_len < eb->name_len ? ea->name_len : eb->name_len;
    int c = memcmp(ea->name, eb->name, (size_t)n);
    if (c)
        return c;
    if (ea->name_len != eb->name_len)
        return ea->name_len < eb->name_len ? -1 : 1;
    /* the same name on both sides as a tree and as a file: one pair, old side first */
    return (a->old ? 0 : 1) - (b->old ? 0 : 1);
}

static PyObject *bytes_or_none(const unsigned char *p, Py_ssize_t n) {
    if (p == NULL)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)p, n);
}

static PyObject *pair_tuple(const Entry *old, const Entry *new) {
    const Entry *named = old ? old : new;
    PyObject *t = PyTuple_New(5);
    if (t == NULL)
        return NULL;
    PyObject *items[5] = {
        PyBytes_FromStringAndSize((const char *)named->name, named->name_len),
        old ? bytes_or_none(old->mode, old->mode_len) : bytes_or_none(NULL, 0),
        old ? bytes_or_none(old->id, 20) : bytes_or_none(NULL, 0),
        new ? bytes_or_none(new->mode, new->mode_len) : bytes_or_none(NULL, 0),
        new ? bytes_or_none(new->id, 20) : bytes_or_none(NULL, 0),
    };
    for (int k = 0; k < 5; k++) {
        if (items[k] == NULL) {
            for (int j = 0; j < 5; j++)
                Py_XDECREF(items[j]);
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, k, items[k]);
    }
    return t;
}

/* The differing entries of two parsed trees, in name order: `*out` (PyMem, caller frees) holds
 * `*count` pairs, a name deleted as one type and added as another already merged into one pair.
 * -1 on memory failure. */
static int delta_pairs(const Entries *ea, const Entries *eb, Pair **out, Py_ssize_t *count) {
    Pair *pairs = PyMem_Malloc(sizeof(Pair) * (size_t)(ea->len + eb->len + 1));
    *out = pairs;
    *count = 0;
    if (pairs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t n = 0, i = 0, j = 0;
    int sorted = 1; /* pairs come in git order; byte order differs only around trees */
    while (i < ea->len || j < eb->len) {
        if (i < ea->len && j < eb->len && same_entry(&ea->items[i], &eb->items[j])) {
            i++; /* as nearly every entry of a large directory: one comparison of its bytes */
            j++;
            continue;
        }
        int c = i == ea->len ? 1 : j == eb->len ? -1 : entry_cmp(&ea->items[i], &eb->items[j]);
        if (c == 0) {
            const Entry *x = &ea->items[i++], *y = &eb->items[j++];
            if (x->mode_len == y->mode_len && memcmp(x->mode, y->mode, (size_t)x->mode_len) == 0 &&
                memcmp(x->id, y->id, 20) == 0)
                continue;
            pairs[n].old = x;
            pairs[n].new = y;
        } else if (c < 0) {
            pairs[n].old = &ea->items[i++];
            pairs[n].new = NULL;
        } else {
            pairs[n].old = NULL;
            pairs[n].new = &eb->items[j++];
        }
        if (n > 0 && pair_cmp(&pairs[n - 1], &pairs[n]) >= 0)
            sorted = 0;
        n++;
    }
    if (!sorted)
        qsort(pairs, (size_t)n, sizeof(Pair), pair_cmp);
    /* a name deleted as one type and added as another: one change, as by name in Python */
    Py_ssize_t kept = 0;
    for (Py_ssize_t k = 0; k < n; k++) {
        Pair p = pairs[k];
        if (k + 1 < n && p.old && !p.new && !pairs[k + 1].old && pairs[k + 1].new &&
            p.old->name_len == pairs[k + 1].new->name_len &&
            memcmp(p.old->name, pairs[k + 1].new->name, (size_t)p.old->name_len) == 0) {
            p.new = pairs[++k].new;
        }
        pairs[kept++] = p;
    }
    *count = kept;
    return 0;
}

static PyObject *tree_delta(PyObject *self, PyObject *args) {
    Py_buffer a = {0}, b = {0};
    PyObject *oa, *ob;
    if (!PyArg_ParseTuple(args, "OO:tree_delta", &oa, &ob))
        return NULL;
    if (oa != Py_None && PyObject_GetBuffer(oa, &a, PyBUF_SIMPLE) < 0)
        return NULL;
    if (ob != Py_None && PyObject_GetBuffer(ob, &b, PyBUF_SIMPLE) < 0) {
        if (a.obj)
            PyBuffer_Release(&a);
        return NULL;
    }
    PyObject *result = NULL;
    Pair *pairs = NULL;
    Py_ssize_t n = 0;
    Entries ea = {NULL, 0}, eb = {NULL, 0};
    int ok_a = parse_tree(a.buf, a.obj ? a.len : 0, &ea);
    int ok_b = ok_a == 1 ? parse_tree(b.buf, b.obj ? b.len : 0, &eb) : 0;
    if (ok_a < 0 || ok_b < 0)
        goto done;
    if (ok_a == 0 || ok_b == 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (delta_pairs(&ea, &eb, &pairs, &n) < 0)
        goto done;
    result = PyList_New(0);
    if (result == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *t = pair_tuple(pairs[k].old, pairs[k].new);
        if (t == NULL || PyList_Append(result, t) < 0) {
            Py_XDECREF(t);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(t);
    }
done:
    PyMem_Free(pairs);
    PyMem_Free(ea.items);
    PyMem_Free(eb.items);
    if (a.obj)
        PyBuffer_Release(&a);
    if (b.obj)
        PyBuffer_Release(&b);
    return result;
}

/* --- blob_diff ----------------------------------------------------------------------------- */

/* libgit2's git_diff_line (include/git2/diff.h), unchanged since libgit2 0.2x */
typedef struct {
    char origin;
    int old_lineno;
    int new_lineno;
    int num_lines;
    size_t content_len;
    int64_t content_offset;
    const char *content;
} git_diff_line;

typedef int (*hunk_cb_t)(const void *delta, const void *hunk, void *payload);
typedef int (*line_cb_t)(const void *delta, const void *hunk, const git_diff_line *line, void *payload);
typedef int (*diff_blobs_t)(const void *old_blob, const char *old_as_path, const void *new_blob,
                            const char *new_as_path, const void *options, void *file_cb, void *binary_cb,
                            hunk_cb_t hunk_cb, line_cb_t line_cb, void *payload);
typedef int (*options_init_t)(void *options, unsigned int version);

static diff_blobs_t diff_blobs = NULL;
/* git_diff_options, opaque but for its first two fields (version, flags): initialised by
 * libgit2 itself; far larger than the struct of any libgit2 version */
static _Alignas(16) unsigned char diff_options[1024];

typedef struct {
    char *buf;
    size_t len, cap;
    long added, removed, hunks;
    int nomem;
} Body;

static int body_reserve(Body *b, size_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra)
        cap *= 2;
    char *grown = PyMem_RawRealloc(b->buf, cap);
    if (grown == NULL)
        return -1;
    b->buf = grown;
    b->cap = cap;
    return 0;
}

static int on_hunk(const void *delta, const void *hunk, void *payload) {
    (void)delta;
    (void)hunk;
    ((Body *)payload)->hunks++;
    return 0;
}

static int on_line(const void *delta, const void *hunk, const git_diff_line *line, void *payload) {
    (void)delta;
    (void)hunk;
    Body *b = payload;
    char origin = line->origin;
    if (origin == '+')
        b->added++;
    else if (origin == '-')
        b->removed++;
    else if (origin != ' ')
        return 0; /* `\ No newline at end of file` marks: not hashed */
    if (body_reserve(b, line->content_len + 1) < 0) {
        b->nomem = 1;
        return -1;
    }
    char *out = b->buf + b->len;
    size_t kept = 0;
    if (origin != ' ')
        out[kept++] = origin;
    const unsigned char *p = (const unsigned char *)line->content;
    for (size_t i = 0; i < line->content_len; i++) {
        unsigned char c = p[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            out[kept++] = (char)c;
    }
    b->len += kept;
    return 0;
}

static PyObject *bind(PyObject *self, PyObject *args) {
    unsigned long long blobs_at, init_at;
    unsigned int flags;
    if (!PyArg_ParseTuple(args, "KKI:bind", &blobs_at, &init_at, &flags))
        return NULL;
    options_init_t init = (options_init_t)(uintptr_t)init_at;
    memset(diff_options, 0, sizeof diff_options);
    if (init == NULL || blobs_at == 0 || init(diff_options, 1) != 0) {
        PyErr_SetString(PyExc_ValueError, "libgit2's git_diff_options_init failed");
        return NULL;
    }
    memcpy(diff_options + sizeof(unsigned int), &flags, sizeof flags);
    diff_blobs = (diff_blobs_t)(uintptr_t)blobs_at;
    Py_RETURN_NONE;
}

static int blob_pointer(PyObject *o, const void **out) {
    *out = NULL;
    if (o == Py_None)
        return 0;
    if (!PyBytes_Check(o) || PyBytes_GET_SIZE(o) != (Py_ssize_t)sizeof(void *)) {
        PyErr_SetString(PyExc_TypeError, "blob_diff: a blob's pointer must be pointer-sized bytes");
        return -1;
    }
    memcpy((void *)out, PyBytes_AS_STRING(o), sizeof(void *));
    return 0;
}

static PyObject *blob_diff(PyObject *self, PyObject *args) {
    PyObject *old_o, *new_o;
    const char *path;
    if (!PyArg_ParseTuple(args, "OOy:blob_diff", &old_o, &new_o, &path))
        return NULL;
    if (diff_blobs == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "blob_diff: bind() first");
        return NULL;
    }
    const void *old_blob, *new_blob;
    if (blob_pointer(old_o, &old_blob) < 0 || blob_pointer(new_o, &new_blob) < 0)
        return NULL;
    Body b = {NULL, 0, 0, 0, 0, 0, 0};
    int rc = diff_blobs(old_blob, path, new_blob, path, diff_options, NULL, NULL, on_hunk, on_line, &b);
    PyObject *result;
    if (b.nomem) {
        result = PyErr_NoMemory();
    } else if (rc < 0) {
        PyErr_Format(PyExc_ValueError, "libgit2 could not diff two blobs (error %d)", rc);
        result = NULL;
    } else if (b.hunks == 0) {
        result = Py_NewRef(Py_None);
    } else {
        result = Py_BuildValue("lly#", b.added, b.removed, b.buf ? b.buf : "", (Py_ssize_t)b.len);
    }
    PyMem_RawFree(b.buf);
    return result;
}

/* --- SHA-1, for the patch-id's per-file digests of blob_diffs ------------------------------- */
/* OpenSSL's (the libcrypto Python's hashlib loaded, bound by bind_sha1: it uses the CPU's SHA
 * instructions, about 4x faster here), else this plain FIPS 180-4 one. */

typedef struct {
    uint32_t h[5];
    uint64_t len; /* bytes hashed */
    unsigned char buf[64];
    size_t used;
} Sha1;

#define ROL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void c_sha1_block(Sha1 *s, const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = ROL32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = ROL32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = ROL32(b, 30);
        b = a;
        a = t;
    }
    s->h[0] += a;
    s->h[1] += b;
    s->h[2] += c;
    s->h[3] += d;
    s->h[4] += e;
}

static void c_sha1_init(Sha1 *s) {
    s->h[0] = 0x67452301;
    s->h[1] = 0xEFCDAB89;
    s->h[2] = 0x98BADCFE;
    s->h[3] = 0x10325476;
    s->h[4] = 0xC3D2E1F0;
    s->len = 0;
    s->used = 0;
}

static void c_sha1_update(Sha1 *s, const unsigned char *p, size_t n) {
    s->len += n;
    if (s->used) {
        size_t take = 64 - s->used < n ? 64 - s->used : n;
        memcpy(s->buf + s->used, p, take);
        s->used += take;
        p += take;
        n -= take;
        if (s->used < 64)
            return;
        c_sha1_block(s, s->buf);
        s->used = 0;
    }
    for (; n >= 64; p += 64, n -= 64)
        c_sha1_block(s, p);
    memcpy(s->buf, p, n);
    s->used = n;
}

static void c_sha1_final(Sha1 *s, unsigned char out[20]) {
    uint64_t bits = s->len * 8;
    unsigned char pad[72] = {0x80};
    size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
    c_sha1_update(s, pad, padlen + 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}


typedef int (*ossl_init_t)(void *ctx);
typedef int (*ossl_update_t)(void *ctx, const void *data, size_t len);
typedef int (*ossl_final_t)(unsigned char *md, void *ctx);
static ossl_init_t ossl_init = NULL;
static ossl_update_t ossl_update = NULL;
static ossl_final_t ossl_final = NULL;

typedef struct {
    union {
        Sha1 own;
        _Alignas(16) unsigned char ossl[256]; /* SHA_CTX: 96 bytes */
    } u;
} Hasher;

static void sha1_init(Hasher *h) {
    if (ossl_init != NULL)
        ossl_init(h->u.ossl);
    else
        c_sha1_init(&h->u.own);
}

static void sha1_update(Hasher *h, const unsigned char *p, size_t n) {
    if (ossl_update != NULL)
        ossl_update(h->u.ossl, p, n);
    else
        c_sha1_update(&h->u.own, p, n);
}

static void sha1_final(Hasher *h, unsigned char out[20]) {
    if (ossl_final != NULL)
        ossl_final(out, h->u.ossl);
    else
        c_sha1_final(&h->u.own, out);
}

static PyObject *bind_sha1(PyObject *self, PyObject *args) {
    unsigned long long init_at, update_at, final_at;
    if (!PyArg_ParseTuple(args, "KKK:bind_sha1", &init_at, &update_at, &final_at))
        return NULL;
    if (init_at == 0 || update_at == 0 || final_at == 0) { /* unbind: the plain SHA-1 */
        ossl_init = NULL;
        ossl_update = NULL;
        ossl_final = NULL;
        Py_RETURN_NONE;
    }
    ossl_init = (ossl_init_t)(uintptr_t)init_at;
    ossl_update = (ossl_update_t)(uintptr_t)update_at;
    ossl_final = (ossl_final_t)(uintptr_t)final_at;
    Py_RETURN_NONE;
}

static PyObject *sha1(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Hasher h;
    unsigned char digest[20];
    sha1_init(&h);
    sha1_update(&h, view.buf, (size_t)view.len);
    sha1_final(&h, digest);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)digest, 20);
}

/* Hash `n` bytes without git's whitespace (isspace: space, tab, LF, CR): the header parts. */
static void sha1_update_nows(Hasher *s, const unsigned char *p, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (i > start)
                sha1_update(s, p + start, i - start);
            start = i + 1;
        }
    }
    if (n > start)
        sha1_update(s, p + start, n - start);
}

#define HASH_STR(s, lit) sha1_update((s), (const unsigned char *)(lit), sizeof(lit) - 1)

/* One plain file's share of the stable patch-id: SHA-1 of its header as git prints it (less
 * the `index` line), then its hunk lines (`body`, whitespace removed already):
 * diffstat.ChangeReader._native_row's hash. */
static void file_digest(const unsigned char *path, size_t plen, const unsigned char *old_mode, size_t olen,
                        const unsigned char *new_mode, size_t nlen, int has_old, int has_new, const char *body,
                        size_t blen, unsigned char digest[20]) {
    Hasher s;
    sha1_init(&s);
    HASH_STR(&s, "diff--gita/");
    sha1_update_nows(&s, path, plen);
    HASH_STR(&s, "b/");
    sha1_update_nows(&s, path, plen);
    if (has_old && has_new) {
        HASH_STR(&s, "---a/");
        sha1_update_nows(&s, path, plen);
        HASH_STR(&s, "+++b/");
        sha1_update_nows(&s, path, plen);
    } else if (has_new) {
        HASH_STR(&s, "newfilemode");
        sha1_update_nows(&s, new_mode, nlen);
        HASH_STR(&s, "---/dev/null+++b/");
        sha1_update_nows(&s, path, plen);
    } else {
        HASH_STR(&s, "deletedfilemode");
        sha1_update_nows(&s, old_mode, olen);
        HASH_STR(&s, "---a/");
        sha1_update_nows(&s, path, plen);
        HASH_STR(&s, "+++/dev/null");
    }
    sha1_update(&s, (const unsigned char *)body, blen);
    sha1_final(&s, digest);
}

/* file_digest as a little-endian integer, as Python sums the shares. */
static PyObject *file_hash_of(const unsigned char *path, size_t plen, const unsigned char *old_mode,
                              size_t olen, const unsigned char *new_mode, size_t nlen, int has_old,
                              int has_new, const char *body, size_t blen) {
    unsigned char digest[20];
    file_digest(path, plen, old_mode, olen, new_mode, nlen, has_old, has_new, body, blen, digest);
    return _PyLong_FromByteArray(digest, 20, 1, 0);
}

/* --- odb / read_raw --------------------------------------------------------------------------- */

typedef int (*repository_odb_t)(void **out, void *repo);
typedef int (*odb_read_t)(void **out, void *db, const unsigned char *id);
typedef const void *(*odb_object_data_t)(void *obj);
typedef size_t (*odb_object_size_t)(void *obj);
typedef void (*free_t)(void *obj);

static repository_odb_t repository_odb = NULL;
static odb_read_t odb_read = NULL;
static odb_object_data_t odb_object_data = NULL;
static odb_object_size_t odb_object_size = NULL;
static free_t odb_object_free = NULL;
static free_t odb_free = NULL;

#define GIT_ENOTFOUND (-3)

static PyObject *bind_odb(PyObject *self, PyObject *args) {
    unsigned long long f[6];
    if (!PyArg_ParseTuple(args, "(KKKKKK):bind_odb", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]))
        return NULL;
    for (int i = 0; i < 6; i++) {
        if (f[i] == 0) {
            PyErr_SetString(PyExc_ValueError, "bind_odb: a null function");
            return NULL;
        }
    }
    repository_odb = (repository_odb_t)(uintptr_t)f[0];
    odb_read = (odb_read_t)(uintptr_t)f[1];
    odb_object_data = (odb_object_data_t)(uintptr_t)f[2];
    odb_object_size = (odb_object_size_t)(uintptr_t)f[3];
    odb_object_free = (free_t)(uintptr_t)f[4];
    odb_free = (free_t)(uintptr_t)f[5];
    Py_RETURN_NONE;
}

static void odb_capsule_free(PyObject *capsule) {
    void *db = PyCapsule_GetPointer(capsule, "git_odb");
    if (db != NULL && odb_free != NULL)
        odb_free(db);
}

static PyObject *odb(PyObject *self, PyObject *arg) {
    if (repository_odb == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "odb: bind_odb() first");
        return NULL;
    }
    void *repo;
    if (!PyBytes_Check(arg) || PyBytes_GET_SIZE(arg) != (Py_ssize_t)sizeof(void *)) {
        PyErr_SetString(PyExc_TypeError, "odb: a repository's pointer must be pointer-sized bytes");
        return NULL;
    }
    memcpy(&repo, PyBytes_AS_STRING(arg), sizeof repo);
    void *db = NULL;
    int rc = repository_odb(&db, repo);
    if (rc < 0 || db == NULL) {
        PyErr_Format(PyExc_ValueError, "libgit2 could not open the object database (error %d)", rc);
        return NULL;
    }
    PyObject *capsule = PyCapsule_New(db, "git_odb", odb_capsule_free);
    if (capsule == NULL)
        odb_free(db);
    return capsule;
}

/* The error of a failed read of object `id`: KeyError naming it when missing, else ValueError. */
static void object_error(const unsigned char *id, int rc) {
    PyObject *hex = PyBytes_FromStringAndSize((const char *)id, 20);
    PyObject *text = hex ? PyObject_CallMethod(hex, "hex", NULL) : NULL;
    if (text != NULL) {
        if (rc == GIT_ENOTFOUND)
            PyErr_SetObject(PyExc_KeyError, text);
        else
            PyErr_Format(PyExc_ValueError, "libgit2 could not read object %U (error %d)", text, rc);
    }
    Py_XDECREF(hex);
    Py_XDECREF(text);
}

/* An object's raw content by its 20-byte id (KeyError when missing), a new reference. */
static PyObject *read_object(void *db, const unsigned char *id) {
    void *obj = NULL;
    int rc = odb_read(&obj, db, id);
    if (rc < 0) {
        object_error(id, rc);
        return NULL;
    }
    PyObject *data =
        PyBytes_FromStringAndSize((const char *)odb_object_data(obj), (Py_ssize_t)odb_object_size(obj));
    odb_object_free(obj);
    return data;
}

static PyObject *read_raw(PyObject *self, PyObject *args) {
    PyObject *capsule;
    const char *id;
    Py_ssize_t id_len;
    if (!PyArg_ParseTuple(args, "Oy#:read_raw", &capsule, &id, &id_len))
        return NULL;
    void *db = PyCapsule_GetPointer(capsule, "git_odb");
    if (db == NULL)
        return NULL;
    if (id_len != 20) {
        PyErr_SetString(PyExc_ValueError, "read_raw: an object id is 20 bytes");
        return NULL;
    }
    return read_object(db, (const unsigned char *)id);
}

/* --- blob_diffs ------------------------------------------------------------------------------ */

typedef int (*object_lookup_t)(void **out, void *repo, const unsigned char *id, int type);
typedef int (*object_type_t)(const void *obj);
static object_lookup_t object_lookup = NULL;
static object_type_t object_type = NULL;
static free_t object_free = NULL;
#define GIT_OBJECT_ANY (-2)
#define GIT_OBJECT_BLOB 3

static int raw_id(PyObject *o, const unsigned char **out, const char *what);

static PyObject *bind_objects(PyObject *self, PyObject *args) {
    unsigned long long f[3];
    if (!PyArg_ParseTuple(args, "KKK:bind_objects", &f[0], &f[1], &f[2]))
        return NULL;
    if (f[0] == 0 || f[1] == 0 || f[2] == 0) {
        PyErr_SetString(PyExc_ValueError, "bind_objects: a null function");
        return NULL;
    }
    object_lookup = (object_lookup_t)(uintptr_t)f[0];
    object_type = (object_type_t)(uintptr_t)f[1];
    object_free = (free_t)(uintptr_t)f[2];
    Py_RETURN_NONE;
}

/* The object `id` as a blob: 0 and *out set; 1 when it is another kind of object; -1 with
 * KeyError (missing) or ValueError set. */
static int lookup_blob(void *repo, const unsigned char *id, void **out) {
    *out = NULL;
    int rc = object_lookup(out, repo, id, GIT_OBJECT_ANY);
    if (rc < 0) {
        object_error(id, rc);
        return -1;
    }
    if (object_type(*out) != GIT_OBJECT_BLOB) {
        object_free(*out);
        *out = NULL;
        return 1;
    }
    return 0;
}

static PyObject *raised(void) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* Blob diffs by id in a row: an item's new version is taken from the previous item's old
 * version when it is the same blob (one file's versions come in a row, newest first). */
typedef struct {
    void *repo;
    void *kept;
    unsigned char kept_id[20];
} BlobReader;

static void reader_free(BlobReader *r) {
    if (r->kept != NULL)
        object_free(r->kept);
    r->kept = NULL;
}

enum { DIFF_OK, DIFF_NO_HUNKS, DIFF_NOT_BLOB, DIFF_FAILED, DIFF_FATAL };

/* libgit2's diff of blobs `a` and `b` (NULL = absent) into `body` (the caller frees its buffer):
 * DIFF_OK; DIFF_NO_HUNKS (binary, or an empty file added or deleted); DIFF_NOT_BLOB (an id
 * names another kind of object); DIFF_FAILED with the item's exception set (KeyError for a
 * missing object, ValueError for libgit2's failures); DIFF_FATAL with MemoryError set. */
static int diff_ids(BlobReader *r, const unsigned char *a, const unsigned char *b, const char *path, Body *body) {
    void *old_blob = NULL, *new_blob = NULL;
    int rc = 0, out;
    if (b != NULL) {
        if (r->kept != NULL && memcmp(r->kept_id, b, 20) == 0) {
            new_blob = r->kept;
            r->kept = NULL;
        } else {
            rc = lookup_blob(r->repo, b, &new_blob);
        }
    }
    if (rc == 0 && a != NULL)
        rc = lookup_blob(r->repo, a, &old_blob);
    if (rc < 0) {
        out = DIFF_FAILED;
    } else if (rc > 0) {
        out = DIFF_NOT_BLOB;
    } else {
        int drc = diff_blobs(old_blob, path, new_blob, path, diff_options, NULL, NULL, on_hunk, on_line, body);
        if (body->nomem) {
            PyErr_NoMemory();
            out = DIFF_FATAL;
        } else if (drc < 0) {
            PyErr_Format(PyExc_ValueError, "libgit2 could not diff two blobs (error %d)", drc);
            out = DIFF_FAILED;
        } else {
            out = body->hunks == 0 ? DIFF_NO_HUNKS : DIFF_OK;
        }
    }
    if (new_blob != NULL)
        object_free(new_blob);
    if (old_blob != NULL) {
        reader_free(r);
        r->kept = old_blob;
        memcpy(r->kept_id, a, 20);
    }
    return out;
}

/* The repository pointer (pointer-sized bytes) of a call, or -1 with TypeError set. */
static int repository_pointer(PyObject *o, void **out, const char *fn) {
    if (!PyBytes_Check(o) || PyBytes_GET_SIZE(o) != (Py_ssize_t)sizeof(void *)) {
        PyErr_Format(PyExc_TypeError, "%s: a repository's pointer must be pointer-sized bytes", fn);
        return -1;
    }
    memcpy(out, PyBytes_AS_STRING(o), sizeof *out);
    return 0;
}

static PyObject *blob_diffs(PyObject *self, PyObject *args) {
    PyObject *repo_o, *items_o;
    int hashed = 0;
    if (!PyArg_ParseTuple(args, "OO|p:blob_diffs", &repo_o, &items_o, &hashed))
        return NULL;
    if (diff_blobs == NULL || object_lookup == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "blob_diffs: bind() and bind_objects() first");
        return NULL;
    }
    BlobReader reader = {NULL, NULL, {0}};
    if (repository_pointer(repo_o, &reader.repo, "blob_diffs") < 0)
        return NULL;
    PyObject *seq = PySequence_Fast(items_o, "blob_diffs: items must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyList_New(n);
    if (result == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *oa, *ob;
        const char *path;
        const char *file = NULL, *old_mode = NULL, *new_mode = NULL;
        Py_ssize_t file_len = 0, old_mode_len = 0, new_mode_len = 0;
        if (hashed ? !PyArg_ParseTuple(item, "OOyy#z#z#:blob_diffs item", &oa, &ob, &path, &file, &file_len,
                                       &old_mode, &old_mode_len, &new_mode, &new_mode_len)
                   : !PyArg_ParseTuple(item, "OOy:blob_diffs item", &oa, &ob, &path))
            goto fail;
        const unsigned char *a, *b;
        if (raw_id(oa, &a, "old") < 0 || raw_id(ob, &b, "new") < 0)
            goto fail;
        Body body = {NULL, 0, 0, 0, 0, 0, 0};
        PyObject *got = NULL;
        switch (diff_ids(&reader, a, b, path, &body)) {
        case DIFF_OK:
            if (hashed) {
                PyObject *h = file_hash_of((const unsigned char *)file, (size_t)file_len,
                                           (const unsigned char *)old_mode, (size_t)old_mode_len,
                                           (const unsigned char *)new_mode, (size_t)new_mode_len, a != NULL,
                                           b != NULL, body.buf ? body.buf : "", body.len);
                got = h == NULL ? NULL : Py_BuildValue("llN", body.added, body.removed, h);
            } else {
                got = Py_BuildValue("lly#", body.added, body.removed, body.buf ? body.buf : "", (Py_ssize_t)body.len);
            }
            break;
        case DIFF_NO_HUNKS:
            got = Py_NewRef(Py_None);
            break;
        case DIFF_NOT_BLOB:
            got = PyUnicode_FromString("not a blob");
            break;
        case DIFF_FAILED:
            got = raised();
            break;
        }
        PyMem_RawFree(body.buf);
        if (got == NULL)
            goto fail;
        PyList_SET_ITEM(result, i, got);
    }
    reader_free(&reader);
    Py_DECREF(seq);
    return result;
fail:
    reader_free(&reader);
    Py_DECREF(seq);
    Py_XDECREF(result);
    return NULL;
}

/* --- plain_changes_many: a batch's plain file changes, rows and patch-ids -------------------- */

/* One changed file of one pair: the change tuple is held (a new reference) until the end. */
typedef struct {
    Py_ssize_t pair, index;
    PyObject *change;
    const char *path;
    Py_ssize_t path_len;
    const unsigned char *a, *b; /* blob ids, NULL = absent */
    long added, removed;
    unsigned char digest[20];
} FileItem;

/* by path, then in the pairs' order (diffstat's sort of the files: one file's versions in a
 * row, newest first); pointers are sorted, the items stay in the pairs' order */
static int file_item_cmp(const void *x, const void *y) {
    const FileItem *p = *(const FileItem *const *)x, *q = *(const FileItem *const *)y;
    Py_ssize_t n = p->path_len < q->path_len ? p->path_len : q->path_len;
    int c = memcmp(p->path, q->path, (size_t)n);
    if (c != 0)
        return c;
    if (p->path_len != q->path_len)
        return p->path_len < q->path_len ? -1 : 1;
    if (p->pair != q->pair)
        return p->pair < q->pair ? -1 : 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

/* Whether a pair's changes are taken here: a list of changes (path, old mode, old id, new
 * mode, new id) with ASCII paths that does not both add and delete files (a rename is then
 * possible: diffstat pairs those). -1 with TypeError set when a change is malformed. */
static int plain_pair(PyObject *changes) {
    if (!PyList_CheckExact(changes) || PyList_GET_SIZE(changes) == 0)
        return 0;
    int adds = 0, dels = 0;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(changes); k++) {
        PyObject *c = PyList_GET_ITEM(changes, k);
        if (!PyTuple_CheckExact(c) || PyTuple_GET_SIZE(c) != 5) {
            PyErr_SetString(PyExc_TypeError, "plain_changes_many: a change is a tuple of 5");
            return -1;
        }
        PyObject *path = PyTuple_GET_ITEM(c, 0);
        if (!PyUnicode_CheckExact(path) || !PyUnicode_IS_ASCII(path))
            return 0;
        adds |= PyTuple_GET_ITEM(c, 1) == Py_None;
        dels |= PyTuple_GET_ITEM(c, 3) == Py_None;
    }
    return !(adds && dels);
}

/* A mode (bytes) or None: its bytes and length. */
static int mode_of(PyObject *o, const unsigned char **out, Py_ssize_t *len) {
    *out = NULL;
    *len = 0;
    if (o == Py_None)
        return 0;
    if (!PyBytes_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "plain_changes_many: a mode is bytes or None");
        return -1;
    }
    *out = (const unsigned char *)PyBytes_AS_STRING(o);
    *len = PyBytes_GET_SIZE(o);
    return 0;
}

/* The items of the `n` pairs' lists of changes held in `lists` that are taken (`taken[i]`), in
 * the pairs' order; -1 with an exception set. */
static int gather_items(PyObject *const *lists, Py_ssize_t n, const char *taken, FileItem **out, Py_ssize_t *count) {
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (taken[i])
            total += PyList_GET_SIZE(lists[i]);
    FileItem *items = PyMem_Calloc((size_t)total + 1, sizeof(FileItem));
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!taken[i])
            continue;
        PyObject *changes = lists[i];
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(changes) && m < total; k++) {
            PyObject *c = PyList_GET_ITEM(changes, k);
            FileItem *it = &items[m++];
            it->pair = i;
            it->index = k;
            it->change = Py_NewRef(c);
            it->path = (const char *)PyUnicode_DATA(PyTuple_GET_ITEM(c, 0));
            it->path_len = PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(c, 0));
            if (raw_id(PyTuple_GET_ITEM(c, 2), &it->a, "old") < 0 || raw_id(PyTuple_GET_ITEM(c, 4), &it->b, "new") < 0) {
                *out = items;
                *count = m;
                return -1;
            }
        }
    }
    *out = items;
    *count = m;
    return 0;
}

/* Diffs one item into its counts and patch-id share: 0, or 1 when its pair fails (`fails[pair]`
 * set to the reason or the exception), -1 with an exception set (the call fails). */
static int diff_item(BlobReader *r, FileItem *it, PyObject **fails) {
    Body body = {NULL, 0, 0, 0, 0, 0, 0};
    /* no attributes in the repository (the caller's condition): no driver path */
    int rc = diff_ids(r, it->a, it->b, "", &body);
    int out = 0;
    if (rc == DIFF_OK) {
        const unsigned char *om, *nm;
        Py_ssize_t ol, nl;
        if (mode_of(PyTuple_GET_ITEM(it->change, 1), &om, &ol) < 0 || mode_of(PyTuple_GET_ITEM(it->change, 3), &nm, &nl) < 0) {
            out = -1;
        } else {
            it->added = body.added;
            it->removed = body.removed;
            file_digest((const unsigned char *)it->path, (size_t)it->path_len, om, (size_t)ol, nm, (size_t)nl,
                        it->a != NULL, it->b != NULL, body.buf ? body.buf : "", body.len, it->digest);
        }
    } else if (rc == DIFF_FATAL) {
        out = -1;
    } else {
        PyObject *why = rc == DIFF_NO_HUNKS   ? PyUnicode_FromString("no hunks")
                        : rc == DIFF_NOT_BLOB ? PyUnicode_FromString("not a blob")
                                              : raised();
        if (why == NULL)
            out = -1;
        else {
            fails[it->pair] = why;
            out = 1;
        }
    }
    PyMem_RawFree(body.buf);
    return out;
}

/* A FileChange (a named tuple class of six fields) as the class itself would make it: its
 * instance allocated as a tuple's, as tuple.__new__ does for a subclass. */
static PyObject *file_change(PyTypeObject *cls, const FileItem *it, PyObject *kinds[3]) {
    PyObject *kind = it->a == NULL ? kinds[0] : it->b == NULL ? kinds[1] : kinds[2];
    PyObject *added = PyLong_FromLong(it->added), *removed = PyLong_FromLong(it->removed);
    PyObject *t = (added && removed) ? cls->tp_alloc(cls, 6) : NULL;
    if (t == NULL) {
        Py_XDECREF(added);
        Py_XDECREF(removed);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, Py_NewRef(PyTuple_GET_ITEM(it->change, 0)));
    PyTuple_SET_ITEM(t, 1, Py_NewRef(Py_None));
    PyTuple_SET_ITEM(t, 2, Py_NewRef(kind));
    PyTuple_SET_ITEM(t, 3, added);
    PyTuple_SET_ITEM(t, 4, removed);
    PyTuple_SET_ITEM(t, 5, Py_NewRef(Py_False));
    return t;
}

/* The stable patch-id from the files' shares: their SHA-1s summed as little-endian 160-bit
 * integers (diffstat's sum_patch_hashes), in hex. */
static PyObject *patch_id_of(const FileItem *const *files, Py_ssize_t n) {
    unsigned char sum[20] = {0};
    for (Py_ssize_t f = 0; f < n; f++) {
        unsigned carry = 0;
        for (int j = 0; j < 20; j++) {
            unsigned v = (unsigned)sum[j] + files[f]->digest[j] + carry;
            sum[j] = (unsigned char)v;
            carry = v >> 8;
        }
    }
    static const char hex[] = "0123456789abcdef";
    char text[40];
    for (int j = 0; j < 20; j++) {
        text[2 * j] = hex[sum[j] >> 4];
        text[2 * j + 1] = hex[sum[j] & 15];
    }
    return PyUnicode_DecodeASCII(text, 40, NULL);
}

/* (files, patch-id or None) of one pair from its items, in the pair's order. */
static PyObject *pair_result(PyTypeObject *cls, const FileItem *const *files, Py_ssize_t n, int with_patch_id,
                             PyObject *kinds[3]) {
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t f = 0; f < n; f++) {
        PyObject *fc = file_change(cls, files[f], kinds);
        if (fc == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, f, fc);
    }
    PyObject *pid = with_patch_id ? patch_id_of(files, n) : Py_NewRef(Py_None);
    if (pid == NULL) {
        Py_DECREF(list);
        return NULL;
    }
    return Py_BuildValue("(NN)", list, pid);
}

/* Each pair's answer into `result`: (files, patch-id), its failure, or None where not taken. */
static int pair_results(PyObject *result, PyTypeObject *cls, const char *taken, PyObject **fails, FileItem *items,
                        Py_ssize_t count, int with_patch_id) {
    PyObject *kinds[3] = {PyUnicode_InternFromString("A"), PyUnicode_InternFromString("D"),
                          PyUnicode_InternFromString("M")};
    const FileItem **files = PyMem_Calloc((size_t)count + 1, sizeof(FileItem *));
    int ok = kinds[0] && kinds[1] && kinds[2] && files;
    if (files == NULL)
        PyErr_NoMemory();
    /* the items in the pairs' order (gathered so): one run of items per pair */
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; ok && i < PyList_GET_SIZE(result); i++) {
        PyObject *got = NULL;
        if (!taken[i]) {
            got = Py_NewRef(Py_None);
        } else {
            Py_ssize_t n = 0;
            for (; m < count && items[m].pair == i; m++)
                files[n++] = &items[m];
            got = fails[i] != NULL ? Py_NewRef(fails[i]) : pair_result(cls, files, n, with_patch_id, kinds);
        }
        if (got == NULL)
            ok = 0;
        else
            PyList_SetItem(result, i, got);
    }
    PyMem_Free(files);
    for (int j = 0; j < 3; j++)
        Py_XDECREF(kinds[j]);
    return ok ? 0 : -1;
}

/* plain_changes_many(repository_pointer, walked, file_change, with_patch_id) -> list */
static PyObject *plain_changes_many(PyObject *self, PyObject *args) {
    PyObject *repo_o, *walked, *cls_o;
    int with_patch_id;
    if (!PyArg_ParseTuple(args, "OO!Op:plain_changes_many", &repo_o, &PyList_Type, &walked, &cls_o, &with_patch_id))
        return NULL;
    if (diff_blobs == NULL || object_lookup == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "plain_changes_many: bind() and bind_objects() first");
        return NULL;
    }
    if (!PyType_Check(cls_o) || !PyType_IsSubtype((PyTypeObject *)cls_o, &PyTuple_Type) ||
        ((PyTypeObject *)cls_o)->tp_basicsize != PyTuple_Type.tp_basicsize || ((PyTypeObject *)cls_o)->tp_dictoffset != 0) {
        PyErr_SetString(PyExc_TypeError, "plain_changes_many: file_change must be a named tuple class");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)cls_o;
    BlobReader reader = {NULL, NULL, {0}};
    if (repository_pointer(repo_o, &reader.repo, "plain_changes_many") < 0)
        return NULL;
    Py_ssize_t npairs = PyList_GET_SIZE(walked);
    PyObject *result = PyList_New(npairs);
    char *taken = PyMem_Calloc((size_t)npairs + 1, 1);
    PyObject **fails = PyMem_Calloc((size_t)npairs + 1, sizeof(PyObject *));
    PyObject **lists = PyMem_Calloc((size_t)npairs + 1, sizeof(PyObject *));
    FileItem *items = NULL, **by_path = NULL;
    Py_ssize_t count = 0;
    int ok = 0;
    if (result == NULL || taken == NULL || fails == NULL || lists == NULL) {
        if (result != NULL)
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < npairs; i++) {
        PyList_SET_ITEM(result, i, Py_NewRef(Py_None));
        /* each pair's list is held: its items borrow from it */
        lists[i] = Py_NewRef(PyList_GET_ITEM(walked, i));
        int t = plain_pair(lists[i]);
        if (t < 0)
            goto done;
        taken[i] = (char)t;
    }
    if (gather_items(lists, npairs, taken, &items, &count) < 0)
        goto done;
    by_path = PyMem_Calloc((size_t)count + 1, sizeof(FileItem *));
    if (by_path == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t m = 0; m < count; m++)
        by_path[m] = &items[m];
    if (count > 1)
        qsort(by_path, (size_t)count, sizeof(FileItem *), file_item_cmp);
    for (Py_ssize_t m = 0; m < count; m++) {
        if (fails[by_path[m]->pair] != NULL)
            continue; /* its pair failed already: the whole-tree diff takes it */
        if (diff_item(&reader, by_path[m], fails) < 0)
            goto done;
    }
    ok = pair_results(result, cls, taken, fails, items, count, with_patch_id) == 0;
done:
    PyMem_Free(by_path);
    reader_free(&reader);
    for (Py_ssize_t m = 0; m < count; m++)
        Py_DECREF(items[m].change);
    PyMem_Free(items);
    for (Py_ssize_t i = 0; i < npairs; i++) {
        if (fails != NULL)
            Py_XDECREF(fails[i]);
        if (lists != NULL)
            Py_XDECREF(lists[i]);
    }
    PyMem_Free(taken);
    PyMem_Free(fails);
    PyMem_Free(lists);
    if (!ok) {
        Py_XDECREF(result);
        return NULL;
    }
    return result;
}

/* --- diff attributes ------------------------------------------------------------------------ */

typedef int (*attr_get_t)(const char **value_out, void *repo, uint32_t flags, const char *path, const char *name);
typedef int (*attr_value_t)(const char *value);
static attr_get_t attr_get = NULL;
static attr_value_t attr_value = NULL;
#define GIT_ATTR_VALUE_UNSPECIFIED 0

static PyObject *bind_attr(PyObject *self, PyObject *args) {
    unsigned long long get_at, value_at;
    if (!PyArg_ParseTuple(args, "KK:bind_attr", &get_at, &value_at))
        return NULL;
    if (get_at == 0 || value_at == 0) {
        PyErr_SetString(PyExc_ValueError, "bind_attr: a null function");
        return NULL;
    }
    attr_get = (attr_get_t)(uintptr_t)get_at;
    attr_value = (attr_value_t)(uintptr_t)value_at;
    Py_RETURN_NONE;
}

/* Whether a `diff` attribute applies to `path` (git_attr_get with libgit2's default lookup
 * order, as pygit2's Repository.get_attr(path, "diff") asks): its value is anything but
 * unspecified. ValueError when libgit2 fails. */
static PyObject *has_diff_attr(PyObject *self, PyObject *args) {
    PyObject *repo_o;
    const char *path;
    if (!PyArg_ParseTuple(args, "Oy:has_diff_attr", &repo_o, &path))
        return NULL;
    if (attr_get == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "has_diff_attr: bind_attr() first");
        return NULL;
    }
    void *repo;
    if (!PyBytes_Check(repo_o) || PyBytes_GET_SIZE(repo_o) != (Py_ssize_t)sizeof(void *)) {
        PyErr_SetString(PyExc_TypeError, "has_diff_attr: a repository's pointer must be pointer-sized bytes");
        return NULL;
    }
    memcpy(&repo, PyBytes_AS_STRING(repo_o), sizeof repo);
    const char *value = NULL;
    int rc = attr_get(&value, repo, 0, path, "diff");
    if (rc < 0) {
        PyErr_Format(PyExc_ValueError, "libgit2 could not look up the diff attribute of %s (error %d)", path, rc);
        return NULL;
    }
    /* `!diff` gives a value of its own that git_attr_value reads as unspecified */
    return PyBool_FromLong(attr_value(value) != GIT_ATTR_VALUE_UNSPECIFIED);
}

/* --- tree_changes -------------------------------------------------------------------------- */

typedef struct {
    void *db;
    PyObject *cache, *older;            /* raw id -> raw tree (bytes) */
    PyObject *dir_filter, *file_filter; /* callables, or NULL: every path */
    PyObject *out;                      /* the changes found */
    Py_ssize_t loaded;                  /* bytes stored into `cache` */
    const char *unusual;                /* why the fast path declines, once it does */
    int unordered;                      /* a tree out of git's order was met */
    char *path;
    size_t path_cap;
} Walk;

/* The raw tree `id` from the cache (either generation) or the object database, stored into the
 * current generation; a new reference, NULL on error. */
static PyObject *load_tree(Walk *w, const unsigned char *id) {
    PyObject *key = PyBytes_FromStringAndSize((const char *)id, 20);
    if (key == NULL)
        return NULL;
    PyObject *raw = PyDict_GetItemWithError(w->cache, key);
    if (raw != NULL) {
        Py_INCREF(raw);
        Py_DECREF(key);
        return raw;
    }
    if (PyErr_Occurred())
        goto fail;
    raw = PyDict_GetItemWithError(w->older, key);
    if (raw != NULL)
        Py_INCREF(raw);
    else if (PyErr_Occurred() || (raw = read_object(w->db, id)) == NULL)
        goto fail;
    if (!PyBytes_Check(raw)) {
        PyErr_SetString(PyExc_TypeError, "tree_changes: the cache holds raw trees (bytes) only");
        Py_DECREF(raw);
        goto fail;
    }
    if (PyDict_SetItem(w->cache, key, raw) < 0) {
        Py_DECREF(raw);
        goto fail;
    }
    w->loaded += PyBytes_GET_SIZE(raw);
    Py_DECREF(key);
    return raw;
fail:
    Py_DECREF(key);
    return NULL;
}

static int path_reserve(Walk *w, size_t len) {
    if (len <= w->path_cap)
        return 0;
    size_t cap = w->path_cap ? w->path_cap : 256;
    while (cap < len)
        cap *= 2;
    char *grown = PyMem_Realloc(w->path, cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->path = grown;
    w->path_cap = cap;
    return 0;
}

/* printable ASCII without `"` or `\`: printed unquoted by git and libgit2 (fastdiff._PLAIN_NAME) */
static int plain_name(const unsigned char *p, Py_ssize_t n) {
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

static int file_mode(const Entry *e) {
    return e->mode_len == 6 && (memcmp(e->mode, "100644", 6) == 0 || memcmp(e->mode, "100755", 6) == 0);
}

/* filter(path) for the first `len` bytes of the path: 1 keep, 0 skip, -1 error */
static int path_filter(Walk *w, PyObject *filter, size_t len) {
    PyObject *s = PyUnicode_DecodeUTF8(w->path, (Py_ssize_t)len, "surrogateescape");
    if (s == NULL)
        return -1;
    PyObject *r = PyObject_CallOneArg(filter, s);
    Py_DECREF(s);
    if (r == NULL)
        return -1;
    int keep = PyObject_IsTrue(r);
    Py_DECREF(r);
    return keep;
}

/* Compares trees `a` and `b` (NULL = absent) under the path prefix w->path[:prefix]: 0 done,
 * 1 stopped (w->unusual or w->unordered set), -1 error. fastdiff.TreeComparer._visit is the
 * reference, step for step. */
static int walk_trees(Walk *w, const unsigned char *a, const unsigned char *b, size_t prefix) {
    PyObject *ra = NULL, *rb = NULL;
    Entries ea = {NULL, 0}, eb = {NULL, 0};
    Pair *pairs = NULL;
    Py_ssize_t n = 0;
    int rc = -1;
    if (a != NULL && (ra = load_tree(w, a)) == NULL)
        goto done;
    if (b != NULL && (rb = load_tree(w, b)) == NULL)
        goto done;
    int ok_a = parse_tree(ra ? (const unsigned char *)PyBytes_AS_STRING(ra) : NULL, ra ? PyBytes_GET_SIZE(ra) : 0, &ea);
    if (ok_a < 0)
        goto done;
    int ok_b = ok_a == 1
                   ? parse_tree(rb ? (const unsigned char *)PyBytes_AS_STRING(rb) : NULL, rb ? PyBytes_GET_SIZE(rb) : 0, &eb)
                   : 0;
    if (ok_b < 0)
        goto done;
    if (ok_a == 0 || ok_b == 0) {
        w->unordered = 1;
        rc = 1;
        goto done;
    }
    if (delta_pairs(&ea, &eb, &pairs, &n) < 0)
        goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        const Entry *old = pairs[k].old, *new = pairs[k].new;
        const Entry *named = old ? old : new;
        size_t len = prefix + (size_t)named->name_len;
        if (path_reserve(w, len + 2) < 0)
            goto done;
        memcpy(w->path + prefix, named->name, (size_t)named->name_len);
        int plain = plain_name(named->name, named->name_len);
        int old_tree = old && old->is_tree, new_tree = new && new->is_tree;
        if (old_tree || new_tree) {
            int both = (!old || old_tree) && (!new || new_tree);
            w->path[len] = '/';
            if (both && w->dir_filter != NULL) {
                int keep = path_filter(w, w->dir_filter, len + 1);
                if (keep < 0)
                    goto done;
                if (!keep)
                    continue;
            }
            if (!both) {
                w->unusual = "type change";
                rc = 1;
                goto done;
            }
            if (!plain) {
                w->unusual = "path needs quoting";
                rc = 1;
                goto done;
            }
            int sub = walk_trees(w, old ? old->id : NULL, new ? new->id : NULL, len + 1);
            if (sub != 0) {
                rc = sub;
                goto done;
            }
            continue;
        }
        if (w->file_filter != NULL) {
            int keep = path_filter(w, w->file_filter, len);
            if (keep < 0)
                goto done;
            if (!keep)
                continue;
        }
        if (!plain) {
            w->unusual = "path needs quoting";
            rc = 1;
            goto done;
        }
        if ((old && !file_mode(old)) || (new && !file_mode(new))) {
            w->unusual = "symlink, submodule or other special file";
            rc = 1;
            goto done;
        }
        if (old && new && memcmp(old->mode, new->mode, 6) != 0) {
            w->unusual = "mode change";
            rc = 1;
            goto done;
        }
        PyObject *t = PyTuple_New(5);
        if (t == NULL)
            goto done;
        PyObject *items[5] = {
            PyUnicode_DecodeASCII(w->path, (Py_ssize_t)len, NULL),
            old ? bytes_or_none(old->mode, old->mode_len) : bytes_or_none(NULL, 0),
            old ? bytes_or_none(old->id, 20) : bytes_or_none(NULL, 0),
            new ? bytes_or_none(new->mode, new->mode_len) : bytes_or_none(NULL, 0),
            new ? bytes_or_none(new->id, 20) : bytes_or_none(NULL, 0),
        };
        int failed = 0;
        for (int i = 0; i < 5; i++) {
            if (items[i] == NULL)
                failed = 1;
            else
                PyTuple_SET_ITEM(t, i, items[i]);
        }
        if (failed || PyList_Append(w->out, t) < 0) {
            Py_DECREF(t); /* frees the items set; the others are NULL */
            goto done;
        }
        Py_DECREF(t);
    }
    rc = 0;
done:
    PyMem_Free(pairs);
    PyMem_Free(ea.items);
    PyMem_Free(eb.items);
    Py_XDECREF(ra);
    Py_XDECREF(rb);
    return rc;
}

static int raw_id(PyObject *o, const unsigned char **out, const char *what) {
    *out = NULL;
    if (o == Py_None)
        return 0;
    if (!PyBytes_Check(o) || PyBytes_GET_SIZE(o) != 20) {
        PyErr_Format(PyExc_TypeError, "the %s object's id must be 20 bytes or None", what);
        return -1;
    }
    *out = (const unsigned char *)PyBytes_AS_STRING(o);
    return 0;
}

static PyObject *tree_changes(PyObject *self, PyObject *args) {
    PyObject *capsule, *cache, *older, *old_o, *new_o, *dir_filter, *file_filter;
    if (!PyArg_ParseTuple(args, "OO!O!OOOO:tree_changes", &capsule, &PyDict_Type, &cache, &PyDict_Type, &older,
                          &old_o, &new_o, &dir_filter, &file_filter))
        return NULL;
    Walk w = {0};
    w.db = PyCapsule_GetPointer(capsule, "git_odb");
    if (w.db == NULL)
        return NULL;
    const unsigned char *a, *b;
    if (raw_id(old_o, &a, "old") < 0 || raw_id(new_o, &b, "new") < 0)
        return NULL;
    w.cache = cache;
    w.older = older;
    w.dir_filter = dir_filter == Py_None ? NULL : dir_filter;
    w.file_filter = file_filter == Py_None ? NULL : file_filter;
    w.out = PyList_New(0);
    if (w.out == NULL)
        return NULL;
    int rc = 0;
    if (!(a && b && memcmp(a, b, 20) == 0) && (a || b))
        rc = walk_trees(&w, a, b, 0);
    PyMem_Free(w.path);
    PyObject *found;
    if (rc < 0) {
        Py_DECREF(w.out);
        return NULL;
    }
    if (w.unordered) {
        found = Py_NewRef(Py_None);
        Py_DECREF(w.out);
    } else if (w.unusual) {
        found = PyUnicode_FromString(w.unusual);
        Py_DECREF(w.out);
    } else {
        found = w.out;
    }
    if (found == NULL)
        return NULL;
    return Py_BuildValue("(Nn)", found, w.loaded);
}

/* --- tree_changes_many ---------------------------------------------------------------------- */

/* One pair of trees to compare in a level of the batch walk. */
typedef struct {
    Py_ssize_t pair;         /* index of the commit's pair of trees */
    char *path;              /* the directory's path with its slash ("" for the roots) */
    size_t path_len;
    unsigned char *key;      /* the position in the depth-first walk: 4 bytes a level */
    size_t key_len;
    int has_a, has_b;
    unsigned char a[20], b[20];
} Item;

typedef struct {
    Py_ssize_t pair;
    unsigned char *key;
    size_t key_len;
    PyObject *change;
} Found;

typedef struct {
    Item *items;
    Py_ssize_t len, cap;
} Level;

static int level_push(Level *lv, Item it) {
    if (lv->len == lv->cap) {
        Py_ssize_t cap = lv->cap ? lv->cap * 2 : 256;
        Item *grown = PyMem_Realloc(lv->items, sizeof(Item) * (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        lv->items = grown;
        lv->cap = cap;
    }
    lv->items[lv->len++] = it;
    return 0;
}

static void level_free(Level *lv) {
    for (Py_ssize_t i = 0; i < lv->len; i++) {
        PyMem_Free(lv->items[i].path);
        PyMem_Free(lv->items[i].key);
    }
    PyMem_Free(lv->items);
    lv->items = NULL;
    lv->len = lv->cap = 0;
}

/* read order: one directory's versions in a row, newest (walk order) first */
static int item_cmp(const void *x, const void *y) {
    const Item *a = x, *b = y;
    size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
    int c = memcmp(a->path, b->path, n);
    if (c)
        return c;
    if (a->path_len != b->path_len)
        return a->path_len < b->path_len ? -1 : 1;
    return a->pair < b->pair ? -1 : a->pair > b->pair;
}

static int found_cmp(const void *x, const void *y) {
    const Found *a = x, *b = y;
    if (a->pair != b->pair)
        return a->pair < b->pair ? -1 : 1;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static unsigned char *key_extend(const unsigned char *key, size_t len, Py_ssize_t k) {
    unsigned char *out = PyMem_Malloc(len + 4);
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (len)
        memcpy(out, key, len);
    out[len] = (unsigned char)(k >> 24);
    out[len + 1] = (unsigned char)(k >> 16);
    out[len + 2] = (unsigned char)(k >> 8);
    out[len + 3] = (unsigned char)k;
    return out;
}

/* filter(path) on path bytes: 1 keep, 0 skip, -1 error */
static int bytes_filter(PyObject *filter, const char *path, size_t len) {
    PyObject *s = PyUnicode_DecodeUTF8(path, (Py_ssize_t)len, "surrogateescape");
    if (s == NULL)
        return -1;
    PyObject *r = PyObject_CallOneArg(filter, s);
    Py_DECREF(s);
    if (r == NULL)
        return -1;
    int keep = PyObject_IsTrue(r);
    Py_DECREF(r);
    return keep;
}

/* The last two trees read, kept for the next items with their entries (parsed at first use):
 * consecutive versions of a directory share one. */
typedef struct {
    unsigned char id[2][20];
    PyObject *raw[2];
    Entries entries[2];
    int parsed[2]; /* parse_tree's answer (1 or 0), or -1: not parsed yet */
    int next;
} Recent;

static void recent_free(Recent *r) {
    for (int s = 0; s < 2; s++) {
        Py_CLEAR(r->raw[s]);
        PyMem_Free(r->entries[s].items);
        r->entries[s] = (Entries){NULL, 0};
    }
}

/* The slot holding tree `id`, read into the slot other than `keep` (the other side of the item
 * being read, or -1) when it is not there; -1 with the error set when it cannot be read. */
static int recent_slot(Recent *r, void *db, const unsigned char *id, int keep) {
    for (int s = 0; s < 2; s++)
        if (r->raw[s] != NULL && memcmp(r->id[s], id, 20) == 0)
            return s;
    PyObject *raw = read_object(db, id);
    if (raw == NULL)
        return -1;
    int s = r->next == keep ? keep ^ 1 : r->next;
    Py_XSETREF(r->raw[s], raw);
    memcpy(r->id[s], id, 20);
    PyMem_Free(r->entries[s].items);
    r->entries[s] = (Entries){NULL, 0};
    r->parsed[s] = -1;
    r->next = s ^ 1;
    return s;
}

static const Entries no_entries = {NULL, 0};

/* The entries of slot `s` (or of the empty tree, s < 0): parse_tree's 1 or 0, -1 on memory failure. */
static int recent_entries(Recent *r, int s, const Entries **out) {
    if (s < 0) {
        *out = &no_entries;
        return 1;
    }
    if (r->parsed[s] < 0) {
        int ok = parse_tree((const unsigned char *)PyBytes_AS_STRING(r->raw[s]), PyBytes_GET_SIZE(r->raw[s]),
                            &r->entries[s]);
        if (ok < 0) {
            PyMem_Free(r->entries[s].items);
            r->entries[s] = (Entries){NULL, 0};
            return -1;
        }
        r->parsed[s] = ok;
    }
    *out = &r->entries[s];
    return r->parsed[s];
}

/* An item's two trees' slots (-1 where absent), the new one read first: the new tree of one pair
 * is most often the old tree of the pair before (the next older commit's tree is this
 * commit's parent's), still kept that way; read old first, every version was read twice.
 * -1 with the error the old-first order gives: the old tree's, when both fail. */
static int read_pair(Recent *recent, void *db, const Item *it, int *sa, int *sb) {
    *sa = *sb = -1;
    if (it->has_b && (*sb = recent_slot(recent, db, it->b, -1)) < 0) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (it->has_a && recent_slot(recent, db, it->a, -1) < 0) {
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(tb);
            return -1;
        }
        PyErr_Restore(type, value, tb);
        return -1;
    }
    if (it->has_a && (*sa = recent_slot(recent, db, it->a, *sb)) < 0)
        return -1;
    return 0;
}

static PyObject *tree_changes_many(PyObject *self, PyObject *args) {
    PyObject *capsule, *pairs_o, *dir_filter, *file_filter;
    if (!PyArg_ParseTuple(args, "OOOO:tree_changes_many", &capsule, &pairs_o, &dir_filter, &file_filter))
        return NULL;
    void *db = PyCapsule_GetPointer(capsule, "git_odb");
    if (db == NULL)
        return NULL;
    if (dir_filter == Py_None)
        dir_filter = NULL;
    if (file_filter == Py_None)
        file_filter = NULL;
    PyObject *seq = PySequence_Fast(pairs_o, "tree_changes_many: pairs must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t npairs = PySequence_Fast_GET_SIZE(seq);
    PyObject *result = PyList_New(npairs); /* None until settled: a reason, an error, or changes */
    Level level = {NULL, 0, 0}, next = {NULL, 0, 0};
    Found *found = NULL;
    Py_ssize_t nfound = 0, found_cap = 0;
    Recent recent = {{{0}}, {NULL, NULL}, {{NULL, 0}, {NULL, 0}}, {-1, -1}, 0};
    Pair *dp = NULL;
    int ok = 0;
    if (result == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < npairs; i++) {
        PyList_SET_ITEM(result, i, Py_NewRef(Py_None));
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *oa, *ob;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "tree_changes_many: each pair is (old id or None, new id)");
            goto done;
        }
        oa = PyTuple_GET_ITEM(pair, 0);
        ob = PyTuple_GET_ITEM(pair, 1);
        const unsigned char *a, *b;
        if (raw_id(oa, &a, "old") < 0 || raw_id(ob, &b, "new") < 0)
            goto done;
        if ((a && b && memcmp(a, b, 20) == 0) || (!a && !b))
            continue;
        Item it = {i, PyMem_Malloc(1), 0, NULL, 0, a != NULL, b != NULL, {0}, {0}};
        if (it.path == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        if (a)
            memcpy(it.a, a, 20);
        if (b)
            memcpy(it.b, b, 20);
        if (level_push(&level, it) < 0) {
            PyMem_Free(it.path);
            goto done;
        }
    }
    /* settled[i]: 0 walking, 1 declined or failed (result[i] holds why) */
    char *settled = PyMem_Calloc((size_t)npairs + 1, 1);
    if (settled == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    while (level.len > 0) {
        qsort(level.items, (size_t)level.len, sizeof(Item), item_cmp);
        for (Py_ssize_t li = 0; li < level.len; li++) {
            Item *it = &level.items[li];
            if (settled[it->pair])
                continue;
            int sa, sb;
            if (read_pair(&recent, db, it, &sa, &sb) < 0)
                goto read_failed;
            const Entries *ea, *eb;
            int ok_a = recent_entries(&recent, sa, &ea);
            int ok_b = ok_a == 1 ? recent_entries(&recent, sb, &eb) : 0;
            const char *why = NULL;
            int unordered = 0, failed = 0;
            Py_ssize_t n = 0;
            if (ok_a < 0 || ok_b < 0)
                failed = 1;
            else if (ok_a == 0 || ok_b == 0)
                unordered = 1;
            else if (delta_pairs(ea, eb, &dp, &n) < 0)
                failed = 1;
            for (Py_ssize_t k = 0; !failed && !unordered && !why && k < n; k++) {
                const Entry *old = dp[k].old, *new = dp[k].new;
                const Entry *named = old ? old : new;
                size_t len = it->path_len + (size_t)named->name_len;
                char *path = PyMem_Malloc(len + 2);
                if (path == NULL) {
                    PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                memcpy(path, it->path, it->path_len);
                memcpy(path + it->path_len, named->name, (size_t)named->name_len);
                path[len] = '/';
                int plain = plain_name(named->name, named->name_len);
                int old_tree = old && old->is_tree, new_tree = new && new->is_tree;
                if (old_tree || new_tree) {
                    int both = (!old || old_tree) && (!new || new_tree);
                    if (both && dir_filter != NULL) {
                        int keep = bytes_filter(dir_filter, path, len + 1);
                        if (keep <= 0) {
                            PyMem_Free(path);
                            if (keep < 0)
                                failed = 1;
                            continue;
                        }
                    }
                    if (!both || !plain) {
                        why = !both ? "type change" : "path needs quoting";
                        PyMem_Free(path);
                        break;
                    }
                    Item sub = {it->pair, path, len + 1, key_extend(it->key, it->key_len, k), it->key_len + 4,
                                old != NULL, new != NULL, {0}, {0}};
                    if (sub.key == NULL) {
                        PyMem_Free(path);
                        failed = 1;
                        break;
                    }
                    if (old)
                        memcpy(sub.a, old->id, 20);
                    if (new)
                        memcpy(sub.b, new->id, 20);
                    if (level_push(&next, sub) < 0) {
                        PyMem_Free(path);
                        PyMem_Free(sub.key);
                        failed = 1;
                    }
                    continue;
                }
                if (file_filter != NULL) {
                    int keep = bytes_filter(file_filter, path, len);
                    if (keep <= 0) {
                        PyMem_Free(path);
                        if (keep < 0)
                            failed = 1;
                        continue;
                    }
                }
                if (!plain)
                    why = "path needs quoting";
                else if ((old && !file_mode(old)) || (new && !file_mode(new)))
                    why = "symlink, submodule or other special file";
                else if (old && new && memcmp(old->mode, new->mode, 6) != 0)
                    why = "mode change";
                if (why) {
                    PyMem_Free(path);
                    break;
                }
                PyObject *t = PyTuple_New(5);
                PyObject *items[5] = {
                    PyUnicode_DecodeASCII(path, (Py_ssize_t)len, NULL),
                    old ? bytes_or_none(old->mode, old->mode_len) : bytes_or_none(NULL, 0),
                    old ? bytes_or_none(old->id, 20) : bytes_or_none(NULL, 0),
                    new ? bytes_or_none(new->mode, new->mode_len) : bytes_or_none(NULL, 0),
                    new ? bytes_or_none(new->id, 20) : bytes_or_none(NULL, 0),
                };
                PyMem_Free(path);
                int bad = t == NULL;
                for (int q = 0; q < 5; q++) {
                    if (items[q] == NULL || t == NULL) {
                        bad = 1;
                        Py_XDECREF(items[q]);
                    } else {
                        PyTuple_SET_ITEM(t, q, items[q]);
                    }
                }
                unsigned char *key = bad ? NULL : key_extend(it->key, it->key_len, k);
                if (bad || key == NULL) {
                    Py_XDECREF(t);
                    failed = 1;
                    break;
                }
                if (nfound == found_cap) {
                    Py_ssize_t cap = found_cap ? found_cap * 2 : 1024;
                    Found *grown = PyMem_Realloc(found, sizeof(Found) * (size_t)cap);
                    if (grown == NULL) {
                        PyErr_NoMemory();
                        Py_DECREF(t);
                        PyMem_Free(key);
                        failed = 1;
                        break;
                    }
                    found = grown;
                    found_cap = cap;
                }
                found[nfound++] = (Found){it->pair, key, it->key_len + 4, t};
            }
            PyMem_Free(dp);
            dp = NULL;
            if (failed) {
                PyMem_Free(settled);
                goto done;
            }
            if (unordered || why) {
                settled[it->pair] = 1;
                PyObject *mark = unordered ? Py_NewRef(Py_False) : PyUnicode_FromString(why);
                if (mark == NULL) {
                    PyMem_Free(settled);
                    goto done;
                }
                PyList_SetItem(result, it->pair, mark);
            }
            continue;
        read_failed:
            /* a missing or unreadable tree fails its commit alone: the exception in its place */
            if (!PyErr_ExceptionMatches(PyExc_KeyError) && !PyErr_ExceptionMatches(PyExc_ValueError)) {
                PyMem_Free(settled);
                goto done;
            }
            {
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                PyErr_NormalizeException(&type, &value, &tb);
                if (tb != NULL && value != NULL)
                    PyException_SetTraceback(value, tb);
                Py_XDECREF(type);
                Py_XDECREF(tb);
                settled[it->pair] = 1;
                PyList_SetItem(result, it->pair, value ? value : Py_NewRef(Py_None));
            }
        }
        level_free(&level);
        level = next;
        next = (Level){NULL, 0, 0};
    }
    /* the changes of each commit still walking, in the depth-first walk's order */
    if (nfound > 1)
        qsort(found, (size_t)nfound, sizeof(Found), found_cmp);
    for (Py_ssize_t i = 0; i < npairs; i++) {
        if (settled[i])
            continue;
        PyObject *lst = PyList_New(0);
        if (lst == NULL) {
            PyMem_Free(settled);
            goto done;
        }
        PyList_SetItem(result, i, lst);
    }
    for (Py_ssize_t f = 0; f < nfound; f++) {
        if (settled[found[f].pair])
            continue;
        if (PyList_Append(PyList_GET_ITEM(result, found[f].pair), found[f].change) < 0) {
            PyMem_Free(settled);
            goto done;
        }
    }
    PyMem_Free(settled);
    ok = 1;
done:
    for (Py_ssize_t f = 0; f < nfound; f++) {
        Py_DECREF(found[f].change);
        PyMem_Free(found[f].key);
    }
    PyMem_Free(found);
    PyMem_Free(dp);
    level_free(&level);
    level_free(&next);
    recent_free(&recent);
    Py_DECREF(seq);
    if (!ok) {
        Py_XDECREF(result);
        return NULL;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"tree_delta", tree_delta, METH_VARARGS, "The differing entries of two raw trees, by name."},
    {"bind", bind, METH_VARARGS, "Bind libgit2's git_diff_blobs and the diff flags."},
    {"blob_diff", blob_diff, METH_VARARGS, "Line counts and patch-id body of a blob diff."},
    {"bind_odb", bind_odb, METH_VARARGS, "Bind libgit2's object database functions."},
    {"odb", odb, METH_O, "A repository's object database, from its pointer."},
    {"read_raw", read_raw, METH_VARARGS, "An object's raw content."},
    {"bind_objects", bind_objects, METH_VARARGS, "Bind libgit2's object lookup functions."},
    {"blob_diffs", blob_diffs, METH_VARARGS, "blob_diff of many pairs of blobs by id."},
    {"plain_changes_many", plain_changes_many, METH_VARARGS, "A batch's plain file changes and patch-ids."},
    {"bind_attr", bind_attr, METH_VARARGS, "Bind libgit2's git_attr_get and git_attr_value."},
    {"has_diff_attr", has_diff_attr, METH_VARARGS, "Whether a diff attribute applies to a path."},
    {"tree_changes_many", tree_changes_many, METH_VARARGS, "tree_changes of many pairs, read by path."},
    {"tree_changes", tree_changes, METH_VARARGS, "The changed files between two trees, walked whole."},
    {"bind_sha1", bind_sha1, METH_VARARGS, "Bind libcrypto's SHA1_Init, SHA1_Update and SHA1_Final (0s: unbind)."},
    {"sha1", sha1, METH_O, "The SHA-1 digest of a buffer, as blob_diffs hashes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_gitdiff", NULL, -1, methods};

PyMODINIT_FUNC PyInit__gitdiff(void) { return PyModule_Create(&module); }
