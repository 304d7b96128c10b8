// A customer's proposals on the fast path in C (pipeline.lua's proposals_fast, §5 step 2): the
// conditions of the policies for the customer's segments in one batch, then each policy that
// passed — its candidate made once when it has no function (`static_candidate`), else the
// engine's run_policy in Lua — and the best candidate per action, in the order the Lua
// keep_best keeps them. A proposal the engine refuses (run_policy's error) makes it answer
// nothing, and the Lua proposals_fast decides the customer's proposals instead, from the start.
#include <string.h>
#include <lauxlib.h>
#include "internal.h"

/// The most policies and candidates read here; more go to the Lua proposals_fast.
#define NB_PROPOSE_MAX_POLICIES 1024
#define NB_PROPOSE_MAX_CANDIDATES 64

enum {
    UP_STATE = 1, UP_POLICIES, UP_CANDS, UP_BEST, UP_RAN, UP_RAN_PROPOSALS, UP_RUN_POLICY, UP_SET, UP_DIRECT,
    UP_STATIC, UP_ACTION, UP_PRIORITY, UP_COUNT = UP_PRIORITY
};
#define UP(i) lua_upvalueindex(i)

/// The candidates kept so far: each in its stack slot from `base`, with its action's text.
typedef struct {
    int base, n;
    const char *action[NB_PROPOSE_MAX_CANDIDATES];
    size_t len[NB_PROPOSE_MAX_CANDIDATES];
} kept;

/// Keeps the candidate at the top of the stack unless the same action has one with at least
/// its priority (replaced in place when it is higher), and pops it; 0 when it cannot be read here.
static int keep_best(lua_State *L, kept *k) {
    int cand = lua_gettop(L);
    lua_pushvalue(L, UP(UP_ACTION));
    if (lua_rawget(L, cand) != LUA_TSTRING) return 0;
    size_t len;
    const char *action = lua_tolstring(L, -1, &len);  // stays alive: the candidate holds it
    lua_pop(L, 1);
    int m = 0;
    while (m < k->n && !(k->len[m] == len && (k->action[m] == action || memcmp(k->action[m], action, len) == 0))) m++;
    if (m == k->n) {
        if (k->n == NB_PROPOSE_MAX_CANDIDATES) return 0;
        k->n++;
    } else {
        lua_pushvalue(L, UP(UP_PRIORITY));
        lua_rawget(L, k->base + m);
        lua_pushvalue(L, UP(UP_PRIORITY));
        lua_rawget(L, cand);
        int higher = lua_compare(L, -2, -1, LUA_OPLT);
        lua_pop(L, 2);
        if (!higher) { lua_pop(L, 1); return 1; }
    }
    k->action[m] = action;
    k->len[m] = len;
    lua_replace(L, k->base + m);
    return 1;
}

/// propose(whens, order, c, ctx) -> the number of policies run: fills the pipeline's CANDS with
/// the best candidate per action and RAN / RAN_PROPOSALS with each policy run and how many
/// proposals it made; or nothing (see above).
static int l_propose(lua_State *L) {
    nb_state *s = lua_touserdata(L, UP(UP_STATE));
    lua_settop(L, 4);
    if (lua_rawlen(L, 1) > NB_PROPOSE_MAX_POLICIES) return 0;
    lua_Integer hits[NB_PROPOSE_MAX_POLICIES];
    lua_Integer nhits = nb_select(L, s, 1, 3, 4, hits);
    luaL_checkstack(L, NB_PROPOSE_MAX_CANDIDATES + 16, "proposals");
    kept k;
    k.base = lua_gettop(L) + 1;
    k.n = 0;
    lua_settop(L, k.base + NB_PROPOSE_MAX_CANDIDATES - 1);  // the candidates' slots
    int work = lua_gettop(L);
    lua_Integer nran = 0;
    for (lua_Integer j = 0; j < nhits; j++) {
        lua_settop(L, work);
        lua_rawgeti(L, 2, hits[j]);
        lua_rawget(L, UP(UP_POLICIES));
        int p = lua_gettop(L);
        lua_pushvalue(L, UP(UP_STATIC));
        if (lua_rawget(L, p) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_pushvalue(L, UP(UP_RUN_POLICY));
            lua_pushvalue(L, UP(UP_SET));
            lua_pushvalue(L, p);
            lua_pushvalue(L, 3);
            lua_pushvalue(L, 4);
            lua_pushvalue(L, UP(UP_DIRECT));
            lua_call(L, 5, 2);  // props, err
            if (!lua_isnil(L, -1)) return 0;  // a proposal it refuses: an error of the plan
            lua_pop(L, 1);
        }
        int props = lua_gettop(L);
        lua_Integer made = 0;
        if (lua_istable(L, props)) {
            lua_pushvalue(L, UP(UP_ACTION));
            int one = lua_rawget(L, props) != LUA_TNIL;
            lua_pop(L, 1);
            if (one) {
                made = 1;
                lua_pushvalue(L, props);
                if (!keep_best(L, &k)) return 0;
            } else {
                made = (lua_Integer)lua_rawlen(L, props);
                for (lua_Integer i = 1; i <= made; i++) {
                    lua_rawgeti(L, props, i);
                    if (!keep_best(L, &k)) return 0;
                }
            }
        } else if (!lua_isnil(L, props)) return 0;
        lua_pushvalue(L, p);
        lua_rawseti(L, UP(UP_RAN), ++nran);
        lua_pushinteger(L, made);
        lua_rawseti(L, UP(UP_RAN_PROPOSALS), nran);
    }
    lua_Integer old = (lua_Integer)lua_rawlen(L, UP(UP_CANDS));
    lua_pushnil(L);
    if (lua_next(L, UP(UP_BEST))) {  // the Lua keep_best's map (by action) of the last CANDS: emptied with them
        lua_pop(L, 2);
        for (lua_Integer i = 1; i <= old; i++) {
            lua_rawgeti(L, UP(UP_CANDS), i);
            lua_pushvalue(L, UP(UP_ACTION));
            lua_rawget(L, -2);
            lua_pushnil(L);
            lua_rawset(L, UP(UP_BEST));
            lua_pop(L, 1);
        }
    }
    for (int i = 0; i < k.n; i++) {
        lua_pushvalue(L, k.base + i);
        lua_rawseti(L, UP(UP_CANDS), i + 1);
    }
    for (lua_Integer i = old; i > k.n; i--) {
        lua_pushnil(L);
        lua_rawseti(L, UP(UP_CANDS), i);
    }
    lua_pushinteger(L, nran);
    return 1;
}

/// proposer(POLICIES, CANDS, BEST, RAN, RAN_PROPOSALS, run_policy, set, direct) -> propose: the
/// fast proposals over one pipeline's tables and its run_policy.
int nb_l_proposer(lua_State *L) {
    for (int i = 1; i <= 5; i++) luaL_checktype(L, i, LUA_TTABLE);
    luaL_checktype(L, 6, LUA_TFUNCTION);
    luaL_checktype(L, 8, LUA_TFUNCTION);
    lua_settop(L, 8);
    lua_pushvalue(L, lua_upvalueindex(1));  // the state
    lua_insert(L, 1);
    lua_pushliteral(L, "static_candidate");
    lua_pushliteral(L, "action");
    lua_pushliteral(L, "priority");
    lua_pushcclosure(L, l_propose, UP_COUNT);
    return 1;
}

/// proposal_fields(r) -> true, action, priority, reason, params, department, channel; or false:
/// the fields of a policy's result when it is one plain proposal (a table without a metatable,
/// with an `action` and no key but the six a proposal may have), the common case run_policy
/// would otherwise check key by key; false sends every other result through those checks.
static int l_proposal_fields(lua_State *L) {
    lua_settop(L, 1);
    if (lua_type(L, 1) != LUA_TTABLE || lua_getmetatable(L, 1)) { lua_pushboolean(L, 0); return 1; }
    lua_settop(L, 7);  // 2..7: the fields, nil when absent
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        int slot = 0;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (int i = 1; i <= 6 && !slot; i++) if (lua_rawequal(L, -2, lua_upvalueindex(i))) slot = i;
        if (!slot) { lua_pushboolean(L, 0); return 1; }
        lua_replace(L, 1 + slot);
    }
    if (lua_isnil(L, 2)) { lua_pushboolean(L, 0); return 1; }  // no action: a list, or a mistake
    lua_pushboolean(L, 1);
    lua_replace(L, 1);
    return 7;
}

/// flat_params(params) -> whether params is a plain table (no metatable) of up to 1,000 text
/// keys whose values are not tables, with at most 1 MiB of text: such params can always be
/// written, and the candidate skips check_params' walk.
static int l_flat_params(lua_State *L) {
    lua_settop(L, 1);
    if (lua_type(L, 1) != LUA_TTABLE || lua_getmetatable(L, 1)) { lua_pushboolean(L, 0); return 1; }
    size_t bytes = 0, n;
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        int t = lua_type(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING || t == LUA_TTABLE || ++count > 1000) { lua_pushboolean(L, 0); return 1; }
        lua_tolstring(L, -2, &n);
        bytes += n;
        if (t == LUA_TSTRING) { lua_tolstring(L, -1, &n); bytes += n; }
        lua_pop(L, 1);
    }
    lua_pushboolean(L, bytes <= ((size_t)1 << 20));
    return 1;
}

/// Adds proposal_fields and flat_params to the natives table at the top of the stack.
void nb_add_proposal_checks(lua_State *L) {
    static const char *const keys[] = {"action", "priority", "reason", "params", "department", "channel"};
    for (int i = 0; i < 6; i++) lua_pushstring(L, keys[i]);
    lua_pushcclosure(L, l_proposal_fields, 6);
    lua_setfield(L, -2, "proposal_fields");
    lua_pushcfunction(L, l_flat_params);
    lua_setfield(L, -2, "flat_params");
}
