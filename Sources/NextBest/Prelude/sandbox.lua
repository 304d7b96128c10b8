-- The sandbox (policy-language.md §6): the allow-listed environment, bounded library calls, read-only views, the freeze walk and the outer-local scan.
local natives, M = ...
local type, pairs, ipairs, next, error, tostring, select = type, pairs, ipairs, next, error, tostring, select
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local setmetatable, getmetatable, rawget, rawset, rawlen, rawequal, pcall =
      setmetatable, getmetatable, rawget, rawset, rawlen, rawequal, pcall
local huge = math.huge
local sformat, sfind, ssub, sbyte = string.format, string.find, string.sub, string.byte
local getinfo, getupvalue = natives.debug.getinfo, natives.debug.getupvalue
local force_metatable = natives.debug.setmetatable
local raw_metatable = natives.debug.getmetatable    -- past __metatable: for the engine's own checks
local copy = M.values.copy

local sandbox = {}

-- The real string table is reachable through ("").method: take string.dump out of it and
-- hide the string metatable. This runs once per state, when this module loads.
local dump = string.dump  -- kept for the engine's own look at policy functions (below)
string.dump = nil
getmetatable("").__metatable = false

---------------------------------------------------------------------------------------------
-- The outer-local scan: reads Lua 5.4's bytecode (string.dump, stripped).
---------------------------------------------------------------------------------------------

--- The header string.dump writes in the one format the scan reads: signature, version 5.4,
--- official format, LUAC_DATA, sizes of Instruction / lua_Integer / lua_Number, then the
--- check integer 0x5678 and check float 370.5 (little-endian, 8 bytes each).
sandbox.BYTECODE_HEADER = "\27Lua\x54\0\x19\x93\r\n\x1a\n\4\8\8" .. string.pack("<i8<d", 0x5678, 370.5)
local OP_SETUPVAL = 10

--- Local variables declared outside a function and assigned inside it outlive the call:
--- they would carry state from one customer to the next. Finds such an assignment in the
--- bytecode of `fn` and returns the variable's name.
local function assigned_outer_local(fn)
  local ok, bc = pcall(dump, fn, true)
  if not ok then return nil end
  local pos = #sandbox.BYTECODE_HEADER + 1
  local function byte() local b = sbyte(bc, pos); pos = pos + 1; return b end
  local function size()
    local x = 0
    repeat local b = byte(); x = x * 128 + (b & 0x7f) until b >= 0x80
    return x
  end
  local function skip_string() local n = size(); if n > 0 then pos = pos + n - 1 end end
  pos = pos + 1  -- number of upvalues of the main function
  local found
  -- A proto's own upvalue i (0-based) lives outside any call when it is one of fn's upvalues, or
  -- captures (instack == 0) such an upvalue of its parent: mine[i] is then that upvalue of fn.
  local function proto(parent)
    skip_string(); size(); size()  -- source, linedefined, lastlinedefined
    pos = pos + 3                  -- numparams, is_vararg, maxstacksize
    local ncode = size()
    local setups = {}
    for _ = 1, ncode do
      local b1, b2, b3, b4 = sbyte(bc, pos, pos + 3)
      pos = pos + 4
      if b1 & 0x7f == OP_SETUPVAL then setups[#setups + 1] = b3 end  -- B: bits 16-23 (little-endian)
    end
    for _ = 1, size() do  -- constants
      local t = byte()
      if t == 3 or t == 19 then pos = pos + 8 elseif t == 4 or t == 20 then skip_string() end
    end
    local mine = {}
    for i = 0, size() - 1 do
      local instack, idx = byte(), byte(); byte()
      if parent == nil then mine[i] = i + 1                   -- fn itself: all of them
      elseif instack == 0 then mine[i] = parent[idx] end      -- an upvalue of the enclosing function
    end
    for _, b in ipairs(setups) do if mine[b] and found == nil then found = mine[b] end end
    for _ = 1, size() do proto(mine) end
    -- debug information: stripped, but its counts are still written
    pos = pos + size()                               -- lineinfo
    for _ = 1, size() do size(); size() end          -- abslineinfo
    for _ = 1, size() do skip_string(); size(); size() end  -- locvars
    for _ = 1, size() do skip_string() end           -- upvalue names
  end
  if not pcall(proto, nil) then return nil end
  return found and (getupvalue(fn, found))
end
sandbox.assigned_outer_local = assigned_outer_local

-- The scan must never be silently blind: check, when the state opens, that this Lua writes the
-- format above and that the scan finds an assignment it must find. A Lua upgrade fails here.
do
  local outer = 0
  local function assigns() outer = outer + 1 end
  local header = ssub(dump(assigns, true), 1, #sandbox.BYTECODE_HEADER)
  if _VERSION ~= "Lua 5.4" or header ~= sandbox.BYTECODE_HEADER or assigned_outer_local(assigns) ~= "outer" then
    error(sformat("the sandbox's bytecode scan was written for Lua 5.4's format, and this is %s with another format: refusing to run policies", _VERSION))
  end
end

---------------------------------------------------------------------------------------------
-- Read-only tables and views.
---------------------------------------------------------------------------------------------

--- next() over the data behind a read-only view, with the view as its state: pairs() on a
--- view must not hand the writable table behind it to a policy (its values are views too).
local function view_next(v, k) return next(sandbox.unview(v), k) end
--- __pairs of every read-only view.
local function view_pairs(v) return view_next, v, nil end

--- Builds one state's sandbox: its environment, read-only views and freeze walk.
--- `helpers` are the §4 functions policies may call; `reporter` (errors.new) is told which
--- profile field was missing.
function sandbox.new(helpers, reporter)
  local sb = {}
  local OWNED = setmetatable({}, { __mode = "k" })  -- the engine's own read-only tables

  local function readonly(t, what)
    local view = setmetatable({}, {
      __index = t,
      __newindex = function(_, k) error(sformat("%s is read-only: cannot set '%s'", what, tostring(k)), 2) end,
      __metatable = false,
    })
    OWNED[view] = true
    return view
  end

  --- A read-only view of `t` named `what` in messages (ctx, ctx.segments).
  function sb.readonly_view(t, what)
    return setmetatable({}, {
      __index = t,
      __newindex = function(_, k) error(sformat("%s is read-only: cannot set '%s'", what, tostring(k)), 2) end,
      __metatable = what .. " is read-only",
    })
  end

  local B = M.bounds
  local SAFE_TABLE = copy(table)
  SAFE_TABLE.move = B.move

  --- The allow-list: every global a policy file can read, besides the ones it defines.
  local SAFE = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
    select = select, tonumber = tonumber, tostring = tostring, type = type, xpcall = B.xpcall,
    rawequal = rawequal, rawlen = rawlen, rawget = rawget, getmetatable = getmetatable,
    setmetatable = B.setmetatable, _VERSION = _VERSION,
    string = readonly(copy(string), "string"),
    table = readonly(SAFE_TABLE, "table"),
    math = readonly(copy(math, { random = true, randomseed = true }), "math"),
    utf8 = readonly(copy(utf8), "utf8"),
  }
  for k, v in pairs(helpers) do SAFE[k] = v end
  sb.SAFE = SAFE

  local USER = setmetatable({}, { __index = SAFE })  -- globals the policy files define at load
  sb.USER = USER
  local sealed = false
  sb.ENV = setmetatable({}, {
    __index = USER,
    __newindex = function(_, k, v)
      if sealed then
        error(sformat("cannot set global '%s': globals are read-only once the policy set is loaded (use a local variable)", tostring(k)), 2)
      end
      rawset(USER, k, v)
    end,
    __metatable = false,
  })
  OWNED[sb.ENV] = true

  --- Seals the environment: no global may be set from now on.
  function sb.seal() sealed = true end
  --- Whether the environment is sealed (the set has loaded).
  function sb.is_sealed() return sealed end

  local function frozen_write(_, k)
    error(sformat("cannot change '%s': tables made when the policy set loads are read-only (copy it into a local table first)", tostring(k)), 2)
  end
  local VIEW_EXTRA = { __index = true, __newindex = true, __len = true, __pairs = true, __metatable = true,
                       __gc = true, __mode = true, __close = true, __nbview = true }

  --- After the load, tables the policy files made (globals, and tables their functions keep
  --- as upvalues) become read-only in place, so that no policy call can leave state behind
  --- for the next customer or change what another policy sees. Functions from `sources`
  --- (chunk names) that assign an outer local are reported with report(file, line, message).
  local function freeze(v, seen, sources, report)
    local tv = type(v)
    if tv == "table" then
      if seen[v] or OWNED[v] then return end
      seen[v] = true
      local data, mt = {}, raw_metatable(v)
      for k, x in next, v do data[k] = x end
      for k in next, data do rawset(v, k, nil) end
      for k, x in next, data do freeze(k, seen, sources, report); freeze(x, seen, sources, report) end
      local view = { __index = data, __newindex = frozen_write, __nbview = true,
                     __len = function() return #data end,
                     __pairs = view_pairs,  -- never hands out `data` itself
                     __metatable = "read-only: made when the policy set loaded" }
      if type(mt) == "table" then
        -- Its metamethods and __index tables are frozen too (not mt itself: Lua reads it raw).
        mt = sandbox.unview(mt)
        for _, x in next, mt do freeze(x, seen, sources, report) end
        -- Keys it does not have still reach the old metatable's __index, through a copy that
        -- never gets __gc (added after setmetatable, it would arm a finalizer that runs with
        -- no budget) and whose __index function sees the read-only table, never `data`.
        local inner = {}
        for k, x in next, mt do if k ~= "__gc" then inner[k] = x end end
        local idx = rawget(mt, "__index")
        if type(idx) == "function" then inner.__index = function(_, k) return idx(v, k) end end
        force_metatable(data, inner)
        for k, x in next, mt do if not VIEW_EXTRA[k] then view[k] = x end end
      end
      force_metatable(v, view)
    elseif tv == "function" then
      if seen[v] then return end
      seen[v] = true
      local info = getinfo(v, "S")
      if not sources[info.source] then return end  -- engine and C functions
      local name = assigned_outer_local(v)
      if name then
        report(ssub(info.source, 2), info.linedefined, sformat(
          "this function assigns '%s', a variable declared outside it: that would carry state from one customer to the next (declare it inside the function)", name))
      end
      for i = 1, 255 do
        local uname, x = getupvalue(v, i)
        if uname == nil then break end
        freeze(x, seen, sources, report)
      end
    end
  end
  sb.freeze = freeze

  -- Policies see the profile through one read-only view per state, pointed at each customer's
  -- data in turn: writing to it is an error, even for fields that exist.
  local PROFILE_MT = {
    __index = function(_, k) reporter.missing = k end,
    __newindex = function(_, k) error(sformat("the customer profile is read-only: cannot set '%s'", tostring(k)), 2) end,
    __metatable = "the customer profile is read-only",
  }
  local PROFILE_VIEW_MT = {
    __index = {},
    __newindex = PROFILE_MT.__newindex,
    __len = natives.view_len,
    __pairs = view_pairs,  -- never hands out the profile's own tables
    __metatable = PROFILE_MT.__metatable,
    __nbview = true,
  }
  local PROFILE_VIEW = setmetatable({}, PROFILE_VIEW_MT)
  local PROFILE_NESTED_MT = copy(PROFILE_VIEW_MT, { __index = true })  -- the template for nested views
  local VIEW_POOL = {}  -- nested views, reused from one customer to the next (see protect_profile)
  natives.use_views(PROFILE_NESTED_MT, VIEW_POOL)  -- profiles parsed for decide arrive with their views
  local protect_profile = natives.protect_profile

  --- Makes profile `c` read-only (its nested tables views) and returns the view policies get.
  --- The view is shared: it shows the last customer passed here.
  function sb.profile_view(c)
    protect_profile(c, PROFILE_NESTED_MT, VIEW_POOL, PROFILE_MT)  -- the metatable also on a second, careful pass
    PROFILE_VIEW_MT.__index = c
    return PROFILE_VIEW
  end

  --- A read-only view of `data` like the profile's own nested views: for the contacts the
  --- engine adds to a profile (contacts.lua). With `slot`, the view in that place of its own
  --- pool (up to 256) is pointed at `data`: one customer's contacts are merged at a time and
  --- nothing a policy can reach outlives its customer, so the last customer's views are free.
  local OWN_POOL = {}  -- own views, reused from one customer to the next (as the parser's are)
  function sb.own_view(data, slot)
    local v = slot and OWN_POOL[slot]
    if v then
      raw_metatable(v).__index = data
      return v
    end
    local mt = copy(PROFILE_NESTED_MT)
    mt.__index = data
    v = setmetatable({}, mt)
    if slot and slot <= 256 then OWN_POOL[slot] = v end
    return v
  end

  return sb
end

--- The plain table behind a read-only view (or t itself), to read a policy's result raw.
function sandbox.unview(t)
  local mt = raw_metatable(t)
  if mt and rawget(mt, "__nbview") == true then
    local d = rawget(mt, "__index")
    if type(d) == "table" then return d end
  end
  return t
end

--- The most values (every table, key and value counted each time it is reached) and text bytes
--- a proposal's params may hold: a table shared many times over could otherwise make output
--- far beyond the state's memory limit.
sandbox.PARAMS_MAX_VALUES = 1000000
sandbox.PARAMS_MAX_BYTES = natives.memory_limit > 0 and natives.memory_limit or (256 << 20)

local PATH = {}  -- the tables check_params is inside of (emptied when it starts: nothing stays marked)
local TOO_BIG = "params are too big (at most %d values and %d MiB of text)"

--- check_params' walk over `t` at `depth`, having seen `values` values and `bytes` bytes:
--- why not (or nil), and the new counts.
local function walk_params(t, depth, values, bytes)
  local mt = raw_metatable(t)
  if mt and rawget(mt, "__nbview") == true and type(rawget(mt, "__index")) == "table" then t = rawget(mt, "__index") end
  if PATH[t] then return "params refer to themselves" end
  if depth > 64 then return nil, values, bytes end  -- written as null
  PATH[t] = true
  local strings_only, count = true, 0
  for k, v in next, t do
    count = count + 1
    values = values + 2
    if type(k) ~= "string" then strings_only = false else bytes = bytes + #k end
    local tv = type(v)
    if tv == "string" then bytes = bytes + #v
    elseif tv == "table" then
      local why
      why, values, bytes = walk_params(v, depth + 1, values, bytes)
      if why then PATH[t] = nil; return why end
    end
    if values > sandbox.PARAMS_MAX_VALUES or bytes > sandbox.PARAMS_MAX_BYTES then
      PATH[t] = nil
      return sformat(TOO_BIG, sandbox.PARAMS_MAX_VALUES, sandbox.PARAMS_MAX_BYTES >> 20)
    end
  end
  PATH[t] = nil
  if not strings_only and count ~= rawlen(t) then
    local names = {}
    for k in next, t do
      local tk = type(k)
      local name = (tk == "string" or tk == "number" or tk == "boolean") and tostring(k) or tk
      if names[name] then return sformat("params have two keys that read the same ('%s'): use distinct names", name) end
      names[name] = true
    end
  end
  return nil, values, bytes
end

--- Checks a proposal's params raw (no metamethod runs): nil when they can be written as JSON
--- the same way every run, else why not (they refer to themselves, they are too big, or two
--- keys of one table read the same, like 2 and "2").
function sandbox.check_params(params)
  if next(PATH) ~= nil then for k in next, PATH do PATH[k] = nil end end  -- after an error in a walk
  return (walk_params(params, 1, 0, 0))
end

--- A plain copy of `t` made with raw reads (no metamethod runs, none is copied; views give
--- what they show), so that engine code reading it later, outside any budget, runs no policy
--- code. Nested deeper than 64 levels, or past `max` values, is cut off (nil).
function sandbox.plain_copy(t, max)
  local left = max or 100000
  local function copy_of(x, depth)
    if type(x) ~= "table" then return x end
    if depth > 64 or left <= 0 then return nil end
    local out = {}
    for k, v in next, sandbox.unview(x) do
      left = left - 1
      if left <= 0 then break end
      out[k] = copy_of(v, depth + 1)
    end
    return out
  end
  return copy_of(t, 1)
end

--- Whether `t` has a metatable, read past __metatable.
function sandbox.has_metatable(t) return raw_metatable(t) ~= nil end
--- `t`'s metatable, read past __metatable (the engine's own checks only).
sandbox.raw_metatable = raw_metatable

return sandbox
