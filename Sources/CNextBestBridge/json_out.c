// Lua values out as JSON: plans (fixed field order) and generic results (sorted keys).
// Runs only inside protected calls; buffer growth failures raise a memory error.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>
#include <stdint.h>

void nb_check(lua_State *L, int rc) {
    if (rc != 0) { lua_pushliteral(L, "not enough memory for the output"); lua_error(L); }
}

/// Appends n bytes to `b`, in place when they fit (most do: a plan's buffer is reused), else
/// through nb_buf_append; raises a memory error when it cannot grow.
static inline void put_bytes(lua_State *L, nb_buf *b, const void *bytes, size_t n) {
    if (b->data && b->len + n <= b->cap) {
        memcpy(b->data + b->len, bytes, n);
        b->len += n;
    } else nb_check(L, nb_buf_append(b, bytes, n));
}

#define PUT(L, b, lit) put_bytes(L, b, lit, sizeof(lit) - 1)

static const double pow10s[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};

/// Writes the decimal digits of `r` (r >= 0) with a point before the last `k` of them.
static int fixed_digits(char *out, int neg, long long r, int k) {
    char rev[24];
    int n = 0, len = 0;
    do { rev[n++] = (char)('0' + r % 10); r /= 10; } while (r > 0);
    while (n <= k) rev[n++] = '0';  // a leading "0." for values below 1
    if (neg) out[len++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[len++] = rev[i];
        if (i == k && k > 0) out[len++] = '.';
    }
    return len;
}

/// The text "%.15g" gives for d when d is a decimal with at most 6 places and 15 digits
/// (most priorities), without printf; 0 when it is not such a number.
static int short_decimal(double d, char *out) {
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e9)) return 0;  // "%.15g" switches to exponents below 1e-4
    for (int k = 0; k <= 6; k++) {
        double v = a * pow10s[k];
        double r = nearbyint(v);
        if (r >= 1e15) return 0;
        if (r / pow10s[k] == a) return fixed_digits(out, d < 0, (long long)r, k);
    }
    return 0;
}

void nb_json_number(lua_State *L, int idx, nb_buf *b) {
    char tmp[40];
    int n;
    if (lua_isinteger(L, idx)) {  // decimal digits by hand: most plan numbers are small integers
        lua_Integer v = lua_tointeger(L, idx);
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        char *e = tmp + sizeof tmp, *p = e;
        do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
        if (v < 0) *--p = '-';
        put_bytes(L, b, p, (size_t)(e - p));
        return;
    } else {
        double d = lua_tonumber(L, idx);
        if (!isfinite(d)) { PUT(L, b, "null"); return; }
        n = short_decimal(d, tmp);
        if (n > 0) { put_bytes(L, b, tmp, (size_t)n); return; }
        n = snprintf(tmp, sizeof tmp, "%.15g", d);
        if (strtod(tmp, NULL) != d) {
            n = snprintf(tmp, sizeof tmp, "%.16g", d);
            if (strtod(tmp, NULL) != d) n = snprintf(tmp, sizeof tmp, "%.17g", d);
        }
    }
    nb_check(L, nb_buf_append(b, tmp, (size_t)n));
}

static void put_string(lua_State *L, int idx, nb_buf *b) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    nb_check(L, nb_buf_append_json_string(b, s, n));
}

typedef struct { const char *s; size_t n; } keyref;

static int cmp_keys(const void *a, const void *b) {
    const keyref *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

static int is_array(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx)) return 0;
    lua_pushliteral(L, "__jsontype");
    lua_rawget(L, -2);  // raw: a policy's metatable must not run code here
    int arr = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "array") == 0;
    lua_pop(L, 2);
    return arr;
}

int nb_table_shape(lua_State *L, int idx, lua_Integer *n, lua_Integer *count) {
    *n = (lua_Integer)lua_rawlen(L, idx);
    *count = 0;
    int string_keys = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        (*count)++;
        if (lua_type(L, -2) != LUA_TSTRING) string_keys = 0;
        lua_pop(L, 1);
    }
    if ((*n > 0 && *count == *n) || (*count == 0 && is_array(L, idx))) return NB_SHAPE_ARRAY;
    return string_keys ? NB_SHAPE_OBJECT : NB_SHAPE_MIXED;
}

lua_Integer nb_push_string_keyed(lua_State *L, int idx, lua_Integer count) {
    idx = lua_absindex(L, idx);
    lua_createtable(L, 0, (int)count);
    int copy = lua_gettop(L);
    lua_Integer kept = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        if (lua_type(L, -1) != LUA_TSTRING) {
            if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TBOOLEAN) luaL_tolstring(L, -1, NULL);
            else lua_pushstring(L, luaL_typename(L, -1));
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -1);
        if (lua_rawget(L, copy) == LUA_TNIL) kept++;
        lua_pop(L, 1);
        lua_pushvalue(L, -2);
        lua_rawset(L, copy);
        lua_pop(L, 1);
    }
    return kept;
}

static void encode_table(lua_State *L, int idx, nb_buf *b, int depth, const void **path);
static void encode(lua_State *L, int idx, nb_buf *b, int depth, const void **path);

void nb_json_encode(lua_State *L, int idx, nb_buf *b, int depth) {
    if (depth < 0 || depth > NB_MAX_DEPTH + 1) depth = NB_MAX_DEPTH + 1;
    if (lua_type(L, idx) != LUA_TTABLE) { encode(L, idx, b, depth, NULL); return; }  // no path to keep
    // The tables being written, by depth: entries from `depth` on are set before they are read.
    const void *path[NB_MAX_DEPTH + 2];
    memset(path, 0, sizeof path[0] * (size_t)depth);
    encode(L, idx, b, depth, path);
}

/// nb_json_encode with the tables being written further up (`path`, by depth).
static void encode(lua_State *L, int idx, nb_buf *b, int depth, const void **path) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: PUT(L, b, "null"); return;
    case LUA_TBOOLEAN: if (lua_toboolean(L, idx)) PUT(L, b, "true"); else PUT(L, b, "false"); return;
    case LUA_TNUMBER: nb_json_number(L, idx, b); return;
    case LUA_TSTRING: put_string(L, idx, b); return;
    case LUA_TTABLE: break;
    default: {
        // Functions, userdata, threads cannot travel: say what they were.
        const char *t = luaL_typename(L, idx);
        nb_check(L, nb_buf_append_json_string(b, t, strlen(t)));
        return;
    }
    }
    if (depth > NB_MAX_DEPTH) { PUT(L, b, "null"); return; }
    nb_enter_table(L, idx, b->len, depth, path);
    encode_table(L, idx, b, depth, path);
    path[depth] = NULL;
}

void nb_enter_table(lua_State *L, int idx, size_t written, int depth, const void **path) {
    luaL_checkstack(L, 6, "nested too deeply");
    if (written > nb_output_limit(L)) luaL_error(L, "the output is too big (more than the state's memory limit)");
    // A table already being written, further up: the value refers to itself.
    const void *me = lua_topointer(L, idx);
    for (int i = 0; i < depth && i <= NB_MAX_DEPTH; i++)
        if (path[i] == me) luaL_error(L, "params refer to themselves");
    path[depth] = me;
}

/// Writes the table at `idx` (absolute) as JSON: nb_json_encode's table half.
static void encode_table(lua_State *L, int idx, nb_buf *b, int depth, const void **path) {
    int view = nb_push_unviewed(L, idx);  // a read-only view (the profile, a frozen table): write what it shows
    if (view == 1) {
        encode(L, -1, b, depth + 1, path);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (view == 0) {  // no metatable, so no array mark: an empty table is an empty object
        lua_pushnil(L);
        if (!lua_next(L, idx)) { PUT(L, b, "{}"); return; }
        lua_pop(L, 2);
    }
    lua_Integer n, count;
    int shape = nb_table_shape(L, idx, &n, &count);
    if (shape == NB_SHAPE_ARRAY) {
        PUT(L, b, "[");
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1) PUT(L, b, ",");
            lua_rawgeti(L, idx, i);
            encode(L, -1, b, depth + 1, path);
            lua_pop(L, 1);
        }
        PUT(L, b, "]");
        return;
    }
    if (shape == NB_SHAPE_MIXED) {  // keys become their string form, in iteration order of a sorted copy
        nb_push_string_keyed(L, idx, count);
        encode_table(L, lua_gettop(L), b, depth, path);
        lua_pop(L, 1);
        return;
    }
    keyref small[32];
    // Past 32 keys, the array is a userdata: counted against the state's memory limit, and
    // collected whatever error unwinds this call.
    keyref *keys = count <= 32 ? small : lua_newuserdatauv(L, sizeof(keyref) * (size_t)count, 0);
    int keys_slot = lua_gettop(L);
    lua_Integer k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        keys[k].s = lua_tolstring(L, -2, &keys[k].n);  // strings only: no conversion happens
        k++;
        lua_pop(L, 1);
    }
    qsort(keys, (size_t)count, sizeof(keyref), cmp_keys);
    int rc = nb_buf_append(b, "{", 1);
    for (lua_Integer i = 0; rc == 0 && i < count; i++) {
        if (i > 0) rc = nb_buf_append(b, ",", 1);
        if (rc == 0) rc = nb_buf_append_json_string(b, keys[i].s, keys[i].n);
        if (rc == 0) rc = nb_buf_append(b, ":", 1);
        if (rc != 0) break;
        lua_pushlstring(L, keys[i].s, keys[i].n);  // an existing key: interned, no new object
        lua_rawget(L, idx);
        encode(L, -1, b, depth + 1, path);       // values are plain data: no deep raise paths
        lua_pop(L, 1);
    }
    nb_check(L, rc);
    if (keys != small) lua_remove(L, keys_slot);
    PUT(L, b, "}");
}

// --- plans -----------------------------------------------------------------------------

/// Pushes t.name, read raw (no metamethod of a policy's table runs); nil when t is no table.
void nb_raw_field(lua_State *L, int idx, const char *name) {
    if (!lua_istable(L, idx)) { lua_pushnil(L); return; }
    idx = lua_absindex(L, idx);
    lua_pushstring(L, name);
    lua_rawget(L, idx);
}

#define PLAN_NAME(n) { n, sizeof(n) - 1, ",\"" n "\":", sizeof(n) + 3 }
const nb_plan_name NB_PLAN_NAMES[NB_PN_COUNT] = {
    PLAN_NAME("customer"), PLAN_NAME("segments"), PLAN_NAME("levers"), PLAN_NAME("actions"), PLAN_NAME("suppressed"),
    PLAN_NAME("errors"), PLAN_NAME("holdout"), PLAN_NAME("held_out"), PLAN_NAME("action"), PLAN_NAME("department"),
    PLAN_NAME("channel"), PLAN_NAME("priority"), PLAN_NAME("policy"), PLAN_NAME("reason"), PLAN_NAME("params"),
    PLAN_NAME("factors"), PLAN_NAME("p"), PLAN_NAME("c"), PLAN_NAME("v"), PLAN_NAME("l"), PLAN_NAME("route_fields"),
    PLAN_NAME("profile"),
};

/// The registry key of a state's plan field names.
static const char plan_names_key = 0;

int nb_push_plan_names(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &plan_names_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, NB_PN_COUNT, 0);
        for (int i = 0; i < NB_PN_COUNT; i++) {
            lua_pushlstring(L, NB_PLAN_NAMES[i].name, NB_PLAN_NAMES[i].len);
            lua_rawseti(L, -2, i + 1);
        }
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &plan_names_key);
    }
    return lua_gettop(L);
}

void nb_plan_field(lua_State *L, int t, int names, int id) {
    if (!lua_istable(L, t)) { lua_pushnil(L); return; }
    t = lua_absindex(L, t);
    lua_rawgeti(L, names, id + 1);
    lua_rawget(L, t);
}

/// Writes the value at the top of the stack: text and numbers (most of a plan) directly.
static inline void put_value(lua_State *L, nb_buf *b) {
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: put_string(L, -1, b); return;
    case LUA_TNUMBER: nb_json_number(L, -1, b); return;
    default: nb_json_encode(L, -1, b, 1);
    }
}

/// Writes `"name":<value of t.name>` (null when absent), with a leading comma unless first.
static void put_field(lua_State *L, int t, int names, int id, nb_buf *b, int first) {
    const nb_plan_name *n = &NB_PLAN_NAMES[id];
    put_bytes(L, b, n->member + first, n->member_len - (size_t)first);
    nb_plan_field(L, t, names, id);
    put_value(L, b);
    lua_pop(L, 1);
}

const int NB_FACTOR_FIELDS[] = {NB_PN_P, NB_PN_C, NB_PN_V, NB_PN_L, NB_PN_END};

/// Writes `,"factors":{"p":…,"c":…,"v":…,"l":…}` when action `a` has factors (arbitration
/// "pcvl", policy-language.md §8.1), in that order; nothing otherwise.
static void put_factors(lua_State *L, int a, int names, nb_buf *b) {
    nb_plan_field(L, a, names, NB_PN_FACTORS);
    int t = lua_gettop(L);
    if (lua_istable(L, t)) {
        PUT(L, b, ",\"factors\":{");
        for (int f = 0; NB_FACTOR_FIELDS[f] != NB_PN_END; f++) put_field(L, t, names, NB_FACTOR_FIELDS[f], b, f == 0);
        PUT(L, b, "}");
    }
    lua_pop(L, 1);
}

/// Writes plan[list] as a JSON array (empty when absent); each element either as a record
/// with the given fields in order, or, when `fields` is NULL, as a plain value.
static void put_list(lua_State *L, int plan, int names, int list_id, const int *fields, nb_buf *b) {
    nb_plan_field(L, plan, names, list_id);
    int list = lua_gettop(L);
    PUT(L, b, "[");
    lua_Integer n = lua_istable(L, list) ? (lua_Integer)lua_rawlen(L, list) : 0;
    for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) PUT(L, b, ",");
        lua_rawgeti(L, list, i);
        int rec = lua_gettop(L);
        if (fields) {
            PUT(L, b, "{");
            for (int f = 0; fields[f] != NB_PN_END; f++) {
                if (fields[f] == NB_PN_FACTORS) put_factors(L, rec, names, b);  // the only optional field
                else put_field(L, rec, names, fields[f], b, f == 0);
            }
            PUT(L, b, "}");
        } else {
            put_value(L, b);
        }
        lua_pop(L, 1);
    }
    PUT(L, b, "]");
    lua_pop(L, 1);
}

/// Pushes the plain table behind the value at `idx` when it is a read-only view (the
/// profile's nested tables are), else the value itself. Returns 1 for a view, 0 for a value
/// without a metatable, -1 for a table with another metatable.
int nb_push_unviewed(lua_State *L, int idx) { return nb_push_unviewed_by(L, idx, 0, 0); }

int nb_push_unviewed_by(lua_State *L, int idx, int nbview_key, int index_key) {
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx)) { lua_pushvalue(L, idx); return 0; }
    if (nbview_key) lua_pushvalue(L, nbview_key); else lua_pushliteral(L, "__nbview");
    if (lua_rawget(L, -2) == LUA_TBOOLEAN && lua_toboolean(L, -1)) {
        if (index_key) lua_pushvalue(L, index_key); else lua_pushliteral(L, "__index");
        if (lua_rawget(L, -3) == LUA_TTABLE) { lua_replace(L, -3); lua_pop(L, 1); return 1; }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    lua_pushvalue(L, idx);
    return -1;
}

/// Pushes the profile's value at the dotted path `name` (`email`, `consent.email`), read raw; nil when absent.
static void push_path(lua_State *L, int profile, const char *name, size_t len) {
    nb_push_unviewed(L, profile);
    size_t start = 0;
    while (start <= len) {
        size_t end = start;
        while (end < len && name[end] != '.') end++;
        if (!lua_istable(L, -1)) { lua_pop(L, 1); lua_pushnil(L); return; }
        lua_pushlstring(L, name + start, end - start);
        lua_rawget(L, -2);
        lua_remove(L, -2);
        if (end < len) { nb_push_unviewed(L, -1); lua_remove(L, -2); }
        start = end + 1;
    }
}

/// Writes the profile fields action `a`'s department declares (`plan.route_fields[dept]`, a
/// list of names) as `,"name":value` (null when absent), read raw from `plan.profile`.
static void put_department_fields(lua_State *L, int plan, int a, int plan_names, nb_buf *b) {
    luaL_checkstack(L, 8, "route fields");
    nb_plan_field(L, plan, plan_names, NB_PN_ROUTE_FIELDS);
    if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
    nb_plan_field(L, a, plan_names, NB_PN_DEPARTMENT);
    lua_rawget(L, -2);
    if (!lua_istable(L, -1)) { lua_pop(L, 2); return; }
    int names = lua_gettop(L);
    nb_plan_field(L, plan, plan_names, NB_PN_PROFILE);
    int profile = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, names);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, names, i) != LUA_TSTRING) { lua_pop(L, 1); continue; }
        size_t len;
        const char *name = lua_tolstring(L, -1, &len);
        PUT(L, b, ",");
        nb_check(L, nb_buf_append_json_string(b, name, len));
        PUT(L, b, ":");
        push_path(L, profile, name, len);
        nb_json_encode(L, -1, b, 1);
        lua_pop(L, 2);
    }
    lua_pop(L, 3);
}

const int NB_ACTION_FIELDS[] = {NB_PN_ACTION, NB_PN_DEPARTMENT, NB_PN_CHANNEL, NB_PN_PRIORITY, NB_PN_POLICY, NB_PN_REASON,
                                NB_PN_PARAMS, NB_PN_END};
const int NB_SUPPRESSED_FIELDS[] = {NB_PN_ACTION, NB_PN_POLICY, NB_PN_REASON, NB_PN_END};
/// With levers (§8.1, §8.5): actions may carry factors.
const int NB_LEVER_ACTION_FIELDS[] = {NB_PN_ACTION, NB_PN_DEPARTMENT, NB_PN_CHANNEL, NB_PN_PRIORITY, NB_PN_POLICY,
                                      NB_PN_REASON, NB_PN_PARAMS, NB_PN_FACTORS, NB_PN_END};
const int NB_HELD_OUT_FIELDS[] = {NB_PN_ACTION, NB_PN_POLICY, NB_PN_HOLDOUT, NB_PN_END};
/// What a work item carries of its action, after the customer.
static const int ROUTE_FIELDS[] = {NB_PN_ACTION, NB_PN_CHANNEL, NB_PN_PRIORITY, NB_PN_REASON, NB_PN_PARAMS, NB_PN_POLICY,
                                   NB_PN_END};

void nb_encode_plan(lua_State *L, int plan, nb_buf *out, nb_buf *routes, nb_marks *marks, nb_buf *route_index) {
    plan = lua_absindex(L, plan);
    luaL_checkstack(L, 10, "plan too deep");
    int names = nb_push_plan_names(L);
    PUT(L, out, "{\"customer\":");
    marks->customer_start = out->len;
    nb_plan_field(L, plan, names, NB_PN_CUSTOMER);
    nb_json_encode(L, -1, out, 1);
    lua_pop(L, 1);
    marks->customer_end = out->len;
    PUT(L, out, ",\"segments\":");
    put_list(L, plan, names, NB_PN_SEGMENTS, NULL, out);
    nb_plan_field(L, plan, names, NB_PN_LEVERS);  // set only by sets with pcvl, holdouts or a fallback
    int levers = lua_toboolean(L, -1);
    lua_pop(L, 1);
    PUT(L, out, ",\"actions\":");
    put_list(L, plan, names, NB_PN_ACTIONS, levers ? NB_LEVER_ACTION_FIELDS : NB_ACTION_FIELDS, out);
    PUT(L, out, ",\"suppressed\":");
    put_list(L, plan, names, NB_PN_SUPPRESSED, NB_SUPPRESSED_FIELDS, out);
    PUT(L, out, ",\"errors\":");
    put_list(L, plan, names, NB_PN_ERRORS, NULL, out);
    if (levers) {  // a holdout (§8.5): its name, and what the customer would have received
        nb_plan_field(L, plan, names, NB_PN_HOLDOUT);
        int named = lua_type(L, -1) == LUA_TSTRING;
        if (named) { PUT(L, out, ",\"holdout\":"); nb_json_encode(L, -1, out, 1); }
        lua_pop(L, 1);
        nb_plan_field(L, plan, names, NB_PN_HELD_OUT);
        int held = lua_istable(L, -1);
        lua_pop(L, 1);
        if (held) { PUT(L, out, ",\"held_out\":"); put_list(L, plan, names, NB_PN_HELD_OUT, NB_HELD_OUT_FIELDS, out); }
    }
    PUT(L, out, "}\n");
    if (!routes) { lua_pop(L, 1); return; }
    // One work item per action, for the department that carries it out.
    nb_plan_field(L, plan, names, NB_PN_ACTIONS);
    int list = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        int a = lua_gettop(L);
        nb_route entry;
        nb_plan_field(L, a, names, NB_PN_DEPARTMENT);
        size_t dl;
        const char *dept = lua_tolstring(L, -1, &dl);
        entry.dept_start = routes->len;
        nb_check(L, nb_buf_append(routes, dept, dl));
        entry.dept_end = routes->len;
        lua_pop(L, 1);
        entry.item_start = routes->len;
        PUT(L, routes, "{");
        put_field(L, plan, names, NB_PN_CUSTOMER, routes, 1);
        for (int f = 0; ROUTE_FIELDS[f] != NB_PN_END; f++) put_field(L, a, names, ROUTE_FIELDS[f], routes, 0);
        put_department_fields(L, plan, a, names, routes);
        PUT(L, routes, "}\n");
        entry.item_end = routes->len;
        nb_check(L, nb_buf_append(route_index, &entry, sizeof entry));
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}
