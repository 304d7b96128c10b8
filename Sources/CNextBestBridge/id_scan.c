// Finding a profile's top-level "id" in its JSON text without parsing it: what sharding and
// the history query of a chunk need before a record is decided.
#define _GNU_SOURCE  // memmem
#include "nextbest_bridge.h"
#include <string.h>

static int is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/// Past the string whose opening quote is at `i`: the index after its closing quote, or 0 when
/// it does not end. `*escaped` is set when it holds a backslash.
static size_t past_string(const char *s, size_t n, size_t i, int *escaped) {
    for (i++; i < n; i++) {
        if (s[i] == '"') return i + 1;
        if (s[i] == '\\') { *escaped = 1; i++; }
    }
    return 0;
}

/// Past the value at `i` (not a string's escapes checked): the index after it, or 0.
static size_t past_value(const char *s, size_t n, size_t i) {
    int escaped = 0;
    if (s[i] == '"') return past_string(s, n, i, &escaped);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            char c = s[i];
            if (c == '"') {
                i = past_string(s, n, i, &escaped);
                if (i == 0) return 0;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') { if (--depth == 0) return i + 1; }
            i++;
        }
        return 0;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_ws(s[i])) i++;
    return i;
}

int nb_find_id(const char *s, size_t n, size_t *start, size_t *end, int *kind) {
    size_t i = 0;
    int found = 0;
    while (i < n && is_ws(s[i])) i++;
    if (i >= n || s[i] != '{') return -1;
    i++;
    while (i < n && is_ws(s[i])) i++;
    if (i < n && s[i] == '}') return 0;
    for (;;) {
        if (i >= n || s[i] != '"') return -1;
        int escaped = 0;
        size_t key = i;
        i = past_string(s, n, i, &escaped);
        if (i == 0 || escaped) return -1;
        int is_id = i - key == 4 && s[key + 1] == 'i' && s[key + 2] == 'd';
        while (i < n && is_ws(s[i])) i++;
        if (i >= n || s[i] != ':') return -1;
        i++;
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) return -1;
        size_t v = i;
        if (is_id) {
            if (s[i] == 'n') return -1;  // null: the careful reader says what it means
            if (s[i] == '"') {
                i = past_string(s, n, i, &escaped);
                if (i == 0 || escaped) return -1;
                *start = v + 1; *end = i - 1; *kind = 1;
            } else {
                i = past_value(s, n, i);
                if (i == 0) return -1;
                *start = v; *end = i; *kind = 2;
            }
            found = 1;
            // Nothing after it that could be another "id" key (the text "id" in quotes, or any
            // escape): this one is the last, whatever the rest holds.
            if (!memmem(s + i, n - i, "\"id\"", 4) && !memchr(s + i, '\\', n - i)) return 1;
        } else {
            i = past_value(s, n, i);
            if (i == 0) return -1;
        }
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) return -1;
        if (s[i] == '}') return found;
        if (s[i] != ',') return -1;
        i++;
        while (i < n && is_ws(s[i])) i++;
    }
}

int nb_contains(const void *hay, size_t n, const void *needle, size_t m) {
    return memmem(hay, n, needle, m) != NULL;
}
