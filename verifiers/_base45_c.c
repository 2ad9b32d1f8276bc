/*
 * Base45 (RFC 9285) for the QR token's hot paths: the verifier decodes one per check,
 * the issuer encodes one per licence. The same functions as verifiers/_base45.py, with
 * the same results and the same ValueError messages in the same order of checks; that
 * module uses these when they are built. Tests hold both to the `base45` package.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_base45.h"

static PyObject *
value_error(const char *message)
{
    PyErr_SetString(PyExc_ValueError, message);
    return NULL;
}

/* b45decode(text: str) -> bytes */
static PyObject *
b45decode(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        return PyErr_Format(PyExc_TypeError, "b45decode takes str, not %.100s", Py_TYPE(text)->tp_name);
    }
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text)) {
        return value_error("non-ASCII character");
    }
    const unsigned char *in = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *result = PyBytes_FromStringAndSize(NULL, b45_decoded_size(length));
    if (result == NULL) {
        return NULL;
    }
    const char *error = NULL;
    if (b45_decode_into(in, length, (unsigned char *)PyBytes_AS_STRING(result), &error) < 0) {
        Py_DECREF(result);
        return value_error(error);
    }
    return result;
}

/* b45encode(data: bytes-like) -> str */
static PyObject *
b45encode(PyObject *module, PyObject *data)
{
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        /* A strided buffer (a sliced memoryview) cannot be read in place: encode a copy,
           as the Python encoder's slicing would. */
        if (!PyErr_ExceptionMatches(PyExc_BufferError) || !PyObject_CheckBuffer(data)) {
            return NULL;
        }
        PyErr_Clear();
        PyObject *copy = PyBytes_FromObject(data);
        if (copy == NULL) {
            return NULL;
        }
        PyObject *result = b45encode(module, copy);
        Py_DECREF(copy);
        return result;
    }
    const unsigned char *in = view.buf;
    Py_ssize_t length = view.len, pairs = length / 2;
    PyObject *result = PyUnicode_New(3 * pairs + 2 * (length % 2), 127);
    if (result == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(result);
    for (Py_ssize_t p = 0; p < pairs; p++) {
        unsigned int value = ((unsigned int)in[2 * p] << 8) | in[2 * p + 1];
        out[3 * p] = B45_ALPHABET[value % 45];
        value /= 45;
        out[3 * p + 1] = B45_ALPHABET[value % 45];
        out[3 * p + 2] = B45_ALPHABET[value / 45];
    }
    if (length % 2) {
        unsigned int last = in[length - 1];
        out[3 * pairs] = B45_ALPHABET[last % 45];
        out[3 * pairs + 1] = B45_ALPHABET[last / 45];
    }
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"b45decode", b45decode, METH_O, "Decode Base45 text; raise ValueError when it is not valid Base45."},
    {"b45encode", b45encode, METH_O, "Encode bytes as Base45 text (RFC 9285)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "verifiers._base45_c", "Base45 (RFC 9285) in C for the token's hot paths.",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__base45_c(void)
{
    b45_init();
    return PyModule_Create(&module_def);
}
