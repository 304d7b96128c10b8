// Pushing a profile built in Swift: a flattened value (a tape of nb_value, pre-order) becomes Lua tables, no JSON text between.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>

typedef struct {
    const nb_value *tape;
    size_t count, next;
    const char *strings;
    nb_keycache *keys;  // the state's field-name cache (table at keys_idx), or NULL
    int keys_idx;
    nb_views *views;  // when not NULL, nested tables become read-only views as they are made
    int consent_next;  // the object about to be pushed is the top-level `consent`
} tape_reader;

/// Pushes the value at the reader's position (and everything under it); 0 when the tape is
/// malformed or nested deeper than NB_MAX_DEPTH. The caller has made room for 4 slots.
static int push_value(lua_State *L, tape_reader *r, int depth) {
    if (r->next >= r->count || depth > NB_MAX_DEPTH) return 0;
    const nb_value *v = &r->tape[r->next++];
    switch (v->kind) {
    case NB_VALUE_NULL: lua_pushnil(L); return 1;  // a null field is an absent field, as in JSON input
    case NB_VALUE_FALSE: lua_pushboolean(L, 0); return 1;
    case NB_VALUE_TRUE: lua_pushboolean(L, 1); return 1;
    case NB_VALUE_INT: lua_pushinteger(L, (lua_Integer)v->integer); return 1;
    case NB_VALUE_DOUBLE: lua_pushnumber(L, (lua_Number)v->number); return 1;
    case NB_VALUE_STRING: lua_pushlstring(L, r->strings + v->offset, v->length); return 1;
    case NB_VALUE_ARRAY: {
        if (!lua_checkstack(L, 4)) return 0;
        lua_createtable(L, (int)(v->length < 1u << 20 ? v->length : 0), 0);
        lua_Integer n = 0;
        for (size_t i = 0; i < v->length; i++) {
            if (!push_value(L, r, depth + 1)) return 0;
            lua_rawseti(L, -2, ++n);  // a null element leaves a hole, as in JSON input
        }
        return depth == 1 || !r->views || nb_view_wrap(L, r->views);
    }
    case NB_VALUE_OBJECT: {
        int consent = r->consent_next;  // nulls in it are noted, not dropped (§3.2)
        r->consent_next = 0;
        if (!lua_checkstack(L, 4)) return 0;
        lua_createtable(L, 0, (int)(v->length < 1u << 20 ? v->length : 0));
        for (size_t i = 0; i < v->length; i++) {
            if (r->next >= r->count) return 0;
            const nb_value *k = &r->tape[r->next];
            if (k->kind != NB_VALUE_STRING) return 0;
            if (r->keys && k->length <= NB_KEY_MAX) {  // a field name seen before comes from the cache
                nb_keycache_push(L, r->keys, r->keys_idx, r->strings + k->offset, k->length);
                r->next++;
            } else if (!push_value(L, r, depth + 1)) return 0;
            r->consent_next = depth == 1 && r->keys && r->next < r->count && r->tape[r->next].kind == NB_VALUE_OBJECT && nb_is_consent_key(L);
            if (!push_value(L, r, depth + 1)) return 0;
            r->consent_next = 0;
            if (consent && lua_isnil(L, -1)) nb_note_consent_null(L, r->keys);
            lua_rawset(L, -3);  // a nil value sets nothing
        }
        return depth == 1 || !r->views || nb_view_wrap(L, r->views);
    }
    default: return 0;
    }
}

int nb_value_push(lua_State *L, const nb_value *tape, size_t count, const char *strings, nb_buf *message,
                  nb_keycache *keys, int keys_idx, nb_views *views) {
    tape_reader r = { tape, count, 0, strings, keys, keys_idx, views, 0 };
    nb_forget_consent_nulls(L, keys);
    int top = lua_gettop(L);
    if (lua_checkstack(L, 4) && push_value(L, &r, 1) && r.next == count) return 1;
    lua_settop(L, top);
    static const char m[] = "the profile is nested too deeply (at most 64 levels)";
    nb_buf_clear(message);
    nb_check(L, nb_buf_append(message, m, sizeof m - 1));
    return 0;
}
