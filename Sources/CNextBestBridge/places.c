// Places: the tables of a customer's profile kept by the state and refilled for the next
// customer (json_in.c fills them while it parses). The profile itself (two tables used in turn,
// so that the next customer's is never the last one's) and each nested object and list, where
// it sits: its field name or "element of", under its parent's place, and whether it is an
// object or a list. Writing a field that a table already has is a third of the cost of adding
// it to a new table, and no table, view or garbage is made. Nothing a policy can reach outlives
// its customer (see nb_view_wrap), so what the last customer's tables held is free to
// overwrite; what must hold is that a refilled table has exactly this record's fields. Each
// kept table remembers the field names it was last filled with (its shape, by the names'
// addresses: short strings are interned, and a name that is a key of the table is alive). A
// record with the same names in the same order overwrites them; at the first difference, the
// fields not yet written for this record are cleared, and the rest is filled as into a new
// table. Nothing else adds a field to these tables (the engine reads them, the schema check
// only takes values out; the host's contacts joining a profile say so: nb_forget_profile_shape).
// A list is refilled from 1 and cleared past its new length; a list with a null in it is moved
// to a new table, so that its length (`#`, any border) is the one a new table gives.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <stdlib.h>
#include <string.h>

void nb_places_free(nb_keycache *K) {
    for (int i = 0; i <= NB_PLACES; i++) {
        nb_place *p = &K->places[i];
        for (uint32_t e = 0; e < p->made; e++) free(p->shapes[e].keys);
        free(p->shapes);
        p->shapes = NULL;
        p->made = 0;
    }
}

void nb_forget_profile_shape(nb_keycache *K) {
    nb_place *p = &K->places[NB_PLACES];
    for (uint32_t e = 0; e < p->made; e++) p->shapes[e].n = -1;
}

void nb_clear_except(lua_State *L, int t, const void *const *keep, size_t n) {
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        const void *k = lua_type(L, -1) == LUA_TSTRING ? lua_topointer(L, -1) : NULL;
        size_t j = 0;
        while (j < n && keep[j] != k) j++;
        if (j == n) {  // setting an existing field to nil is allowed while traversing
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, t);
        }
    }
}

int nb_place_find(nb_keycache *K, int parent, int kind, const unsigned char *name, uint32_t len) {
    uint64_t w[NB_KEY_WORDS];
    nb_key_words(w, name, len > 0 ? len - 1 : 0, 0);  // (len - 1 <= NB_KEY_MAX: the parser's plain names)
    uint64_t h = nb_key_hash(w, (uint64_t)len << 8) ^ ((uint64_t)parent << 16) ^ (uint64_t)kind;
    unsigned i = (unsigned)(h >> 58) & (NB_PLACES - 1);
    for (int probe = 0; probe < NB_PLACES; probe++, i = (i + 1) & (NB_PLACES - 1)) {
        nb_place *p = &K->places[i];
        if (p->kind == 0) {
            memcpy(p->w, w, sizeof w);
            p->len = len; p->parent = parent; p->kind = kind;
            return (int)i;
        }
        if (p->kind == kind && p->len == len && nb_key_equal(p->w, w) && p->parent == parent) return (int)i;
    }
    return -1;
}

/// Where the data of table `e` of place `i` (from 0) is in the places' table; its view is next.
static lua_Integer kept_slot(int i, uint32_t e) { return ((lua_Integer)i * NB_PLACE_TABLES + e) * 2 + 1; }

int nb_kept_take(lua_State *L, nb_keycache *K, struct nb_views *views, int places, int i, int kind, int hint, nb_kept *out) {
    if (i < 0) return 0;
    nb_place *p = &K->places[i];
    int view = i < NB_PLACES;
    if (p->gen != K->gen) { p->gen = K->gen; p->used = view ? 0 : K->gen & 1; }
    if (p->used >= NB_PLACE_TABLES) return 0;
    uint32_t e = p->used++;
    lua_Integer slot = kept_slot(i, e);
    int have = 0;
    if (e < p->made) {  // the view, then its data (false when it was dropped)
        if (view) lua_rawgeti(L, places, slot + 1);
        have = lua_rawgeti(L, places, slot) == LUA_TTABLE;
        if (have) out->old_n = p->shapes[e].n;
        else lua_pop(L, view ? 2 : 1);
    } else {
        nb_shape *grown = realloc(p->shapes, (e + 1) * sizeof *grown);
        if (!grown) { p->used--; return 0; }
        p->shapes = grown;
        for (uint32_t k = p->made; k <= e; k++) p->shapes[k] = (nb_shape){ 0, 0, NULL, NULL };
        p->made = e + 1;
    }
    if (!have) {  // a new table and its view, kept from now on
        lua_createtable(L, kind == 2 ? 4 : 0, kind == 2 ? 0 : hint);
        if (view) {
            nb_view_new(L, views, -1);
            lua_pushvalue(L, -1);
            lua_rawseti(L, places, slot + 1);
            lua_insert(L, -2);  // view, data
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, places, slot);
        out->old_n = 0;
    }
    p->shapes[e].n = -1;  // until it is filled: a failed record leaves it to be cleared
    out->place = i + 1;
    out->entry = e;
    return 1;
}

/// Makes room for `n` names in `shape`.
static int shape_room(nb_shape *shape, int n) {
    if (n <= shape->cap) return 1;
    int cap = n < 8 ? 8 : n;
    void *grown = realloc(shape->keys, (size_t)cap * (sizeof *shape->keys + sizeof *shape->slots));
    if (!grown) return 0;
    shape->keys = grown;
    shape->slots = (uint16_t *)(shape->keys + cap);
    shape->cap = cap;
    return 1;
}

void nb_kept_filled(lua_State *L, nb_keycache *K, int places, const nb_kept *k, int n,
                    const void *const *names, const uint16_t *slots) {
    nb_shape *shape = nb_kept_shape(K, k);
    int too_big = n < 0 || (names && (n > NB_PLACE_MAX_FIELDS || !shape_room(shape, n)));
    if (too_big) {  // the next record makes a new one in its stead
        lua_pushboolean(L, 0);
        lua_rawseti(L, places, kept_slot(k->place - 1, k->entry));
        return;
    }
    if (names) {
        memcpy(shape->keys, names, (size_t)n * sizeof *names);
        memcpy(shape->slots, slots, (size_t)n * sizeof *slots);
    }
    shape->n = n;
}
