// A Lua state with NextBest's limits: a capped allocator, a per-call instruction budget
// (a count hook on the careful path, a clock and a watchdog on the fast one), the safe
// standard libraries, and protected calls of the prelude's API (deciding a record: decide.c).
#include "nextbest_bridge.h"
#include "internal.h"
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#if LUA_VERSION_NUM != 504
#error "NextBest needs Lua 5.4: the sandbox's bytecode scan reads its format (see Prelude/sandbox.lua)"
#endif

#define NB_SLAB_SIZE (64 * 1024)

/// A small block of size class `c` (blocks of (c + 1) * 16 bytes): a freed one, or one cut
/// from the current slab; NULL when memory is out.
static void *small_alloc(nb_state *s, size_t c) {
    void *p = s->small_free[c];
    if (p) {
        s->small_free[c] = *(void **)p;
        return p;
    }
    size_t size = (c + 1) * 16;
    if (!s->slab || (size_t)(s->slab_end - s->slab) < size) {
        char *slab = malloc(NB_SLAB_SIZE);
        if (!slab) return NULL;
        *(void **)slab = s->slabs;  // the chain of slabs, for nb_close
        s->slabs = slab;
        s->slab = slab + 16;
        s->slab_end = slab + NB_SLAB_SIZE;
    }
    p = s->slab;
    s->slab += size;
    return p;
}

static void small_free(nb_state *s, void *p, size_t c) {
    *(void **)p = s->small_free[c];
    s->small_free[c] = p;
}

static size_t small_class(size_t n) { return (n + 15) / 16 - 1; }

/// Lua's allocator: the state's memory cap and its count; small blocks from the state's own
/// free lists, larger ones from malloc.
static void *nb_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    nb_state *s = ud;
    size_t old = ptr ? osize : 0;  // without a block, osize tells the kind of object, not a size
    if (nsize == 0) {
        if (ptr) {
            if (old <= NB_SMALL_MAX) small_free(s, ptr, small_class(old));
            else free(ptr);
        }
        s->used -= old;
        return NULL;
    }
    if (s->limit && nsize > old && s->used - old + nsize > s->limit) return NULL;  // Lua raises "not enough memory"
    void *p;
    if (ptr && old > NB_SMALL_MAX && nsize > NB_SMALL_MAX) {
        p = realloc(ptr, nsize);
    } else if (ptr && old <= NB_SMALL_MAX && nsize <= NB_SMALL_MAX && small_class(old) == small_class(nsize)) {
        p = ptr;  // the same class: the block already fits
    } else {
        p = nsize <= NB_SMALL_MAX ? small_alloc(s, small_class(nsize)) : malloc(nsize);
        if (p && ptr) {
            memcpy(p, ptr, old < nsize ? old : nsize);
            if (old <= NB_SMALL_MAX) small_free(s, ptr, small_class(old));
            else free(ptr);
        }
    }
    if (!p) return NULL;
    s->used = s->used - old + nsize;
    if (s->used > s->peak) s->peak = s->used;
    return p;
}

/// Frees the slabs of the state's small blocks (after lua_close).
static void free_slabs(nb_state *s) {
    void *slab = s->slabs;
    while (slab) {
        void *next = *(void **)slab;
        free(slab);
        slab = next;
    }
    s->slabs = NULL;
}

const void *nb_fresh_profile(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    return ((nb_state *)ud)->fresh_profile;
}

size_t nb_output_limit(lua_State *L) {
    void *ud;
    lua_getallocf(L, &ud);
    nb_state *s = ud;
    return s->limit ? s->limit : ((size_t)1 << 30);
}

static int nb_panic(lua_State *L) {
    const char *m = lua_tostring(L, -1);
    fprintf(stderr, "nextbest: unprotected Lua error (a bug in NextBest): %s\n", m ? m : "?");
    abort();
}

/// The error value guarded() returns when a call ran out of memory (natives.out_of_memory).
static const char NB_OUT_OF_MEMORY = 0;

static const char BUDGET_MESSAGE[] = "instruction budget exceeded: the code ran too long (a loop that never ends?)";

/// The count hook. Once a policy call has used its budget, the hook fires at every
/// instruction of policy code and raises again, so that a policy cannot catch the error
/// with pcall and go on. The prelude's own code (its message handler) still runs.
static void nb_hook(lua_State *L, lua_Debug *ar) {
    void *ud;
    lua_getallocf(L, &ud);
    nb_state *s = ud;
    if (s->exhausted) {
        if (lua_getinfo(L, "S", ar) && strncmp(ar->source, NB_CHUNK_PREFIX, sizeof NB_CHUNK_PREFIX - 1) == 0) return;
    } else {
        s->exhausted = 1;
        lua_sethook(L, nb_hook, LUA_MASKCOUNT, 1);
    }
    lua_pushstring(L, BUDGET_MESSAGE);
    lua_error(L);
}

/// The most Lua VM instructions a second any interpreter could run: far beyond what one can
/// (each instruction is at least a fetch, a decode and an indirect jump; this machine runs
/// about 3e8 a second in its tightest loops). A timed fast run that took `t` seconds ran fewer
/// than t * NB_MAX_INSTRUCTIONS_PER_SECOND instructions, which is how the clock stands in for
/// the count hook.
#define NB_MAX_INSTRUCTIONS_PER_SECOND 1e10

void nb_fast_interrupt(void *owner) {
    nb_state *s = owner;
    s->exhausted = 1;
    lua_sethook(s->L, nb_hook, LUA_MASKCOUNT, 1);  // async-safe: lua.c's SIGINT handler does the same
}

/// Ends a timed fast run: whether its result may stand, which is when the count hook could not
/// have stopped any of its calls (the instructions it can have run, and the work charged to it
/// in C, within one call's budget) and the watchdog did not stop it.
int nb_fast_finish(nb_state *s) {
    if (!s->timed) return 1;
    s->timed = 0;
    s->metering = 0;
    uint64_t end = nb_fast_end(&s->watch);  // first: no signal arms the hook after this
    if (s->exhausted) {
        lua_sethook(s->L, NULL, 0, 0);
        s->stopped = 1;
        return 0;
    }
    double ran = (double)(end - s->fast_start) * (NB_MAX_INSTRUCTIONS_PER_SECOND / 1e9);
    return ran + s->charged <= (double)s->budget;
}

/// fast_done() -> ok: ends the customer's fast run; false when its plan must not be used and
/// the customer is decided again carefully (api.decide).
static int l_fast_done(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushboolean(L, nb_fast_finish(s));
    return 1;
}

/// How many units of work inside C library calls (bytes scanned or copied, elements moved,
/// pattern steps) one instruction of the budget pays for.
#define NB_UNITS_PER_INSTRUCTION 100.0

/// charge(units): charges work a library function is about to do in C (where the count hook
/// cannot see it) to the running call's budget; raises the budget error once the work of the
/// call, C and Lua together, is beyond what its budget allows. On a timed fast run the work
/// of the whole customer is charged to one budget. Outside a budgeted call (the hook is off
/// and no timed policy call runs: engine code) nothing is charged.
static int l_charge(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    double units = luaL_checknumber(L, 1);
    if (s->budget <= 0 || (lua_gethook(L) != nb_hook && !s->metering)) return 0;
    if (!(units >= 0)) units = 0;
    s->charged += units / NB_UNITS_PER_INSTRUCTION;
    if (s->charged <= (double)s->budget) return 0;
    s->exhausted = 1;
    lua_sethook(L, nb_hook, LUA_MASKCOUNT, 1);
    lua_pushstring(L, BUDGET_MESSAGE);
    return lua_error(L);
}

/// guarded(handler, fn, a, b) -> ok, result: like xpcall(fn, handler, a, b), with a fresh
/// instruction budget for the call. The count hook is on only while policy code runs, so
/// the engine's own driver code neither pays for it nor uses up a policy's budget.
static int l_guarded(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    lua_settop(L, 4);
    lua_Hook outer = lua_gethook(L);
    int outer_mask = lua_gethookmask(L), outer_count = lua_gethookcount(L), outer_exhausted = s->exhausted;
    double outer_charged = s->charged;
    s->exhausted = 0;
    s->charged = 0;
    if (s->budget > 0) lua_sethook(L, nb_hook, LUA_MASKCOUNT, s->budget);
    int status = lua_pcall(L, 2, 1, 1);
    if (status == LUA_ERRMEM) {  // the error value is Lua's text: say "out of memory" by identity instead
        lua_pop(L, 1);
        lua_pushlightuserdata(L, (void *)&NB_OUT_OF_MEMORY);
    }
    s->exhausted = outer_exhausted;
    s->charged = outer_charged;
    lua_sethook(L, outer, outer_mask, outer_count);  // nested calls (a test's check) restore the outer budget
    lua_pushboolean(L, status == LUA_OK);
    lua_replace(L, 1);
    return 2;
}

/// json_decode(text): the JSON value as Lua data; raises "line L, column C: ..." when unreadable.
static int l_json_decode(lua_State *L) {
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    nb_buf msg;
    nb_buf_init(&msg);
    if (nb_json_push(L, text, n, 1, 1, &msg)) { nb_buf_free(&msg); return 1; }
    lua_pushlstring(L, msg.data ? msg.data : "unreadable JSON", msg.data ? msg.len : 15);
    nb_buf_free(&msg);
    return lua_error(L);
}

/// direct(fn, a, b) -> true, result: the fast path of guarded(). No protected call: an
/// error unwinds the whole customer, and the host decides that customer again in careful
/// mode (guarded calls), where the error stays inside its policy. On a timed run the clock
/// and the watchdog keep the budget (decide.c); otherwise the count hook, per call.
static int l_direct(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    lua_settop(L, 3);
    if (s->timed) {
        s->metering = 1;
        lua_call(L, 2, 1);
        s->metering = 0;
        lua_pushboolean(L, 1);
        lua_insert(L, -2);
        return 2;
    }
    lua_Hook outer = lua_gethook(L);
    int outer_mask = lua_gethookmask(L), outer_count = lua_gethookcount(L);
    s->exhausted = 0;
    s->charged = 0;
    if (s->budget > 0) lua_sethook(L, nb_hook, LUA_MASKCOUNT, s->budget);
    lua_call(L, 2, 1);
    lua_sethook(L, outer, outer_mask, outer_count);
    lua_pushboolean(L, 1);
    lua_insert(L, -2);
    return 2;
}

lua_Integer nb_select(lua_State *L, nb_state *s, int fns, int a, int b, lua_Integer *hits) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, fns), count = 0;
    lua_Hook outer = lua_gethook(L);
    int outer_mask = lua_gethookmask(L), outer_count = lua_gethookcount(L);
    int hooked = 0, timed = s->timed;
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, fns, i) == LUA_TFUNCTION) {
            if (timed) s->metering = 1;
            else if (!hooked && s->budget > 0) { s->exhausted = 0; s->charged = 0; lua_sethook(L, nb_hook, LUA_MASKCOUNT, s->budget); hooked = 1; }
            lua_pushvalue(L, a);
            lua_pushvalue(L, b);
            lua_call(L, 2, 1);
        }
        int yes = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (yes) hits[count++] = i;
    }
    if (hooked) lua_sethook(L, outer, outer_mask, outer_count);
    s->metering = 0;
    return count;
}

/// direct_select(fns, a, b, hits) -> n: calls fns[i](a, b) for every i and lists in
/// hits[1..n] the i whose result is true (not nil or false); a `true` or `false` in fns counts
/// as that result, without a call. The fast path for the many small checks of one customer
/// (segments, policy conditions): one budget for the whole batch — a batch that runs out of
/// it, or raises, unwinds the customer, who is then decided again carefully with a budget
/// per call. So nothing that passes here could have been stopped there.
static int l_direct_select(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    lua_settop(L, 4);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1), small[64];
    lua_Integer *hits = n <= 64 ? small : lua_newuserdatauv(L, sizeof(lua_Integer) * (size_t)n, 0);
    lua_Integer count = nb_select(L, s, 1, 2, 3, hits);
    for (lua_Integer i = 0; i < count; i++) {
        lua_pushinteger(L, hits[i]);
        lua_rawseti(L, 4, i + 1);
    }
    lua_pushinteger(L, count);
    return 1;
}

/// use_views(template, pool): from now on, profiles parsed for decide get their nested tables
/// as read-only views while they are parsed (no second walk over the profile).
static int l_use_views(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    s->views_pool_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->views_tmpl_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/// consent_nulls() -> set | nil: the consent entries the profile being decided gave as JSON
/// null (by name), which the reader otherwise drops like any null field.
static int l_consent_nulls(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &nb_consent_nulls_key);
    return 1;
}

/// type(v): Lua's own type(), with its answers kept as upvalues: the base library's interns the
/// type's name on every call (lua_pushstring), and the engine asks a few dozen times a customer.
static int l_type(lua_State *L) {
    luaL_checkany(L, 1);
    lua_pushvalue(L, lua_upvalueindex(lua_type(L, 1) + 1));
    return 1;
}

/// profile_field_added(): the engine added a field to the profile being decided (nb_forget_profile_shape).
static int l_profile_field_added(lua_State *L) {
    nb_state *s = lua_touserdata(L, lua_upvalueindex(1));
    nb_forget_profile_shape(&s->keys);
    return 0;
}

/// Message handler for calls from the host: the message plus a traceback.
static int l_msgh(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

void nb_put_message(lua_State *L, nb_buf *err) {
    size_t n = 0;
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "error object is not a string";
    if (!lua_isstring(L, -1)) n = strlen(m);
    nb_buf_clear(err);
    nb_buf_append(err, m, n);
}

typedef struct {
    nb_state *s;
    const nb_module *modules;
    int count;
} open_job;

static int open_k(lua_State *L) {
    open_job *job = lua_touserdata(L, 1);
    nb_state *s = job->s;
    luaL_requiref(L, "_G", luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_DBLIBNAME, luaopen_debug, 0);  // for the prelude only, never global
    int debug = lua_gettop(L);
    // The prelude's modules receive its private natives, and the modules loaded before them.
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, debug);
    lua_setfield(L, -2, "debug");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_guarded, 1);
    lua_setfield(L, -2, "guarded");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_direct, 1);
    lua_setfield(L, -2, "direct");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_direct_select, 1);
    lua_setfield(L, -2, "direct_select");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_profile_field_added, 1);
    lua_setfield(L, -2, "profile_field_added");
    for (int t = LUA_TNIL; t <= LUA_TTHREAD; t++) lua_pushstring(L, lua_typename(L, t));
    lua_pushcclosure(L, l_type, LUA_TTHREAD - LUA_TNIL + 1);
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, s->budget);
    lua_setfield(L, -2, "budget");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_fast_done, 1);
    lua_setfield(L, -2, "fast_done");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_charge, 1);
    lua_setfield(L, -2, "charge");
    lua_pushinteger(L, (lua_Integer)s->pending_limit);
    lua_setfield(L, -2, "memory_limit");
    lua_pushlightuserdata(L, (void *)&NB_OUT_OF_MEMORY);
    lua_setfield(L, -2, "out_of_memory");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
    lua_pushcfunction(L, nb_l_protect_profile);
    lua_setfield(L, -2, "protect_profile");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, l_use_views, 1);
    lua_setfield(L, -2, "use_views");
    lua_pushcfunction(L, nb_l_view_len);
    lua_setfield(L, -2, "view_len");
    lua_pushcfunction(L, l_consent_nulls);
    lua_setfield(L, -2, "consent_nulls");
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, nb_l_proposer, 1);
    lua_setfield(L, -2, "proposer");
    nb_add_proposal_checks(L);
    lua_pushcfunction(L, nb_l_chooser);
    lua_setfield(L, -2, "chooser");
    lua_pushcfunction(L, nb_l_schema_compile);
    lua_setfield(L, -2, "schema_compile");
    int natives = lua_gettop(L);
    lua_createtable(L, 0, job->count);
    int modules = lua_gettop(L);
    for (int i = 0; i < job->count; i++) {
        const nb_module *m = &job->modules[i];
        lua_pushfstring(L, NB_CHUNK_PREFIX "%s", m->name);
        if (luaL_loadbufferx(L, m->source, m->length, lua_tostring(L, -1), "t") != LUA_OK) lua_error(L);
        lua_pushvalue(L, natives);
        lua_pushvalue(L, modules);
        lua_call(L, 2, 1);
        if (!lua_istable(L, -1)) luaL_error(L, "the prelude module %s did not return its table", m->name);
        lua_setfield(L, modules, m->name);
        lua_pop(L, 1);  // the chunk name
    }
    lua_getfield(L, modules, NB_API_MODULE);
    if (!lua_istable(L, -1)) luaL_error(L, "the prelude has no module '" NB_API_MODULE "' with the host's entry points");
    lua_getfield(L, -1, "decide");
    s->decide_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->api_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 2 * NB_KEYS, 0);
    s->keys.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 32);
    s->keys.places_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

nb_state *nb_open(size_t memory_limit, long instruction_budget,
                  const nb_module *modules, int count, nb_buf *err) {
    nb_state *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->views_tmpl_ref = s->views_pool_ref = LUA_NOREF;
    s->limit = 0;  // no cap while the libraries and prelude load
    s->pending_limit = memory_limit;
    s->budget = instruction_budget > 0x7fffffff ? 0x7fffffff : (int)instruction_budget;
    s->L = lua_newstate(nb_alloc, s);
    if (!s->L) { free_slabs(s); free(s); nb_buf_append(err, "cannot create a Lua state", 25); return NULL; }
    if (lua_version(s->L) != NB_LUA_VERSION) {  // the sandbox's bytecode scan reads this version's format only
        static const char m[] = "this Lua is not version 5.4: the sandbox was written for Lua 5.4 and will not run policies on another version";
        nb_buf_append(err, m, sizeof m - 1);
        lua_close(s->L);
        free_slabs(s);
        free(s);
        return NULL;
    }
    lua_atpanic(s->L, nb_panic);
    // Generational: measured better than incremental for many small tables. A minor collection
    // when memory grows 60% (Lua's default is 20), a major one at 100%: fewer single decisions
    // pay a minor collection (`nextbest bench` p99, 4 rounds interleaved: 13.1-18.3 µs against
    // 17.6-21.0 at 20); batch runs within this VM's noise of 20. A minor multiplier above the
    // major one (200 was tried) makes every collection a major one, the whole heap marked and
    // swept: ~10% of a batch run (perf: enterinc, sweep2old).
    lua_gc(s->L, LUA_GCGEN, 60, 100);
    open_job job = {s, modules, count};
    lua_pushcfunction(s->L, l_msgh);
    lua_pushcfunction(s->L, open_k);
    lua_pushlightuserdata(s->L, &job);
    if (lua_pcall(s->L, 1, 0, 1) != LUA_OK) {
        nb_put_message(s->L, err);
        lua_close(s->L);
        free_slabs(s);
        free(s);
        return NULL;
    }
    lua_settop(s->L, 0);
    s->limit = memory_limit;
    if (s->budget > 0) nb_watch_register(&s->watch, (uint64_t)((double)s->budget * (1e9 / NB_MAX_INSTRUCTIONS_PER_SECOND)));
    return s;
}

void nb_close(nb_state *s) {
    if (!s) return;
    nb_watch_unregister(&s->watch);
    lua_close(s->L);
    free_slabs(s);
    nb_places_free(&s->keys);
    free(s);
}

size_t nb_memory_used(const nb_state *s) { return s->used; }
lua_State *nb_state_lua(nb_state *s) { return s->L; }
void nb_push_api(lua_State *L, nb_state *s) { lua_rawgeti(L, LUA_REGISTRYINDEX, s->api_ref); }
size_t nb_memory_peak(const nb_state *s) { return s->peak; }

size_t nb_set_memory_limit(nb_state *s, size_t limit) {
    size_t was = s->limit;
    s->limit = limit;
    return was;
}

void nb_collect_garbage(nb_state *s) { lua_gc(s->L, LUA_GCCOLLECT, 0); }

typedef struct {
    nb_state *s;
    const char *name;
    const char *const *args;
    const size_t *lens;
    int nargs;
    nb_buf *out;
} call_job;

static int call_k(lua_State *L) {
    call_job *job = lua_touserdata(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, job->s->api_ref);
    lua_getfield(L, -1, job->name);
    if (!lua_isfunction(L, -1)) return luaL_error(L, "no API function '%s' in the prelude", job->name);
    luaL_checkstack(L, job->nargs + 4, "too many arguments");
    for (int i = 0; i < job->nargs; i++) lua_pushlstring(L, job->args[i], job->lens[i]);
    lua_call(L, job->nargs, 1);
    nb_buf_clear(job->out);
    nb_json_encode(L, -1, job->out, 0);
    return 0;
}

int nb_call(nb_state *s, const char *name, const char *const *args, const size_t *lens,
            int nargs, nb_buf *out) {
    lua_State *L = s->L;
    call_job job = {s, name, args, lens, nargs, out};
    lua_settop(L, 0);
    lua_pushcfunction(L, l_msgh);
    lua_pushcfunction(L, call_k);
    lua_pushlightuserdata(L, &job);
    int rc = lua_pcall(L, 1, 0, 1);
    if (rc != LUA_OK) nb_put_message(L, out);
    lua_settop(L, 0);
    return rc;
}
