-- Bounds on library functions whose C loops the count hook cannot interrupt (patterns, table.move), and the safe xpcall/setmetatable.
local natives, _M = ...
local type, error, rawget, setmetatable, pcall = type, error, rawget, setmetatable, pcall
local huge = math.huge
local sformat, sfind, sbyte = string.format, string.find, string.byte

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
    return
  end
  if steps > PATTERN_STEPS then
    error(sformat("%s: searching %d bytes for %d bytes could run too long; use a shorter text", fname, n, m), 3)
  end
end

local real_find, real_match, real_gmatch, real_gsub, real_move = string.find, string.match, string.gmatch, string.gsub, table.move

--- The unbounded originals, for the engine's own trusted patterns (lint reads policy files).
bounds.original = { find = real_find, match = real_match, gmatch = real_gmatch, gsub = real_gsub }

--- Replaces the string library's pattern functions by bounded ones (once per state, after
--- every module has taken the originals it uses, before the sandbox copies the library).
function bounds.install()
  string.find = function(s, p, init, plain) check_pattern("string.find", s, p, init, plain); return real_find(s, p, init, plain) end
  string.match = function(s, p, init) check_pattern("string.match", s, p, init); return real_match(s, p, init) end
  string.gmatch = function(s, p, init) check_pattern("string.gmatch", s, p, init, nil, true); return real_gmatch(s, p, init) end
  string.gsub = function(s, p, r, n) check_pattern("string.gsub", s, p, nil, nil, true); return real_gsub(s, p, r, n) end
end

--- table.move, bounded: a move of many elements is one long C loop.
function bounds.move(a1, f, e, t, a2)
  if type(f) == "number" and type(e) == "number" and (e * 1.0) - (f * 1.0) >= 1e7 then
    error("table.move: too many elements to move (at most 10,000,000)", 2)
  end
  return real_move(a1, f, e, t, a2)
end

--- setmetatable without __gc (a finalizer would run outside any budget).
function bounds.setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in policies", 2)
  end
  return setmetatable(t, mt)
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
