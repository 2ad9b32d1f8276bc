/*
 * Base45 (RFC 9285) for the QR token's hot paths: the verifier decodes one per check,
 * the issuer encodes one per licence. The same functions as verifiers/_base45.py, with
 * the same results and the same ValueError messages in the same order of checks; that
 * module uses these when they are built. Tests hold both to the `base45` package.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static const char ALPHABET[45] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
static unsigned char DIGIT[256]; /* character -> value 0..44; 0xFF outside the alphabet */

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
    for (Py_ssize_t i = 0; i < length; i++) {
        if (DIGIT[in[i]] == 0xFF) {
            return value_error("character outside the Base45 alphabet");
        }
    }
    Py_ssize_t groups = length / 3, rest = length % 3;
    if (rest == 1) {
        return value_error("length leaves a single trailing character");
    }
    PyObject *result = PyBytes_FromStringAndSize(NULL, 2 * groups + (rest == 2));
    if (result == NULL) {
        return NULL;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    for (Py_ssize_t g = 0; g < groups; g++) {
        const unsigned char *t = in + 3 * g;
        unsigned long value = DIGIT[t[0]] + 45UL * DIGIT[t[1]] + 2025UL * DIGIT[t[2]];
        if (value > 0xFFFF) {
            Py_DECREF(result);
            return value_error("triplet value above 65535");
        }
        out[2 * g] = (unsigned char)(value >> 8);
        out[2 * g + 1] = (unsigned char)value;
    }
    if (rest == 2) {
        unsigned long value = DIGIT[in[length - 2]] + 45UL * DIGIT[in[length - 1]];
        if (value > 0xFF) {
            Py_DECREF(result);
            return value_error("final pair value above 255");
        }
        out[2 * groups] = (unsigned char)value;
    }
    return result;
}

/* b45encode(data: bytes-like) -> str */
static PyObject *
b45encode(PyObject *module, PyObject *data)
{
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
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
        out[3 * p] = ALPHABET[value % 45];
        value /= 45;
        out[3 * p + 1] = ALPHABET[value % 45];
        out[3 * p + 2] = ALPHABET[value / 45];
    }
    if (length % 2) {
        unsigned int last = in[length - 1];
        out[3 * pairs] = ALPHABET[last % 45];
        out[3 * pairs + 1] = ALPHABET[last / 45];
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
    memset(DIGIT, 0xFF, sizeof DIGIT);
    for (int i = 0; i < 45; i++) {
        DIGIT[(unsigned char)ALPHABET[i]] = (unsigned char)i;
    }
    return PyModule_Create(&module_def);
}
