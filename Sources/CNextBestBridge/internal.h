// Declarations shared by the bridge's C files; not part of the Swift-facing header.
#ifndef NEXTBEST_BRIDGE_INTERNAL_H
#define NEXTBEST_BRIDGE_INTERNAL_H
#include <stdio.h>
#include <lua.h>
#include "nextbest_bridge.h"

size_t nb_utf8_seq(const unsigned char *s, size_t n);
/// Pushes the JSON value in json[0..len) (1), or writes a placed message and returns 0.
int nb_json_push(lua_State *L, const char *json, size_t len, long line, long column, nb_buf *message);
/// Appends the Lua value at idx as JSON (objects with sorted keys).
void nb_json_encode(lua_State *L, int idx, nb_buf *b, int depth);
/// Appends a Lua number as JSON (integers exact, floats shortest round-trip, NaN/inf as null).
void nb_json_number(lua_State *L, int idx, nb_buf *b);
/// Appends the plan table at idx as one JSON line, and its routes when `routes` is not NULL.
void nb_encode_plan(lua_State *L, int idx, nb_buf *out, nb_buf *routes);
/// Raises a memory error when a buffer could not grow.
void nb_check(lua_State *L, int rc);
#endif
