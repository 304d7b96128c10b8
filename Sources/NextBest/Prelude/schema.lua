-- The profile schema (policy-language.md §3.1): its declaration, and per customer the check that makes wrong-typed values absent and errors.
local natives, M = ...
local type, pairs, ipairs, next, error, tostring, rawget, rawset = type, pairs, ipairs, next, error, tostring, rawget, rawset
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local sort = table.sort
local sformat = string.format
local force_metatable = natives.debug.setmetatable
local V = M.values
local list, suggest, type_name = V.list, V.suggest, V.type_name
local problem = M.language.problem
local raw_metatable = M.sandbox.raw_metatable

local schema = {}

--- The names of declared `fields`, as a set.
local function keys_of(fields)
  local names = {}
  for _, f in ipairs(fields) do names[f.key] = true end
  return names
end

-- Each type: the Lua type its values have (walk checks numbers, integers and dates further),
-- and how a message names it.
local TYPES = {
  string = { "string", "text" }, number = { "number", "a number" }, integer = { "number", "a whole number" },
  boolean = { "boolean", "true or false" }, date = { "string", "an ISO-8601 date (2026-11-01)" },
  list = { "table", "a list" }, table = { "table", "a table" },
}
local TYPE_LIST = "string, number, integer, boolean, date, list, table, or a nested { field = \"type\" }"

--- Reads one level of a `profile { ... }` spec into a list of { key, path, check, expect, nested }.
local function read_fields(set, file, line, spec, prefix, out_paths)
  local fields = {}
  for k, v in pairs(spec) do
    local path = prefix .. tostring(k)
    if type(k) ~= "string" then
      problem(set, file, line, sformat("profile: field names must be text, not %s", type_name(k)))
    elseif prefix == "" and k == "strict" then
      if type(v) ~= "boolean" then problem(set, file, line, "profile: strict must be true or false") end
    elseif type(v) == "table" then
      out_paths[#out_paths + 1] = { path = path, type = "nested" }
      fields[#fields + 1] = { key = k, path = path, lua = "table", expect = "a table", nested = read_fields(set, file, line, v, path .. ".", out_paths) }
    elseif type(v) == "string" and TYPES[v] then
      local t = TYPES[v]
      out_paths[#out_paths + 1] = { path = path, type = v }
      -- integers: Lua integers pass on the Lua type alone; floats get the further check
      fields[#fields + 1] = { key = k, path = path, lua = t[1], kind = v, expect = t[2] }
    else
      problem(set, file, line, sformat("profile: field '%s' has the type %s%s; a type is one of %s", path, type_name(v),
                                       type(v) == "string" and suggest(v, TYPES) or "", TYPE_LIST))
    end
  end
  sort(fields, function(a, b) return a.key < b.key end)
  return fields
end

--- Makes `profile { ... }` a global of the sandbox `sb`, declaring the schema into `set.schema`.
function schema.install(set, sb)
  sb.SAFE.profile = function(spec)
    local info = natives.debug.getinfo(2, "Sl")
    local file, line = info.source:sub(2), info.currentline
    if sb.is_sealed() then error("profile is only allowed while the policy set loads", 2) end
    if set.test_loading then problem(set, file, line, "profile belongs in policy files, not in test files"); return end
    if type(spec) ~= "table" then problem(set, file, line, "profile needs its fields in braces: profile { name = \"string\", ... }"); return end
    if set.schema then
      problem(set, file, line, sformat("profile appears twice: here and at %s (a set has at most one)", set.schema.at)); return
    end
    local paths = list()
    local fields = read_fields(set, file, line, spec, "", paths)
    sort(paths, function(a, b) return a.path < b.path end)
    local declared = keys_of(fields)
    declared.id = true
    set.schema = { at = file .. ":" .. line, strict = spec.strict == true, fields = fields, paths = paths, declared = declared }
  end
end

--- The schema as data for the set's description (nil without one).
function schema.describe(set)
  local s = set.schema
  if not s then return nil end
  return { at = s.at, strict = s.strict, fields = s.paths }
end

--- The per-customer check of one state, or nil when the set has no schema. check(c, errs)
--- runs after the profile's view is made: wrong-typed values leave `c` (kept in `held` by
--- path) and are listed in errs; reading one, or (strict) an undeclared field, is an error.
function schema.new_checker(set, reporter)
  local s = set.schema
  if not s then return nil end
  local FIELDS, DECLARED, STRICT = s.fields, s.declared, s.strict
  local held, held_list = {}, {}   -- this customer's removed values, by path, and their paths
  local last_c, last_errs = nil, nil
  local mt = nil                   -- the profile's metatable with the schema's __index

  --- The __index of a table read under the schema: `prefix` starts its fields' paths ("" for
  --- the profile, "consent." inside it), `declared` holds the names it may have. Reading a
  --- held value, or (strict) an undeclared name, is an error by the field's path.
  local function reader(prefix, declared)
    return function(_, k)
      local at = prefix == "" and k or prefix .. tostring(k)
      local was = held[at]
      if was ~= nil then error(sformat("field '%s' is missing (it held %s)", tostring(at), type_name(was)), 2) end
      if STRICT and not declared[k] then
        error(sformat("field '%s' is not in the profile schema%s", tostring(at), type(k) == "string" and suggest(k, declared) or ""), 2)
      end
      reporter.missing = k
      return nil
    end
  end
  local index = reader("", DECLARED)

  -- The declared fields in walk order (sorted per level, a nested table's fields right after
  -- it), for the C check (natives.schema_compile): it reads each one raw, takes wrong-typed
  -- values out of their tables and lists them; the messages are made here, for those alone.
  -- A declared nested table (consent = { ... }) is read by the same rules: the C check gives
  -- the data behind its read-only view a metatable with a reader for its path (GUARDS, by entry).
  local WALK, GUARDS = {}, {}
  local function flatten(fields, parent)
    for i = 1, #fields do
      local f = fields[i]
      WALK[#WALK + 1] = { key = f.key, path = f.path, lua = f.lua, kind = f.kind, expect = f.expect,
                          parent = parent, nested = f.nested ~= nil }
      if f.nested then
        GUARDS[#WALK] = { __index = reader(f.path .. ".", keys_of(f.nested)) }
        flatten(f.nested, #WALK)
      end
    end
  end
  flatten(FIELDS, 0)
  local check_types = natives.schema_compile(WALK, GUARDS)

  --- Takes this customer's wrong-typed values out of profile `c`: their errors (or nil).
  local function walk(c)
    local bad = check_types(c)
    if not bad then return nil end
    local errs = list()
    for j = 1, #bad, 2 do
      local f, v = WALK[bad[j]], bad[j + 1]
      errs[#errs + 1] = { field = f.path, message = sformat("expected %s, got %s", f.expect, type_name(v)) }
      held[f.path] = v
      held_list[#held_list + 1] = f.path
    end
    return errs
  end

  local checker = { held = held }
  function checker.check(c, errs)
    if not mt then
      local base = raw_metatable(c)
      mt = { __index = index, __newindex = base.__newindex, __metatable = base.__metatable }
    end
    if c ~= last_c then
      for i = #held_list, 1, -1 do held[held_list[i]] = nil; held_list[i] = nil end
      last_c = c
      last_errs = walk(c)
    end  -- else decided again carefully: the values already left, their errors are kept
    force_metatable(c, mt)
    if not last_errs then return errs end
    errs = errs or list()
    for i = 1, #last_errs do errs[#errs + 1] = last_errs[i] end
    return errs
  end
  return checker
end

return schema
