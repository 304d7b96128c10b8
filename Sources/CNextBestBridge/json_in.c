// Profile JSON straight into Lua tables: one pass, no intermediate tree. Runs only inside
// a protected call (see state.c), so allocation failures raise safely.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>
#include <stdint.h>

typedef struct {
    const unsigned char *p, *start, *end;
    const char *err;
    int depth;
    int hint[NB_MAX_DEPTH + 1];
    nb_keycache *keys;  // NULL: no field-name cache
    int keys_idx;
    nb_views *views;    // NULL: nested tables stay plain
    int consent_next;   // the object about to be parsed is the top-level `consent`
    int no_cache;       // the string about to be parsed is an id: not kept in the cache
    const unsigned char *plain;  // the last string parse_cached took from the text as is,
    int plain_len;               // and its length (-1 when it was parsed with escapes)
    // Refilling the last customer's tables (places.c); places == 0: every table is new.
    int places;                  // stack index of the places' tables
    int place;                   // the place (index + 1) of the table being filled; 0 the profile, -1 none
    int vkey_len;                // what the next value is: a field (its name's length + 1), a list element (0), or -1 (not kept)
    const unsigned char *vkey;   // that field's name
    int key_slot;                // the key cache slot of the last field name parsed, or -1
    size_t ksp;                  // the field names (by address, and key cache slot) of the kept
    const void *kstack[(NB_MAX_DEPTH + 1) * (NB_PLACE_MAX_FIELDS + 1)];  // objects being filled: the
    uint16_t kslots[(NB_MAX_DEPTH + 1) * (NB_PLACE_MAX_FIELDS + 1)];     // first NB_PLACE_MAX_FIELDS + 1 of each
} jparser;

static inline void skip_ws(jparser *J) {
    const unsigned char *p = J->p, *end = J->end;
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;  // most text has none
    J->p = p;
}

static int fail(jparser *J, const char *msg) { J->err = msg; return 0; }

static const double pow10tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int parse_number(lua_State *L, jparser *J) {
    const unsigned char *s = J->p;
    int neg = 0, is_float = 0;
    if (J->p < J->end && *J->p == '-') { neg = 1; J->p++; }
    if (J->p >= J->end || *J->p < '0' || *J->p > '9') return fail(J, "invalid number");
    uint64_t mant = 0;
    int digits = 0, frac_digits = 0;
    if (*J->p == '0') { J->p++; digits = 1; }
    else while (J->p < J->end && *J->p >= '0' && *J->p <= '9') {
        if (digits < 19) mant = mant * 10 + (uint64_t)(*J->p - '0');
        digits++; J->p++;
    }
    if (J->p < J->end && *J->p >= '0' && *J->p <= '9') return fail(J, "invalid number (leading zero)");
    if (J->p < J->end && *J->p == '.') {
        is_float = 1; J->p++;
        if (J->p >= J->end || *J->p < '0' || *J->p > '9') return fail(J, "invalid number (digit expected after '.')");
        while (J->p < J->end && *J->p >= '0' && *J->p <= '9') {
            if (digits < 19) { mant = mant * 10 + (uint64_t)(*J->p - '0'); frac_digits++; }
            digits++; J->p++;
        }
    }
    int exp10 = 0, has_exp = 0;
    if (J->p < J->end && (*J->p == 'e' || *J->p == 'E')) {
        is_float = 1; has_exp = 1; J->p++;
        int eneg = 0;
        if (J->p < J->end && (*J->p == '+' || *J->p == '-')) { eneg = *J->p == '-'; J->p++; }
        if (J->p >= J->end || *J->p < '0' || *J->p > '9') return fail(J, "invalid number (digit expected in exponent)");
        while (J->p < J->end && *J->p >= '0' && *J->p <= '9') {
            if (exp10 < 10000) exp10 = exp10 * 10 + (*J->p - '0');
            J->p++;
        }
        if (eneg) exp10 = -exp10;
    }
    if (!is_float && digits <= 18) {
        lua_Integer v = (lua_Integer)mant;
        lua_pushinteger(L, neg ? -v : v);
        return 1;
    }
    int e = exp10 - frac_digits;
    if (digits <= 15 && mant < (1ULL << 53) && e >= -22 && e <= 22) {
        // Exact: both operands are representable, so one IEEE operation rounds correctly.
        double d = (double)mant;
        d = e < 0 ? d / pow10tab[-e] : d * pow10tab[e];
        lua_pushnumber(L, neg ? -d : d);
        return 1;
    }
    (void)has_exp;
    size_t n = (size_t)(J->p - s);
    char small[64];
    char *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp) return fail(J, "out of memory reading a number");
    memcpy(tmp, s, n); tmp[n] = 0;
    double d = strtod(tmp, NULL);
    if (tmp != small) free(tmp);
    lua_pushnumber(L, d);
    return 1;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(jparser *J, unsigned *out) {
    if (J->end - J->p < 4) return fail(J, "invalid \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(J->p[i]);
        if (h < 0) return fail(J, "invalid \\u escape");
        v = v * 16 + (unsigned)h;
    }
    J->p += 4; *out = v;
    return 1;
}

static void add_utf8(luaL_Buffer *B, unsigned cp) {
    char u[4]; size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) { u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
    else { u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
    luaL_addlstring(B, u, n);
}

/// Whether any of the 8 bytes in `w` is '"', '\\', below 0x20 or 0x80 and above.
static inline int special8(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');
    uint64_t zero_q = (quote - ones) & ~quote, zero_s = (slash - ones) & ~slash;
    uint64_t ctrl = w - ones * 0x20;  // borrows into the high bit for bytes < 0x20
    return ((zero_q | zero_s | ctrl | w) & high) != 0;
}

// J->p is just after the opening quote.
static int parse_string(lua_State *L, jparser *J) {
    const unsigned char *s = J->p;
    while (J->end - J->p >= 8) {  // plain ASCII, 8 bytes at a time
        uint64_t w;
        memcpy(&w, J->p, 8);
        if (special8(w)) break;
        J->p += 8;
    }
    while (J->p < J->end) {
        unsigned char c = *J->p;
        if (c == '"') { lua_pushlstring(L, (const char *)s, (size_t)(J->p - s)); J->p++; return 1; }
        if (c == '\\') break;
        if (c < 0x20) return fail(J, "control character in a string (escape it, e.g. \\n)");
        if (c >= 0x80) {
            size_t k = nb_utf8_seq(J->p, (size_t)(J->end - J->p));
            if (!k) return fail(J, "invalid UTF-8 in a string");
            J->p += k;
        } else J->p++;
    }
    if (J->p >= J->end) return fail(J, "unterminated string");
    // Slow path: the string has escapes.
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    luaL_addlstring(&B, (const char *)s, (size_t)(J->p - s));
    while (J->p < J->end) {
        unsigned char c = *J->p;
        if (c == '"') { J->p++; luaL_pushresult(&B); return 1; }
        if (c < 0x20) return fail(J, "control character in a string (escape it, e.g. \\n)");
        if (c == '\\') {
            J->p++;
            if (J->p >= J->end) break;
            unsigned char e = *J->p++;
            switch (e) {
            case '"': luaL_addchar(&B, '"'); break;
            case '\\': luaL_addchar(&B, '\\'); break;
            case '/': luaL_addchar(&B, '/'); break;
            case 'b': luaL_addchar(&B, '\b'); break;
            case 'f': luaL_addchar(&B, '\f'); break;
            case 'n': luaL_addchar(&B, '\n'); break;
            case 'r': luaL_addchar(&B, '\r'); break;
            case 't': luaL_addchar(&B, '\t'); break;
            case 'u': {
                unsigned cp;
                if (!read_hex4(J, &cp)) return 0;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (J->end - J->p < 6 || J->p[0] != '\\' || J->p[1] != 'u') return fail(J, "unpaired surrogate in \\u escape");
                    J->p += 2;
                    if (!read_hex4(J, &lo)) return 0;
                    if (lo < 0xDC00 || lo > 0xDFFF) return fail(J, "unpaired surrogate in \\u escape");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(J, "unpaired surrogate in \\u escape");
                add_utf8(&B, cp);
                break;
            }
            default: J->p--; return fail(J, "invalid escape in a string");
            }
            continue;
        }
        if (c >= 0x80) {
            size_t k = nb_utf8_seq(J->p, (size_t)(J->end - J->p));
            if (!k) return fail(J, "invalid UTF-8 in a string");
            luaL_addlstring(&B, (const char *)J->p, k);
            J->p += k;
        } else { luaL_addchar(&B, (char)c); J->p++; }
    }
    return fail(J, "unterminated string");
}

static int parse_value(lua_State *L, jparser *J);

static unsigned keycache_push_at(lua_State *L, nb_keycache *K, int keys_idx, const char *s, size_t n,
                                 const uint64_t w[NB_KEY_WORDS], unsigned base);

/// A string (J->p just after its opening quote) from the state's cache, in its slots from
/// `base` on, when it is plain text of up to NB_KEY_MAX bytes seen before, else parsed and,
/// when plain and that short, kept. Notes the plain bytes in J->plain / J->plain_len (-1: not plain).
static int parse_cached(lua_State *L, jparser *J, unsigned base) {
    nb_keycache *K = J->keys;
    J->plain_len = -1;
    J->key_slot = -1;
    if (!K) return parse_string(L, J);
    const unsigned char *s = J->p;
    size_t room = (size_t)(J->end - s), n = 0;
    uint64_t w[NB_KEY_WORDS];
    if (room >= NB_KEY_MAX) {  // a word at a time: where the first quote is, and nothing special before it
        const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
        memcpy(w, s, NB_KEY_MAX);
        n = NB_KEY_MAX + 1;
        for (size_t k = 0; k < NB_KEY_WORDS; k++) {
            uint64_t x = w[k], q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
            uint64_t quote = (q - ones) & ~q & high;  // the lowest flagged byte is exact
            uint64_t special = ((bs - ones) & ~bs & high) | ((x - ones * 0x20) & ~x & high) | (x & high);
            if (quote) {
                unsigned qp = (unsigned)__builtin_ctzll(quote) >> 3;
                if (special && ((unsigned)__builtin_ctzll(special) >> 3) < qp) return parse_string(L, J);
                n = k * 8 + qp;
                w[k] = qp ? w[k] & ((1ULL << (8 * qp)) - 1) : 0;  // the bytes past the quote masked off
                for (size_t z = k + 1; z < NB_KEY_WORDS; z++) w[z] = 0;
                break;
            }
            if (special) return parse_string(L, J);
        }
        if (n > NB_KEY_MAX) {  // no quote in the words: kept only when it follows them
            if (room > NB_KEY_MAX && s[NB_KEY_MAX] == '"') n = NB_KEY_MAX;
            else return parse_string(L, J);
        }
    } else {
        while (n <= NB_KEY_MAX && n < room) {
            unsigned char c = s[n];
            if (c == '"') break;
            if (c == '\\' || c < 0x20 || c >= 0x80) return parse_string(L, J);
            n++;
        }
        if (n > NB_KEY_MAX || n >= room) return parse_string(L, J);
        nb_key_words(w, s, n, 0);
    }
    J->key_slot = (int)keycache_push_at(L, K, J->keys_idx, (const char *)s, n, w, base);
    J->plain = s;
    J->plain_len = (int)n;
    J->p = s + n + 1;
    return 1;
}

/// A field name: parse_cached in the names' slots.
static int parse_key(lua_State *L, jparser *J) { return parse_cached(L, J, 0); }

/// Pushes the n bytes at s (words `w`) through the cache, in the names' slots (base 0) or
/// the values' (base NB_KEYS); returns the slot.
static unsigned keycache_push_at(lua_State *L, nb_keycache *K, int keys_idx, const char *s, size_t n,
                                 const uint64_t w[NB_KEY_WORDS], unsigned base) {
    unsigned i = base + (unsigned)(nb_key_hash(w, n) >> (64 - NB_KEYS_BITS));
    if (K->len[i] == n + 1 && nb_key_equal(K->w[i], w)) {
        lua_rawgeti(L, keys_idx, (lua_Integer)i + 1);
    } else {
        lua_pushlstring(L, s, n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys_idx, (lua_Integer)i + 1);
        K->str[i] = lua_topointer(L, -1);
        K->len[i] = (uint32_t)n + 1;
        memcpy(K->w[i], w, sizeof K->w[i]);
    }
    return i;
}

void nb_keycache_push(lua_State *L, nb_keycache *K, int keys_idx, const char *s, size_t n) {
    uint64_t w[NB_KEY_WORDS];
    nb_key_words(w, (const unsigned char *)s, n, 0);
    keycache_push_at(L, K, keys_idx, s, n, w, 0);
}

/// Whether the key on top of the stack (just parsed by parse_key) is "id".
static int is_id_key(lua_State *L, jparser *J) {
    if (J->plain_len >= 0) return J->plain_len == 2 && J->plain[0] == 'i' && J->plain[1] == 'd';
    size_t n;
    const char *k = lua_tolstring(L, -1, &n);
    return n == 2 && k[0] == 'i' && k[1] == 'd';
}

/// A record's numeric id (policy-language.md §3: ids are text): a whole number becomes its
/// text exactly as written (20 digits keep their 20 digits); a fraction stays a number, so
/// that the record is refused with a message saying what the id must be.
static int parse_id_number(lua_State *L, jparser *J) {
    const unsigned char *s = J->p;
    if (!parse_number(L, J)) return 0;
    for (const unsigned char *q = s; q < J->p; q++) if (*q == '.' || *q == 'e' || *q == 'E') return 1;
    lua_pop(L, 1);
    lua_pushlstring(L, (const char *)s, (size_t)(J->p - s));
    return 1;
}
/// The most fields an object is made ready for before it is read (the hint of its depth).
#define NB_HINT_MAX 64

const char nb_consent_nulls_key = 0;

void nb_note_consent_null(lua_State *L, nb_keycache *K) {
    if (!K || !lua_checkstack(L, 3)) return;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &nb_consent_nulls_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &nb_consent_nulls_key);
    }
    lua_pushvalue(L, -3);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    K->consent_nulls = 1;
}

void nb_forget_consent_nulls(lua_State *L, nb_keycache *K) {
    if (!K || !K->consent_nulls) return;
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &nb_consent_nulls_key);
    K->consent_nulls = 0;
}

int nb_is_consent_key(lua_State *L) {
    size_t n;
    const char *k = lua_tolstring(L, -1, &n);
    return n == 7 && memcmp(k, "consent", 7) == 0;
}

/// A kept object's next field name when it is the one its shape expects there (the name in
/// key cache slot `slot`, J->p just after the opening quote): pushed from the cache without
/// being hashed, and 1; else 0 and nothing read.
static int expected_key(lua_State *L, jparser *J, unsigned slot) {
    nb_keycache *K = J->keys;
    if (slot >= NB_KEYS || K->len[slot] == 0) return 0;
    size_t n = K->len[slot] - 1, room = (size_t)(J->end - J->p);
    if (room < n + 1 || J->p[n] != '"') return 0;
    uint64_t w[NB_KEY_WORDS];
    nb_key_words(w, J->p, n, room);
    if (!nb_key_equal(w, K->w[slot])) return 0;
    lua_rawgeti(L, J->keys_idx, (lua_Integer)slot + 1);
    J->plain = J->p;
    J->plain_len = (int)n;
    J->key_slot = (int)slot;
    J->p += n + 1;
    return 1;
}

static int parse_object(lua_State *L, jparser *J, const nb_kept *keep) {
    int d = J->depth;
    int consent = J->consent_next;  // nulls in it are noted, not dropped (§3.2)
    J->consent_next = 0;
    if (!keep) lua_createtable(L, 0, J->hint[d]);
    int t = lua_gettop(L);
    size_t base = J->ksp;
    int differs = 0;  // a kept table: its shape and this record's names part ways
    int n = 0;
    skip_ws(J);
    if (J->p < J->end && *J->p == '}') J->p++;
    else for (;;) {
        skip_ws(J);
        if (J->p >= J->end) return fail(J, "unexpected end of input inside an object");
        if (*J->p != '"') return fail(J, "expected a quoted field name");
        J->p++;
        const nb_shape *expect = keep && !differs && n < keep->old_n ? nb_kept_shape(J->keys, keep) : NULL;
        int as_expected = expect && expected_key(L, J, expect->slots[n]);
        if (!as_expected && !parse_key(L, J)) return 0;
        int key_slot = J->key_slot;
        J->vkey = J->plain;
        J->vkey_len = J->plain_len >= 0 ? J->plain_len + 1 : -1;
        skip_ws(J);
        if (J->p >= J->end || *J->p != ':') return fail(J, "expected ':' after a field name");
        J->p++;
        skip_ws(J);
        int id = d == 1 && is_id_key(L, J);
        if (id && J->p < J->end && (*J->p == '-' || (*J->p >= '0' && *J->p <= '9'))) {
            if (!parse_id_number(L, J)) return 0;
        } else {
            J->consent_next = d == 1 && J->keys && J->p < J->end && *J->p == '{' && nb_is_consent_key(L);
            J->no_cache = id;  // ids differ from one customer to the next: not worth a slot
            if (!parse_value(L, J)) return 0;
            J->consent_next = 0;
            J->no_cache = 0;
        }
        if (lua_isnil(L, -1)) {  // null: the field is absent (a consent entry's null is noted)
            if (consent) nb_note_consent_null(L, J->keys);
            lua_pop(L, 2);
        } else {
            if (keep) {  // n fields written so far; a difference comes at n <= old_n <= NB_PLACE_MAX_FIELDS
                const nb_shape *shape = nb_kept_shape(J->keys, keep);
                // The name's string: from its cache slot (which may hold another name than when the shape was kept).
                const void *k = key_slot >= 0 && key_slot < NB_KEYS ? J->keys->str[key_slot] : lua_topointer(L, -2);
                if (!differs && (n >= keep->old_n || shape->keys[n] != k)) {
                    differs = 1;  // from here on, as a new table: the fields not written yet go
                    nb_clear_except(L, t, J->kstack + base, (size_t)n);
                }
                if (n <= NB_PLACE_MAX_FIELDS) {
                    J->kstack[J->ksp] = k;
                    J->kslots[J->ksp++] = key_slot >= 0 && key_slot < NB_KEYS ? (uint16_t)key_slot : NB_NO_SLOT;
                }
            }
            lua_rawset(L, t);
            n++;
        }
        skip_ws(J);
        if (J->p >= J->end) return fail(J, "unexpected end of input inside an object");
        if (*J->p == ',') { J->p++; continue; }
        if (*J->p == '}') { J->p++; break; }
        return fail(J, "expected ',' or '}' after an object value");
    }
    if (n > J->hint[d]) J->hint[d] = n < NB_HINT_MAX ? n : NB_HINT_MAX;  // one huge record must not size every later one
    if (keep) {
        if (!differs && n != keep->old_n) nb_clear_except(L, t, J->kstack + base, (size_t)n);  // it had more
        nb_kept_filled(L, J->keys, J->places, keep, n, J->kstack + base, J->kslots + base);
        J->ksp = base;
    }
    return 1;
}

/// Returns 0 on failure, 1, or 2 when a kept list was left for a new table (a null in it).
static int parse_array(lua_State *L, jparser *J, const nb_kept *keep) {
    int converted = 0;
    if (!keep) lua_createtable(L, 4, 0);
    int t = lua_gettop(L);
    if (keep && keep->old_n < 0) nb_clear_except(L, t, NULL, 0);
    lua_Integer i = 0;
    skip_ws(J);
    if (J->p < J->end && *J->p == ']') J->p++;
    else for (;;) {
        skip_ws(J);
        J->vkey_len = 0;  // an element
        if (!parse_value(L, J)) return 0;
        i++;
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            if (keep) {  // on in a new table, made as parse_array makes one (its length is then the same)
                lua_createtable(L, 4, 0);
                for (lua_Integer k = 1; k < i; k++) { lua_rawgeti(L, t, k); lua_rawseti(L, -2, k); }
                lua_replace(L, t);
                keep = NULL;
                converted = 1;
            }
        }
        else lua_rawseti(L, t, i);
        skip_ws(J);
        if (J->p >= J->end) return fail(J, "unexpected end of input inside an array");
        if (*J->p == ',') { J->p++; continue; }
        if (*J->p == ']') { J->p++; break; }
        return fail(J, "expected ',' or ']' after an array value");
    }
    if (keep) {
        for (lua_Integer k = i + 1; k <= keep->old_n; k++) { lua_pushnil(L); lua_rawseti(L, t, k); }
        nb_kept_filled(L, J->keys, J->places, keep, i > NB_PLACE_MAX_ITEMS ? -1 : (int)i, NULL, NULL);
    }
    return converted ? 2 : 1;
}

static int match_word(jparser *J, const char *w, size_t n) {
    if ((size_t)(J->end - J->p) < n || memcmp(J->p, w, n) != 0) return 0;
    J->p += n;
    return 1;
}

static int parse_value(lua_State *L, jparser *J) {
    if (J->p >= J->end) return fail(J, "unexpected end of input, a value was expected");
    switch (*J->p) {
    case '{':
    case '[': {
        if (J->depth >= NB_MAX_DEPTH) return fail(J, "nested deeper than 64 levels");
        if (!lua_checkstack(L, 8)) return fail(J, "nested too deeply");
        int obj = *J->p == '{';
        J->p++;
        nb_kept keep;
        int top = J->depth == 0, kind = obj ? 1 : 2, hint = obj ? J->hint[J->depth + 1] : 0;
        int kept_here = J->places && (top ? obj && nb_kept_take(L, J->keys, J->views, J->places, NB_PLACES, kind, hint, &keep)
                                          : J->place >= 0 && J->vkey_len >= 0
                                            && nb_kept_take(L, J->keys, J->views, J->places,
                                                            nb_place_find(J->keys, J->place, kind, J->vkey, (uint32_t)J->vkey_len),
                                                            kind, hint, &keep));
        int parent = J->place;
        if (J->depth > 0) J->place = kept_here ? keep.place : -1;  // below a new table, all are new
        J->depth++;
        int ok = obj ? parse_object(L, J, kept_here ? &keep : NULL) : parse_array(L, J, kept_here ? &keep : NULL);
        J->depth--;
        J->place = parent;
        if (!ok) return 0;
        if (kept_here && top) return 1;  // the profile: the pipeline makes its view
        if (kept_here) {
            if (ok != 2) { lua_pop(L, 1); return 1; }  // its view stays
            lua_remove(L, -2);  // the kept view: the new table gets one of its own
        }
        if (J->views && J->depth > 0 && !nb_view_wrap(L, J->views)) return fail(J, "nested too deeply");
        return 1;
    }
    case '"': J->p++; return J->no_cache ? parse_string(L, J) : parse_cached(L, J, NB_KEYS);
    case 't': if (match_word(J, "true", 4)) { lua_pushboolean(L, 1); return 1; } break;
    case 'f': if (match_word(J, "false", 5)) { lua_pushboolean(L, 0); return 1; } break;
    case 'n': if (match_word(J, "null", 4)) { lua_pushnil(L); return 1; } break;
    default:
        if (*J->p == '-' || (*J->p >= '0' && *J->p <= '9')) return parse_number(L, J);
    }
    return fail(J, "unexpected character, a value was expected");
}

static jparser *shared_parser(void) {
    static _Thread_local jparser J;  // per thread: keeps the size hints warm
    return &J;
}

int nb_json_push(lua_State *L, const char *json, size_t len, long line, long column, nb_buf *message) {
    return nb_json_push_keys(L, json, len, line, column, message, NULL, 0, NULL);
}

int nb_json_push_keys(lua_State *L, const char *json, size_t len, long line, long column, nb_buf *message,
                      nb_keycache *keys, int keys_idx, nb_views *views) {
    jparser *J = shared_parser();
    J->keys = keys;
    J->views = views;
    J->keys_idx = keys_idx;
    J->consent_next = 0;
    J->no_cache = 0;
    J->plain_len = -1;
    J->places = keys && views ? views->places : 0;
    J->place = 0;
    J->vkey_len = -1;
    J->ksp = 0;
    if (J->places) keys->gen++;
    nb_forget_consent_nulls(L, keys);
    J->start = J->p = (const unsigned char *)json;
    J->end = J->start + len;
    J->err = NULL;
    J->depth = 0;
    skip_ws(J);
    int ok = parse_value(L, J);
    if (ok) {
        skip_ws(J);
        if (J->p < J->end) ok = fail(J, "unexpected data after the end of the value");
    }
    if (ok) return 1;
    // Where it failed: line and column (in bytes) within the file.
    long l = line > 0 ? line : 1, col = column > 0 ? column : 1;
    for (const unsigned char *q = J->start; q < J->p && q < J->end; q++) {
        if (*q == '\n') { l++; col = 1; } else col++;
    }
    char head[96];
    int hn;
    if (line > 0) hn = snprintf(head, sizeof head, "line %ld, column %ld: ", l, col);
    else hn = snprintf(head, sizeof head, "column %ld: ", col);
    nb_buf_clear(message);
    nb_buf_append(message, head, (size_t)hn);
    nb_buf_append(message, J->err, strlen(J->err));
    return 0;
}
