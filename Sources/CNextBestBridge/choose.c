// Eligibility and arbitration in C for the common case (pipeline.lua's `choose`, §5 steps 3
// and 4): consent, cooldowns read from the contact history, and the per-channel and per-plan
// limits, over candidates already in priority order. The Lua `choose` stays the reference and
// decides whenever this one answers nothing: a consent entry that is not true or false (or
// that a schema took out, or that was written null), a contact dated by `at` or not at all, a
// table with a metatable other than a read-only view's, a reason not yet in its memo table.
// The pipeline makes a chooser only for sets whose actions have no group, campaign dates or
// eligible check and that have no caps or outcome rules (pipeline.new), and calls it only for a
// customer outside any capacity block.
#include <string.h>
#include <lauxlib.h>
#include "internal.h"

/// The most candidates and contacts read here; more go to the Lua choose.
#define NB_CHOOSE_MAX_CANDIDATES 64
#define NB_CHOOSE_MAX_CONTACTS 256

/// The chooser's upvalues (natives.chooser's arguments, then the strings it reads by).
enum {
    UP_EMPTY = 1, UP_CONSENT_KEY, UP_NO_CONSENT, UP_NO_RECORDED, UP_CHANNEL_FULL, UP_PLAN_FULL,
    UP_HELD, UP_OPT_OUT, UP_RESPECT, UP_MAX_ACTIONS, UP_MAX_PER_CHANNEL, UP_HISTORY,
    UP_ACTION, UP_CHANNEL, UP_POLICY, UP_SPEC, UP_COOLDOWN, UP_DAYS_AGO, UP_REASON, UP_NBVIEW, UP_INDEX, UP_CONSENT,
    UP_COUNT = UP_CONSENT
};
#define UP(i) lua_upvalueindex(i)

/// Pushes t[upvalue k], read raw; returns its type.
static int field(lua_State *L, int t, int k) {
    lua_pushvalue(L, UP(k));
    return lua_rawget(L, t);
}

/// Pushes memo[key at stack index `key`]; 0 (nothing pushed) when the memo has no entry yet.
static int memo(lua_State *L, int m, int key) {
    lua_pushvalue(L, key);
    if (lua_rawget(L, UP(m)) == LUA_TSTRING) return 1;
    lua_pop(L, 1);
    return 0;
}

/// nb_push_unviewed with the chooser's own copies of the metatable keys.
static int unviewed(lua_State *L, int idx) { return nb_push_unviewed_by(L, idx, UP(UP_NBVIEW), UP(UP_INDEX)); }

/// Pushes the reason a candidate with the action's cooldown `cd` and last contact `d` (stack
/// indices) is suppressed: the text of pipeline.lua's choose.
static void push_cooldown(lua_State *L, int d, int cd) {
    char days[64];
    lua_Number v = lua_tonumber(L, d);
    int after = !(v >= 0);
    snprintf(days, sizeof days, "%.4g", (double)(after ? -v : v));
    const char *cds = luaL_tolstring(L, cd, NULL);
    if (after) lua_pushfstring(L, "cooldown: a contact is dated %s days after now, cooldown is %s days", days, cds);
    else lua_pushfstring(L, "cooldown: last contact %s days ago, cooldown is %s days", days, cds);
    lua_remove(L, -2);
}

/// choose(cands, data) -> actions, suppressed: the plan's actions and the suppressed
/// candidates (each the shared empty table when there are none) of the customer whose profile
/// is `data` (read raw: its consent and contact history), as the Lua choose makes them; or
/// nothing, and the Lua choose decides.
static int l_choose(lua_State *L) {
    lua_settop(L, 2);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushvalue(L, UP(UP_CONSENT));
    lua_rawget(L, 2);
    lua_pushvalue(L, UP(UP_HISTORY));
    lua_rawget(L, 2);
    lua_remove(L, 2);  // cands, consent, history
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    if (n > NB_CHOOSE_MAX_CANDIDATES) return 0;
    int respect = n > 0 && lua_toboolean(L, UP(UP_RESPECT));
    int consent = 0;  // the consent table's data (stack index), 0: none
    if (respect) {
        int t = lua_type(L, 2);
        if (t == LUA_TTABLE) {
            if (unviewed(L, 2) < 0) return 0;
            consent = lua_gettop(L);
        } else if (t != LUA_TNIL) return 0;  // false, or not a table
    }
    // The contact history: each contact's action and days_ago pushed in turn, from `contacts`.
    int contacts = lua_gettop(L) + 1, ncontacts = 0;
    if (lua_type(L, 3) == LUA_TTABLE) {
        if (unviewed(L, 3) < 0) return 0;
        int h = lua_gettop(L);
        lua_Integer hn = (lua_Integer)lua_rawlen(L, h);
        if (hn > NB_CHOOSE_MAX_CONTACTS) return 0;
        luaL_checkstack(L, (int)(2 * hn + 32), "choose");
        contacts = h + 1;
        for (lua_Integer i = 1; i <= hn; i++) {
            if (lua_rawgeti(L, h, i) != LUA_TTABLE) { lua_pop(L, 1); continue; }  // not a contact: never read
            if (unviewed(L, -1) < 0) return 0;
            lua_replace(L, -2);
            int e = lua_gettop(L);
            field(L, e, UP_ACTION);
            if (field(L, e, UP_DAYS_AGO) != LUA_TNUMBER) return 0;  // dated by `at`, or undated
            lua_remove(L, e);
            ncontacts++;
        }
    } else if (!lua_isnil(L, 3)) return 0;
    luaL_checkstack(L, 32, "choose");
    lua_pushnil(L);
    int actions = lua_gettop(L);
    lua_pushnil(L);
    int suppressed = actions + 1;
    lua_Integer nactions = 0, nsuppressed = 0;
    lua_Number max_actions = lua_tonumber(L, UP(UP_MAX_ACTIONS));
    lua_Number max_per_channel = lua_tonumber(L, UP(UP_MAX_PER_CHANNEL));
    int opt_out = lua_toboolean(L, UP(UP_OPT_OUT));
    struct { const char *s; size_t len; int count; } channels[NB_CHOOSE_MAX_CANDIDATES];
    int nchannels = 0;
    int base = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_settop(L, base);
        lua_rawgeti(L, 1, i);
        int p = base + 1;
        if (field(L, p, UP_CHANNEL) != LUA_TSTRING) return 0;
        int channel = p + 1;
        int why = 0;  // the reason's stack index, 0: none
        if (respect) {
            lua_pushvalue(L, channel);
            int kt = lua_rawget(L, UP(UP_CONSENT_KEY));
            if (kt == LUA_TNIL) return 0;  // not yet in the memo
            int key = lua_gettop(L);
            if (kt != LUA_TBOOLEAN || lua_toboolean(L, key)) {  // false: the channel needs no consent
                int given = LUA_TNIL;
                if (consent) { lua_pushvalue(L, key); given = lua_rawget(L, consent); }
                if (given == LUA_TBOOLEAN) {
                    if (!lua_toboolean(L, -1)) {
                        if (!memo(L, UP_NO_CONSENT, channel)) return 0;
                        why = lua_gettop(L);
                    }
                } else if (given != LUA_TNIL) return 0;  // not true or false: an error of the plan
                else {
                    if (lua_istable(L, UP(UP_HELD))) {  // the schema took a wrong-typed value out
                        lua_pushnil(L);
                        if (lua_next(L, UP(UP_HELD))) return 0;
                    }
                    if (consent) {  // written as null
                        int nt = lua_rawgetp(L, LUA_REGISTRYINDEX, &nb_consent_nulls_key);
                        if (nt == LUA_TTABLE) {
                            lua_pushvalue(L, key);
                            if (lua_rawget(L, -2) != LUA_TNIL) return 0;
                        }
                    }
                    if (!opt_out) {
                        if (!memo(L, UP_NO_RECORDED, channel)) return 0;
                        why = lua_gettop(L);
                    }
                }
            }
        }
        if (!why && ncontacts > 0) {  // cooldown: the last contact with this action
            if (field(L, p, UP_SPEC) != LUA_TTABLE) return 0;
            int spec = lua_gettop(L);
            field(L, spec, UP_COOLDOWN);
            int cd = lua_gettop(L);
            if (lua_toboolean(L, cd)) {
                field(L, p, UP_ACTION);
                int action = lua_gettop(L), last = 0;
                for (int j = 0; j < ncontacts; j++) {
                    int a = contacts + 2 * j, d = a + 1;
                    if (lua_rawequal(L, a, action) && (!last || lua_compare(L, d, last, LUA_OPLT))) last = d;
                }
                if (last && lua_compare(L, last, cd, LUA_OPLT)) {
                    push_cooldown(L, last, cd);
                    why = lua_gettop(L);
                }
            }
        }
        if (!why) {  // 4. arbitration: the channel's limit, then the plan's
            size_t len;
            const char *ch = lua_tolstring(L, channel, &len);
            int c = 0;
            while (c < nchannels && !(channels[c].len == len && memcmp(channels[c].s, ch, len) == 0)) c++;
            if (c == nchannels) { channels[c].s = ch; channels[c].len = len; channels[c].count = 0; nchannels++; }
            if ((lua_Number)channels[c].count >= max_per_channel) {
                if (!memo(L, UP_CHANNEL_FULL, channel)) return 0;
                why = lua_gettop(L);
            } else if ((lua_Number)nactions >= max_actions) {
                if (!memo(L, UP_PLAN_FULL, UP(UP_MAX_ACTIONS))) return 0;
                why = lua_gettop(L);
            } else {
                channels[c].count++;
                if (!nactions) { lua_createtable(L, 2, 0); lua_replace(L, actions); }
                lua_pushvalue(L, p);
                lua_rawseti(L, actions, ++nactions);
            }
        }
        if (why) {
            if (!nsuppressed) { lua_createtable(L, 2, 0); lua_replace(L, suppressed); }
            lua_createtable(L, 0, 3);
            int x = lua_gettop(L);
            lua_pushvalue(L, UP(UP_ACTION));
            field(L, p, UP_ACTION);
            lua_rawset(L, x);
            lua_pushvalue(L, UP(UP_POLICY));
            field(L, p, UP_POLICY);
            lua_rawset(L, x);
            lua_pushvalue(L, UP(UP_REASON));
            lua_pushvalue(L, why);
            lua_rawset(L, x);
            lua_rawseti(L, suppressed, ++nsuppressed);
        }
    }
    lua_settop(L, base);
    if (!nactions) { lua_pushvalue(L, UP(UP_EMPTY)); lua_replace(L, actions); }
    if (!nsuppressed) { lua_pushvalue(L, UP(UP_EMPTY)); lua_replace(L, suppressed); }
    return 2;
}

/// chooser(EMPTY, CONSENT_KEY, NO_CONSENT, NO_CONSENT_RECORDED, CHANNEL_FULL, PLAN_FULL, HELD,
/// opt_out, respect_consent, max_actions, max_per_channel, history) -> choose: the C choose over
/// one pipeline's memo tables (filled by the Lua choose) and contact policy (`history`: the
/// profile field of the contact history).
int nb_l_chooser(lua_State *L) {
    for (int i = 1; i <= 6; i++) luaL_checktype(L, i, LUA_TTABLE);
    luaL_checknumber(L, 10);
    luaL_checknumber(L, 11);
    luaL_checkstring(L, 12);
    lua_settop(L, UP_HISTORY);
    static const char *const names[] = {"action", "channel", "policy", "spec", "cooldown_days", "days_ago", "reason",
                                        "__nbview", "__index", "consent"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) lua_pushstring(L, names[i]);
    lua_pushcclosure(L, l_choose, UP_COUNT);
    return 1;
}
