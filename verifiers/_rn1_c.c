/*
 * The verifier's reader of RN1 tokens in one C call: text -> the fields verify_token needs.
 *
 * `read(text)` reads only what issuers write, laid out as they write it: "RN1:" + Base45
 * of a zlib stream with RN1's six-byte head (preset dictionary), a COSE_Sign1 in the
 * exact layout of `Signer.sign1` (verifiers/cose.py, `_read_compact`), and claims as a
 * canonical CBOR map (`claims_payload`) that passes every check of `read_claims`. For
 * such a token it returns what verifiers/token.py's Python path returns; for anything
 * else it returns None and that path reads the token, and names what is wrong with it.
 * It never accepts what the Python path refuses: tests/verifiers/test_rn1_reader.py holds
 * the two to the same results on the test vectors and on mutated and random tokens.
 *
 * Why: the Python path costs ~10 µs a token (Base45, a fresh inflater, slicing,
 * cbor2 and the claim checks), about a sixth of a whole verification; this ~3.5 µs.
 * The stream is inflated by the zlib the interpreter's own module uses.
 *
 * One inflater and two buffers are shared by all calls: they are used only between
 * the Base45 decoding and the copy of the inflated message, where nothing can run
 * Python code or release the GIL; everything after reads that copy (see `rn1_read`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <zlib.h>

#include "_base45.h"

#define PREFIX "RN1:"
#define PREFIX_LENGTH 4
#define MAX_TOKEN_CHARS 8192                 /* verifiers.token.MAX_TOKEN_CHARS */
#define MAX_COSE_BYTES 65536                 /* verifiers.token.MAX_COSE_BYTES */
#define STREAM_HEAD_LENGTH 6                 /* CMF, FLG, dictionary id */
#define KID_LENGTH 8
#define FORMAT_VERSION 1
#define MAX_TIME 0x7FFFFFFFFFFFFFFFULL       /* verifiers.token._MAX_TIME */
#define MAX_HEADS 8
#define CLAIM_FIELDS 10

/* What `configure` is given by verifiers/token.py, so that each table has one source. */
static PyObject *dictionary;                 /* bytes: RN1's preset dictionary */
static unsigned char stream_heads[MAX_HEADS][STREAM_HEAD_LENGTH];
static int stream_head_count;
static struct {
    unsigned char bytes[16];                 /* tag 18 to the kid's bstr head */
    Py_ssize_t length;
    PyObject *alg;                           /* int */
    Py_ssize_t kid_end;                      /* where the kid stops and {} sits */
    unsigned char tail[2];                   /* the signature's bstr head */
} compact_heads[MAX_HEADS];
static int compact_head_count;
static PyObject *claim_fields;               /* the ClaimFields class (a tuple subclass) */
static unsigned char structure_head[32];     /* "\x84\x6aSignature1" */
static Py_ssize_t structure_head_length;

static z_stream inflater;
static int inflater_ready;
static unsigned char compressed[(MAX_TOKEN_CHARS - PREFIX_LENGTH) / 3 * 2 + 1];
static unsigned char cose[MAX_COSE_BYTES];

/* A cursor over CBOR bytes. Every read checks the end; a failed read means "not ours". */
typedef struct {
    const unsigned char *at, *end;
} Cursor;

/* Read one head with a definite argument (additional information < 28): 0, or -1. */
static int
read_head(Cursor *c, int *major, uint64_t *argument)
{
    if (c->at >= c->end) {
        return -1;
    }
    unsigned char initial = *c->at++;
    unsigned int info = initial & 0x1F, size;
    *major = initial >> 5;
    if (info < 24) {
        *argument = info;
        return 0;
    }
    switch (info) {
    case 24: size = 1; break;
    case 25: size = 2; break;
    case 26: size = 4; break;
    case 27: size = 8; break;
    default: return -1;                      /* indefinite lengths, reserved values */
    }
    if (c->end - c->at < (Py_ssize_t)size) {
        return -1;
    }
    uint64_t value = 0;
    for (unsigned int i = 0; i < size; i++) {
        value = value << 8 | *c->at++;
    }
    *argument = value;
    return 0;
}

/*
 * Read a text string as cbor2 does (strict UTF-8). Return a new str; NULL with no
 * exception set when the bytes are not ours to read; NULL with one set on MemoryError.
 */
static PyObject *
read_text(Cursor *c, int non_empty)
{
    int major;
    uint64_t length;
    if (read_head(c, &major, &length) < 0 || major != 3 || length > (uint64_t)(c->end - c->at)
        || (non_empty && length == 0)) {
        return NULL;
    }
    PyObject *text = PyUnicode_DecodeUTF8((const char *)c->at, (Py_ssize_t)length, NULL);
    if (text == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            return NULL;
        }
        PyErr_Clear();                       /* the Python path names it */
        return NULL;
    }
    c->at += length;
    return text;
}

/* Read an unsigned integer that is a unix time (0 .. 2^63 - 1): 0, or -1. */
static int
read_time(Cursor *c, uint64_t *value)
{
    int major;
    if (read_head(c, &major, value) < 0 || major != 0 || *value > MAX_TIME) {
        return -1;
    }
    return 0;
}

/* Read a disclosed value: text, or an int in the 64-bit range cbor2 gives as int. */
static PyObject *
read_disclosed_value(Cursor *c)
{
    if (c->at >= c->end) {
        return NULL;
    }
    int major = *c->at >> 5;
    if (major == 3) {
        return read_text(c, 0);
    }
    uint64_t argument;
    if ((major != 0 && major != 1) || read_head(c, &major, &argument) < 0) {
        return NULL;
    }
    if (major == 0) {
        return PyLong_FromUnsignedLongLong(argument);
    }
    if (argument > (uint64_t)INT64_MAX) {   /* below -2^63: rare enough for the Python path */
        return NULL;
    }
    return PyLong_FromLongLong(-1 - (long long)argument);
}

/* Read the disclosed fields {text: text | int}. */
static PyObject *
read_disclosed(Cursor *c)
{
    int major;
    uint64_t count;
    if (read_head(c, &major, &count) < 0 || major != 5 || count > (uint64_t)(c->end - c->at)) {
        return NULL;
    }
    PyObject *fields = PyDict_New();
    if (fields == NULL) {
        return NULL;
    }
    for (uint64_t i = 0; i < count; i++) {
        PyObject *key = read_text(c, 0);
        if (key == NULL) {
            goto fail;
        }
        PyObject *value = read_disclosed_value(c);
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int stored = PyDict_SetItem(fields, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (stored < 0) {
            goto fail;
        }
    }
    if ((uint64_t)PyDict_GET_SIZE(fields) != count) {
        goto fail;                           /* a repeated key: cbor2 keeps the last one */
    }
    return fields;
fail:
    Py_DECREF(fields);
    return NULL;
}

/*
 * Read the claims payload into a ClaimFields. NULL with no exception set when the
 * payload is not exactly a canonical claims map that `read_claims` accepts.
 */
static PyObject *
read_claims(const unsigned char *payload, Py_ssize_t length)
{
    Cursor c = {payload, payload + length};
    int major;
    uint64_t count, value;
    /* {1: 1, 2..6: text, 7: time, 8: time, [9: time,] 10: bytes(32), 11: {...}} */
    if (read_head(&c, &major, &count) < 0 || major != 5 || (count != 10 && count != 11)) {
        return NULL;
    }
    if (c.end - c.at < 2 || c.at[0] != 0x01 || c.at[1] != FORMAT_VERSION) {
        return NULL;
    }
    c.at += 2;
    PyObject *items[CLAIM_FIELDS] = {NULL};
    for (int key = 2; key <= 6; key++) {
        if (c.at >= c.end || *c.at++ != key || (items[key - 2] = read_text(&c, key != 6)) == NULL) {
            goto fail;
        }
    }
    for (int key = 7; key <= 9; key++) {
        if (key == 9 && count == 10) {
            items[7] = Py_NewRef(Py_None);
            continue;
        }
        if (c.at >= c.end || *c.at++ != key || read_time(&c, &value) < 0
            || (items[key - 2] = PyLong_FromUnsignedLongLong(value)) == NULL) {
            goto fail;
        }
    }
    /* 10: the document digest, a byte string of 32 bytes */
    if (c.end - c.at < 3 + 32 || c.at[0] != 10 || c.at[1] != 0x58 || c.at[2] != 32) {
        goto fail;
    }
    if ((items[8] = PyBytes_FromStringAndSize((const char *)c.at + 3, 32)) == NULL) {
        goto fail;
    }
    c.at += 3 + 32;
    if (c.at >= c.end || *c.at++ != 11 || (items[9] = read_disclosed(&c)) == NULL || c.at != c.end) {
        goto fail;
    }
    PyTypeObject *type = (PyTypeObject *)claim_fields;
    PyObject *claims = type->tp_alloc(type, CLAIM_FIELDS);
    if (claims == NULL) {
        goto fail;
    }
    for (int i = 0; i < CLAIM_FIELDS; i++) {
        PyTuple_SET_ITEM(claims, i, items[i]);
    }
    return claims;
fail:
    for (int i = 0; i < CLAIM_FIELDS; i++) {
        Py_XDECREF(items[i]);
    }
    return NULL;
}

/* Inflate `compressed[0:length]` (an RN1 stream) into `cose`: its length, or -1. */
static Py_ssize_t
inflate_rn1(Py_ssize_t length)
{
    if (length < STREAM_HEAD_LENGTH + 4) {
        return -1;
    }
    int known = 0;
    for (int i = 0; i < stream_head_count && !known; i++) {
        known = memcmp(compressed, stream_heads[i], STREAM_HEAD_LENGTH) == 0;
    }
    if (!known) {
        return -1;
    }
    if (inflateReset(&inflater) != Z_OK
        || inflateSetDictionary(&inflater, (const Bytef *)PyBytes_AS_STRING(dictionary),
                                (uInt)PyBytes_GET_SIZE(dictionary)) != Z_OK) {
        return -1;
    }
    inflater.next_in = compressed + STREAM_HEAD_LENGTH;
    inflater.avail_in = (uInt)(length - STREAM_HEAD_LENGTH);
    inflater.next_out = cose;
    inflater.avail_out = MAX_COSE_BYTES;
    if (inflate(&inflater, Z_FINISH) != Z_STREAM_END || inflater.avail_in != 4) {
        return -1;                           /* broken, too long, truncated, or bytes after */
    }
    Py_ssize_t size = MAX_COSE_BYTES - inflater.avail_out;
    const unsigned char *t = inflater.next_in;
    uLong trailer = (uLong)t[0] << 24 | (uLong)t[1] << 16 | (uLong)t[2] << 8 | t[3];
    if (trailer != adler32(adler32(0L, Z_NULL, 0), cose, (uInt)size)) {
        return -1;
    }
    return size;
}

/* read(text) -> (alg, kid, signature, sig_structure, cose, ClaimFields) | None */
static PyObject *
rn1_read(PyObject *module, PyObject *text)
{
    if (claim_fields == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "verifiers._rn1_c is not configured");
        return NULL;
    }
    if (!PyUnicode_CheckExact(text)) {
        Py_RETURN_NONE;
    }
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text)) {
        Py_RETURN_NONE;
    }
    const unsigned char *chars = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    /* Whitespace around a token is stripped by the Python path: leave such text to it. */
    if (length > MAX_TOKEN_CHARS || length <= PREFIX_LENGTH || memcmp(chars, PREFIX, PREFIX_LENGTH) != 0
        || Py_UNICODE_ISSPACE(chars[length - 1])) {
        Py_RETURN_NONE;
    }
    const char *error;
    Py_ssize_t stream = b45_decode_into(chars + PREFIX_LENGTH, length - PREFIX_LENGTH, compressed, &error);
    if (stream < 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t size = inflate_rn1(stream);
    if (size < 32) {
        Py_RETURN_NONE;
    }
    /*
     * Copied out of the shared buffer at once, and read only from the copy. Making a
     * bytes object cannot start a garbage collection; the claims' dict and tuple can,
     * and a collection can run Python code (__del__, weakref callbacks) that reads
     * another token, here or in another thread, into the shared buffer.
     */
    PyObject *message = PyBytes_FromStringAndSize((const char *)cose, size);
    if (message == NULL) {
        return NULL;
    }
    const unsigned char *m = (const unsigned char *)PyBytes_AS_STRING(message);
    PyObject *structure = NULL, *kid = NULL, *signature = NULL, *claims = NULL, *result = NULL;
    /* 18([bstr {1: alg, 4: kid}, {}, bstr payload, bstr signature]), as _read_compact reads it */
    int h = 0;
    while (h < compact_head_count
           && memcmp(m, compact_heads[h].bytes, (size_t)compact_heads[h].length) != 0) {
        h++;
    }
    if (h == compact_head_count) {
        goto decline;
    }
    Py_ssize_t end = compact_heads[h].kid_end, start, payload_size;
    const unsigned char tail[2] = {compact_heads[h].tail[0], compact_heads[h].tail[1]};
    PyObject *alg = compact_heads[h].alg;
    if (m[end] != 0xA0) {
        goto decline;
    }
    if (m[end + 1] == 0x59) {
        start = end + 4;
        payload_size = m[end + 2] << 8 | m[end + 3];
        if (payload_size < 0x100) {
            goto decline;
        }
    }
    else if (m[end + 1] == 0x58) {
        start = end + 3;
        payload_size = m[end + 2];
        if (payload_size < 24) {
            goto decline;
        }
    }
    else {
        goto decline;
    }
    Py_ssize_t stop = start + payload_size;
    if (size != stop + 2 + tail[1] || m[stop] != tail[0] || m[stop + 1] != tail[1]) {
        goto decline;
    }
    /* Sig_structure: ["Signature1", protected, h'', payload] */
    Py_ssize_t protected_size = end - 2, body_size = stop - (end + 1);
    structure = PyBytes_FromStringAndSize(NULL, structure_head_length + protected_size + 1 + body_size);
    if (structure == NULL) {
        goto fail;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(structure);
    memcpy(out, structure_head, (size_t)structure_head_length);
    out += structure_head_length;
    memcpy(out, m + 2, (size_t)protected_size);
    out += protected_size;
    *out++ = 0x40;
    memcpy(out, m + end + 1, (size_t)body_size);
    if ((kid = PyBytes_FromStringAndSize((const char *)m + end - KID_LENGTH, KID_LENGTH)) == NULL
        || (signature = PyBytes_FromStringAndSize((const char *)m + stop + 2, tail[1])) == NULL) {
        goto fail;
    }
    Py_INCREF(alg);
    if ((claims = read_claims(m + start, payload_size)) == NULL || (result = PyTuple_New(6)) == NULL) {
        Py_DECREF(alg);
        if (PyErr_Occurred()) {
            goto fail;
        }
        goto decline;
    }
    PyTuple_SET_ITEM(result, 0, alg);
    PyTuple_SET_ITEM(result, 1, kid);
    PyTuple_SET_ITEM(result, 2, signature);
    PyTuple_SET_ITEM(result, 3, structure);
    PyTuple_SET_ITEM(result, 4, message);
    PyTuple_SET_ITEM(result, 5, claims);
    return result;
decline:
    result = Py_NewRef(Py_None);
fail:                                        /* result: None when declined, NULL on an error */
    Py_XDECREF(structure);
    Py_XDECREF(kid);
    Py_XDECREF(signature);
    Py_XDECREF(claims);
    Py_DECREF(message);
    return result;
}

/* configure(dictionary, stream_heads, compact_heads, claim_fields, structure_head) */
static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *dict_bytes, *heads, *compact, *fields_type;
    const char *head;
    Py_ssize_t head_length;
    if (!PyArg_ParseTuple(args, "SO!O!O!y#:configure", &dict_bytes, &PyTuple_Type, &heads, &PyDict_Type,
                          &compact, &PyType_Type, &fields_type, &head, &head_length)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)fields_type, &PyTuple_Type)
        || ((PyTypeObject *)fields_type)->tp_dictoffset != 0) {
        PyErr_SetString(PyExc_TypeError, "claim_fields must be a tuple subclass without a __dict__");
        return NULL;
    }
    if (!inflater_ready) {
        if (inflateInit2(&inflater, -MAX_WBITS) != Z_OK) {
            return PyErr_NoMemory();
        }
        inflater_ready = 1;
    }
    if (PyTuple_GET_SIZE(heads) > MAX_HEADS || PyDict_GET_SIZE(compact) > MAX_HEADS
        || head_length > (Py_ssize_t)sizeof structure_head) {
        PyErr_SetString(PyExc_ValueError, "too many heads");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(heads); i++) {
        PyObject *item = PyTuple_GET_ITEM(heads, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) != STREAM_HEAD_LENGTH) {
            PyErr_SetString(PyExc_ValueError, "stream heads are six bytes each");
            return NULL;
        }
        memcpy(stream_heads[i], PyBytes_AS_STRING(item), STREAM_HEAD_LENGTH);
    }
    stream_head_count = (int)PyTuple_GET_SIZE(heads);
    Py_ssize_t position = 0;
    PyObject *key, *value;
    int count = 0;
    while (PyDict_Next(compact, &position, &key, &value)) {
        PyObject *alg, *tail;
        Py_ssize_t kid_end;
        if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) > 16 || PyBytes_GET_SIZE(key) < 3
            || !PyTuple_Check(value) || !PyArg_ParseTuple(value, "O!nS", &PyLong_Type, &alg, &kid_end, &tail)
            || PyBytes_GET_SIZE(tail) != 2 || kid_end != PyBytes_GET_SIZE(key) + KID_LENGTH) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "compact heads are {head: (alg, kid end, tail)}");
            }
            return NULL;
        }
        memcpy(compact_heads[count].bytes, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key));
        compact_heads[count].length = PyBytes_GET_SIZE(key);
        Py_XSETREF(compact_heads[count].alg, Py_NewRef(alg));
        compact_heads[count].kid_end = kid_end;
        memcpy(compact_heads[count].tail, PyBytes_AS_STRING(tail), 2);
        count++;
    }
    compact_head_count = count;
    memcpy(structure_head, head, (size_t)head_length);
    structure_head_length = head_length;
    Py_XSETREF(dictionary, Py_NewRef(dict_bytes));
    Py_XSETREF(claim_fields, Py_NewRef(fields_type));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"read", rn1_read, METH_O,
     "Return (alg, kid, signature, sig_structure, cose, ClaimFields) of an RN1 token as issuers "
     "write it, or None: then the Python path reads it."},
    {"configure", configure, METH_VARARGS,
     "Give the reader RN1's dictionary, stream heads, COSE heads, ClaimFields and Sig_structure head."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "verifiers._rn1_c", "The verifier's one-call reader of RN1 tokens.",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__rn1_c(void)
{
    b45_init();
    return PyModule_Create(&module_def);
}
