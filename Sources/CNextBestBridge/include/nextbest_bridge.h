// The C half of NextBest's Lua bridge. Everything that can raise a Lua error (pushing
// values, calling Lua, the count hook) runs here, inside protected calls, so that no
// longjmp ever crosses a Swift frame. Swift sees only these plain C functions.
#ifndef NEXTBEST_BRIDGE_H
#define NEXTBEST_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

/// A growable byte buffer owned by the caller.
typedef struct nb_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;  // the most bytes it may grow to; 0: as many as memory allows
} nb_buf;

void nb_buf_init(nb_buf *b);
void nb_buf_free(nb_buf *b);
void nb_buf_clear(nb_buf *b);
/// Finds the value of the top-level key "id" of the JSON object text `s` (the last one when it
/// is repeated) without parsing the record: 1 with its span (`*kind` 1: a string without
/// escapes, the span inside its quotes; 2: another token), 0 when the object has no "id",
/// -1 when the text needs a careful reader (escapes in a key or in the id, a null id, not a
/// whole object).
int nb_find_id(const char *s, size_t n, size_t *start, size_t *end, int *kind);
/// Whether the `m` bytes of `needle` occur in the `n` bytes of `hay` (memmem): a run with
/// capacity passes over plan lines that name no action or department with a capacity.
int nb_contains(const void *hay, size_t n, const void *needle, size_t m);

/// Appends bytes; returns 0 on success, -1 when memory runs out.
int nb_buf_append(nb_buf *b, const void *bytes, size_t n);
/// Appends `s` as a JSON string literal (quoted, escaped, invalid UTF-8 replaced).
int nb_buf_append_json_string(nb_buf *b, const char *s, size_t n);

/// One Lua state with its limits. Opaque to Swift.
typedef struct nb_state nb_state;

/// The Lua version the bridge and the sandbox's bytecode scan are written for (lua_version()).
#define NB_LUA_VERSION 504
/// Chunk names of the prelude's modules start with this ("=nextbest/pipeline"): the count
/// hook and the message handler tell engine code from policy code by it.
#define NB_CHUNK_PREFIX "=nextbest/"
/// The prelude module whose table holds the host's entry points.
#define NB_API_MODULE "api"

/// One prelude module: its name (chunk "=nextbest/<name>") and Lua source.
typedef struct nb_module {
    const char *name;
    const char *source;
    size_t length;
} nb_module;

/// Opens a state with a memory cap (bytes, 0 = none) and a per-call instruction budget,
/// runs the prelude's `modules` in order with the safe libraries (each gets the natives and
/// the table of modules before it, and returns its own table), and keeps the API table of
/// module NB_API_MODULE. Refuses a Lua that is not NB_LUA_VERSION. On failure returns NULL
/// and writes the message into `err`.
nb_state *nb_open(size_t memory_limit, long instruction_budget,
                  const nb_module *modules, int count, nb_buf *err);
void nb_close(nb_state *s);
/// Bytes currently allocated by the state.
size_t nb_memory_used(const nb_state *s);
/// Bytes at most allocated by the state since it was opened.
size_t nb_memory_peak(const nb_state *s);
/// Sets the most bytes the state may hold (0: no limit) and returns the limit it had. Tests use
/// it to make an allocation of the next call fail where they choose.
size_t nb_set_memory_limit(nb_state *s, size_t limit);
/// A full garbage collection, so that nb_memory_used is what the state holds alive.
void nb_collect_garbage(nb_state *s);

/// Calls `api[name](args...)` with string arguments and writes its first result as JSON
/// into `out`. Returns 0 on success; otherwise `out` holds the error message.
int nb_call(nb_state *s, const char *name, const char *const *args, const size_t *lens,
            int nargs, nb_buf *out);

/// Outcome of deciding one record.
enum {
    NB_PLAN = 0,              ///< a plan was written
    NB_PLAN_WITH_ERRORS = 1,  ///< a plan was written, and it carries policy errors
    NB_BAD_RECORD = 2,        ///< no plan: `message` says why (the record is unreadable)
    NB_FAILED = 3,            ///< no plan: the engine failed on this record (e.g. memory)
};

/// Where the parts of one decided record are: byte offsets the encoder notes while it writes.
typedef struct nb_marks {
    size_t customer_start, customer_end;  ///< NB_PLAN*: the plan's customer id (JSON) in `out`
    int placed;                           ///< NB_BAD_RECORD: the message already names line and column
} nb_marks;

/// One work item for a department, as byte offsets in the routes buffer: the department's
/// name, and the item's JSON line (newline included).
typedef struct nb_route {
    size_t dept_start, dept_end, item_start, item_end;
} nb_route;

/// Parses one JSON profile straight into a Lua table, runs the decision driver and appends
/// the plan as one JSON line to `out`; when `routes` is not NULL, appends each action's
/// department and work item there and one nb_route per action to `route_index`. `marks`
/// says where the customer id is. On NB_BAD_RECORD / NB_FAILED, `message` holds the reason
/// and `customer` the customer id as JSON when it is known (empty otherwise).
/// `line` and `column` place the record in its file for parse messages (0 = unknown).
int nb_decide(nb_state *s, const char *json, size_t len, long line, long column,
              nb_buf *out, nb_buf *routes, nb_buf *route_index, nb_marks *marks, nb_buf *message, nb_buf *customer);

/// While `buf` is not NULL, nb_decide also writes a plan's `if_all_lost` plan (capacity, a
/// run's first pass), when it has one, as one JSON line there; NULL stops it.
void nb_set_if_all_lost(nb_state *s, nb_buf *buf);

/// Kinds of nb_value.
enum {
    NB_VALUE_NULL = 0, NB_VALUE_FALSE, NB_VALUE_TRUE, NB_VALUE_INT, NB_VALUE_DOUBLE,
    NB_VALUE_STRING,  ///< `offset`, `length`: its bytes in the strings buffer
    NB_VALUE_ARRAY,   ///< `length` elements follow
    NB_VALUE_OBJECT,  ///< `length` members follow, each a STRING key then its value
};

/// One node of a flattened value (a profile built in Swift), in pre-order.
typedef struct nb_value {
    int kind;
    size_t offset, length;
    int64_t integer;
    double number;
} nb_value;

/// nb_decide for one JSON profile whose plan comes back as nb_decide_value's does (typed nodes
/// in `plan_nodes` and `plan_strings`), not as JSON text: for Engine.decide(json:).
int nb_decide_json_values(nb_state *s, const char *json, size_t len, nb_buf *plan_nodes, nb_buf *plan_strings,
                          nb_marks *marks, nb_buf *message, nb_buf *customer);

/// nb_decide for a profile built in Swift: `tape[0..count)` with string bytes in `strings`
/// is pushed as Lua tables inside the protected call, without JSON text; the plan comes back
/// the same way: `plan_nodes` holds its nb_value nodes (pre-order), `plan_strings` their bytes.
int nb_decide_value(nb_state *s, const nb_value *tape, size_t count, const char *strings,
                    nb_buf *plan_nodes, nb_buf *plan_strings, nb_marks *marks, nb_buf *message, nb_buf *customer);

/// Maximum nesting depth accepted in a profile.
#define NB_MAX_DEPTH 64

#endif
