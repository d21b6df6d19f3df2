/* The separator search of extractors.mail.mbox.iter_mbox_stream, in C.
 *
 * separators(buf, scan, cur_start, eof, strict, loose, field) -> (found, scan, escaped)
 *
 * Runs the reader's inner loop over `buf` from `scan` exactly as mbox.iter_mbox_stream's Python
 * loop (the reference, used where this module was not built) does: every `From ` is a candidate;
 * one at a line start is a separator by the rules in mbox.py, decided by the caller's compiled
 * patterns (`strict`, `loose`, `field`: the bound `match` methods of STRICT_SEPARATOR,
 * LOOSE_SEPARATOR and FIELD_LINE, called on `buf` between offsets as the Python loop calls them on
 * a slice). Returns
 *   found:   [(i, nl, escaped), ...] per separator, `i` the newline before its `From `, `nl` the
 *            end of its line, `escaped` whether the message ending at `i` held a `>From `;
 *   scan:    where the next call resumes (the reader's `scan` after the loop);
 *   escaped: whether the unfinished message after the last separator holds a `>From ` so far.
 * A message's own bytes are sliced by the caller, which knows the stream offsets.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Next "From " at or after `from`, or -1. */
static Py_ssize_t find_from(const unsigned char *buf, Py_ssize_t n, Py_ssize_t from) {
    while (from + 5 <= n) {
        const unsigned char *f = memchr(buf + from, 'F', (size_t)(n - from - 4));
        if (f == NULL)
            return -1;
        if (memcmp(f + 1, "rom ", 4) == 0)
            return f - buf;
        from = (f - buf) + 1;
    }
    return -1;
}

static Py_ssize_t find_nl(const unsigned char *buf, Py_ssize_t n, Py_ssize_t from) {
    if (from >= n)
        return -1;
    const unsigned char *p = memchr(buf + from, '\n', (size_t)(n - from));
    return p ? p - buf : -1;
}

/* pattern.match(buf, pos, endpos) is not None; -1 on error */
static int matches(PyObject *match, PyObject *bufobj, Py_ssize_t pos, Py_ssize_t endpos) {
    PyObject *m = PyObject_CallFunction(match, "Onn", bufobj, pos, endpos);
    if (m == NULL)
        return -1;
    int ok = m != Py_None;
    Py_DECREF(m);
    return ok;
}

static PyObject *separators(PyObject *self, PyObject *args) {
    PyObject *bufobj, *strict, *loose, *field;
    Py_ssize_t scan, cur_start;
    int eof;
    if (!PyArg_ParseTuple(args, "SnnpOOO", &bufobj, &scan, &cur_start, &eof, &strict, &loose, &field))
        return NULL;
    const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(bufobj);
    Py_ssize_t n = PyBytes_GET_SIZE(bufobj);
    /* The loop reads buf[scan - 2 ...]: offsets outside the buffer would read other memory. */
    if (cur_start < 0 || scan < cur_start || scan > n) {
        PyErr_Format(PyExc_ValueError,
                     "separators: need 0 <= cur_start <= scan <= len(buf), got cur_start=%zd scan=%zd len=%zd",
                     cur_start, scan, n);
        return NULL;
    }
    PyObject *found = PyList_New(0);
    if (found == NULL)
        return NULL;
    int escaped = 0;
    for (;;) {
        Py_ssize_t f = find_from(buf, n, scan + 1);
        if (f < 0) {
            scan = n - 6 > cur_start ? n - 6 : cur_start;
            break;
        }
        Py_ssize_t i = f - 1; /* the newline of "\nFrom " for a candidate; always >= scan */
        if (buf[i] != '\n') {
            if (buf[i] == '>')
                escaped = 1;
            scan = f;
            continue;
        }
        int blank = i == 0 || buf[i - 1] == '\n' || (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n');
        Py_ssize_t nl = find_nl(buf, n, i + 1);
        if (nl < 0) {
            if (!eof) {
                scan = i;
                break;
            }
            nl = n;
        }
        Py_ssize_t line_end = nl; /* the line without its trailing \r, as rstrip(b"\r") leaves it */
        while (line_end > i + 1 && buf[line_end - 1] == '\r')
            line_end--;
        int ok = 0;
        int strict_ok = -2; /* not asked yet */
        if (blank) {
            strict_ok = matches(strict, bufobj, i + 1, line_end);
            if (strict_ok < 0)
                goto fail;
            ok = strict_ok;
        }
        if (!ok) {
            int loose_ok = matches(loose, bufobj, i + 1, line_end);
            if (loose_ok < 0)
                goto fail;
            if (loose_ok && !blank) {
                strict_ok = matches(strict, bufobj, i + 1, line_end);
                if (strict_ok < 0)
                    goto fail;
            }
            if (loose_ok && (blank || strict_ok == 1)) {
                Py_ssize_t nl2 = find_nl(buf, n, nl + 1);
                if (nl2 < 0 && !eof) {
                    scan = i;
                    break;
                }
                Py_ssize_t from = nl + 1 < n ? nl + 1 : n;
                ok = matches(field, bufobj, from, nl2 >= 0 ? nl2 : n);
                if (ok < 0)
                    goto fail;
            }
        }
        if (!ok) {
            scan = i + 1;
            continue;
        }
        PyObject *t = Py_BuildValue("(nnO)", i, nl, escaped ? Py_True : Py_False);
        if (t == NULL)
            goto fail;
        int rc = PyList_Append(found, t);
        Py_DECREF(t);
        if (rc < 0)
            goto fail;
        escaped = 0;
        cur_start = nl + 1 < n ? nl + 1 : n;
        scan = cur_start;
    }
    return Py_BuildValue("(NnO)", found, scan, escaped ? Py_True : Py_False);
fail:
    Py_DECREF(found);
    return NULL;
}

static PyMethodDef methods[] = {
    {"separators", separators, METH_VARARGS,
     "separators(buf, scan, cur_start, eof, strict, loose, field) -> (found, scan, escaped): "
     "the mbox reader's separator search over buf."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_mbox", "The mbox reader's separator search in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__mbox(void) { return PyModule_Create(&module); }
