-- NextBest prelude: the policy language (policy-language.md §1-§7), the sandboxed
-- environment policies run in, and the per-customer decision driver (§5).
-- Runs once per Lua state. Its only inputs are the private natives the host passes in;
-- it returns the API table the host calls (load, finish, decide, explain, ...).
local natives = ...
local getinfo = natives.debug.getinfo
local guarded = natives.guarded           -- guarded(handler, fn, c, ctx): xpcall with a budget
local direct = natives.direct             -- direct(fn, c, ctx): the same, unprotected
local direct_select = natives.direct_select  -- direct_select(fns, c, ctx, hits) -> n: which are true
local force_metatable = natives.debug.setmetatable
local raw_metatable = natives.debug.getmetatable    -- past __metatable: for the engine's own checks
local getupvalue = natives.debug.getupvalue
local json_decode = natives.json_decode   -- text -> Lua value, raises "line L, column C: ..."
local protect_profile = natives.protect_profile  -- nested tables of a profile -> read-only views

local type, pairs, ipairs, next, error, tostring, tonumber, select =
      type, pairs, ipairs, next, error, tostring, tonumber, select
local setmetatable, getmetatable, rawget, rawset, rawlen, rawequal, xpcall, pcall, load =
      setmetatable, getmetatable, rawget, rawset, rawlen, rawequal, xpcall, pcall, load
local math_type, floor, huge = math.type, math.floor, math.huge
local sort, concat = table.sort, table.concat
local sgmatch = string.gmatch  -- the unbounded original: the prelude's own patterns are trusted
local sformat, sfind, ssub, smatch, sgsub, sbyte = string.format, string.find, string.sub,
      string.match, string.gsub, string.byte

-- Tables marked as lists encode as JSON arrays even when empty.
local LIST = { __jsontype = "array" }
local function list(t) return setmetatable(t or {}, LIST) end

---------------------------------------------------------------------------------------------
-- Time: ISO-8601 dates and date-times to seconds since the epoch (UTC).
---------------------------------------------------------------------------------------------

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  return (m <= 2 and y + 1 or y), m, d
end

local DAYS_IN_MONTH = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

--- Seconds since 1970-01-01T00:00:00Z for an ISO-8601 date or date-time, or nil.
local function parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, m, d, rest = smatch(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > DAYS_IN_MONTH[m] then return nil end
  local secs = 0
  if rest ~= "" then
    local hh, mm, tail = smatch(rest, "^[T ](%d%d):(%d%d)(.*)$")
    if not hh then return nil end
    hh, mm = tonumber(hh), tonumber(mm)
    local ss = 0
    local sec, tail2 = smatch(tail, "^:(%d%d)(.*)$")
    if sec then
      ss = tonumber(sec); tail = tail2
      local frac, tail3 = smatch(tail, "^[.,](%d+)(.*)$")
      if frac then ss = ss + tonumber("0." .. frac); tail = tail3 end
    end
    if hh > 23 or mm > 59 or ss >= 61 then return nil end
    local offset = 0
    if tail == "Z" or tail == "z" or tail == "" then offset = 0
    else
      local sign, oh, om = smatch(tail, "^([+-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      offset = (tonumber(oh) * 60 + tonumber(om)) * 60
      if sign == "-" then offset = -offset end
    end
    secs = hh * 3600 + mm * 60 + ss - offset
  end
  return days_from_civil(y, m, d) * 86400 + secs
end

local function format_day(epoch)
  local y, m, d = civil_from_days(floor(epoch / 86400))
  return sformat("%04d-%02d-%02d", y, m, d)
end

local function format_time(epoch)
  local day = floor(epoch / 86400)
  local s = epoch - day * 86400
  local frac = s - floor(s)
  s = floor(s)
  local iso = sformat("%sT%02d:%02d:%02d", format_day(epoch), s // 3600, s % 3600 // 60, s % 60)
  if frac > 0 then iso = iso .. sgsub(sformat("%.3f", frac), "^0", "") end
  return iso .. "Z"
end

local NOW_EPOCH = 0
local NOW_ISO, TODAY = format_time(0), format_day(0)

-- ctx and ctx.segments: one read-only view per state; what they show is set per customer.
local SEGSET, CTXDATA = {}, {}
local function readonly_view(t, what)
  return setmetatable({}, {
    __index = t,
    __newindex = function(_, k) error(sformat("%s is read-only: cannot set '%s'", what, tostring(k)), 2) end,
    __metatable = what .. " is read-only",
  })
end
CTXDATA.segments = readonly_view(SEGSET, "ctx.segments")
local CTX = readonly_view(CTXDATA, "ctx")
CTXDATA.now, CTXDATA.today = NOW_ISO, TODAY


---------------------------------------------------------------------------------------------
-- Helpers every policy may call (§4). Pure and deterministic.
---------------------------------------------------------------------------------------------

local function type_name(v)
  if v == nil then return "nothing (nil)" end
  local t = type(v)
  if t == "table" then return "a table" end
  if t == "string" then return sformat("the text %q", #v > 40 and ssub(v, 1, 40) .. "..." or v) end
  return sformat("%s %s", t == "number" and "the number" or "a " .. t, tostring(v))
end

local function want_list(fname, xs)
  if xs == nil then return {} end
  if type(xs) ~= "table" then error(sformat("%s expects a list, got %s", fname, type_name(xs)), 3) end
  return xs
end

local function want_fn(fname, fn, optional)
  if fn == nil and optional then return nil end
  if type(fn) ~= "function" then error(sformat("%s expects a function as its second argument, got %s", fname, type_name(fn)), 3) end
  return fn
end

local helpers = {}

--- days_since(date): days from `date` (ISO-8601) to ctx.now; fractional when times differ.
function helpers.days_since(date)
  local t = parse_time(date)
  if not t then error(sformat("days_since expects an ISO-8601 date like \"2026-10-30\", got %s", type_name(date)), 2) end
  return (NOW_EPOCH - t) / 86400
end

--- any(list, fn): true when fn(item) is true for at least one item (false for an empty list).
function helpers.any(xs, fn)
  if type(xs) ~= "table" then xs = want_list("any", xs) end
  if type(fn) ~= "function" then fn = want_fn("any", fn) end
  for i = 1, #xs do if fn(xs[i]) then return true end end
  return false
end

--- all(list, fn): true when fn(item) is true for every item (true for an empty list).
function helpers.all(xs, fn)
  if type(xs) ~= "table" then xs = want_list("all", xs) end
  if type(fn) ~= "function" then fn = want_fn("all", fn) end
  for i = 1, #xs do if not fn(xs[i]) then return false end end
  return true
end

--- count(list [, fn]): how many items (for which fn(item) is true).
function helpers.count(xs, fn)
  xs = want_list("count", xs); fn = want_fn("count", fn, true)
  if not fn then return #xs end
  local n = 0
  for i = 1, #xs do if fn(xs[i]) then n = n + 1 end end
  return n
end

--- sum(list [, fn]): the sum of the items (or of fn(item)).
function helpers.sum(xs, fn)
  xs = want_list("sum", xs); fn = want_fn("sum", fn, true)
  local total = 0
  for i = 1, #xs do
    local v = xs[i]
    if fn then v = fn(v) end
    if type(v) ~= "number" then error(sformat("sum: item %d is %s, not a number", i, type_name(v)), 2) end
    total = total + v
  end
  return total
end

local function want_number(fname, what, x)
  if type(x) ~= "number" then error(sformat("%s expects a number for %s, got %s", fname, what, type_name(x)), 3) end
end

--- clamp(x, lo, hi): x limited to [lo, hi].
function helpers.clamp(x, lo, hi)
  want_number("clamp", "x", x); want_number("clamp", "lo", lo); want_number("clamp", "hi", hi)
  if x < lo then return lo elseif x > hi then return hi end
  return x
end

--- between(x, lo, hi): lo <= x <= hi (false when x is missing).
function helpers.between(x, lo, hi)
  if x == nil then return false end
  want_number("between", "x", x); want_number("between", "lo", lo); want_number("between", "hi", hi)
  return x >= lo and x <= hi
end

--- one_of(x, {...}): x equals one of the listed values.
function helpers.one_of(x, options)
  if type(options) ~= "table" then error(sformat("one_of expects a list of values, got %s", type_name(options)), 2) end
  for i = 1, #options do if options[i] == x then return true end end
  return false
end

--- bucket(id, salt): a stable number in [0, 1) for A/B splits (FNV-1a over id and salt).
function helpers.bucket(id, salt)
  local s = tostring(id) .. "\0" .. tostring(salt or "")
  local h = 2166136261
  for i = 1, #s do
    h = ((h ~ sbyte(s, i)) * 16777619) & 0xffffffff
  end
  return h / 4294967296.0
end

---------------------------------------------------------------------------------------------
-- The sandbox (§6): an allow-list of safe globals, read-only once the set is loaded.
---------------------------------------------------------------------------------------------

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

local function copy(t, without)
  local out = {}
  for k, v in pairs(t) do if not (without and without[k]) then out[k] = v end end
  return out
end

-- The real string table is reachable through ("").method: take string.dump out of it and
-- hide the string metatable.
local dump = string.dump  -- kept for the engine's own look at policy functions (below)
string.dump = nil
getmetatable("").__metatable = false

-- Library functions whose C loops the count hook cannot interrupt get a bound first.
-- Pattern matching backtracks: its worst case grows like (text length)^(repetitions + 1).
local PATTERN_STEPS = natives.budget > 0 and natives.budget * 100 or huge
local PATTERN_SPECIALS = "[%^%$%*%+%?%.%(%[%%%-]"

--- Repetitions in a Lua pattern (items that may match many characters) and whether it is anchored.
local function pattern_shape(p)
  local q, i, n = 0, 1, #p
  local anchored = sbyte(p, 1) == 94  -- '^'
  if anchored then i = 2 end
  while i <= n do
    local ch = sbyte(p, i)
    if ch == 37 then  -- '%'
      local nx = sbyte(p, i + 1)
      if nx == 98 then q = q + 1; i = i + 4          -- %bxy scans ahead
      elseif nx == 102 then i = i + 2                -- %f: the set follows
      elseif nx and nx >= 48 and nx <= 57 then q = q + 1; i = i + 2  -- back-reference
      else i = i + 2 end
    elseif ch == 91 then  -- '[': skip the set
      i = i + 1
      if sbyte(p, i) == 94 then i = i + 1 end
      repeat
        if sbyte(p, i) == 37 then i = i + 1 end
        i = i + 1
      until i > n or sbyte(p, i) == 93
      i = i + 1
    elseif ch == 42 or ch == 43 or ch == 45 or ch == 63 then q = q + 1; i = i + 1  -- * + - ?
    else i = i + 1 end
  end
  return q, anchored
end

local function check_pattern(fname, s, p, init, plain, unanchored)
  if PATTERN_STEPS == huge or type(p) ~= "string" or type(s) ~= "string" then return end
  local n, m = #s, #p
  local steps
  if plain == true or not sfind(p, PATTERN_SPECIALS) then
    steps = n * m
  else
    local q, anchored = pattern_shape(p)
    steps = (anchored and not unanchored) and m or (n + 1) * m
    for i = 1, q do
      steps = steps * (n + i) / i
      if steps > PATTERN_STEPS then break end
    end
    if steps > PATTERN_STEPS then
      error(sformat("%s: this pattern has %d repetitions and could run too long on a text of %d bytes; use a simpler pattern or a shorter text", fname, q, n), 3)
    end
    return
  end
  if steps > PATTERN_STEPS then
    error(sformat("%s: searching %d bytes for %d bytes could run too long; use a shorter text", fname, n, m), 3)
  end
end

local real_find, real_match, real_gmatch, real_gsub, real_move = string.find, string.match, string.gmatch, string.gsub, table.move
string.find = function(s, p, init, plain) check_pattern("string.find", s, p, init, plain); return real_find(s, p, init, plain) end
string.match = function(s, p, init) check_pattern("string.match", s, p, init); return real_match(s, p, init) end
string.gmatch = function(s, p, init) check_pattern("string.gmatch", s, p, init, nil, true); return real_gmatch(s, p, init) end
string.gsub = function(s, p, r, n) check_pattern("string.gsub", s, p, nil, nil, true); return real_gsub(s, p, r, n) end

--- table.move, bounded: a move of many elements is one long C loop.
local function safe_move(a1, f, e, t, a2)
  if type(f) == "number" and type(e) == "number" and (e * 1.0) - (f * 1.0) >= 1e7 then
    error("table.move: too many elements to move (at most 10,000,000)", 2)
  end
  return real_move(a1, f, e, t, a2)
end

local function safe_setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in policies", 2)
  end
  return setmetatable(t, mt)
end

--- xpcall whose message handler runs after the error, like any other code. (Lua runs a
--- message handler inside the count hook when the hook raised, where hooks are off: an
--- endless handler would never be stopped.)
local function safe_xpcall(f, msgh, ...)
  local function finish(ok, ...)
    if ok then return true, ... end
    local _, r = pcall(msgh, (...))
    return false, r
  end
  return finish(pcall(f, ...))
end

local SAFE_TABLE = copy(table)
SAFE_TABLE.move = safe_move

local SAFE = {
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, xpcall = safe_xpcall,
  rawequal = rawequal, rawlen = rawlen, rawget = rawget, getmetatable = getmetatable,
  setmetatable = safe_setmetatable, _VERSION = _VERSION,
  string = readonly(copy(string), "string"),
  table = readonly(SAFE_TABLE, "table"),
  math = readonly(copy(math, { random = true, randomseed = true }), "math"),
  utf8 = readonly(copy(utf8), "utf8"),
}
for k, v in pairs(helpers) do SAFE[k] = v end

local USER = setmetatable({}, { __index = SAFE })  -- globals the policy files define at load
local sealed = false
local ENV = setmetatable({}, {
  __index = USER,
  __newindex = function(_, k, v)
    if sealed then
      error(sformat("cannot set global '%s': globals are read-only once the policy set is loaded (use a local variable)", tostring(k)), 2)
    end
    rawset(USER, k, v)
  end,
  __metatable = false,
})
OWNED[ENV] = true

--- Local variables declared outside a function and assigned inside it outlive the call:
--- they would carry state from one customer to the next. Finds such an assignment in the
--- bytecode of `fn` (Lua 5.4's string.dump format, stripped) and returns the variable's name.
local OP_SETUPVAL = 10
local function assigned_outer_local(fn)
  local ok, bc = pcall(dump, fn, true)
  if not ok then return nil end
  local pos = 32  -- after the header: signature, version, format, data, sizes, int and float checks
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

--- After the load, tables the policy files made (globals, and tables their functions keep
--- as upvalues) become read-only in place, so that no policy call can leave state behind
--- for the next customer or change what another policy sees.
local function frozen_write(_, k)
  error(sformat("cannot change '%s': tables made when the policy set loads are read-only (copy it into a local table first)", tostring(k)), 2)
end
local VIEW_EXTRA = { __index = true, __newindex = true, __len = true, __pairs = true, __metatable = true,
                     __gc = true, __mode = true, __close = true, __nbview = true }

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
                   __pairs = function() return next, data, nil end,
                   __metatable = "read-only: made when the policy set loaded" }
    if type(mt) == "table" then
      -- Its metamethods and __index tables are frozen too (not mt itself: Lua reads it raw).
      for _, x in next, mt do freeze(x, seen, sources, report) end
      force_metatable(data, mt)  -- keys it does not have still reach the old metatable
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
      local name, x = getupvalue(v, i)
      if name == nil then break end
      freeze(x, seen, sources, report)
    end
  end
end

--- The plain table behind a read-only view (or t itself), to read a policy's result raw.
local function unview(t)
  local mt = raw_metatable(t)
  if mt and rawget(mt, "__nbview") == true then
    local d = rawget(mt, "__index")
    if type(d) == "table" then return d end
  end
  return t
end

---------------------------------------------------------------------------------------------
-- Declarations (§2) and load-time validation with file:line.
---------------------------------------------------------------------------------------------

local DECL = { segment = {}, action = {}, policy = {}, test = {} }
local SEGMENTS, ACTIONS, POLICIES, TESTS = {}, {}, {}, {}
local CONTACT = { max_actions = 3, max_per_channel = 1, respect_consent = true, history = "contacts" }
local CONTACT_DECL = nil
local PROBLEMS, WARNINGS = list(), list()
local POLICY_SOURCES = {}  -- chunk sources of policy and test files, for placing errors
local SOURCES = {}         -- policy file texts, for the "never proposed" warning
local TEST_LOADING = false

local function problem(file, line, msg) PROBLEMS[#PROBLEMS + 1] = { file = file, line = line, message = msg } end
local function warning(file, line, msg) WARNINGS[#WARNINGS + 1] = { file = file, line = line, message = msg } end

local function distance(a, b)
  if #a > 40 or #b > 40 then return 99 end
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = sbyte(a, i) == sbyte(b, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- " (did you mean 'x'?)" when a known name is close to `name`.
local function suggest(name, known)
  local best, bestd = nil, 3
  for k in pairs(known) do
    local d = distance(name, k)
    if d < bestd or (d == bestd and best and k < best) then best, bestd = k, d end
  end
  return best and sformat(" (did you mean '%s'?)", best) or ""
end

local FIELDS = {
  segment = { description = "string", when = "function" },
  action = { department = "string", channel = "string", description = "string",
             cooldown_days = "number", group = "string", eligible = "function" },
  policy = { description = "string", segments = "table", when = "function", propose = "function",
             action = "string", priority = "number|function", reason = "string|function",
             params = "table|function" },
  contact_policy = { max_actions = "number", max_per_channel = "number",
                     respect_consent = "boolean", history = "string" },
  test = { customer = "table", now = "string", expect = "table", check = "function",
           description = "string" },
}

local function check_fields(kind, label, spec, file, line)
  local allowed = FIELDS[kind]
  for k, v in pairs(spec) do
    local want = type(k) == "string" and allowed[k]
    if not want then
      problem(file, line, sformat("%s: unknown field '%s'%s", label, tostring(k), type(k) == "string" and suggest(k, allowed) or ""))
    elseif not sfind("|" .. want .. "|", "|" .. type(v) .. "|", 1, true) then
      problem(file, line, sformat("%s: '%s' must be a %s, not %s", label, k, sgsub(want, "|", " or a "), type_name(v)))
    end
  end
end

local function finite(x) return type(x) == "number" and x == x and x ~= huge and x ~= -huge end

local VALIDATE = {}

function VALIDATE.segment(rec, spec, label)
  if type(spec.when) ~= "function" then problem(rec.file, rec.line, label .. ": needs 'when = function(c, ctx) ... end'") end
  rec.when, rec.description = spec.when, spec.description
  SEGMENTS[#SEGMENTS + 1] = rec
end

function VALIDATE.action(rec, spec, label)
  for _, f in ipairs({ "department", "channel" }) do
    local v = spec[f]
    if v == nil then problem(rec.file, rec.line, sformat("%s: missing '%s' (%s)", label, f, f == "channel" and "how the customer is reached" or "who carries it out"))
    elseif type(v) == "string" and not smatch(v, "^[%w_%-]+$") then
      problem(rec.file, rec.line, sformat("%s: %s '%s' may use only letters, digits, '_' and '-'", label, f, v))
    end
  end
  if spec.cooldown_days ~= nil and (not finite(spec.cooldown_days) or spec.cooldown_days < 0) then
    problem(rec.file, rec.line, label .. ": cooldown_days must be a number of days, 0 or more")
  end
  rec.department, rec.channel, rec.description = spec.department, spec.channel, spec.description
  rec.cooldown_days, rec.group, rec.eligible = spec.cooldown_days, spec.group, spec.eligible
  ACTIONS[#ACTIONS + 1] = rec
end

local function name_of(rec) return rec.name end

function VALIDATE.policy(rec, spec, label)
  local full, short = spec.propose ~= nil, spec.action ~= nil
  if not full and not short then
    problem(rec.file, rec.line, label .. ": has neither 'propose = function(c, ctx) ... end' (full form) nor 'action' and 'priority' (short form)")
  elseif full and short then
    problem(rec.file, rec.line, label .. ": has both 'propose' and 'action': use one form")
  elseif short and spec.priority == nil then
    problem(rec.file, rec.line, label .. ": the short form needs a 'priority' (a number, or a function returning one)")
  elseif full and spec.priority ~= nil then
    problem(rec.file, rec.line, label .. ": 'priority' belongs to the short form; with 'propose', return it in each proposal")
  end
  if type(spec.priority) == "number" and not finite(spec.priority) then
    problem(rec.file, rec.line, label .. ": priority must be a finite number")
  end
  local segs = list()
  if type(spec.segments) == "table" then
    for i, s in ipairs(spec.segments) do
      if type(s) ~= "string" then problem(rec.file, rec.line, sformat("%s: segments[%d] must be a segment name in quotes", label, i))
      else segs[#segs + 1] = s end
    end
  end
  rec.segments, rec.when, rec.propose, rec.description = segs, spec.when, spec.propose, spec.description
  rec.action, rec.priority, rec.reason, rec.params = spec.action, spec.priority, spec.reason, spec.params
  rec.default_reason = spec.description or ("policy " .. name_of(rec))
  POLICIES[#POLICIES + 1] = rec
end

-- What a test's `expect` may check (§7), and what each must be.
local EXPECT_FIELDS = {
  actions = "a list of action names", includes = "a list of action names",
  excludes = "a list of action names", segments = "a list of segment names",
  suppressed = "a table of action = reason text", departments = "a list of departments",
  errors = "a list of message texts",
}

function VALIDATE.test(rec, spec, label)
  if type(spec.customer) ~= "table" then problem(rec.file, rec.line, label .. ": needs 'customer = { id = ..., ... }'") end
  if spec.expect == nil and spec.check == nil then problem(rec.file, rec.line, label .. ": needs 'expect = { ... }' or 'check = function(plan) ... end'") end
  if spec.now ~= nil and not parse_time(spec.now) then problem(rec.file, rec.line, label .. ": 'now' must be an ISO-8601 date or date-time") end
  if type(spec.expect) == "table" then
    for k, v in pairs(spec.expect) do
      local want = type(k) == "string" and EXPECT_FIELDS[k]
      if not want then
        problem(rec.file, rec.line, sformat("%s: expect has an unknown field '%s'%s", label, tostring(k), type(k) == "string" and suggest(k, EXPECT_FIELDS) or ""))
      elseif type(v) ~= "table" then
        problem(rec.file, rec.line, sformat("%s: expect.%s must be %s, not %s", label, k, want, type_name(v)))
      end
    end
  end
  rec.customer, rec.now, rec.expect, rec.check = spec.customer, spec.now, spec.expect, spec.check
  TESTS[#TESTS + 1] = rec
end

--- The file (full path, from the chunk name) and line of the code that called our caller.
local function caller_place()
  local info = getinfo(3, "Sl")
  return ssub(info.source, 2), info.currentline
end

local function declarer(kind)
  return function(name)
    local file, line = caller_place()
    if sealed then error(sformat("%s declarations are only allowed while the policy set loads", kind), 2) end
    if (kind == "test") ~= TEST_LOADING then
      problem(file, line, kind == "test" and "tests belong in a tests/ folder or a file ending in _test.lua"
        or sformat("%s declarations belong in policy files, not in test files", kind))
      return function() end
    end
    if type(name) ~= "string" or name == "" then
      problem(file, line, sformat('%s needs a name in quotes: %s "name" { ... }', kind, kind))
      return function() end
    end
    local label = sformat("%s '%s'", kind, name)
    return function(spec)
      if type(spec) ~= "table" then
        problem(file, line, sformat('%s needs its fields in braces: %s "%s" { ... }', label, kind, name))
        return
      end
      local by_name = DECL[kind]
      if by_name then
        local prev = by_name[name]
        if prev then
          problem(file, line, sformat("%s is declared twice: here and at %s:%d", label, prev.file, prev.line))
          return
        end
      end
      local rec = { name = name, file = file, line = line, where = file .. ":" .. line }
      if by_name then by_name[name] = rec end
      check_fields(kind, label, spec, file, line)
      VALIDATE[kind](rec, spec, label)
    end
  end
end

local function contact_policy(spec)
  local file, line = caller_place()
  if sealed then error("contact_policy is only allowed while the policy set loads", 2) end
  if TEST_LOADING then problem(file, line, "contact_policy belongs in policy files, not in test files"); return end
  if type(spec) ~= "table" then problem(file, line, "contact_policy needs its fields in braces: contact_policy { ... }"); return end
  if CONTACT_DECL then
    problem(file, line, sformat("contact_policy appears twice: here and at %s:%d (a set has at most one)", CONTACT_DECL.file, CONTACT_DECL.line))
    return
  end
  CONTACT_DECL = { file = file, line = line }
  check_fields("contact_policy", "contact_policy", spec, file, line)
  for _, k in ipairs({ "max_actions", "max_per_channel" }) do
    local v = spec[k]
    if v ~= nil then
      if math_type(v) ~= "integer" and not (finite(v) and v == floor(v)) or v < 0 then
        problem(file, line, sformat("contact_policy: %s must be a whole number, 0 or more", k))
      else CONTACT[k] = floor(v) end
    end
  end
  if type(spec.respect_consent) == "boolean" then CONTACT.respect_consent = spec.respect_consent end
  if type(spec.history) == "string" then CONTACT.history = spec.history end
end

SAFE.segment, SAFE.action, SAFE.policy = declarer("segment"), declarer("action"), declarer("policy")
SAFE.test, SAFE.contact_policy = declarer("test"), contact_policy

---------------------------------------------------------------------------------------------
-- Errors inside policies: the policy, file:line and a plain message.
---------------------------------------------------------------------------------------------

local MISSING = nil  -- the last field read from the profile that was not there
local MEMORY_MESSAGE = natives.memory_limit > 0
  and sformat("memory limit exceeded: a Lua state may hold at most %s MiB (a table or text that grows without end?)",
              sformat("%.4g", natives.memory_limit / 1048576))
  or "not enough memory"

local function message_of(e)
  if type(e) == "string" then
    if #e > 2000 then return ssub(e, 1, 2000) .. sformat("... (%d more bytes)", #e - 2000) end
    return e
  end
  if type(e) == "table" then
    local m = rawget(e, "message")
    if type(m) == "string" then return m end
    return "error() was called with a table instead of a message"
  end
  return sformat("error() was called with %s instead of a message", type_name(e))
end

--- Message handler for policy calls: finds the innermost line in a policy file.
local function handler(e)
  local msg = message_of(e)
  local file, line
  for level = 2, 60 do
    local info = getinfo(level, "Sl")
    if not info then break end
    if POLICY_SOURCES[info.source] and info.currentline > 0 then
      file, line = ssub(info.source, 2), info.currentline
      break
    end
  end
  -- "policies/x.lua:12: attempt to ..." -> "attempt to ..."
  local stripped = smatch(msg, "^[^\n]-%.lua:%d+: (.*)$") or smatch(msg, "^%.%.%.[^\n]-:%d+: (.*)$")
  if stripped then msg = stripped end
  if MISSING and (sfind(msg, "nil value", 1, true) or sfind(msg, "with nil", 1, true) or sfind(msg, "nil with", 1, true)) then
    msg = sformat("%s (field '%s' is missing)", msg, tostring(MISSING))
  end
  return { message = msg, file = file, line = line }
end

--- Calls a policy function with a fresh instruction budget, catching its errors.
local function call(fn, c, ctx)
  MISSING = nil
  return guarded(handler, fn, c, ctx)
end

--- The fast twin of call(): errors are not caught here (see decide's `careful`).
local call_direct = direct

--- A plan error as one line: `policy 'x' (file:line): message` (summary counters, tests).
local function error_text(e)
  local who = e.policy and sformat("policy '%s'", e.policy) or e.segment and sformat("segment '%s'", e.segment)
              or e.action and sformat("action '%s'", e.action) or sformat("field '%s'", tostring(e.field))
  return e.at and sformat("%s (%s): %s", who, e.at, e.message) or sformat("%s: %s", who, e.message)
end

--- An entry for plan.errors: { policy|segment|action = name, at = "file:line", message }.
local function failure(kind, decl, r)
  local e = { at = decl.where }
  e[kind] = decl.name
  if type(r) == "table" then
    e.message = r.message
    if r.file then e.at = r.file .. ":" .. r.line end
  else
    e.message = message_of(r)  -- memory errors skip the handler
    if e.message == "not enough memory" then e.message = MEMORY_MESSAGE end
  end
  return e
end

---------------------------------------------------------------------------------------------
-- Loading a set: files in sorted path order, then cross-references, then the seal.
---------------------------------------------------------------------------------------------

local api = {}

--- Loads one file's source under the chunk name "@path".
function api.load(path, source, is_test)
  TEST_LOADING = is_test == "test"
  local chunk, err = load(source, "@" .. path, "t", ENV)
  if not chunk then
    -- "path:line: message" (the path may be shortened by Lua): keep our full path.
    local line, msg = smatch(err, "^.-:(%d+): (.*)$")
    if line then problem(path, tonumber(line), msg) else problem(path, 1, err) end
    return true
  end
  POLICY_SOURCES["@" .. path] = true
  if not TEST_LOADING then SOURCES[path] = source end
  local ok, r = call(chunk)
  if not ok then
    local f = failure("file", { name = path, where = path .. ":1" }, r)
    local file, line = smatch(f.at, "^(.*):(%d+)$")
    problem(file, tonumber(line), f.message)
  end
  return true
end

local UNGATED, GATED = {}, {}   -- policy indices without segments / by their first segment

--- Whether the policy files mention `name` in quotes more than once (its declaration is one):
--- a cheap static look at full-form policies, used only to avoid a false warning.
local function mentioned_elsewhere(name)
  local n = 0
  local pattern = "[\"']" .. sgsub(name, "%p", "%%%0") .. "[\"']"
  for _, src in pairs(SOURCES) do
    for _ in real_gmatch(src, pattern) do n = n + 1 end
  end
  return n >= 2
end

local function sort_problems(ps)
  sort(ps, function(a, b)
    if a.file ~= b.file then return a.file < b.file end
    if a.line ~= b.line then return a.line < b.line end
    return a.message < b.message
  end)
end

--- What a segment's `when` requires, when it is simple enough to read from its source:
--- `return c.x >= 50000 and c.y == "gold"` gives { x = {">=", 50000}, y = {"==", "gold"} }
--- as a list of { field, op, value }. Anything else it does not understand is left out, which
--- only makes the requirement looser — so a contradiction found here is a real one.
local function simple_requirements(fn)
  local info = getinfo(fn, "S")
  local src = info and SOURCES[ssub(info.source, 2)]
  if not src or info.linedefined <= 0 then return nil end
  local lines, n = {}, 0
  for l in sgmatch(src .. "\n", "([^\n]*)\n") do
    n = n + 1
    if n >= info.linedefined and n <= info.lastlinedefined then lines[#lines + 1] = l end
    if n > info.lastlinedefined then break end
  end
  local text = concat(lines, " ")
  if sfind(text, "--", 1, true) then return nil end  -- a comment could hide or fake a condition
  local param, expr = smatch(text, "function%s*%(%s*([%a_][%w_]*)[^)]*%)%s*return%s+(.-)%s+end")
  if not param or sfind(expr, "function", 1, true) then return nil end
  local spaced = " " .. expr .. " "
  if sfind(expr, "[()%[%]{}]") or sfind(spaced, "%sor%s") or sfind(spaced, "%snot%s") then return nil end
  local reqs = {}
  for part in sgmatch(expr .. " and ", "(.-)%s+and%s+") do
    local field, op, value = smatch(part, "^%s*" .. param .. "%.([%a_][%w_]*)%s*([<>=~]=?)%s*(.-)%s*$")
    if field and op ~= "=" then
      local v = tonumber(value)
      if v == nil then v = smatch(value, '^"([^"]*)"$') or smatch(value, "^'([^']*)'$") end
      if v == nil and (value == "true" or value == "false") then v = value == "true" end
      if v ~= nil and (type(v) == "number" or op == "==" or op == "~=") then reqs[#reqs + 1] = { field, op, v } end
    end
  end
  return reqs
end

--- Whether requirements on one field can all hold at once.
local function satisfiable(reqs)
  local lo, lo_in, hi, hi_in, eq, has_eq = -huge, true, huge, true, nil, false
  local ne = {}
  for _, r in ipairs(reqs) do
    local op, v = r[2], r[3]
    if op == "==" then
      if has_eq and eq ~= v then return false end
      eq, has_eq = v, true
    elseif op == "~=" then ne[#ne + 1] = v
    elseif op == ">" or op == ">=" then
      if v > lo or (v == lo and op == ">") then lo, lo_in = v, op == ">=" end
    elseif op == "<" or op == "<=" then
      if v < hi or (v == hi and op == "<") then hi, hi_in = v, op == "<=" end
    end
  end
  if lo > hi or (lo == hi and not (lo_in and hi_in)) then return false end
  if has_eq then
    for _, v in ipairs(ne) do if v == eq then return false end end
    if type(eq) == "number" then
      if eq < lo or eq > hi or (eq == lo and not lo_in) or (eq == hi and not hi_in) then return false end
    elseif lo ~= -huge or hi ~= huge then return false end
  end
  return true
end

--- For a policy gated by several segments: the field on which they contradict each other.
local function never_matching(p)
  if #p.segments < 2 then return nil end
  local by_field, order = {}, {}
  for _, name in ipairs(p.segments) do
    local seg = DECL.segment[name]
    local reqs = seg and seg.when and simple_requirements(seg.when)
    for _, r in ipairs(reqs or {}) do
      if not by_field[r[1]] then by_field[r[1]] = {}; order[#order + 1] = r[1] end
      local f = by_field[r[1]]
      f[#f + 1] = { r[1], r[2], r[3], name }
    end
  end
  for _, field in ipairs(order) do
    if not satisfiable(by_field[field]) then
      local parts = {}
      for _, r in ipairs(by_field[field]) do parts[#parts + 1] = sformat("'%s' needs %s %s %s", r[4], field, r[2], tostring(r[3])) end
      return concat(parts, ", ")
    end
  end
  return nil
end

--- Resolves references, seals the environment and reports { problems, warnings }.
function api.finish()
  local action_names, segment_names = DECL.action, DECL.segment
  for _, p in ipairs(POLICIES) do
    for _, s in ipairs(p.segments) do
      if not segment_names[s] then problem(p.file, p.line, sformat("policy '%s': unknown segment '%s'%s", p.name, s, suggest(s, segment_names))) end
    end
    if type(p.action) == "string" and not action_names[p.action] then
      problem(p.file, p.line, sformat("policy '%s': unknown action '%s'%s", p.name, p.action, suggest(p.action, action_names)))
    end
  end
  local function check_names(t, label, names, file, line, known)
    if t == nil then return end
    if type(t) ~= "table" then return end
    for k, v in pairs(t) do
      local name = type(k) == "string" and k or v
      if type(name) == "string" and not known[name] then
        problem(file, line, sformat("%s: unknown %s '%s'%s", label, names, name, suggest(name, known)))
      end
    end
  end
  for _, t in ipairs(TESTS) do
    local e = t.expect
    if type(e) == "table" then
      local label = sformat("test '%s'", t.name)
      check_names(e.actions, label, "action", t.file, t.line, action_names)
      check_names(e.includes, label, "action", t.file, t.line, action_names)
      check_names(e.excludes, label, "action", t.file, t.line, action_names)
      check_names(e.suppressed, label, "action", t.file, t.line, action_names)
      check_names(e.segments, label, "segment", t.file, t.line, segment_names)
    end
  end
  -- Warnings: declared but never used.
  local used_segments, proposed = {}, {}
  for _, p in ipairs(POLICIES) do
    for _, s in ipairs(p.segments) do used_segments[s] = true end
    if p.action then proposed[p.action] = true end
  end
  for _, s in ipairs(SEGMENTS) do
    if not used_segments[s.name] then
      warning(s.file, s.line, sformat("segment '%s' gates no policy (it still appears in plans; policies may read ctx.segments)", s.name))
    end
  end
  for _, p in ipairs(POLICIES) do
    local why = never_matching(p)
    if why then
      warning(p.file, p.line, sformat("policy '%s' can never run: its segments cannot all match (%s)", p.name, why))
    end
  end
  for _, a in ipairs(ACTIONS) do
    if not proposed[a.name] and not mentioned_elsewhere(a.name) then
      warning(a.file, a.line, sformat("action '%s' is not proposed by any policy", a.name))
    end
  end
  sort(POLICIES, function(a, b) return a.name < b.name end)
  for i, p in ipairs(POLICIES) do
    local first = p.segments[1]
    if first then
      GATED[first] = GATED[first] or {}
      local g = GATED[first]
      g[#g + 1] = i
    else
      UNGATED[#UNGATED + 1] = i
    end
  end
  local seen, sources = {}, {}
  for src in pairs(POLICY_SOURCES) do if SOURCES[ssub(src, 2)] then sources[src] = true end end  -- not test files
  for _, v in next, USER do freeze(v, seen, sources, problem) end
  for _, list_ in ipairs({ SEGMENTS, ACTIONS, POLICIES }) do
    for _, rec in ipairs(list_) do
      for _, k in ipairs({ "when", "eligible", "propose", "priority", "reason", "params" }) do freeze(rec[k], seen, sources, problem) end
    end
  end
  sort_problems(PROBLEMS)
  sort_problems(WARNINGS)
  sealed = true
  return { problems = PROBLEMS, warnings = WARNINGS }
end

--- Sets the evaluation time (ISO-8601); returns nil, or a message when it cannot be read.
function api.set_now(iso)
  local t = parse_time(iso)
  if not t then return sformat("cannot read the time %q: use an ISO-8601 date (2026-11-01) or date-time (2026-11-01T09:30:00Z)", iso) end
  return api.set_now_epoch(t)
end

--- Sets the evaluation time to a number of seconds since the epoch (the host's clock).
function api.set_now_epoch(secs)
  local t = tonumber(secs)
  NOW_EPOCH, NOW_ISO, TODAY = t, format_time(t), format_day(t)
  CTXDATA.now, CTXDATA.today = NOW_ISO, TODAY
  return nil
end

---------------------------------------------------------------------------------------------
-- The decision for one customer (§5).
---------------------------------------------------------------------------------------------

local STATS

-- Scratch for the fast path's batched checks, and the segment conditions in declaration order.
local SEG_WHENS, HITS = {}, {}
local BEST, CANDS = {}, {}  -- per customer: the best candidate per action, and the candidates
local LAST_SEGLIST = {}  -- the names set in SEGSET (ctx.segments) by the last decide

--- A table that computes each missing entry with `make(key)` once and keeps it.
local function memo(make)
  return setmetatable({}, { __index = function(t, k) local v = make(k); t[k] = v; return v end })
end
-- Suppression reasons, made once per channel or limit rather than once per customer.
local NO_CONSENT = memo(function(channel) return "no consent for " .. channel end)
local CHANNEL_FULL = memo(function(channel)
  return sformat("channel %s is full (at most %d per plan)", channel, CONTACT.max_per_channel)
end)
local NOT_IN_SEGMENT = memo(function(name) return "not in segment " .. name end)
local PLAN_FULL = memo(function(n) return sformat("plan is full (at most %d actions)", n) end)

--- The policies to consider for a customer in `seglist` (the set `segs`): those without
--- segments and those whose first segment is in the list, in name order (`order`, indices
--- into POLICIES), with each one's condition for the fast path's batch (`whens`: the `when`
--- function; true without one; false when another of its segments is missing, so it is not
--- run). Customers share few segment combinations, so this is kept per combination.
local POLICIES_FOR, POLICIES_FOR_SIZE = {}, 0
local function policies_for(seglist, segs)
  local n = #seglist
  local key = n == 0 and "" or n == 1 and seglist[1] or concat(seglist, "\0")
  local hit = POLICIES_FOR[key]
  if hit then return hit end
  local order = UNGATED
  for j = 1, #seglist do
    local g = GATED[seglist[j]]
    if g then
      if order == UNGATED then order = { table.unpack(UNGATED) } end
      for k = 1, #g do order[#order + 1] = g[k] end
    end
  end
  if order ~= UNGATED then sort(order) end
  local whens = {}
  for k = 1, #order do
    local p = POLICIES[order[k]]
    local w = p.when or true
    for j = 2, #p.segments do
      if not segs[p.segments[j]] then w = false; break end
    end
    whens[k] = w
  end
  if POLICIES_FOR_SIZE >= 1024 then POLICIES_FOR, POLICIES_FOR_SIZE = {}, 0 end  -- bounded
  POLICIES_FOR_SIZE = POLICIES_FOR_SIZE + 1
  hit = { order = order, whens = whens }
  POLICIES_FOR[key] = hit
  return hit
end

--- Clears the run counters (plans, actions, segment sizes, suppressions, errors).
function api.reset_counters()
  STATS = { plans = 0, with_errors = 0, actions = {}, departments = {}, segments = {}, suppressed = {},
            errors = {}, distinct_errors = 0 }
end
api.reset_counters()
local EMPTY = {}

local PROFILE_MT = {
  __index = function(_, k) MISSING = k end,
  __newindex = function(_, k) error(sformat("the customer profile is read-only: cannot set '%s'", tostring(k)), 2) end,
  __metatable = "the customer profile is read-only",
}

-- Policies see the profile through one read-only view per state, pointed at each customer's
-- data in turn: writing to it is an error, even for fields that exist.
local PROFILE_VIEW_MT = {
  __index = {},
  __newindex = PROFILE_MT.__newindex,
  __len = natives.view_len,
  __pairs = function(t) return next, unview(t), nil end,
  __metatable = PROFILE_MT.__metatable,
  __nbview = true,
}
local PROFILE_VIEW = setmetatable({}, PROFILE_VIEW_MT)
local PROFILE_NESTED_MT = copy(PROFILE_VIEW_MT, { __index = true })  -- the template for nested views
local VIEW_POOL = {}  -- nested views, reused from one customer to the next (see protect_profile)
natives.use_views(PROFILE_NESTED_MT, VIEW_POOL)  -- profiles parsed for decide arrive with their views

--- Days since the last contact with `action` in the contact history (nil when never), and
--- the errors list with any unreadable entry for that action added.
local function days_since_contact(history, action, errors)
  local last = nil
  for i = 1, #history do
    local h = history[i]
    if type(h) == "table" and h.action == action then
      local d = h.days_ago
      if d == nil and h.at ~= nil then
        local t = parse_time(h.at)
        if t then d = (NOW_EPOCH - t) / 86400 end
      end
      if type(d) == "number" then
        if last == nil or d < last then last = d end
      else
        errors = errors or list()
        errors[#errors + 1] = { field = CONTACT.history, message = sformat("contact %d (%s) has neither a readable 'at' date nor 'days_ago': it is ignored", i, action) }
      end
    end
  end
  return last, errors
end

local function bad_proposal(p, why)
  return { message = sformat("policy '%s' returned a proposal that %s", p.name, why), file = p.file, line = p.line }
end

--- Checks one proposal from policy p; returns a candidate, or nil and an error.
--- `name`, `pr`, `reason`, `params`, `dept`, `channel` are the proposal's fields (nil when absent).
local function candidate(p, name, pr, reason, params, dept, channel)
  local spec = DECL.action[name]
  if not spec then
    if name == nil then return nil, bad_proposal(p, "has no 'action'") end
    return nil, bad_proposal(p, sformat("names an unknown action %s%s", type_name(name), type(name) == "string" and suggest(name, DECL.action) or ""))
  end
  if type(pr) ~= "number" or pr ~= pr or pr == huge or pr == -huge then
    return nil, bad_proposal(p, sformat("for '%s' has priority %s (a finite number is needed)", name, type_name(pr)))
  end
  if reason == nil then reason = p.default_reason
  elseif type(reason) ~= "string" then return nil, bad_proposal(p, sformat("for '%s' has a reason that is %s, not text", name, type_name(reason))) end
  if params == nil then params = EMPTY
  elseif type(params) ~= "table" then return nil, bad_proposal(p, sformat("for '%s' has params that are %s, not a table", name, type_name(params)))
  elseif raw_metatable(unview(params)) ~= nil and params ~= EMPTY then
    return nil, bad_proposal(p, sformat("for '%s' has params with a metatable (use a plain table)", name))
  end
  if dept == nil then dept = spec.department
  elseif type(dept) ~= "string" or not smatch(dept, "^[%w_%-]+$") then
    return nil, bad_proposal(p, sformat("for '%s' has an unusable department %s (letters, digits, '_' and '-')", name, type_name(dept)))
  end
  if channel == nil then channel = spec.channel
  elseif type(channel) ~= "string" then return nil, bad_proposal(p, sformat("for '%s' has a channel that is %s, not text", name, type_name(channel))) end
  return { action = name, priority = pr, reason = reason, params = params, policy = p.name,
           department = dept, channel = channel, spec = spec }
end

--- Runs policy p for customer c; returns one candidate or a list of them, or nil and an error.
local function run_policy(p, c, ctx, call)
  if p.propose then
    local ok, r = call(p.propose, c, ctx)
    if not ok then return nil, r end
    if r == nil then return EMPTY end
    if type(r) ~= "table" then return nil, bad_proposal(p, sformat("is %s (return a table, a list of tables, or nil)", type_name(r))) end
    r = unview(r)  -- read raw: a metatable on the result must not run outside the policy's budget
    if raw_metatable(r) ~= nil then return nil, bad_proposal(p, "is a table with a metatable (return plain tables)") end
    if rawget(r, "action") ~= nil then  -- one proposal
      return candidate(p, rawget(r, "action"), rawget(r, "priority"), rawget(r, "reason"), rawget(r, "params"),
                       rawget(r, "department"), rawget(r, "channel"))
    end
    local out = {}
    for i = 1, rawlen(r) do
      local q = rawget(r, i)
      if type(q) ~= "table" then return nil, bad_proposal(p, sformat("is %s, not a table", type_name(q))) end
      q = unview(q)
      if raw_metatable(q) ~= nil then return nil, bad_proposal(p, "is a table with a metatable (return plain tables)") end
      local cand, err = candidate(p, rawget(q, "action"), rawget(q, "priority"), rawget(q, "reason"), rawget(q, "params"),
                                 rawget(q, "department"), rawget(q, "channel"))
      if not cand then return nil, err end
      out[i] = cand
    end
    return out
  end
  local priority, reason, params = p.priority, p.reason, p.params
  local computed = p.computed  -- whether any of the three is a function (found on first use)
  if computed == nil then
    computed = type(priority) == "function" or type(reason) == "function" or type(params) == "function"
    p.computed = computed
  end
  if not computed then return candidate(p, p.action, priority, reason, params) end
  if type(priority) == "function" then
    local ok, r = call(priority, c, ctx)
    if not ok then return nil, r end
    priority = r
  end
  if type(reason) == "function" then
    local ok, r = call(reason, c, ctx)
    if not ok then return nil, r end
    reason = r
  end
  if type(params) == "function" then
    local ok, r = call(params, c, ctx)
    if not ok then return nil, r end
    params = r
  end
  return candidate(p, p.action, priority, reason, params)  -- one candidate (it has .action)
end

--- Keeps a candidate unless the same action already has one with at least its priority
--- (on a tie, the one from the policy first in name order stays).
--- With `trace` (explain), the proposal that loses is recorded in trace.dropped.
local function keep_best(best, cands, cand, trace)
  local prev = best[cand.action]
  if prev == nil then cands[#cands + 1] = cand; best[cand.action] = cand
  elseif cand.priority > prev.priority then
    for m = 1, #cands do if cands[m] == prev then cands[m] = cand end end
    best[cand.action] = cand
    if trace then trace.dropped[#trace.dropped + 1] = { action = prev.action, policy = prev.policy, priority = prev.priority, kept = cand.policy } end
  elseif trace then
    trace.dropped[#trace.dropped + 1] = { action = cand.action, policy = cand.policy, priority = cand.priority, kept = prev.policy }
  end
end

--- Orders candidates by priority (highest first), ties by action name. Insertion sort:
--- plans hold a handful of candidates, and this avoids a comparator call per comparison.
local function order_candidates(cands)
  for i = 2, #cands do
    local x = cands[i]
    local xp, xa = x.priority, x.action
    local j = i - 1
    while j >= 1 do
      local y = cands[j]
      local yp = y.priority
      if yp > xp or (yp == xp and y.action < xa) then break end
      cands[j + 1] = y
      j = j - 1
    end
    cands[j + 1] = x
  end
end

--- Decides one customer. Returns plan, has_errors; or nil, message, customer for a bad record.
--- With `trace`, every step is also recorded there (for explain). Unless `careful`, policy
--- functions run unprotected (fast): any error then unwinds the whole call, and the host
--- decides the customer again with careful = true, where each error stays in its policy.
local function decide(c, trace, careful)
  local call = careful and call or call_direct
  if type(c) ~= "table" then return nil, sformat("the record is %s, not a JSON object", type_name(c)) end
  local id = rawget(c, "id")
  if type(id) ~= "string" and math_type(id) ~= "integer" then
    if id == nil then return nil, 'the profile has no "id"' end
    return nil, sformat('"id" must be a string or a whole number, not %s', type_name(id))
  end
  if id == "" then return nil, '"id" is empty', id end
  force_metatable(c, PROFILE_MT)  -- also on a second, careful pass
  protect_profile(c, PROFILE_NESTED_MT, VIEW_POOL)
  PROFILE_VIEW_MT.__index = c
  local data, c = c, PROFILE_VIEW  -- policies get the view; the driver reads `data`
  local errors = nil

  -- 1. Segments: every segment's `when` runs once (in one batch on the fast path).
  if #SEG_WHENS ~= #SEGMENTS then for i = 1, #SEGMENTS do SEG_WHENS[i] = SEGMENTS[i].when end end
  local segs, seglist = SEGSET, careful and {} or EMPTY
  for i = 1, #LAST_SEGLIST do segs[LAST_SEGLIST[i]] = nil end  -- only what the last customer set
  LAST_SEGLIST = seglist
  local ctx = CTX
  if not careful then  -- fast path: one batch, then only the matching segments
    local n = direct_select(SEG_WHENS, c, ctx, HITS)
    if n > 0 then seglist = {}; LAST_SEGLIST = seglist end
    for j = 1, n do
      local name = SEGMENTS[HITS[j]].name
      segs[name] = true
      seglist[#seglist + 1] = name
    end
  else  -- careful path (and explain): each `when` in its own protected call
    for i = 1, #SEGMENTS do
      local s = SEGMENTS[i]
      local ok, r = call(s.when, c, ctx)
      if not ok then
        errors = errors or list()
        errors[#errors + 1] = failure("segment", s, r)
      elseif r then
        segs[s.name] = true
        seglist[#seglist + 1] = s.name
      end
      if trace then trace.segments[#trace.segments + 1] = { segment = s.name, matched = ok and not not r, error = not ok and errors[#errors].message or nil } end
    end
  end

  -- 2. Proposals: gated policies, in name order; the same action keeps its best proposal.
  local plan_for = policies_for(seglist, segs)
  local order = plan_for.order
  local best, cands = BEST, CANDS  -- scratch: emptied here, read until the plan is made
  for i = #cands, 1, -1 do best[cands[i].action] = nil; cands[i] = nil end
  if not careful then  -- fast path: one batch of conditions, then only the policies that pass
    for j = 1, direct_select(plan_for.whens, c, ctx, HITS) do
      local p = POLICIES[order[HITS[j]]]
      local props, err = run_policy(p, c, ctx, call)
      if err then
        errors = errors or list()
        errors[#errors + 1] = failure("policy", p, err)
      elseif props then
        if props.action then keep_best(best, cands, props)
        else for i = 1, #props do keep_best(best, cands, props[i]) end end
      end
    end
  else  -- careful path (and explain): each check in its own protected call, skips recorded
    if trace then
      local ran = {}
      for k = 1, #order do ran[order[k]] = true end
      for i = 1, #POLICIES do
        if not ran[i] then trace.policies[#trace.policies + 1] = { policy = POLICIES[i].name, ran = false, why = "not in segment " .. POLICIES[i].segments[1], at = POLICIES[i].where } end
      end
    end
    for k = 1, #order do
      local p = POLICIES[order[k]]
      local gated, skip = p.segments, nil
      for j = 2, #gated do
        if not segs[gated[j]] then skip = NOT_IN_SEGMENT[gated[j]]; break end
      end
      local ok, r = true, nil
      if not skip and p.when then
        ok, r = call(p.when, c, ctx)
        if ok and not r then skip = "when returned false" end
      end
      local props, err
      if not ok then err = r
      elseif not skip then props, err = run_policy(p, c, ctx, call) end
      if err then
        errors = errors or list()
        errors[#errors + 1] = failure("policy", p, err)
      elseif props then
        if props.action then keep_best(best, cands, props, trace)
        else for i = 1, #props do keep_best(best, cands, props[i], trace) end end
      end
      if trace then
        if props and props.action then props = { props } end
        local proposed = list()
        for i = 1, props and #props or 0 do proposed[i] = { action = props[i].action, priority = props[i].priority, reason = props[i].reason } end
        trace.policies[#trace.policies + 1] = { policy = p.name, ran = skip == nil, why = skip, proposed = proposed,
                                                error = err and errors[#errors].message or nil, at = p.where }
      end
    end
  end

  -- 3 and 4. Eligibility, then arbitration, walking the candidates by priority.
  order_candidates(cands)
  local actions, suppressed = EMPTY, EMPTY  -- made on first use: most customers need neither
  local consent = #cands > 0 and CONTACT.respect_consent and rawget(data, "consent")
  if consent and type(consent) ~= "table" then consent = nil end
  local history = rawget(data, CONTACT.history)
  if history ~= nil and type(history) ~= "table" then
    errors = errors or list()
    errors[#errors + 1] = { field = CONTACT.history, message = sformat("the contact history '%s' should be a list, not %s", CONTACT.history, type_name(history)) }
    history = nil
  end
  local groups, per_channel = nil, nil
  local max_actions, max_per_channel = CONTACT.max_actions, CONTACT.max_per_channel
  for i = 1, #cands do
    local p = cands[i]
    local a = p.spec
    local why
    -- 3. Eligibility
    if consent and consent[p.channel] == false then
      why = NO_CONSENT[p.channel]
    elseif a.cooldown_days and history then
      local d
      d, errors = days_since_contact(history, p.action, errors)
      if d and d < a.cooldown_days then
        why = d >= 0 and sformat("cooldown: last contact %s days ago, cooldown is %s days", sformat("%.4g", d), tostring(a.cooldown_days))
              or sformat("cooldown: a contact is dated %s days after now, cooldown is %s days", sformat("%.4g", -d), tostring(a.cooldown_days))
      end
    end
    if not why and a.eligible then
      local ok, r = call(a.eligible, c, ctx)
      if not ok then
        errors = errors or list()
        errors[#errors + 1] = failure("action", a, r)
        why = "its eligible check failed (see errors)"
      elseif not r then
        why = "not eligible (the action's eligible check said no)"
      end
    end
    -- 4. Arbitration
    if not why then
      local g = a.group
      if g and groups and groups[g] then
        why = sformat("group '%s' already has %s", g, groups[g])
      elseif (per_channel and per_channel[p.channel] or 0) >= max_per_channel then
        why = CHANNEL_FULL[p.channel]
      elseif #actions >= max_actions then
        why = PLAN_FULL[max_actions]
      else
        if g then groups = groups or {}; groups[g] = p.action end
        per_channel = per_channel or {}
        per_channel[p.channel] = (per_channel[p.channel] or 0) + 1
        if actions == EMPTY then actions = {} end
        actions[#actions + 1] = p  -- the candidate carries every field a plan action needs
      end
    end
    if why then
      if suppressed == EMPTY then suppressed = {} end
      suppressed[#suppressed + 1] = { action = p.action, policy = p.policy, reason = why }
    end
  end

  -- 5. Plan
  STATS.plans = STATS.plans + 1
  if errors then
    STATS.with_errors = STATS.with_errors + 1
    local counted = STATS.errors
    for i = 1, #errors do
      local e = errors[i]
      local key = error_text(e)
      if counted[key] == nil and STATS.distinct_errors >= 200 then key = "(other errors)" end
      if counted[key] == nil then STATS.distinct_errors = STATS.distinct_errors + 1 end
      counted[key] = (counted[key] or 0) + 1
    end
  end
  local by_action, by_dept = STATS.actions, STATS.departments
  for i = 1, #actions do
    local a = actions[i]
    by_action[a.action] = (by_action[a.action] or 0) + 1
    by_dept[a.department] = (by_dept[a.department] or 0) + 1
  end
  local sizes = STATS.segments
  for i = 1, #seglist do sizes[seglist[i]] = (sizes[seglist[i]] or 0) + 1 end
  local sup = STATS.suppressed
  for i = 1, #suppressed do local a = suppressed[i].action; sup[a] = (sup[a] or 0) + 1 end
  return { customer = id, segments = seglist, actions = actions, suppressed = suppressed, errors = errors or EMPTY }, errors ~= nil
end

api.decide = decide   -- the host calls decide(c, nil, false), then decide(c, nil, true) on failure

--- A plan as the host and tests see it: plain lists, actions without their internal fields.
local PLAN_ACTION_FIELDS = { "action", "department", "channel", "priority", "reason", "params", "policy" }
--- Params may hold views of the profile, and views are reused for the next customer: a plan
--- kept beyond its customer (a test's, explain's) gets plain copies of the data.
local function plain(v, depth)
  if type(v) ~= "table" or depth > 64 then return v end
  local out = {}
  for k, x in pairs(unview(v)) do out[k] = plain(x, depth + 1) end
  return setmetatable(out, raw_metatable(unview(v)) == LIST and LIST or nil)
end

local function clean_plan(plan)
  local out = { customer = plan.customer }
  for _, k in ipairs({ "segments", "suppressed", "errors" }) do out[k] = list(copy(plan[k])) end
  out.actions = list()
  for i, a in ipairs(plan.actions) do
    local x = {}
    for _, f in ipairs(PLAN_ACTION_FIELDS) do x[f] = a[f] end
    x.params = plain(x.params, 0)
    out.actions[i] = x
  end
  return out
end

--- One customer, step by step: { plan, trace } for explain.
function api.explain(profile_json)
  local c = json_decode(profile_json)
  local trace = { segments = list(), policies = list(), dropped = list() }
  local plan, has_errors, customer = decide(c, trace, true)
  if not plan then return { error = has_errors, customer = customer } end
  trace.now = NOW_ISO
  return { plan = clean_plan(plan), trace = trace }
end

--- The counters kept since the state opened: plans, actions per action and department, segment sizes.
function api.counters() return STATS end

---------------------------------------------------------------------------------------------
-- Describing the loaded set (for check, explain and the host's PolicySet description).
---------------------------------------------------------------------------------------------

function api.describe()
  local out = { segments = list(), actions = list(), policies = list(), tests = #TESTS,
                contact_policy = CONTACT }
  for _, s in ipairs(SEGMENTS) do out.segments[#out.segments + 1] = { name = s.name, at = s.where, description = s.description } end
  for _, a in ipairs(ACTIONS) do
    out.actions[#out.actions + 1] = { name = a.name, at = a.where, department = a.department, channel = a.channel,
                                      cooldown_days = a.cooldown_days, group = a.group, description = a.description }
  end
  for _, p in ipairs(POLICIES) do
    out.policies[#out.policies + 1] = { name = p.name, at = p.where, segments = p.segments,
                                        action = p.action, form = p.propose and "full" or "short", description = p.description }
  end
  return out
end

---------------------------------------------------------------------------------------------
-- Tests for a policy set (§7): each test's customer goes through decide; the plan is compared
-- with `expect` and handed to `check`.
---------------------------------------------------------------------------------------------

--- `absent` in with(...)'s changes removes a field from the copy.
local ABSENT = setmetatable({}, { __tostring = function() return "absent" end, __metatable = false })
SAFE.absent = ABSENT

local function is_list(t)
  local n = #t
  for k in pairs(t) do
    if math_type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

local function deep_copy(v, depth)
  if type(v) ~= "table" then return v end
  depth = depth or 0
  if depth > 32 then error("with: the table is nested too deeply (or refers to itself)", 3) end
  local out = {}
  for k, x in pairs(v) do out[k] = deep_copy(x, depth + 1) end
  return out
end

--- with(base, changes): a copy of `base` with `changes` applied, for building test customers.
--- Nested tables (like consent) merge, lists replace, and `absent` removes a field.
function SAFE.with(base, changes)
  if type(base) ~= "table" then error(sformat("with expects a table to start from, got %s", type_name(base)), 2) end
  if changes ~= nil and type(changes) ~= "table" then error(sformat("with expects a table of changes, got %s", type_name(changes)), 2) end
  local out = deep_copy(base)
  local function apply(into, ch)
    for k, v in pairs(ch) do
      if v == ABSENT then into[k] = nil
      elseif type(v) == "table" and type(into[k]) == "table" and not is_list(v) and not is_list(into[k]) then
        apply(into[k], v)
      elseif type(v) == "table" then
        into[k] = {}
        apply(into[k], v)  -- so that `absent` inside a new table leaves the field out
      else
        into[k] = v
      end
    end
  end
  if changes then apply(out, changes) end
  return out
end

local function as_set(xs)
  local set = {}
  for i = 1, #xs do set[xs[i]] = true end
  return set
end

local function sorted_list(xs)
  local out = list(copy(xs))
  sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

--- The parts of a plan a test compares: action names in order, segments, suppressed
--- action -> reason, departments, and errors as text.
local function test_view(plan)
  local v = { actions = list(), segments = list(copy(plan.segments)), suppressed = {}, departments = list(), errors = list() }
  local depts = {}
  for i, a in ipairs(plan.actions) do
    v.actions[i] = a.action
    if not depts[a.department] then depts[a.department] = true; v.departments[#v.departments + 1] = a.department end
  end
  for _, x in ipairs(plan.suppressed) do v.suppressed[x.action] = x.reason end
  for i, e in ipairs(plan.errors) do v.errors[i] = error_text(e) end
  return v
end

--- Compares a plan's view with `expect`; returns the failures (field, expected, actual, message).
local function compare(expect, v)
  local failures = list()
  local function fail(field, expected, actual, message)
    failures[#failures + 1] = { field = field, expected = expected, actual = actual, message = message }
  end
  if expect.actions and not same_list(expect.actions, v.actions) then
    fail("actions", list(copy(expect.actions)), v.actions, "the actions differ (exact list, in order)")
  end
  if expect.includes then
    local have, missing = as_set(v.actions), list()
    for _, a in ipairs(expect.includes) do if not have[a] then missing[#missing + 1] = a end end
    if #missing > 0 then fail("includes", list(copy(expect.includes)), v.actions, "missing: " .. concat(missing, ", ")) end
  end
  if expect.excludes then
    local have, present = as_set(v.actions), list()
    for _, a in ipairs(expect.excludes) do if have[a] then present[#present + 1] = a end end
    if #present > 0 then fail("excludes", list(copy(expect.excludes)), v.actions, "present but excluded: " .. concat(present, ", ")) end
  end
  if expect.segments and not same_list(sorted_list(expect.segments), sorted_list(v.segments)) then
    fail("segments", sorted_list(expect.segments), sorted_list(v.segments), "the segments differ")
  end
  if expect.departments and not same_list(sorted_list(expect.departments), sorted_list(v.departments)) then
    fail("departments", sorted_list(expect.departments), sorted_list(v.departments), "the departments differ")
  end
  if expect.suppressed then
    local wanted, names = {}, {}  -- { action = "reason text" }, or a list of actions (any reason)
    for k, x in pairs(expect.suppressed) do
      if type(k) == "string" then wanted[k] = x else wanted[tostring(x)] = true end
    end
    for a in pairs(wanted) do names[#names + 1] = a end
    sort(names)
    for _, a in ipairs(names) do
      local want, got = wanted[a], v.suppressed[a]
      local ok = got ~= nil and (want == true or (type(want) == "string" and sfind(got, want, 1, true) ~= nil))
      if not ok then
        fail("suppressed." .. a, want, got or "(not suppressed)",
             got and sformat("'%s' was suppressed for another reason", a) or sformat("'%s' was not suppressed", a))
      end
    end
  end
  if expect.errors then
    local unmatched = list()
    for _, want in ipairs(expect.errors) do
      local found = false
      for _, e in ipairs(v.errors) do if sfind(e, tostring(want), 1, true) then found = true; break end end
      if not found then unmatched[#unmatched + 1] = want end
    end
    if #unmatched > 0 or #expect.errors ~= #v.errors then
      fail("errors", list(copy(expect.errors)), v.errors, "the policy errors differ")
    end
  elseif #v.errors > 0 then
    fail("errors", list(), v.errors, "a policy failed for this customer (add expect.errors if that is intended)")
  end
  return failures
end

--- Runs one test; returns { name, at, now, passed, failures, plan }.
local function run_test(t)
  local r = { name = t.name, at = t.where, failures = list() }
  if t.now then api.set_now(t.now) end
  r.now = NOW_ISO
  local plan, why = decide(deep_copy(t.customer), nil, true)
  if not plan then
    r.failures[1] = { field = "customer", message = "the test's customer is not a valid profile: " .. why }
  else
    local view = clean_plan(plan)
    r.plan = view
    if type(t.expect) == "table" then r.failures = compare(t.expect, test_view(view)) end
    if t.check then
      local ok, e = call(t.check, deep_copy(view))
      if not ok then
        r.failures[#r.failures + 1] = { field = "check", message = type(e) == "table" and e.message or message_of(e),
                                        at = type(e) == "table" and e.file and (e.file .. ":" .. e.line) or nil }
      elseif e == false then
        r.failures[#r.failures + 1] = { field = "check", message = "check returned false" }
      end
    end
  end
  r.passed = #r.failures == 0
  return r
end

--- Runs the tests whose name or file:line contains `filter` ("" = all), in load order.
function api.run_tests(filter)
  local saved = NOW_EPOCH
  local results = list()
  for _, t in ipairs(TESTS) do
    if filter == "" or sfind(t.name, filter, 1, true) or sfind(t.where, filter, 1, true) then
      results[#results + 1] = run_test(t)
      api.set_now_epoch(saved)
    end
  end
  return results
end

return api
