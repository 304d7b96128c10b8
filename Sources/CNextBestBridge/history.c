// Contact history from the host (a store, a history file) pushed into a Lua state as tables.
#include "nextbest_history.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <string.h>

typedef struct {
    nb_state *s;
    const nb_contact *rows;
    size_t count;
    const char *strings;
} history_job;

/// Sets field `name` of the table at the top of the stack to the text `off`/`len` (when present).
static void set_text(lua_State *L, const char *strings, const char *name, size_t off, size_t len) {
    if (len == NB_NO_TEXT) return;
    lua_pushlstring(L, strings + off, len);
    lua_setfield(L, -2, name);
}

static int history_k(lua_State *L) {
    history_job *job = lua_touserdata(L, 1);
    const nb_contact *rows = job->rows;
    const char *str = job->strings;
    lua_settop(L, 0);
    luaL_checkstack(L, 12, "history");
    nb_push_api(L, job->s);                 // 1: the API table
    lua_getfield(L, 1, "set_history");      // 2: the function
    if (!lua_isfunction(L, 2)) return luaL_error(L, "no API function 'set_history' in the prelude");
    if (job->count == 0) {
        lua_call(L, 0, 0);
        return 0;
    }
    lua_createtable(L, 0, 0);               // 3: customer -> list
    lua_createtable(L, 0, 0);               // 4: at text -> seconds
    size_t i = 0;
    while (i < job->count) {
        size_t j = i;
        while (j < job->count && rows[j].customer_len == rows[i].customer_len
               && (rows[j].customer == rows[i].customer
                   || memcmp(str + rows[j].customer, str + rows[i].customer, rows[i].customer_len) == 0)) j++;
        lua_pushlstring(L, str + rows[i].customer, rows[i].customer_len);   // 5: the id
        lua_createtable(L, (int)(j - i), 0);                                // 6: its list
        for (size_t k = i; k < j; k++) {
            const nb_contact *c = &rows[k];
            lua_createtable(L, 0, 4);
            set_text(L, str, "action", c->action, c->action_len);
            set_text(L, str, "channel", c->channel, c->channel_len);
            set_text(L, str, "outcome", c->outcome, c->outcome_len);
            lua_pushlstring(L, str + c->at, c->at_len);
            if (c->epoch != INT64_MIN) {                                    // times[at] = seconds
                lua_pushvalue(L, -1);
                lua_pushinteger(L, (lua_Integer)c->epoch);
                lua_rawset(L, 4);
            }
            lua_setfield(L, -2, "at");
            lua_rawseti(L, 6, (lua_Integer)(k - i + 1));
        }
        lua_rawset(L, 3);
        i = j;
    }
    lua_call(L, 2, 0);
    return 0;
}

int nb_set_history(nb_state *s, const nb_contact *rows, size_t count, const char *strings, nb_buf *err) {
    lua_State *L = nb_state_lua(s);
    history_job job = {s, rows, count, strings};
    lua_settop(L, 0);
    lua_pushcfunction(L, history_k);
    lua_pushlightuserdata(L, &job);
    int rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        size_t n = 0;
        const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "not enough memory for the contact history";
        if (lua_type(L, -1) != LUA_TSTRING) n = strlen(m);
        nb_buf_clear(err);
        nb_buf_append(err, m, n);
    }
    lua_settop(L, 0);
    return rc;
}
