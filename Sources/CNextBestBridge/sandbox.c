// The sandbox's C machinery: read-only views of profile tables (made while parsing, or over a
// table built in Lua) and their length. The Lua half (environment, freeze, scan) is Prelude/sandbox.lua.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>

/// Replaces the table at the top of the stack by a read-only view of it: an empty table whose
/// metatable is a copy of the template with `__index` = the data. Views are taken from the
/// pool (view `used + 1`, made on first need) and pointed at this customer's data: one
/// customer is decided at a time per state, and nothing a policy can reach outlives its
/// customer (plans are written, or copied, before the next), so the views of the last
/// customer are free for the next.
/// How many views a state keeps for reuse: enough for any usual profile, and a bound on the
/// earlier customer's data the pool keeps reachable.
#define NB_VIEW_POOL_MAX 256

/// Pushes a view (an empty table) whose metatable is a copy of the template at v->tmpl; its
/// `__index` is set by the caller.
static void push_view(lua_State *L, nb_views *v) {
    lua_createtable(L, 0, 0);         // the view
    lua_createtable(L, 0, 6);         // its metatable
    lua_pushnil(L);
    while (lua_next(L, v->tmpl)) {    // __newindex, __len, __pairs, __metatable, __nbview
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_setmetatable(L, -2);
}

void nb_view_new(lua_State *L, nb_views *v, int data) {
    data = lua_absindex(L, data);
    push_view(L, v);
    lua_getmetatable(L, -1);
    if (v->index_key) lua_pushvalue(L, v->index_key);
    else lua_pushliteral(L, "__index");
    lua_pushvalue(L, data);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

int nb_view_wrap(lua_State *L, nb_views *v) {
    if (!lua_checkstack(L, 6)) return 0;
    int data = lua_gettop(L);
    v->used += 1;
    int pooled = v->used <= NB_VIEW_POOL_MAX;  // past that, views are made for this customer only
    if (!pooled || lua_rawgeti(L, v->pool, v->used) != LUA_TTABLE) {
        if (pooled) lua_pop(L, 1);
        push_view(L, v);
        if (pooled) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, v->pool, v->used);
        }
    }
    lua_getmetatable(L, -1);              // the view's own metatable (past __metatable)
    if (v->index_key) lua_pushvalue(L, v->index_key);
    else lua_pushliteral(L, "__index");
    lua_pushvalue(L, data);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, data);
    return 1;
}

/// Makes every table nested in the table at `idx` that is not a view yet (one without a
/// metatable) a read-only view: for profiles built in Lua (tests) and by json_decode.
static void protect_nested(lua_State *L, int idx, nb_views *views, int depth) {
    if (depth > NB_MAX_DEPTH) return;
    luaL_checkstack(L, 8, "profile nested too deeply");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int v = lua_gettop(L);
        if (lua_type(L, v) == LUA_TTABLE && !lua_getmetatable(L, v)) {
            protect_nested(L, v, views, depth + 1);
            lua_pushvalue(L, v);
            if (!nb_view_wrap(L, views)) luaL_error(L, "profile nested too deeply");
            lua_pushvalue(L, v - 1);          // the key
            lua_insert(L, -2);
            lua_rawset(L, idx);               // an existing field: allowed while traversing
        }
        lua_settop(L, v - 1);
    }
}

/// protect_profile(data, template, pool, mt): gives a profile the metatable `mt` (past any
/// __metatable) and makes the tables nested in it read-only views.
int nb_l_protect_profile(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_pushvalue(L, 4);
    lua_setmetatable(L, 1);
    if (lua_topointer(L, 1) == nb_fresh_profile(L)) return 0;  // parsed with its views
    lua_settop(L, 3);
    nb_views views = { 2, 3, 0, 0, 0 };
    protect_nested(L, 1, &views, 1);
    return 0;
}

/// view_len(view): the length of the data behind a read-only view (its __len). In C because
/// policies take `#` of profile lists (any, count, ...) for nearly every customer.
int nb_l_view_len(lua_State *L) {
    if (lua_getmetatable(L, 1)) {
        lua_pushliteral(L, "__index");
        if (lua_rawget(L, -2) == LUA_TTABLE) {
            lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
            return 1;
        }
    }
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
    return 1;
}

