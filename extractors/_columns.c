/* The spool's columns as Arrow buffers, read straight from the rows' dicts (extractors.load).
 *
 * column(rows, name, kind) -> (missing, null_count, buffers, child) | None
 *
 *     The values of key `name` in every dict of the list `rows` (a missing key counts as a null
 *     and in `missing`), as the buffers of an Arrow array of `kind`:
 *
 *         "s" string          (validity, int32 offsets, UTF-8 data)
 *         "i" int32, "q" int64, "t" timestamp[us], "d" date32      (validity, values)
 *         "b" bool            (validity, value bits)
 *         "l" list<string>    (validity, int32 offsets), and `child`: the strings' own
 *                             (length, null_count, (validity, offsets, data))
 *
 *     `validity` is None when no value is null. None instead of the whole answer when a row is
 *     not a dict or a value is not exactly of the kind's Python type (str, int, bool, naive
 *     datetime, date, list of str) or out of its range: pyarrow then converts the column itself,
 *     with its own conversions and errors.
 *
 * Why: every public way of turning Python values into Arrow arrays (pa.array and all that call
 * it) first asks pyarrow's pandas shim whether the values are a pandas object, which imports
 * pandas (about 0.2 s of CPU) in a process that otherwise never needs it; and the columns were
 * first gathered into Python lists. Arrays built from buffers (pa.Array.from_buffers) ask
 * nothing. The results are the arrays pa.array gives for the same values (tests/test_load_spool.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len;
    size_t cap;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (extra > PY_SSIZE_T_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    if (b->len + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *grown = PyMem_Realloc(b->p, cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = grown;
    b->cap = cap;
    return 0;
}

static int buf_add(Buf *b, const void *data, size_t n) {
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n > 0)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static int buf_add_i32(Buf *b, int32_t v) { return buf_add(b, &v, sizeof v); }

static int buf_add_i64(Buf *b, int64_t v) { return buf_add(b, &v, sizeof v); }

/* A zeroed buffer of `n` bytes (bitmaps). */
static int buf_zeros(Buf *b, size_t n) {
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) < 0)
        return -1;
    memset(b->p + b->len, 0, n);
    b->len += n;
    return 0;
}

static PyObject *buf_bytes(const Buf *b) { return PyBytes_FromStringAndSize(b->p ? b->p : "", (Py_ssize_t)b->len); }

static void set_bit(Buf *bits, Py_ssize_t i) { bits->p[i >> 3] |= (char)(1u << (i & 7)); }

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

typedef struct {
    Buf validity;
    Buf offsets; /* strings and lists */
    Buf data;
    Py_ssize_t nulls;
} Column;

static void column_free(Column *c) {
    PyMem_Free(c->validity.p);
    PyMem_Free(c->offsets.p);
    PyMem_Free(c->data.p);
}

/* Appends one str: 1, 0 when it cannot be had as UTF-8 or the data outgrows int32 offsets
 * (pyarrow decides), -1 on memory failure. */
static int add_string(Column *c, PyObject *v) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(v, &n);
    if (s == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    if ((size_t)n > (size_t)INT32_MAX - c->data.len)
        return 0;
    if (buf_add(&c->data, s, (size_t)n) < 0 || buf_add_i32(&c->offsets, (int32_t)c->data.len) < 0)
        return -1;
    return 1;
}

/* One non-null value of a fixed-width or string kind: 1 added, 0 not of the kind, -1 error. */
static int add_value(Column *c, char kind, PyObject *v, Py_ssize_t i) {
    switch (kind) {
    case 's':
        return PyUnicode_CheckExact(v) ? add_string(c, v) : 0;
    case 'i':
    case 'q': {
        if (!PyLong_CheckExact(v))
            return 0;
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred())
            return -1;
        if (overflow)
            return 0;
        if (kind == 'q')
            return buf_add_i64(&c->data, (int64_t)x) < 0 ? -1 : 1;
        if (x < INT32_MIN || x > INT32_MAX)
            return 0;
        return buf_add_i32(&c->data, (int32_t)x) < 0 ? -1 : 1;
    }
    case 'b':
        if (v != Py_True && v != Py_False)
            return 0;
        if (v == Py_True)
            set_bit(&c->data, i);
        return 1;
    case 't': {
        if (!PyDateTime_CheckExact(v) || PyDateTime_DATE_GET_TZINFO(v) != Py_None)
            return 0;
        int64_t days = days_from_civil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v));
        int64_t seconds = days * 86400 + PyDateTime_DATE_GET_HOUR(v) * 3600 + PyDateTime_DATE_GET_MINUTE(v) * 60 +
                          PyDateTime_DATE_GET_SECOND(v);
        return buf_add_i64(&c->data, seconds * 1000000 + PyDateTime_DATE_GET_MICROSECOND(v)) < 0 ? -1 : 1;
    }
    case 'd':
        if (!PyDate_CheckExact(v))
            return 0;
        return buf_add_i32(&c->data,
                           (int32_t)days_from_civil(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v))) < 0
                   ? -1
                   : 1;
    }
    return 0;
}

/* A null in a column of `kind`: its slot holds a zero value, or the offset again. */
static int add_null(Column *c, char kind, Py_ssize_t items) {
    c->nulls++;
    switch (kind) {
    case 's':
        return buf_add_i32(&c->offsets, (int32_t)c->data.len);
    case 'l':
        return buf_add_i32(&c->offsets, (int32_t)items);
    case 'i':
    case 'd':
        return buf_add_i32(&c->data, 0);
    case 'q':
    case 't':
        return buf_add_i64(&c->data, 0);
    }
    return 0; /* 'b': its bit stays 0 */
}

/* One list of str (None items as nulls) into `items`, the strings of every list so far
 * (`*count` of them), then its end into the list offsets: 1, 0 when it is not a list of str
 * and None, -1 on error. */
static int add_list(Column *items, Py_ssize_t *count, Buf *list_offsets, PyObject *v) {
    if (!PyList_CheckExact(v))
        return 0;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(v); k++) {
        PyObject *s = PyList_GET_ITEM(v, k);
        if (*count >= INT32_MAX)
            return 0;
        /* the items' validity grows a byte at a time */
        if ((size_t)(*count >> 3) >= items->validity.len && buf_zeros(&items->validity, 1) < 0)
            return -1;
        int ok;
        if (s == Py_None) {
            ok = add_null(items, 's', 0) < 0 ? -1 : 1;
        } else {
            ok = PyUnicode_CheckExact(s) ? add_string(items, s) : 0;
            if (ok == 1)
                set_bit(&items->validity, *count);
        }
        if (ok <= 0)
            return ok;
        (*count)++;
    }
    return buf_add_i32(list_offsets, (int32_t)*count) < 0 ? -1 : 1;
}

/* (validity or None, first, second or nothing): the buffers of a column, new references. */
static PyObject *buffers_of(const Column *c, const Buf *first, const Buf *second) {
    PyObject *validity = c->nulls ? buf_bytes(&c->validity) : Py_NewRef(Py_None);
    PyObject *a = buf_bytes(first);
    PyObject *b = second ? buf_bytes(second) : NULL;
    PyObject *out = NULL;
    if (validity != NULL && a != NULL && (second == NULL || b != NULL))
        out = second ? PyTuple_Pack(3, validity, a, b) : PyTuple_Pack(2, validity, a);
    Py_XDECREF(validity);
    Py_XDECREF(a);
    Py_XDECREF(b);
    return out;
}

static PyObject *column_result(Py_ssize_t missing, const Column *c, char kind, const Column *items, Py_ssize_t count) {
    PyObject *buffers, *child;
    if (kind == 's')
        buffers = buffers_of(c, &c->offsets, &c->data);
    else if (kind == 'l')
        buffers = buffers_of(c, &c->offsets, NULL);
    else
        buffers = buffers_of(c, &c->data, NULL);
    if (buffers == NULL)
        return NULL;
    if (kind == 'l') {
        PyObject *item_buffers = buffers_of(items, &items->offsets, &items->data);
        child = item_buffers == NULL ? NULL : Py_BuildValue("(nnN)", count, items->nulls, item_buffers);
    } else {
        child = Py_NewRef(Py_None);
    }
    if (child == NULL) {
        Py_DECREF(buffers);
        return NULL;
    }
    return Py_BuildValue("(nnNN)", missing, c->nulls, buffers, child);
}

/* The value of one row: 1 added, 0 when it does not fit the kind, -1 on error. */
static int add_row(Column *c, char kind, Column *items, Py_ssize_t *count, PyObject *row, PyObject *name,
                   Py_ssize_t i, Py_ssize_t *missing) {
    if (!PyDict_CheckExact(row))
        return 0;
    PyObject *v = PyDict_GetItemWithError(row, name);
    if (v == NULL && PyErr_Occurred())
        return -1;
    if (v == NULL || v == Py_None) {
        *missing += v == NULL;
        return add_null(c, kind, *count) < 0 ? -1 : 1;
    }
    Py_INCREF(v);
    int ok = kind == 'l' ? add_list(items, count, &c->offsets, v) : add_value(c, kind, v, i);
    Py_DECREF(v);
    if (ok == 1)
        set_bit(&c->validity, i);
    return ok;
}

static PyObject *column(PyObject *self, PyObject *args) {
    PyObject *rows, *name;
    const char *kind_s;
    Py_ssize_t kind_len;
    if (!PyArg_ParseTuple(args, "O!Us#:column", &PyList_Type, &rows, &name, &kind_s, &kind_len))
        return NULL;
    if (kind_len != 1 || kind_s[0] == '\0' || strchr("siqbtdl", kind_s[0]) == NULL) {
        PyErr_SetString(PyExc_ValueError, "column: kind is one of s, i, q, b, t, d, l");
        return NULL;
    }
    char kind = kind_s[0];
    Column c = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, 0};
    Column items = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}, 0};
    Py_ssize_t missing = 0, count = 0;
    PyObject *result = NULL;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    size_t bitmap = ((size_t)n + 7) / 8;
    if (buf_zeros(&c.validity, bitmap) < 0 || (kind == 'b' && buf_zeros(&c.data, bitmap) < 0))
        goto done;
    if ((kind == 's' || kind == 'l') && buf_add_i32(&c.offsets, 0) < 0)
        goto done;
    if (kind == 'l' && buf_add_i32(&items.offsets, 0) < 0)
        goto done;
    int fits = 1;
    for (Py_ssize_t i = 0; fits && i < n; i++) {
        /* a dict lookup can run a key's __eq__, which could change the list: checked each time */
        if (PyList_GET_SIZE(rows) != n) {
            fits = 0;
            break;
        }
        PyObject *row = Py_NewRef(PyList_GET_ITEM(rows, i));
        int ok = add_row(&c, kind, &items, &count, row, name, i, &missing);
        Py_DECREF(row);
        if (ok < 0)
            goto done;
        fits = ok == 1;
    }
    result = fits ? column_result(missing, &c, kind, &items, count) : Py_NewRef(Py_None);
done:
    column_free(&c);
    column_free(&items);
    return result;
}

static PyMethodDef methods[] = {
    {"column", column, METH_VARARGS, "A column of rows (dicts) as Arrow buffers, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_columns", NULL, -1, methods};

PyMODINIT_FUNC PyInit__columns(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    return PyModule_Create(&module);
}
