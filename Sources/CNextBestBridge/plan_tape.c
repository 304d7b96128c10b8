// Plans out as typed nodes for Swift (Engine.decide(_ profile:)): what nb_encode_plan writes, without JSON text between.
// The same walk as json_out.c (fields, views, shapes, cycles, depth); values arrive as the JSON
// text of them would read back: a whole float below 1e15 is a whole number, NaN and infinities null.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <math.h>
#include <string.h>

typedef struct { nb_buf *nodes, *strings; } tape;

static void node(lua_State *L, tape *t, int kind, size_t length, int64_t integer, double number) {
    nb_value v = { kind, 0, length, integer, number };
    nb_check(L, nb_buf_append(t->nodes, &v, sizeof v));
}

static void text(lua_State *L, tape *t, const char *s, size_t n) {
    nb_value v = { NB_VALUE_STRING, t->strings->len, n, 0, 0 };
    if (n > 0) nb_check(L, nb_buf_append(t->strings, s, n));
    nb_check(L, nb_buf_append(t->nodes, &v, sizeof v));
}

static void value(lua_State *L, int idx, tape *t, int depth, const void **path);

/// A table's members (string keys only), after its OBJECT node.
static void members(lua_State *L, int idx, lua_Integer count, tape *t, int depth, const void **path) {
    node(L, t, NB_VALUE_OBJECT, (size_t)count, 0, 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t n;
        const char *k = lua_tolstring(L, -2, &n);  // a string: no conversion happens
        text(L, t, k, n);
        value(L, -1, t, depth + 1, path);
        lua_pop(L, 1);
    }
}

/// The table at idx (absolute): what a read-only view shows, as an array or an object.
static void table(lua_State *L, int idx, tape *t, int depth, const void **path) {
    nb_push_unviewed(L, idx);
    int tb = lua_gettop(L);
    lua_Integer n, count;
    int shape = nb_table_shape(L, tb, &n, &count);
    if (shape == NB_SHAPE_ARRAY) {
        node(L, t, NB_VALUE_ARRAY, (size_t)n, 0, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, tb, i);
            value(L, -1, t, depth + 1, path);
            lua_pop(L, 1);
        }
    } else if (shape == NB_SHAPE_MIXED) {
        lua_Integer kept = nb_push_string_keyed(L, tb, count);
        members(L, lua_gettop(L), kept, t, depth, path);
        lua_pop(L, 1);
    } else {
        members(L, tb, count, t, depth, path);
    }
    lua_pop(L, 1);
}

static void value(lua_State *L, int idx, tape *t, int depth, const void **path) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: node(L, t, NB_VALUE_NULL, 0, 0, 0); return;
    case LUA_TBOOLEAN: node(L, t, lua_toboolean(L, idx) ? NB_VALUE_TRUE : NB_VALUE_FALSE, 0, 0, 0); return;
    case LUA_TNUMBER: {
        if (lua_isinteger(L, idx)) { node(L, t, NB_VALUE_INT, 0, (int64_t)lua_tointeger(L, idx), 0); return; }
        double d = lua_tonumber(L, idx);
        if (!isfinite(d)) node(L, t, NB_VALUE_NULL, 0, 0, 0);
        else if (d == floor(d) && fabs(d) < 1e15) node(L, t, NB_VALUE_INT, 0, (int64_t)d, 0);
        else node(L, t, NB_VALUE_DOUBLE, 0, 0, d);
        return;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        text(L, t, s, n);
        return;
    }
    case LUA_TTABLE: break;
    default: {  // functions, userdata, threads cannot travel: say what they were
        const char *name = luaL_typename(L, idx);
        text(L, t, name, strlen(name));
        return;
    }
    }
    if (depth > NB_MAX_DEPTH) { node(L, t, NB_VALUE_NULL, 0, 0, 0); return; }
    nb_enter_table(L, idx, t->nodes->len + t->strings->len, depth, path);
    table(L, idx, t, depth, path);
    path[depth] = NULL;
}

/// A value on its own (as nb_json_encode(L, idx, b, 1) writes one).
static void top_value(lua_State *L, int idx, tape *t) {
    const void *path[NB_MAX_DEPTH + 2];
    memset(path, 0, sizeof path);
    value(L, idx, t, 1, path);
}

/// t[name `id`] as a member: its key, then its value.
static void member(lua_State *L, int idx, int names, int id, tape *t) {
    text(L, t, NB_PLAN_NAMES[id].name, NB_PLAN_NAMES[id].len);
    nb_plan_field(L, idx, names, id);
    top_value(L, -1, t);
    lua_pop(L, 1);
}

/// plan[name `list_id`] as an array (empty when absent): each entry a record of `fields`, or,
/// when `fields` is NULL, a plain value.
static void list(lua_State *L, int plan, int names, int list_id, const int *fields, tape *t) {
    nb_plan_field(L, plan, names, list_id);
    int l = lua_gettop(L);
    lua_Integer n = lua_istable(L, l) ? (lua_Integer)lua_rawlen(L, l) : 0;
    node(L, t, NB_VALUE_ARRAY, (size_t)n, 0, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, l, i);
        int rec = lua_gettop(L);
        if (!fields) {
            top_value(L, rec, t);
        } else {
            int factors = 0;
            size_t count = 0;
            for (int f = 0; fields[f] != NB_PN_END; f++) {
                if (fields[f] != NB_PN_FACTORS) { count++; continue; }
                nb_plan_field(L, rec, names, NB_PN_FACTORS);
                factors = lua_istable(L, -1);
                lua_pop(L, 1);
                count += (size_t)factors;
            }
            node(L, t, NB_VALUE_OBJECT, count, 0, 0);
            for (int f = 0; fields[f] != NB_PN_END; f++) {
                if (fields[f] != NB_PN_FACTORS) { member(L, rec, names, fields[f], t); continue; }
                if (!factors) continue;
                text(L, t, NB_PLAN_NAMES[NB_PN_FACTORS].name, NB_PLAN_NAMES[NB_PN_FACTORS].len);
                nb_plan_field(L, rec, names, NB_PN_FACTORS);
                int ft = lua_gettop(L);
                node(L, t, NB_VALUE_OBJECT, 4, 0, 0);
                for (int k = 0; NB_FACTOR_FIELDS[k] != NB_PN_END; k++) member(L, ft, names, NB_FACTOR_FIELDS[k], t);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

void nb_tape_plan(lua_State *L, int plan, nb_buf *nodes, nb_buf *strings) {
    tape t = { nodes, strings };
    plan = lua_absindex(L, plan);
    luaL_checkstack(L, 10, "plan too deep");
    int names = nb_push_plan_names(L);
    nb_plan_field(L, plan, names, NB_PN_LEVERS);  // set only by sets with pcvl, holdouts or a fallback
    int levers = lua_toboolean(L, -1), named = 0, held = 0;
    lua_pop(L, 1);
    if (levers) {  // a holdout (§8.5): its name, and what the customer would have received
        nb_plan_field(L, plan, names, NB_PN_HOLDOUT);
        named = lua_type(L, -1) == LUA_TSTRING;
        nb_plan_field(L, plan, names, NB_PN_HELD_OUT);
        held = lua_istable(L, -1);
        lua_pop(L, 2);
    }
    node(L, &t, NB_VALUE_OBJECT, (size_t)(5 + named + held), 0, 0);
    member(L, plan, names, NB_PN_CUSTOMER, &t);
    text(L, &t, "segments", 8);
    list(L, plan, names, NB_PN_SEGMENTS, NULL, &t);
    text(L, &t, "actions", 7);
    list(L, plan, names, NB_PN_ACTIONS, levers ? NB_LEVER_ACTION_FIELDS : NB_ACTION_FIELDS, &t);
    text(L, &t, "suppressed", 10);
    list(L, plan, names, NB_PN_SUPPRESSED, NB_SUPPRESSED_FIELDS, &t);
    text(L, &t, "errors", 6);
    list(L, plan, names, NB_PN_ERRORS, NULL, &t);
    if (named) member(L, plan, names, NB_PN_HOLDOUT, &t);
    if (held) {
        text(L, &t, "held_out", 8);
        list(L, plan, names, NB_PN_HELD_OUT, NB_HELD_OUT_FIELDS, &t);
    }
    lua_pop(L, 1);
}
