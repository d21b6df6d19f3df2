/* The per-message scans of extractors.mail.parse, in C: header fields, body marks, Date values.
 *
 * Each returns exactly what its Python reference computes (headers.extract_headers' fast part,
 * body.scan_body's regex pass); tests compare them on the corpus and on handcrafted quirks. They
 * walk line starts with memchr and look at a few bytes there, where the regex engine tries an
 * alternation at every newline: on kernel lists, whose bodies are mostly diffs, that is most of
 * the time a message's parse spends outside Python.
 *
 * header_fields(head, end) -> dict[str, bytes]
 *     The first occurrence of each header extract_headers looks for by its usual spelling (From,
 *     Date, Subject, Message-ID/Message-Id, In-Reply-To, References, Content-Type,
 *     Content-Transfer-Encoding, Received, Reply-To/Reply-to, X-Original-From) in head[:end],
 *     keyed by its lower-case name, the value unfolded (newlines removed) as
 *     `\nName[ \t]*:[ \t]*(value with continuation lines)` reads it.
 *
 * body_marks(buf, start) -> (git_diff, plus_lines, trailers, pull_lines)
 *     The lines of buf[start:] (buf[start] is a newline) that body._MARKS matches, as scan_body
 *     uses them: whether a `diff --git X` line exists; the newline offsets of `+++ ` lines when
 *     none does; (key start, key end, value start, value end) of each `Xxx-by: value` line before
 *     the first `-- ` signature line; the newline offsets of `The following changes since
 *     commit ` lines.
 *
 * canonical_date(value) -> datetime | None
 *     dates.parse_date for the shape nearly every Date and Received header has
 *     (`[Day, ]D Mon YYYY HH:MM:SS +ZZZZ`, what dates._FAST matches), as naive UTC; None for any
 *     other shape or an impossible date, where parse_date goes on with its lenient parsers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <string.h>

typedef struct {
    const char *name;
    Py_ssize_t len;
    int slot;
} Field;

enum {
    F_FROM, F_DATE, F_SUBJECT, F_MESSAGE_ID, F_IN_REPLY_TO, F_REFERENCES, F_CONTENT_TYPE, F_CTE,
    F_RECEIVED, F_REPLY_TO, F_ORIGINAL_FROM, N_FIELDS
};

static const char *const KEYS[N_FIELDS] = {
    "from", "date", "subject", "message-id", "in-reply-to", "references", "content-type",
    "content-transfer-encoding", "received", "reply-to", "x-original-from",
};

/* Spellings extract_headers matches case-sensitively, by first letter. */
static const Field FIELDS[] = {
    {"From", 4, F_FROM},
    {"Date", 4, F_DATE},
    {"Subject", 7, F_SUBJECT},
    {"Message-ID", 10, F_MESSAGE_ID},
    {"Message-Id", 10, F_MESSAGE_ID},
    {"In-Reply-To", 11, F_IN_REPLY_TO},
    {"References", 10, F_REFERENCES},
    {"Content-Type", 12, F_CONTENT_TYPE},
    {"Content-Transfer-Encoding", 25, F_CTE},
    {"Received", 8, F_RECEIVED},
    {"Reply-To", 8, F_REPLY_TO},
    {"Reply-to", 8, F_REPLY_TO},
    {"X-Original-From", 15, F_ORIGINAL_FROM},
};
#define N_SPELLINGS (sizeof(FIELDS) / sizeof(FIELDS[0]))

static PyObject *key_objects[N_FIELDS];

/* The field a header line starting at `p` (before `end`) names, with `*value` set to where its
 * value starts; -1 if the line is not one of ours. */
static int match_field(const unsigned char *p, const unsigned char *end, const unsigned char **value) {
    unsigned char c = *p;
    if (c != 'F' && c != 'D' && c != 'S' && c != 'M' && c != 'I' && c != 'R' && c != 'C' && c != 'X')
        return -1;
    for (size_t i = 0; i < N_SPELLINGS; i++) {
        const Field *f = &FIELDS[i];
        if ((unsigned char)f->name[0] != c || end - p < f->len || memcmp(p, f->name, (size_t)f->len) != 0)
            continue;
        const unsigned char *q = p + f->len;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q >= end || *q != ':')
            continue;
        q++;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        *value = q;
        return f->slot;
    }
    return -1;
}

static PyObject *header_fields(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t end_at;
    if (!PyArg_ParseTuple(args, "y*n", &view, &end_at))
        return NULL;
    if (end_at < 0 || end_at > view.len)
        end_at = view.len;
    const unsigned char *base = view.buf;
    const unsigned char *end = base + end_at;
    PyObject *found = PyDict_New();
    if (found == NULL)
        goto fail;
    int have[N_FIELDS] = {0};
    int missing = N_FIELDS;
    const unsigned char *line = base;
    char *scratch = NULL;
    Py_ssize_t scratch_cap = 0;
    while (line < end && missing > 0) {
        const unsigned char *value;
        int slot = match_field(line, end, &value);
        const unsigned char *nl = memchr(line, '\n', (size_t)(end - line));
        if (slot < 0) {
            if (nl == NULL)
                break;
            line = nl + 1;
            continue;
        }
        /* the value: to the line end, then every continuation line (a newline, then space or tab) */
        const unsigned char *stop = value;
        Py_ssize_t folds = 0;
        for (;;) {
            const unsigned char *e = memchr(stop, '\n', (size_t)(end - stop));
            if (e == NULL) {
                stop = end;
                break;
            }
            if (e + 1 < end && (e[1] == ' ' || e[1] == '\t')) {
                folds++;
                stop = e + 1;
                continue;
            }
            stop = e;
            break;
        }
        if (!have[slot]) {
            PyObject *v;
            Py_ssize_t n = stop - value;
            if (folds == 0) {
                v = PyBytes_FromStringAndSize((const char *)value, n);
            } else {
                if (scratch_cap < n) {
                    char *grown = PyMem_Realloc(scratch, (size_t)n);
                    if (grown == NULL) {
                        PyErr_NoMemory();
                        PyMem_Free(scratch);
                        goto fail;
                    }
                    scratch = grown;
                    scratch_cap = n;
                }
                Py_ssize_t k = 0;
                for (Py_ssize_t i = 0; i < n; i++)
                    if (value[i] != '\n')
                        scratch[k++] = (char)value[i];
                v = PyBytes_FromStringAndSize(scratch, k);
            }
            if (v == NULL || PyDict_SetItem(found, key_objects[slot], v) < 0) {
                Py_XDECREF(v);
                PyMem_Free(scratch);
                goto fail;
            }
            Py_DECREF(v);
            have[slot] = 1;
            missing--;
        }
        if (stop >= end)
            break;
        line = stop + 1; /* stop is the newline that ends the field */
    }
    PyMem_Free(scratch);
    PyBuffer_Release(&view);
    return found;
fail:
    Py_XDECREF(found);
    PyBuffer_Release(&view);
    return NULL;
}

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Python's bytes-regex \s: space, \t, \n, \r, \f, \v */
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int append_ssize(PyObject *list, Py_ssize_t v) {
    PyObject *o = PyLong_FromSsize_t(v);
    if (o == NULL)
        return -1;
    int rc = PyList_Append(list, o);
    Py_DECREF(o);
    return rc;
}

static PyObject *body_marks(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "y*n", &view, &start))
        return NULL;
    const unsigned char *buf = view.buf;
    Py_ssize_t n = view.len;
    PyObject *pluses = PyList_New(0), *trailers = PyList_New(0), *pulls = PyList_New(0);
    if (pluses == NULL || trailers == NULL || pulls == NULL)
        goto fail;
    static const char PULL[] = "The following changes since commit ";
    const Py_ssize_t pull_len = (Py_ssize_t)sizeof(PULL) - 1;
    int git = 0, signed_off = 0;
    Py_ssize_t nl = start;
    while (nl >= 0 && nl < n) {
        const unsigned char *next = memchr(buf + nl + 1, '\n', (size_t)(n - nl - 1));
        Py_ssize_t line_end = next ? next - buf : n; /* the newline ending this line, or n */
        const unsigned char *s = buf + nl + 1;
        Py_ssize_t len = line_end - (nl + 1);
        unsigned char c = len > 0 ? s[0] : 0;
        if (c == 'd') {
            if (!git && len >= 12 && memcmp(s, "diff --git ", 11) == 0 && !is_space(s[11]))
                git = 1;
        } else if (c == '+') {
            if (!git && len >= 4 && memcmp(s, "+++ ", 4) == 0 && append_ssize(pluses, nl) < 0)
                goto fail;
        } else if (c == '-') {
            if (len == 3 && next != NULL && s[1] == '-' && s[2] == ' ')
                signed_off = 1;
        }
        if (c == 'T' && len >= pull_len && memcmp(s, PULL, (size_t)pull_len) == 0) {
            if (append_ssize(pulls, nl) < 0)
                goto fail;
        } else if (!signed_off && is_alpha(c)) {
            /* `Xxx-by:` : the key is the whole run of letters and hyphens, 4 to 34 bytes ending
             * in -by (any case of b and y), then optional blanks, a colon, optional blanks */
            Py_ssize_t k = 1;
            while (k < len && k <= 34 && (is_alpha(s[k]) || s[k] == '-'))
                k++;
            if (k >= 4 && k <= 34 && s[k - 3] == '-' && (s[k - 2] | 0x20) == 'b' && (s[k - 1] | 0x20) == 'y') {
                Py_ssize_t q = k;
                while (q < len && (s[q] == ' ' || s[q] == '\t'))
                    q++;
                if (q < len && s[q] == ':') {
                    q++;
                    while (q < len && (s[q] == ' ' || s[q] == '\t'))
                        q++;
                    Py_ssize_t at = nl + 1;
                    PyObject *t = Py_BuildValue("(nnnn)", at, at + k, at + q, line_end);
                    if (t == NULL)
                        goto fail;
                    int rc = PyList_Append(trailers, t);
                    Py_DECREF(t);
                    if (rc < 0)
                        goto fail;
                }
            }
        }
        if (next == NULL)
            break;
        nl = line_end;
    }
    if (git)
        PyList_SetSlice(pluses, 0, PyList_GET_SIZE(pluses), NULL);
    PyBuffer_Release(&view);
    return Py_BuildValue("(ONNN)", git ? Py_True : Py_False, pluses, trailers, pulls);
fail:
    Py_XDECREF(pluses);
    Py_XDECREF(trailers);
    Py_XDECREF(pulls);
    PyBuffer_Release(&view);
    return NULL;
}


static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }

static int two(const unsigned char *p) { return (p[0] - '0') * 10 + (p[1] - '0'); }

static const char MONTHS[12][4] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};

static PyObject *canonical_date(PyObject *self, PyObject *args) {
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view))
        return NULL;
    const unsigned char *p = view.buf, *end = p + view.len;
    PyObject *result = NULL;
    int day, mon = 0, year, hh, mi, ss, zone;
    /* [ \t]*(?:[A-Z][a-z]{2},[ \t]*)?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) */
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (end - p >= 4 && is_upper(p[0]) && is_lower(p[1]) && is_lower(p[2]) && p[3] == ',') {
        p += 4;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
    }
    if (end - p >= 2 && is_digit(p[0]) && p[1] == ' ') {
        day = p[0] - '0';
        p += 2;
    } else if (end - p >= 3 && is_digit(p[0]) && is_digit(p[1]) && p[2] == ' ') {
        day = two(p);
        p += 3;
    } else {
        goto none;
    }
    /* Mon YYYY HH:MM:SS +ZZZZ: 23 bytes */
    if (end - p < 23 || !is_upper(p[0]) || !is_lower(p[1]) || !is_lower(p[2]) || p[3] != ' ')
        goto none;
    for (int m = 0; m < 12; m++) {
        if ((p[0] | 0x20) == MONTHS[m][0] && p[1] == MONTHS[m][1] && p[2] == MONTHS[m][2]) {
            mon = m + 1;
            break;
        }
    }
    const unsigned char *q = p + 4;
    for (int k = 0; k < 4; k++)
        if (!is_digit(q[k]))
            goto none;
    if (q[4] != ' ' || !is_digit(q[5]) || !is_digit(q[6]) || q[7] != ':' || !is_digit(q[8]) ||
        !is_digit(q[9]) || q[10] != ':' || !is_digit(q[11]) || !is_digit(q[12]) || q[13] != ' ' ||
        (q[14] != '+' && q[14] != '-') || !is_digit(q[15]) || !is_digit(q[16]) || !is_digit(q[17]) ||
        !is_digit(q[18]))
        goto none;
    year = two(q) * 100 + two(q + 2);
    /* dates._year for four digits: as written from 1000 on, else a Y2K-bug year counted from 1900 */
    if (year < 1000)
        year += 1900;
    hh = two(q + 5);
    mi = two(q + 8);
    ss = two(q + 11);
    int zh = two(q + 15), zm = two(q + 17);
    if (mon == 0 || zh > 14 || zm >= 60)
        goto none;
    zone = zh * 60 + zm;
    if (q[14] == '-')
        zone = -zone;
    if (ss == 60)
        ss = 59; /* leap second */
    PyObject *dt = PyDateTime_FromDateAndTime(year, mon, day, hh, mi, ss, 0);
    if (dt == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError) && !PyErr_ExceptionMatches(PyExc_OverflowError))
            goto fail;
        PyErr_Clear();
        goto none;
    }
    if (zone == 0) {
        result = dt;
    } else {
        PyObject *offset = PyDelta_FromDSU(0, zone * 60, 0);
        if (offset == NULL) {
            Py_DECREF(dt);
            goto fail;
        }
        result = PyNumber_Subtract(dt, offset);
        Py_DECREF(dt);
        Py_DECREF(offset);
        if (result == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                goto fail;
            PyErr_Clear();
            goto none;
        }
    }
    PyBuffer_Release(&view);
    return result;
none:
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
fail:
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"header_fields", header_fields, METH_VARARGS,
     "header_fields(head, end) -> dict[str, bytes]: the first occurrence of each header we use, "
     "unfolded."},
    {"body_marks", body_marks, METH_VARARGS,
     "body_marks(buf, start) -> (git_diff, plus_lines, trailers, pull_lines) of the body after "
     "buf[start]."},
    {"canonical_date", canonical_date, METH_VARARGS,
     "canonical_date(value) -> datetime | None: `[Day, ]D Mon YYYY HH:MM:SS +ZZZZ` as naive UTC."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "Header and body scans of a mail message in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__scan(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    for (int i = 0; i < N_FIELDS; i++) {
        key_objects[i] = PyUnicode_InternFromString(KEYS[i]);
        if (key_objects[i] == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
