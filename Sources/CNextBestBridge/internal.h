// Declarations shared by the bridge's C files; not part of the Swift-facing header.
#ifndef NEXTBEST_BRIDGE_INTERNAL_H
#define NEXTBEST_BRIDGE_INTERNAL_H
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <lua.h>
#include "nextbest_bridge.h"

size_t nb_utf8_seq(const unsigned char *s, size_t n);
/// Pushes the JSON value in json[0..len) (1), or writes a placed message and returns 0.
int nb_json_push(lua_State *L, const char *json, size_t len, long line, long column, nb_buf *message);

#define NB_KEYS_BITS 9
#define NB_KEYS (1 << NB_KEYS_BITS)
/// The longest name (or value) the key cache and the places keep, in bytes: CRM exports'
/// field names run long ("numero_ticket_aperti_90gg"); a longer one is hashed and interned each time.
#define NB_KEY_MAX 32
#define NB_KEY_WORDS (NB_KEY_MAX / 8)
/// The n <= NB_KEY_MAX bytes at s as words, zero-padded; `room` bytes are readable from s.
static inline void nb_key_words(uint64_t w[NB_KEY_WORDS], const unsigned char *s, size_t n, size_t room) {
    if (room >= NB_KEY_MAX) {  // whole words, the bytes past the name masked off
        memcpy(w, s, NB_KEY_MAX);
        for (size_t k = 0; k < NB_KEY_WORDS; k++) {
            size_t lo = k * 8;
            if (n <= lo) w[k] = 0;
            else if (n < lo + 8) w[k] &= (1ULL << (8 * (n - lo))) - 1;
        }
    } else {
        memset(w, 0, NB_KEY_MAX);
        memcpy(w, s, n);
    }
}
/// A hash of a name's words and length.
static inline uint64_t nb_key_hash(const uint64_t w[NB_KEY_WORDS], uint64_t n) {
    return (w[0] * 0x9E3779B97F4A7C15ULL) ^ (w[1] * 0xC2B2AE3D27D4EB4FULL) ^ (w[2] * 0x165667B19E3779F9ULL)
         ^ (w[3] * 0xD6E8FEB86659FD93ULL) ^ n;
}
static inline int nb_key_equal(const uint64_t x[NB_KEY_WORDS], const uint64_t y[NB_KEY_WORDS]) {
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}
/// Field names seen in profiles, kept per state as Lua strings (in the table at registry
/// reference `ref`, slot i + 1), so a name that comes back in every profile is pushed from
/// there instead of being hashed and interned again. Direct-mapped; names up to NB_KEY_MAX bytes.
/// Slots NB_KEYS and up hold short string values (region, channel, ...) the same way, apart
/// from the names so that many distinct values cannot push the names out.
/// Profile tables kept from one customer to the next (json_in.c, "places"): a nested object or
/// list is refilled in place, with the same read-only view, instead of being made again. A
/// place is where in a profile a table sits (its field name or "element of", under its
/// parent's place, and whether it is an object or a list); each place keeps up to
/// NB_PLACE_TABLES tables, taken in order by each customer.
#define NB_PLACES 64
#define NB_PLACE_TABLES 256
/// Past these sizes a table is used by its customer only: a place keeps no giant.
#define NB_PLACE_MAX_FIELDS 64
#define NB_PLACE_MAX_ITEMS 1024
typedef struct nb_shape {
    int n;  // fields (objects: their names in `keys`, by address) or length (lists); -1 unknown
    int cap;                // room in keys and slots
    const void **keys;      // one allocation: `cap` names, then their `cap` slots
    uint16_t *slots;        // each name's slot in the key cache (NB_NO_SLOT: none)
} nb_shape;
#define NB_NO_SLOT 0xFFFF
typedef struct nb_place {
    uint64_t w[NB_KEY_WORDS];  // the field name's bytes, as in the key cache
    uint32_t len;     // its length + 1; 0: an element of a list
    int parent;       // the parent's place + 1; 0: the profile itself
    int kind;         // 1 object, 2 list; 0: a free place
    uint32_t gen;     // the record `used` counts for
    uint32_t used;    // tables taken by this record
    uint32_t made;    // tables made (their shapes in `shapes`)
    nb_shape *shapes;
} nb_place;
typedef struct nb_keycache {
    uint64_t w[2 * NB_KEYS][NB_KEY_WORDS];    // the name's bytes, zero-padded
    uint32_t len[2 * NB_KEYS];                // its length + 1; 0 = empty slot
    const void *str[2 * NB_KEYS];             // the Lua string in the slot (lua_topointer), alive in the table at `ref`
    int ref;
    int consent_nulls;                // the last profile parsed noted a null consent entry
    int places_ref;                   // registry: the kept tables and their views (json_in.c, kept_slot)
    uint32_t gen;                     // counts the records parsed with places
    nb_place places[NB_PLACES + 1];  // the last: the profile itself (two tables, used in turn)
} nb_keycache;
/// Frees what the places of `K` hold outside Lua (places.c).
void nb_places_free(nb_keycache *K);
/// The engine added a field to the profile being decided (the host's contacts): the kept
/// profile tables are cleared before they are refilled (places.c).
void nb_forget_profile_shape(nb_keycache *K);
struct nb_views;  // below
/// A kept table being refilled: its place (index + 1), which of the place's tables, and the
/// shape it had (-1: unknown).
typedef struct { int place; uint32_t entry; int old_n; } nb_kept;
/// The shape the kept table `k` remembers.
static inline nb_shape *nb_kept_shape(nb_keycache *K, const nb_kept *k) { return &K->places[k->place - 1].shapes[k->entry]; }
/// The place of a table of `kind` (1 object, 2 list) under place `parent` (0: the profile) as
/// the value of the field name[0..len - 1) (len 0: an element of a list), or -1 when every
/// place is taken (places.c).
int nb_place_find(nb_keycache *K, int parent, int kind, const unsigned char *name, uint32_t len);
/// Takes this record's next table of place `i` (NB_PLACES: the profile, which has no view of its
/// own; -1: none) for a value of `kind`, the places' tables at stack index `places`: pushes its
/// view and, above it, its data (a new one, with `hint` fields, the first time) and fills `out`;
/// or pushes nothing and returns 0 (a new table then).
int nb_kept_take(lua_State *L, nb_keycache *K, struct nb_views *views, int places, int i, int kind, int hint, nb_kept *out);
/// The kept table `k` was filled: with the `n` fields `names` (their key cache slots in `slots`),
/// or, without names, a list of `n` items; n < 0, or an object past NB_PLACE_MAX_FIELDS fields:
/// the next record makes a new table in its stead.
void nb_kept_filled(lua_State *L, nb_keycache *K, int places, const nb_kept *k, int n,
                    const void *const *names, const uint16_t *slots);
/// Removes from the table at `t` every field whose name is not among keep[0..n) (addresses).
void nb_clear_except(lua_State *L, int t, const void *const *keep, size_t n);
/// The registry key (by address) of the set of consent entries that the profile being decided
/// gave as JSON `null` (policy-language.md §3.2: a null is named, never read as "missing").
extern const char nb_consent_nulls_key;
/// With a field name at -2 and its null value (nil) at -1, inside the top-level `consent`
/// object: notes the name in the registry set at nb_consent_nulls_key (json_in.c).
void nb_note_consent_null(lua_State *L, nb_keycache *K);
/// Forgets the consent nulls of the previous profile parsed with the cache `K`.
void nb_forget_consent_nulls(lua_State *L, nb_keycache *K);
/// Whether the string at the top of the stack is the field name "consent".
int nb_is_consent_key(lua_State *L);
/// Pushes the field name s[0..n) (n <= 16) from the cache table at `keys_idx`, keeping it
/// there when it is not yet (json_in.c); used for JSON input and for profiles built in Swift.
void nb_keycache_push(lua_State *L, nb_keycache *K, int keys_idx, const char *s, size_t n);
/// nb_json_push with the state's field-name cache; the cache table must be at `keys_idx`.
/// Read-only views of a profile's nested tables: the template of their metatables and the
/// pool they are taken from (stack indices), and how many this customer has used.
typedef struct nb_views {
    int tmpl, pool;
    lua_Integer used;
    int index_key;  // stack index of the string "__index", or 0 (then pushed each time)
    int places;     // stack index of the places' tables (nb_keycache.places_ref), or 0: none kept
} nb_views;
/// Pushes a new read-only view of the table at `data` (its metatable a copy of the template at
/// v->tmpl with `__index` = the data), not from the pool (sandbox.c).
void nb_view_new(lua_State *L, nb_views *v, int data);
/// Replaces the table at the top of the stack by a read-only view of it (see state.c);
/// returns 0 when the stack cannot grow.
int nb_view_wrap(lua_State *L, nb_views *v);
/// Like nb_json_push, with a field-name cache (or NULL) and, when `views` is not NULL, every
/// nested table made a read-only view as it is parsed.
int nb_json_push_keys(lua_State *L, const char *json, size_t len, long line, long column, nb_buf *message,
                      nb_keycache *keys, int keys_idx, nb_views *views);
/// The profile table the state is deciding when the parser already made its nested tables
/// views (protect_profile has nothing to do for it), else NULL (state.c).
const void *nb_fresh_profile(lua_State *L);
/// protect_profile(data, template, pool): makes the tables nested in a profile read-only views (sandbox.c).
int nb_l_protect_profile(lua_State *L);
/// view_len(view): the length of the data behind a read-only view, its __len (sandbox.c).
int nb_l_view_len(lua_State *L);
/// chooser(...) -> choose(cands, consent, history): pipeline.lua's choose in C for the common case (choose.c).
int nb_l_chooser(lua_State *L);
/// schema_compile(walk) -> check(c): the profile schema's type check in C (schema.c).
int nb_l_schema_compile(lua_State *L);
/// Whether time.parse reads s[0..n) as a date (schema.c).
int nb_date_valid(const char *s, size_t n);
/// Pushes a flattened value (value_in.c), field names through the cache `keys` (table at
/// `keys_idx`; or NULL), nested tables made read-only views when `views` is not NULL, or
/// writes a message and returns 0.
int nb_value_push(lua_State *L, const nb_value *tape, size_t count, const char *strings, nb_buf *message,
                  nb_keycache *keys, int keys_idx, nb_views *views);
/// Appends the Lua value at idx as JSON (objects with sorted keys).
void nb_json_encode(lua_State *L, int idx, nb_buf *b, int depth);
/// How a table is written (json_out.c): as an array (its n elements), an object (string keys),
/// or an object whose keys are first turned to text (mixed keys); `count` is its number of keys.
enum { NB_SHAPE_ARRAY, NB_SHAPE_OBJECT, NB_SHAPE_MIXED };
int nb_table_shape(lua_State *L, int idx, lua_Integer *n, lua_Integer *count);
/// Pushes a copy of the table at idx whose keys are their text (`2` -> "2", `true` -> "true",
/// other kinds their type's name); returns how many distinct keys it has.
lua_Integer nb_push_string_keyed(lua_State *L, int idx, lua_Integer count);
/// Before a table at depth `depth` is written (`written`: bytes so far): room on the stack, the
/// output within the state's memory limit, no cycle through `path` (the tables being written,
/// by depth); then notes the table in `path`. Raises the policy's error otherwise.
void nb_enter_table(lua_State *L, int idx, size_t written, int depth, const void **path);
/// Pushes t[name], read raw (no metamethod of a policy's table runs); nil when t is no table.
void nb_raw_field(lua_State *L, int idx, const char *name);
/// The names a plan's fields are read by (json_out.c, plan_tape.c): NB_PLAN_NAMES[id].
enum {
    NB_PN_CUSTOMER, NB_PN_SEGMENTS, NB_PN_LEVERS, NB_PN_ACTIONS, NB_PN_SUPPRESSED, NB_PN_ERRORS, NB_PN_HOLDOUT,
    NB_PN_HELD_OUT, NB_PN_ACTION, NB_PN_DEPARTMENT, NB_PN_CHANNEL, NB_PN_PRIORITY, NB_PN_POLICY, NB_PN_REASON,
    NB_PN_PARAMS, NB_PN_FACTORS, NB_PN_P, NB_PN_C, NB_PN_V, NB_PN_L, NB_PN_ROUTE_FIELDS, NB_PN_PROFILE,
    NB_PN_COUNT,
    NB_PN_END = -1  // ends a list of fields
};
/// A plan field's name, and the text `,"name":` that writes it as a member.
typedef struct { const char *name; size_t len; const char *member; size_t member_len; } nb_plan_name;
extern const nb_plan_name NB_PLAN_NAMES[NB_PN_COUNT];
/// Pushes the state's table of plan field names as Lua strings (name `id` at id + 1; made on
/// first use), so that a plan's fields are read without interning their names; returns its index.
int nb_push_plan_names(lua_State *L);
/// Pushes t[name `id`], read raw (no metamethod of a policy's table runs); nil when t is no
/// table. `names`: the index nb_push_plan_names returned.
void nb_plan_field(lua_State *L, int t, int names, int id);
/// The fields of a plan's entries, in the order they are written, each list ending with
/// NB_PN_END (NB_PN_FACTORS: written only when present).
extern const int NB_ACTION_FIELDS[], NB_LEVER_ACTION_FIELDS[], NB_SUPPRESSED_FIELDS[], NB_HELD_OUT_FIELDS[],
                 NB_FACTOR_FIELDS[];
/// Appends the plan table at idx to `nodes` and `strings` as a tape of nb_value (what
/// nb_encode_plan writes, typed; plan_tape.c): for Engine.decide(_ profile:), no JSON text.
void nb_tape_plan(lua_State *L, int idx, nb_buf *nodes, nb_buf *strings);
/// The most bytes one value written as JSON may take: the state's memory limit (1 GiB without one).
size_t nb_output_limit(lua_State *L);
/// Appends a Lua number as JSON (integers exact, floats shortest round-trip, NaN/inf as null).
void nb_json_number(lua_State *L, int idx, nb_buf *b);
/// Appends the plan table at idx as one JSON line to `out`, noting in `marks` where its
/// customer id is; when `routes` is not NULL, appends each action's department name and work
/// item there and one nb_route per action to `route_index`.
void nb_encode_plan(lua_State *L, int idx, nb_buf *out, nb_buf *routes, nb_marks *marks, nb_buf *route_index);
/// Pushes the plain table behind the value at `idx` when it is a read-only view (the profile's
/// nested tables are), else the value itself: raw reads by the encoder, the schema check and
/// the C choose. Returns 1 for a view, 0 for a value without a metatable, -1 for another (json_out.c).
int nb_push_unviewed(lua_State *L, int idx);
/// nb_push_unviewed with the strings "__nbview" and "__index" at stack (or upvalue) indices
/// `nbview_key` and `index_key` instead of interned on every call (0: interned).
int nb_push_unviewed_by(lua_State *L, int idx, int nbview_key, int index_key);
/// The Lua state of `s` (for the bridge's other C files).
lua_State *nb_state_lua(nb_state *s);
/// Pushes the prelude's API table of `s`.
void nb_push_api(lua_State *L, nb_state *s);
/// Raises a memory error when a buffer could not grow.
void nb_check(lua_State *L, int rc);
/// What the watchdog (fastrun.c) knows of one state: when its current fast run started
/// (nanoseconds of CLOCK_MONOTONIC, 0 when none runs), on which thread, and how long a run
/// may take before its result could be one the count hook would have stopped.
typedef struct nb_watch {
    _Atomic uint64_t start;
    _Atomic int tid;
    uint64_t limit_ns;
    struct nb_watch *prev, *next;  // the watchdog's list (under its lock)
    int registered;
} nb_watch;
/// Nanoseconds of CLOCK_MONOTONIC.
uint64_t nb_now_ns(void);
/// Puts a state under the watchdog (started on first use) with the time its fast runs may
/// take; returns 0 when the watchdog cannot run (then the state keeps the count hook).
int nb_watch_register(nb_watch *w, uint64_t limit_ns);
/// Takes a state from under the watchdog (before it is closed).
void nb_watch_unregister(nb_watch *w);
/// Starts a timed fast run of `owner` on this thread and writes its start time; returns 0
/// when it cannot be timed (the state is not watched, or this thread blocks the signal).
int nb_fast_begin(nb_watch *w, void *owner, uint64_t *start);
/// Ends the fast run (a signal from now on leaves the state alone) and returns the time.
uint64_t nb_fast_end(nb_watch *w);
/// Called in the signal handler, on the thread of `owner`'s fast run: arms the count hook in
/// its "exhausted" mode, so that the run stops at its next instruction of policy code (state.c).
void nb_fast_interrupt(void *owner);

/// One Lua state with NextBest's limits (state.c opens it; decide.c decides records with it).
/// Lua's small blocks (up to NB_SMALL_MAX bytes, in classes of 16) come from per-state free
/// lists cut from 64 KiB slabs: a state is used by one thread at a time and Lua tells the
/// size of each block it frees, so no header and no lock are needed (state.c, nb_alloc).
#define NB_SMALL_MAX 256
#define NB_SMALL_CLASSES (NB_SMALL_MAX / 16)
struct nb_state {
    lua_State *L;
    size_t used, peak, limit, pending_limit;
    void *small_free[NB_SMALL_CLASSES];  // per size class, the small blocks freed for reuse (state.c)
    char *slab, *slab_end;               // where new small blocks are cut from
    void *slabs;                         // every slab, chained through its first word (freed at close)
    int budget;
    volatile sig_atomic_t exhausted;  // the running policy call broke its budget: stop it, however it catches errors
    double charged;  // work done inside C library calls since the budget was last set (see l_charge)
    int timed;     // in a fast run timed by the clock, without the count hook (see decide.c)
    int metering;  // in a policy call of a timed fast run: l_charge charges it
    int stopped;   // the last timed fast run was stopped by the watchdog, at a point that depends on the clock
    uint64_t fast_start;  // when the timed fast run started
    nb_watch watch;       // the watchdog's view of this state (fastrun.c)
    const void *fresh_profile;  // the profile being decided, when the parser made its views already
    nb_buf *if_all_lost;  // where nb_decide writes a plan's if_all_lost plan, or NULL (nb_set_if_all_lost)
    int api_ref, decide_ref;
    int views_tmpl_ref, views_pool_ref;  // LUA_NOREF until the prelude calls use_views
    nb_keycache keys;  // profile field names, see json_in.c
};
/// Calls fns[i](a, b) (stack indices) for every i of the list at `fns`, unprotected, on one
/// budget for the whole batch, and lists in hits[0..n) the i whose result is true (a `true` or
/// `false` in fns counts as that result, without a call); returns n (state.c, direct_select).
lua_Integer nb_select(lua_State *L, nb_state *s, int fns, int a, int b, lua_Integer *hits);
/// propose(whens, order, c, ctx) -> number of policies run: pipeline.lua's fast proposals (propose.c).
int nb_l_proposer(lua_State *L);
/// Adds natives.proposal_fields and natives.flat_params to the table at the top (propose.c).
void nb_add_proposal_checks(lua_State *L);
/// Ends a timed fast run of `s`: whether its result may stand (state.c).
int nb_fast_finish(nb_state *s);
/// Writes the error at the top of the stack into `err` (a text, or a plain message when it is none).
void nb_put_message(lua_State *L, nb_buf *err);

#endif
