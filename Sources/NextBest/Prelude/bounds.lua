-- Bounds on library functions whose C loops the count hook cannot interrupt (patterns, table.move, string.rep, ...): refused or charged to the call's budget; and the safe xpcall/setmetatable.
local natives, _M = ...
local type, error, rawget, setmetatable, pcall, select = type, error, rawget, setmetatable, pcall, select
local charge = natives.charge  -- charge(units): work done in C, 100 units an instruction
local huge, log = math.huge, math.log
local sformat, sfind, sbyte = string.format, string.find, string.byte
local ipairs, rawlen = ipairs, rawlen

local bounds = {}

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
    charge(steps)  -- the bound of one call; calls in a loop add up
    return
  end
  if steps > PATTERN_STEPS then
    error(sformat("%s: searching %d bytes for %d bytes could run too long; use a shorter text", fname, n, m), 3)
  end
  charge(steps)
end

local real_find, real_match, real_gmatch, real_gsub, real_move = string.find, string.match, string.gmatch, string.gsub, table.move
local real_rep = string.rep

--- The length of a string argument (numbers become strings in the string library), else 0.
local function len(x)
  local t = type(x)
  if t == "string" then return #x elseif t == "number" then return 24 end
  return 0
end

--- How many elements i..j of something of length n are: a C loop's length.
local function span(i, j, n)
  i = type(i) == "number" and i or 1
  j = type(j) == "number" and j or n
  if i < 0 then i = n + i + 1 end
  if j < 0 then j = n + j + 1 end
  if j < i then return 0 end
  return j - i + 1
end

--- What one element a C loop reads or writes (moves, shifts, compares, pushes) is charged:
--- about what an instruction costs.
local ELEMENT = 100

--- How many elements of list t an insert or remove at `pos` shifts.
local function shifted(t, pos)
  local n = rawlen(t)
  if type(pos) ~= "number" or pos ~= pos then return n end
  local k = n - pos + 1
  return k > 0 and k or 0
end

--- fn, charged after the call by the length of its first result (work proportional to what it
--- made: bounded per call by the memory limit, bounded in a loop by the budget).
local function by_result(fn)
  return function(...)
    local r = fn(...)
    charge(len(r) + 1)
    return r
  end
end

--- fn, charged before the call by the length of its first argument.
local function by_input(fn)
  return function(s, ...)
    charge(len(s) + 1)
    return fn(s, ...)
  end
end

--- The unbounded originals, for the engine's own trusted patterns (lint reads policy files).
bounds.original = { find = real_find, match = real_match, gmatch = real_gmatch, gsub = real_gsub }

--- Replaces the string library's pattern functions by bounded ones (once per state, after
--- every module has taken the originals it uses, before the sandbox copies the library).
function bounds.install()
  string.find = function(s, p, init, plain) check_pattern("string.find", s, p, init, plain); return real_find(s, p, init, plain) end
  string.match = function(s, p, init) check_pattern("string.match", s, p, init); return real_match(s, p, init) end
  string.gmatch = function(s, p, init) check_pattern("string.gmatch", s, p, init, nil, true); return real_gmatch(s, p, init) end
  string.gsub = function(s, p, r, n) check_pattern("string.gsub", s, p, nil, nil, true); return real_gsub(s, p, r, n) end
  string.rep = bounds.rep
  for _, name in ipairs({ "upper", "lower", "reverse", "sub", "format", "pack" }) do string[name] = by_result(string[name]) end
  local real_byte, real_char, real_unpack = string.byte, string.char, string.unpack
  string.byte = function(s, i, j) charge(ELEMENT * span(i or 1, j or i or 1, len(s))); return real_byte(s, i, j) end
  string.char = function(...) charge(ELEMENT * select("#", ...)); return real_char(...) end
  string.unpack = function(f, s, ...) charge(len(f) + len(s)); return real_unpack(f, s, ...) end
  table.concat = by_result(table.concat)
  local real_insert, real_remove, real_sort, real_unpack_t = table.insert, table.remove, table.sort, table.unpack
  -- insert/remove at a position shift the elements after it: up to the whole list
  -- at a position, insert and remove shift the elements after it (appending is one step)
  table.insert = function(t, ...)
    if select("#", ...) >= 2 and type(t) == "table" then charge(ELEMENT * shifted(t, (...))) end
    return real_insert(t, ...)
  end
  table.remove = function(t, ...)
    if select("#", ...) >= 1 and type(t) == "table" then charge(ELEMENT * shifted(t, (...))) end
    return real_remove(t, ...)
  end
  table.sort = function(t, cmp)
    if type(t) == "table" then local n = rawlen(t); charge(ELEMENT * n * (n > 1 and log(n, 2) or 1)) end
    return real_sort(t, cmp)
  end
  table.unpack = function(t, i, j)
    charge(ELEMENT * span(i, j, type(t) == "table" and rawlen(t) or 0))
    return real_unpack_t(t, i, j)
  end
  table.move = bounds.move
  utf8.len = by_input(utf8.len)
  local real_codepoint, real_uchar = utf8.codepoint, utf8.char
  utf8.codepoint = function(s, i, j) charge(ELEMENT * span(i or 1, j or i or 1, len(s))); return real_codepoint(s, i, j) end
  utf8.char = function(...) charge(ELEMENT * select("#", ...)); return real_uchar(...) end
end

--- string.rep, charged by the length of what it makes and by its count: a huge count of an
--- empty string is a loop in C that makes nothing (and would never end).
function bounds.rep(s, n, sep)
  if type(n) == "number" and n > 0 and len(s) + len(sep) == 0 then
    charge(n)  -- nothing to allocate: the loop itself is the cost
    return real_rep(s, n, sep)
  end
  local r = real_rep(s, n, sep)
  charge(#r + 1)
  return r
end

--- table.move, bounded: a move of many elements is one long C loop; moves in a loop are
--- charged to the budget, element by element.
function bounds.move(a1, f, e, t, a2)
  if type(f) == "number" and type(e) == "number" then
    local count = (e * 1.0) - (f * 1.0)
    if count >= 1e7 then error("table.move: too many elements to move (at most 10,000,000)", 2) end
    if count >= 0 then charge(ELEMENT * (count + 1)) end
  end
  return real_move(a1, f, e, t, a2)
end

--- The longest chain of __index tables a policy may build: Lua follows one in C, up to 2,000
--- steps for every lookup, where the count hook cannot see it.
bounds.MAX_INDEX_CHAIN = 100

local force_metatable, raw_metatable = natives.debug.setmetatable, natives.debug.getmetatable
local next = next
local GIVEN = setmetatable({}, { __mode = "k" })  -- the metatables this function gave: mt's copies
local ABOVE = setmetatable({}, { __mode = "k" })  -- t -> the longest chain of __index tables leading to t

--- How many __index tables follow `x` (x included), read raw; stops past the bound.
local function chain_below(x)
  local n = 0
  while type(x) == "table" and n <= bounds.MAX_INDEX_CHAIN do
    n = n + 1
    local m = raw_metatable(x)
    x = m and rawget(m, "__index")
  end
  return n
end

--- setmetatable without __gc (a finalizer would run outside any budget) and with bounded
--- __index chains. Lua gets a copy of mt that the policy cannot reach (getmetatable(t) still
--- gives mt), so that neither can be changed afterwards: adding __gc or a longer chain to mt
--- later changes nothing.
function bounds.setmetatable(t, mt)
  if type(t) ~= "table" or (mt ~= nil and type(mt) ~= "table") then return setmetatable(t, mt) end  -- Lua's own messages
  if mt ~= nil and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in policies", 2)
  end  -- (a frozen metatable's __gc is behind its view: the copy below leaves it out)
  local old = raw_metatable(t)
  if old and GIVEN[old] ~= true and rawget(old, "__metatable") ~= nil then  -- protected by its owner
    error("cannot change a protected metatable", 2)
  end
  if mt == nil then force_metatable(t, nil); return t end
  -- A metatable made while the set loaded is read-only now: its fields are behind its view.
  local src, view_mt = mt, raw_metatable(mt)
  if view_mt and rawget(view_mt, "__nbview") == true and type(rawget(view_mt, "__index")) == "table" then
    src = rawget(view_mt, "__index")
  end
  local given = {}
  for k, v in next, src do if k ~= "__gc" then given[k] = v end end
  local unprotected = rawget(src, "__metatable") == nil
  if unprotected then given.__metatable = mt end
  local idx = rawget(given, "__index")
  if type(idx) == "table" then
    local above = (ABOVE[t] or 0) + 1
    if above + chain_below(idx) > bounds.MAX_INDEX_CHAIN then
      error(sformat("setmetatable: this chain of __index tables is too long (at most %d)", bounds.MAX_INDEX_CHAIN), 2)
    end
    local x = idx
    while type(x) == "table" do  -- every table below t is now that much further down
      if (ABOVE[x] or 0) < above then ABOVE[x] = above end
      above = above + 1
      local m = raw_metatable(x)
      x = m and rawget(m, "__index")
    end
  end
  GIVEN[given] = unprotected  -- true: the policy may set another metatable on t later
  force_metatable(t, given)
  return t
end

--- xpcall whose message handler runs after the error, like any other code. (Lua runs a
--- message handler inside the count hook when the hook raised, where hooks are off: an
--- endless handler would never be stopped.)
function bounds.xpcall(f, msgh, ...)
  local function finish(ok, ...)
    if ok then return true, ... end
    local _, r = pcall(msgh, (...))
    return false, r
  end
  return finish(pcall(f, ...))
end

return bounds
