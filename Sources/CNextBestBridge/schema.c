// The profile schema's per-customer type check (policy-language.md §3.1) in C: each declared
// field read raw, its type checked, a wrong-typed value taken out; the messages stay in schema.lua.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/// What a declared field's value must be beyond its Lua type.
enum { K_NONE = 0, K_NUMBER, K_INTEGER, K_DATE, K_NESTED };

/// One declared field, in the order schema.lua walks them (sorted per level, depth first).
typedef struct {
    int parent;  // the entry of the table it is declared in (1-based); 0 = the profile itself
    int type;    // the Lua type its value must have (LUA_T*)
    int kind;    // K_*
} schema_entry;

typedef struct {
    int count;
    schema_entry e[];
} schema_walk;

static int digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/// Whether time.parse (time.lua) reads `s` as a date: YYYY-MM-DD, then optionally
/// [T ]HH:MM[:SS[.frac]] and Z, z, nothing, or [+-]HH[:]MM. Kept to time.parse exactly.
int nb_date_valid(const char *s, size_t n) {
    static const int DAYS[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2)) return 0;
    int m = num2(s + 5), d = num2(s + 8);
    if (m < 1 || m > 12 || d < 1 || d > DAYS[m - 1]) return 0;
    const char *p = s + 10, *end = s + n;
    if (p == end) return 1;
    if (end - p < 6 || (p[0] != 'T' && p[0] != ' ') || !digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2)) return 0;
    int hh = num2(p + 1), mm = num2(p + 4);
    double ss = 0;
    p += 6;
    if (end - p >= 3 && p[0] == ':' && digits(p + 1, 2)) {
        ss = num2(p + 1);
        p += 3;
        if (end - p >= 2 && (p[0] == '.' || p[0] == ',') && p[1] >= '0' && p[1] <= '9') {
            const char *f = p + 1;
            while (f < end && *f >= '0' && *f <= '9') f++;
            size_t k = (size_t)(f - (p + 1));
            char small[64], *buf = k + 3 <= sizeof small ? small : malloc(k + 3);
            if (!buf) return 0;
            buf[0] = '0'; buf[1] = '.';
            memcpy(buf + 2, p + 1, k);
            buf[k + 2] = 0;
            ss += strtod(buf, NULL);  // as tonumber("0." .. frac) does
            if (buf != small) free(buf);
            p = f;
        }
    }
    if (hh > 23 || mm > 59 || ss >= 61) return 0;
    size_t rest = (size_t)(end - p);
    if (rest == 0 || (rest == 1 && (p[0] == 'Z' || p[0] == 'z'))) return 1;
    if (p[0] != '+' && p[0] != '-') return 0;
    if (rest == 5) return digits(p + 1, 4);
    if (rest == 6) return digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2);
    return 0;
}

/// Whether the value at the top of the stack is what entry `e` declares.
static int value_ok(lua_State *L, const schema_entry *e) {
    if (lua_type(L, -1) != e->type) return 0;
    switch (e->kind) {
    case K_NUMBER: return lua_isinteger(L, -1) || isfinite(lua_tonumber(L, -1));
    case K_INTEGER: {
        if (lua_isinteger(L, -1)) return 1;
        double d = lua_tonumber(L, -1);
        return isfinite(d) && d == floor(d);
    }
    case K_DATE: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        return nb_date_valid(s, n);
    }
    default: return 1;
    }
}

/// check(c) -> nil | { i, value, ... }: the declared fields of profile `c` (upvalue 1: the
/// walk; upvalue 2: the field names by entry) read raw in walk order; each present value of
/// the wrong type is taken out of its table and listed with its entry's number. The data of a
/// declared nested table without a metatable gets its entry's in upvalue 3 (its reader).
static int l_check(lua_State *L) {
    const schema_walk *w = lua_touserdata(L, lua_upvalueindex(1));
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    int names = lua_upvalueindex(2), guards = lua_upvalueindex(3);
    luaL_checkstack(L, w->count + 8, "profile schema");
    int small[64];  // the stack slot of each declared table that passed (0: absent or wrong)
    int *where = w->count < 64 ? small : lua_newuserdatauv(L, sizeof(int) * (size_t)(w->count + 1), 0);
    int bad = 0;  // stack slot of the list of wrong values, once there is one
    lua_Integer nbad = 0;
    where[0] = 1;
    for (int i = 1; i <= w->count; i++) {
        const schema_entry *e = &w->e[i - 1];
        where[i] = 0;
        int t = where[e->parent];
        if (!t) continue;  // its table is absent or of the wrong type
        lua_rawgeti(L, names, i);
        lua_rawget(L, t);
        if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; }
        if (!value_ok(L, e)) {
            if (!bad) {
                lua_createtable(L, 4, 0);
                lua_insert(L, -2);
                bad = lua_gettop(L) - 1;
            }
            lua_pushinteger(L, i);
            lua_rawseti(L, bad, ++nbad);
            lua_rawseti(L, bad, ++nbad);
            lua_rawgeti(L, names, i);
            lua_pushnil(L);
            lua_rawset(L, t);  // an existing field set to nil: the value leaves the profile
            continue;
        }
        if (e->kind == K_NESTED) {
            nb_push_unviewed(L, lua_gettop(L));
            lua_remove(L, -2);
            int data = lua_gettop(L);
            if (lua_getmetatable(L, data)) lua_pop(L, 1);
            else if (lua_rawgeti(L, guards, i) == LUA_TTABLE) lua_setmetatable(L, data);
            else lua_pop(L, 1);
            where[i] = data;
        } else lua_pop(L, 1);
    }
    if (!bad) return 0;
    lua_pushvalue(L, bad);
    return 1;
}

/// schema_compile(walk, guards) -> check: `walk` lists the declared fields in walk order as
/// { key, lua = "number"|..., kind = "number"|"integer"|"date"|..., parent = i | 0, nested = bool };
/// `guards[i]` is the metatable for the data of nested entry i.
int nb_l_schema_compile(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n > 100000) return luaL_error(L, "the profile schema has too many fields");
    schema_walk *w = lua_newuserdatauv(L, sizeof(schema_walk) + sizeof(schema_entry) * (size_t)n, 0);
    w->count = (int)n;
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        int f = lua_gettop(L);
        schema_entry *e = &w->e[i - 1];
        lua_getfield(L, f, "key");
        lua_rawseti(L, -3, i);
        lua_getfield(L, f, "parent");
        e->parent = (int)lua_tointeger(L, -1);
        if (e->parent < 0 || e->parent >= i) return luaL_error(L, "profile schema: a field's table comes after it");
        lua_getfield(L, f, "lua");
        const char *lt = lua_tostring(L, -1);
        e->type = !lt ? LUA_TNIL : !strcmp(lt, "string") ? LUA_TSTRING : !strcmp(lt, "number") ? LUA_TNUMBER
                : !strcmp(lt, "boolean") ? LUA_TBOOLEAN : !strcmp(lt, "table") ? LUA_TTABLE : LUA_TNIL;
        lua_getfield(L, f, "kind");
        const char *k = lua_tostring(L, -1);
        lua_getfield(L, f, "nested");
        e->kind = lua_toboolean(L, -1) ? K_NESTED : !k ? K_NONE : !strcmp(k, "number") ? K_NUMBER
                : !strcmp(k, "integer") ? K_INTEGER : !strcmp(k, "date") ? K_DATE : K_NONE;
        lua_settop(L, f - 1);
    }
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, l_check, 3);
    return 1;
}
