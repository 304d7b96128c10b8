// Deciding one record in a state: its profile parsed (or pushed from Swift) with read-only views,
// the fast path first and, when anything fails or runs too long, the careful one; the plan
// written as a JSON line with its work items, or as typed nodes for Swift; a failed record
// leaves nothing half-written.
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    nb_state *s;
    const char *json;
    size_t len;
    long line, column;
    nb_buf *out, *routes, *route_index, *message, *customer;
    nb_marks *marks;
    const nb_value *tape;  // a profile built in Swift, instead of `json`
    size_t tape_count;
    int status;
    nb_buf *plan_nodes, *plan_strings;  // when set, the plan goes there as typed nodes, not to `out`
} decide_job;

/// A record that is an array: no plan (arrays and objects are both tables in Lua, so this is told before).
static int array_record(lua_State *L, decide_job *job) {
    static const char m[] = "the record is a JSON array, not an object (one profile per record)";
    nb_buf_clear(job->message);
    nb_check(L, nb_buf_append(job->message, m, sizeof m - 1));
    job->status = NB_BAD_RECORD;
    return 0;
}

static int decide_k(lua_State *L) {
    decide_job *job = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, job->s->keys.ref);
    int keys = lua_gettop(L);
    nb_views views = { 0, 0, 0, 0, 0 }, *use_views = NULL;
    if (job->s->views_pool_ref != LUA_NOREF) {
        lua_pushliteral(L, "__index");
        views.index_key = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, job->s->views_tmpl_ref);
        views.tmpl = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, job->s->views_pool_ref);
        views.pool = lua_gettop(L);
        if (!job->tape) {  // JSON records refill the last customer's nested tables (json_in.c)
            lua_rawgeti(L, LUA_REGISTRYINDEX, job->s->keys.places_ref);
            views.places = lua_gettop(L);
        }
        use_views = &views;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, job->s->decide_ref);
    if (job->tape) {
        if (!nb_value_push(L, job->tape, job->tape_count, job->json, job->message, &job->s->keys, keys, use_views)) { job->status = NB_BAD_RECORD; return 0; }
        if (job->tape[0].kind == NB_VALUE_ARRAY) return array_record(L, job);
        if (use_views) job->s->fresh_profile = lua_topointer(L, -1);
    } else if (!nb_json_push_keys(L, job->json, job->len, job->line, job->column, job->message, &job->s->keys, keys, use_views)) {
        job->status = NB_BAD_RECORD;
        job->marks->placed = job->line > 0;  // the reader's messages start with line and column
        return 0;
    } else if (lua_istable(L, -1)) {  // arrays become tables too: tell them apart by the text
        size_t i = 0;
        while (i < job->len && (job->json[i] == ' ' || job->json[i] == '\t' || job->json[i] == '\r' || job->json[i] == '\n')) i++;
        if (i < job->len && job->json[i] == '[') return array_record(L, job);
        if (use_views) job->s->fresh_profile = lua_topointer(L, -1);
    }
    // Fast path first: policies called without a protected call each, and when the watchdog
    // runs, without the count hook: timed by the clock instead (nb_fast_finish). If anything
    // fails, or the run took too long, decide this customer again carefully, so the failure
    // stays inside its policy and the count hook has the last word.
    nb_state *s = job->s;
    int driver = lua_gettop(L) - 1, profile = driver + 1;
    s->exhausted = 0;
    s->charged = 0;
    s->metering = 0;
    s->stopped = 0;
    s->timed = s->budget > 0 && nb_fast_begin(&s->watch, s, &s->fast_start);
    lua_pushvalue(L, driver);
    lua_pushvalue(L, profile);
    lua_pushnil(L);
    lua_pushboolean(L, 0);
    int fast = lua_pcall(L, 3, 3, 0);
    if (fast == LUA_OK && s->timed) {  // api.decide did not end the run: do not trust it
        nb_fast_finish(s);
        lua_pop(L, 2);
        fast = LUA_ERRRUN;
    } else if (fast != LUA_OK) nb_fast_finish(s);
    if (fast != LUA_OK) {
        lua_pop(L, 1);
        lua_sethook(L, NULL, 0, 0);
        if (s->stopped) {  // how far it got depends on the clock: decide carefully from collected memory
            s->stopped = 0;
            lua_gc(L, LUA_GCCOLLECT, 0);
        }
        s->exhausted = 0;
        s->charged = 0;
        lua_pushvalue(L, driver);
        lua_pushvalue(L, profile);
        lua_pushnil(L);
        lua_pushboolean(L, 1);
        lua_call(L, 3, 3);  // plan | nil, message, customer
    }
    if (lua_isnil(L, -3)) {
        job->status = NB_BAD_RECORD;
        nb_buf_clear(job->message);
        size_t n = 0;
        const char *m = lua_tolstring(L, -2, &n);
        nb_check(L, nb_buf_append(job->message, m ? m : "unreadable record", m ? n : 17));
        if (!lua_isnil(L, -1)) nb_json_encode(L, -1, job->customer, 1);
        return 0;
    }
    if (job->plan_nodes) nb_tape_plan(L, -3, job->plan_nodes, job->plan_strings);
    else {
        nb_encode_plan(L, -3, job->out, job->routes, job->marks, job->route_index);
        if (s->if_all_lost) {  // capacity's first pass: the plan if they lost every capacity theirs claims
            nb_raw_field(L, -3, "if_all_lost");
            if (lua_istable(L, -1)) {
                nb_marks unused = { 0, 0, 0 };
                nb_encode_plan(L, -1, s->if_all_lost, NULL, &unused, NULL);
            }
            lua_pop(L, 1);
        }
    }
    job->status = lua_toboolean(L, -2) ? NB_PLAN_WITH_ERRORS : NB_PLAN;
    return 0;
}

void nb_set_if_all_lost(nb_state *s, nb_buf *buf) { s->if_all_lost = buf; }

/// Runs decide_k for `job` under a protected call; rolls back what a failed record half-wrote.
static int run_decide(decide_job *job) {
    nb_state *s = job->s;
    lua_State *L = s->L;
    nb_buf *out = job->out, *routes = job->routes, *route_index = job->route_index, *message = job->message;
    size_t out_mark = out->len, routes_mark = routes ? routes->len : 0, index_mark = route_index ? route_index->len : 0;
    size_t lost_mark = s->if_all_lost ? s->if_all_lost->len : 0;
    job->marks->customer_start = job->marks->customer_end = 0;
    job->marks->placed = 0;
    nb_buf_clear(job->customer);
    lua_settop(L, 0);
    lua_pushcfunction(L, decide_k);
    lua_pushlightuserdata(L, job);
    int rc = lua_pcall(L, 1, 0, 0);
    s->fresh_profile = NULL;
    if (rc != LUA_OK) {  // policies are isolated inside; this is the engine's own failure
        nb_put_message(L, message);
        if (rc == LUA_ERRMEM) {
            char m[160];
            int n = snprintf(m, sizeof m, "the record needs more memory than a Lua state may hold (%zu MiB)", s->limit >> 20);
            nb_buf_clear(message);
            nb_buf_append(message, m, (size_t)n);
        }
        job->status = NB_FAILED;
    }
    if (job->status >= NB_BAD_RECORD) {  // nothing half-written stays behind
        out->len = out_mark;
        if (routes) routes->len = routes_mark;
        if (route_index) route_index->len = index_mark;
        if (s->if_all_lost) s->if_all_lost->len = lost_mark;
    }
    lua_settop(L, 0);
    return job->status;
}

int nb_decide(nb_state *s, const char *json, size_t len, long line, long column,
              nb_buf *out, nb_buf *routes, nb_buf *route_index, nb_marks *marks, nb_buf *message, nb_buf *customer) {
    decide_job job = {s, json, len, line, column, out, routes, route_index, message, customer, marks, NULL, 0, NB_FAILED, NULL, NULL};
    return run_decide(&job);
}

int nb_decide_json_values(nb_state *s, const char *json, size_t len, nb_buf *plan_nodes, nb_buf *plan_strings,
                          nb_marks *marks, nb_buf *message, nb_buf *customer) {
    nb_buf_clear(plan_nodes);
    nb_buf_clear(plan_strings);
    decide_job job = {s, json, len, 0, 0, plan_nodes, NULL, NULL, message, customer, marks, NULL, 0, NB_FAILED,
                      plan_nodes, plan_strings};
    return run_decide(&job);
}

int nb_decide_value(nb_state *s, const nb_value *tape, size_t count, const char *strings,
                    nb_buf *plan_nodes, nb_buf *plan_strings, nb_marks *marks, nb_buf *message, nb_buf *customer) {
    if (count == 0) return NB_FAILED;
    nb_buf_clear(plan_nodes);
    nb_buf_clear(plan_strings);
    decide_job job = {s, strings, 0, 0, 0, plan_nodes, NULL, NULL, message, customer, marks, tape, count, NB_FAILED,
                      plan_nodes, plan_strings};
    return run_decide(&job);
}
