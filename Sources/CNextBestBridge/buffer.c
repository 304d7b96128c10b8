// nb_buf: the growable byte buffer plans and messages are written into.
#include "nextbest_bridge.h"
#include <stdlib.h>
#include <string.h>

void nb_buf_init(nb_buf *b) { b->data = NULL; b->len = 0; b->cap = 0; b->max = 0; }
void nb_buf_free(nb_buf *b) { size_t max = b->max; free(b->data); nb_buf_init(b); b->max = max; }
void nb_buf_clear(nb_buf *b) { b->len = 0; }

static int nb_buf_grow(nb_buf *b, size_t need) {
    if (b->max && need > b->max) return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    if (b->max && cap > b->max) cap = b->max;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d; b->cap = cap;
    return 0;
}

int nb_buf_append(nb_buf *b, const void *bytes, size_t n) {
    if (b->len + n > b->cap && nb_buf_grow(b, b->len + n) != 0) return -1;
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

/// Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid.
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;
        if (c == 0xED && s[1] > 0x9F) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;
        if (c == 0xF4 && s[1] > 0x8F) return 0;
        return 4;
    }
    return 0;
}

size_t nb_utf8_seq(const unsigned char *s, size_t n) { return utf8_seq(s, n); }

int nb_buf_append_json_string(nb_buf *b, const char *str, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    if (b->len + n + 2 > b->cap && nb_buf_grow(b, b->len + n + 2) != 0) return -1;
    size_t plain = 0;  // fast path: printable ASCII with nothing to escape, copied whole
    while (plain < n && s[plain] >= 0x20 && s[plain] < 0x80 && s[plain] != '"' && s[plain] != '\\') plain++;
    if (plain == n) {
        char *d = b->data + b->len;
        d[0] = '"';
        memcpy(d + 1, s, n);
        d[n + 1] = '"';
        b->len += n + 2;
        return 0;
    }
    b->data[b->len++] = '"';
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; continue; }
        if (c >= 0x80) {
            size_t k = utf8_seq(s + i, n - i);
            if (k) { i += k; continue; }
        }
        if (nb_buf_append(b, s + start, i - start) != 0) return -1;
        char esc[8];
        size_t elen = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c >= 0x80) { memcpy(esc, "\\ufffd", 6); elen = 6; break; }  // invalid UTF-8
            esc[1] = 'u'; esc[2] = '0'; esc[3] = '0'; esc[4] = hex[c >> 4]; esc[5] = hex[c & 15]; elen = 6;
        }
        if (nb_buf_append(b, esc, elen) != 0) return -1;
        i++;
        start = i;
    }
    if (nb_buf_append(b, s + start, n - start) != 0) return -1;
    return nb_buf_append(b, "\"", 1);
}
