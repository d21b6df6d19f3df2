/* git's get_one_patchid() (builtin/patch-id.c) over a buffer: the line walk in C.
 *
 * patch_id_parts(data, start) -> list[bytes] | None
 *
 * Walks data[start:] exactly as core.patchid._walk_patch_id does (the reference, itself
 * checked against `git patch-id --stable`) and returns, instead of a digest, the bytes git would
 * feed to SHA-1 between two flushes (one entry per file, whitespace already removed); None when
 * the patch hashes nothing. Python sums the SHA-1 digests (hashlib), so no hashing code lives
 * here. The walk is per line and branch-heavy: in Python it costs about a quarter of a message's
 * parse, here a few percent.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

typedef struct {
    char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
} Segment;

static int seg_reserve(Segment *s, Py_ssize_t extra) {
    if (s->len + extra <= s->cap)
        return 0;
    Py_ssize_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + extra)
        cap *= 2;
    char *grown = PyMem_Realloc(s->buf, (size_t)cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    s->buf = grown;
    s->cap = cap;
    return 0;
}

/* Appends `line` without git's whitespace (isspace in git's ctype: space, \t, \n, \r);
 * returns how many bytes were kept, or -1 on memory failure. */
static Py_ssize_t seg_add_stripped(Segment *s, const unsigned char *line, Py_ssize_t len) {
    if (seg_reserve(s, len) < 0)
        return -1;
    char *out = s->buf + s->len;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = line[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            out[kept++] = (char)c;
    }
    s->len += kept;
    return kept;
}

static int seg_add(Segment *s, const unsigned char *bytes, Py_ssize_t len) {
    if (seg_reserve(s, len) < 0)
        return -1;
    memcpy(s->buf + s->len, bytes, (size_t)len);
    s->len += len;
    return 0;
}

static int seg_flush(Segment *s, PyObject *parts) {
    PyObject *b = PyBytes_FromStringAndSize(s->buf ? s->buf : "", s->len);
    if (b == NULL)
        return -1;
    int rc = PyList_Append(parts, b);
    Py_DECREF(b);
    s->len = 0;
    return rc;
}

static int starts(const unsigned char *line, Py_ssize_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return (size_t)len >= n && memcmp(line, prefix, n) == 0;
}

static int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static Py_ssize_t digits(const unsigned char *p, Py_ssize_t len) {
    Py_ssize_t n = 0;
    while (n < len && p[n] >= '0' && p[n] <= '9')
        n++;
    return n;
}

/* C's atoi (as git calls it): leading whitespace, a sign, digits; glibc's saturating strtol
 * truncated to int. */
static int c_atoi(const unsigned char *p, Py_ssize_t len) {
    Py_ssize_t i = 0;
    while (i < len && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
        i++;
    int negative = 0;
    if (i < len && (p[i] == '+' || p[i] == '-')) {
        negative = p[i] == '-';
        i++;
    }
    unsigned long long v = 0;
    int saturated = 0;
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (0x7fffffffffffffffULL - (unsigned)(p[i] - '0')) / 10) {
            saturated = 1;
            continue;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    long long s;
    if (saturated)
        s = negative ? (-0x7fffffffffffffffLL - 1) : 0x7fffffffffffffffLL;
    else
        s = negative ? -(long long)v : (long long)v;
    return (int)(unsigned int)(unsigned long long)s;
}

/* git's scan_hunk_header(): sets what it reaches, even when the header turns out malformed. */
static void scan_hunk_header(const unsigned char *line, Py_ssize_t len, long *before, long *after) {
    const unsigned char *q = line + 4;
    Py_ssize_t qlen = len - 4;
    Py_ssize_t n = digits(q, qlen);
    if (n < qlen && q[n] == ',') {
        q += n + 1;
        qlen -= n + 1;
        *before = c_atoi(q, qlen);
        n = digits(q, qlen);
    } else {
        *before = 1;
    }
    if (n == 0 || n + 1 >= qlen || q[n] != ' ' || q[n + 1] != '+')
        return;
    const unsigned char *r = q + n + 2;
    Py_ssize_t rlen = qlen - n - 2;
    n = digits(r, rlen);
    if (n < rlen && r[n] == ',') {
        r += n + 1;
        rlen -= n + 1;
        *after = c_atoi(r, rlen);
    } else {
        *after = 1;
    }
}

static PyObject *patch_id_parts(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t start = 0;
    if (!PyArg_ParseTuple(args, "y*|n", &view, &start))
        return NULL;
    const unsigned char *text = view.buf;
    Py_ssize_t n = view.len;
    if (start < 0 || start > n) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "start is outside the buffer");
        return NULL;
    }
    PyObject *parts = PyList_New(0);
    if (parts == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Segment seg = {NULL, 0, 0};
    long before = -1, after = -1;
    Py_ssize_t patchlen = 0;
    const unsigned char *pre_oid = NULL, *post_oid = NULL;
    Py_ssize_t pre_len = 0, post_len = 0;
    int is_binary = 0, failed = 0;
    Py_ssize_t pos = start;

    while (pos < n) {
        const unsigned char *eol = memchr(text + pos, '\n', (size_t)(n - pos));
        Py_ssize_t end = eol ? (eol - text) + 1 : n;
        const unsigned char *line = text + pos;
        /* git reads the line into a C string: everything from a NUL on is invisible to it */
        const unsigned char *nul = memchr(line, '\0', (size_t)(end - pos));
        Py_ssize_t len = nul ? nul - line : end - pos;
        pos = end;

        if (starts(line, len, "\\ ") && len > 12)
            continue;
        {
            const unsigned char *rest = line;
            Py_ssize_t rlen = len;
            if (starts(line, len, "commit ")) {
                rest += 7;
                rlen -= 7;
            } else if (starts(line, len, "From ")) {
                rest += 5;
                rlen -= 5;
            }
            if (rlen >= 40) {
                int hex = 1;
                for (int i = 0; i < 40 && hex; i++)
                    hex = is_hex(rest[i]);
                if (hex)
                    break; /* the next patch of a format-patch stream */
            }
        }
        if (patchlen == 0 && !starts(line, len, "diff "))
            continue;
        if (before == -1) {
            if (starts(line, len, "GIT binary patch") || starts(line, len, "Binary files")) {
                is_binary = 1;
                before = 0;
                if (seg_add(&seg, pre_oid ? pre_oid : (const unsigned char *)"", pre_len) < 0 ||
                    seg_add(&seg, post_oid ? post_oid : (const unsigned char *)"", post_len) < 0 ||
                    seg_flush(&seg, parts) < 0) {
                    failed = 1;
                    break;
                }
                continue;
            }
            if (starts(line, len, "index ")) {
                const unsigned char *body = line + 6;
                Py_ssize_t blen = len - 6;
                while (blen > 0 && body[blen - 1] == '\n')
                    blen--;
                const unsigned char *dots = NULL;
                for (Py_ssize_t i = 0; i + 1 < blen; i++) {
                    if (body[i] == '.' && body[i + 1] == '.') {
                        dots = body + i;
                        break;
                    }
                }
                if (dots != NULL) {
                    Py_ssize_t d = dots - body;
                    const unsigned char *sp = memchr(dots, ' ', (size_t)(blen - d));
                    pre_oid = body;
                    pre_len = d;
                    post_oid = dots + 2;
                    post_len = (sp ? sp - body : blen) - (d + 2);
                    if (post_len < 0)
                        post_len = 0;
                }
                continue;
            }
            if (starts(line, len, "--- "))
                before = after = 1;
            else if (len == 0 || !is_alpha(line[0]))
                break;
        }
        if (is_binary) {
            if (starts(line, len, "diff ")) {
                is_binary = 0;
                before = -1;
            }
            continue;
        }
        if (before == 0 && after == 0) {
            if (starts(line, len, "@@ -")) {
                scan_hunk_header(line, len, &before, &after);
                continue;
            }
            if (!starts(line, len, "diff "))
                break;
            if (seg_flush(&seg, parts) < 0) {
                failed = 1;
                break;
            }
            before = after = -1;
        }
        unsigned char first = len > 0 ? line[0] : 0;
        if (first == '-' || first == ' ')
            before--;
        if (first == '+' || first == ' ')
            after--;
        Py_ssize_t kept = seg_add_stripped(&seg, line, len);
        if (kept < 0) {
            failed = 1;
            break;
        }
        patchlen += kept;
    }

    PyObject *result = parts;
    if (failed) {
        Py_DECREF(parts);
        result = NULL;
    } else if (patchlen == 0) {
        Py_DECREF(parts);
        result = Py_NewRef(Py_None);
    } else if (seg_flush(&seg, parts) < 0) {
        Py_DECREF(parts);
        result = NULL;
    }
    PyMem_Free(seg.buf);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"patch_id_parts", patch_id_parts, METH_VARARGS,
     "patch_id_parts(data, start=0) -> list[bytes] | None\n\n"
     "What git patch-id --stable hashes per file for the first patch in data[start:], whitespace "
     "removed; None when it hashes nothing."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_patchid", "git's patch-id line walk in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__patchid(void) { return PyModule_Create(&module); }
