/*
 * Base45 (RFC 9285) decoding shared by the C modules that read tokens
 * (verifiers/_base45_c.c and verifiers/_rn1_c.c); include once per module.
 */
#ifndef REGNODE_BASE45_H
#define REGNODE_BASE45_H

static const char B45_ALPHABET[45] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
static unsigned char B45_DIGIT[256]; /* character -> value 0..44; 0xFF outside the alphabet */

/* Fill B45_DIGIT; call once when the module is made. */
static void
b45_init(void)
{
    memset(B45_DIGIT, 0xFF, sizeof B45_DIGIT);
    for (int i = 0; i < 45; i++) {
        B45_DIGIT[(unsigned char)B45_ALPHABET[i]] = (unsigned char)i;
    }
}

/* The number of bytes `length` valid Base45 characters decode to. */
static inline Py_ssize_t
b45_decoded_size(Py_ssize_t length)
{
    return 2 * (length / 3) + (length % 3 == 2);
}

/*
 * Decode `length` characters at `in` into `out` (room for b45_decoded_size(length) bytes).
 * Return the number of bytes written, or -1 with *error set to why the text is not Base45;
 * the checks run in the order of verifiers/_base45.py's py_b45decode, so the first
 * problem found is the one both name.
 */
static Py_ssize_t
b45_decode_into(const unsigned char *in, Py_ssize_t length, unsigned char *out, const char **error)
{
    for (Py_ssize_t i = 0; i < length; i++) {
        if (B45_DIGIT[in[i]] == 0xFF) {
            *error = "character outside the Base45 alphabet";
            return -1;
        }
    }
    Py_ssize_t groups = length / 3, rest = length % 3;
    if (rest == 1) {
        *error = "length leaves a single trailing character";
        return -1;
    }
    for (Py_ssize_t g = 0; g < groups; g++) {
        const unsigned char *t = in + 3 * g;
        unsigned long value = B45_DIGIT[t[0]] + 45UL * B45_DIGIT[t[1]] + 2025UL * B45_DIGIT[t[2]];
        if (value > 0xFFFF) {
            *error = "triplet value above 65535";
            return -1;
        }
        out[2 * g] = (unsigned char)(value >> 8);
        out[2 * g + 1] = (unsigned char)value;
    }
    if (rest == 2) {
        unsigned long value = B45_DIGIT[in[length - 2]] + 45UL * B45_DIGIT[in[length - 1]];
        if (value > 0xFF) {
            *error = "final pair value above 255";
            return -1;
        }
        out[2 * groups] = (unsigned char)value;
    }
    return 2 * groups + (rest == 2);
}

#endif
