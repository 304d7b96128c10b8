-- The helpers every policy may call (policy-language.md §4): pure and deterministic, reading only the clock.
local natives, M = ...
local type, tostring, error = type, tostring, error
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local sformat, sbyte = string.format, string.byte
local parse_time, type_name = M.time.parse, M.values.type_name

local helpers = {}

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

local function want_number(fname, what, x)
  if type(x) ~= "number" then error(sformat("%s expects a number for %s, got %s", fname, what, type_name(x)), 3) end
end

--- bucket(id, salt): a stable number in [0, 1) for A/B splits and holdouts (§8.5): the 32-bit
--- FNV-1a hash of the bytes of the id's text, a zero byte and the salt, divided by 2^32.
--- The same on every platform; a client can compute it in any language.
function helpers.bucket(id, salt)
  local s = tostring(id) .. "\0" .. tostring(salt or "")
  local hash = 2166136261
  for i = 1, #s do
    hash = ((hash ~ sbyte(s, i)) * 16777619) & 0xffffffff
  end
  return hash / 4294967296.0
end

--- The helpers as policies see them, reading the time from `clock` (see time.new_clock).
function helpers.new(clock)
  local h = {}

  --- days_since(date): days from `date` (ISO-8601) to ctx.now; fractional when times differ.
  function h.days_since(date)
    local t = parse_time(date)
    if not t then error(sformat("days_since expects an ISO-8601 date like \"2026-10-30\", got %s", type_name(date)), 2) end
    return (clock.epoch - t) / 86400
  end

  --- any(list, fn): true when fn(item) is true for at least one item (false for an empty list).
  function h.any(xs, fn)
    if type(xs) ~= "table" then xs = want_list("any", xs) end
    if type(fn) ~= "function" then fn = want_fn("any", fn) end
    for i = 1, #xs do if fn(xs[i]) then return true end end
    return false
  end

  --- all(list, fn): true when fn(item) is true for every item (true for an empty list).
  function h.all(xs, fn)
    if type(xs) ~= "table" then xs = want_list("all", xs) end
    if type(fn) ~= "function" then fn = want_fn("all", fn) end
    for i = 1, #xs do if not fn(xs[i]) then return false end end
    return true
  end

  --- count(list [, fn]): how many items (for which fn(item) is true).
  function h.count(xs, fn)
    xs = want_list("count", xs); fn = want_fn("count", fn, true)
    if not fn then return #xs end
    local n = 0
    for i = 1, #xs do if fn(xs[i]) then n = n + 1 end end
    return n
  end

  --- sum(list [, fn]): the sum of the items (or of fn(item)).
  function h.sum(xs, fn)
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

  --- clamp(x, lo, hi): x limited to [lo, hi].
  function h.clamp(x, lo, hi)
    want_number("clamp", "x", x); want_number("clamp", "lo", lo); want_number("clamp", "hi", hi)
    if x < lo then return lo elseif x > hi then return hi end
    return x
  end

  --- between(x, lo, hi): lo <= x <= hi (false when x is missing).
  function h.between(x, lo, hi)
    if x == nil then return false end
    want_number("between", "x", x); want_number("between", "lo", lo); want_number("between", "hi", hi)
    return x >= lo and x <= hi
  end

  --- one_of(x, {...}): x equals one of the listed values.
  function h.one_of(x, options)
    if type(options) ~= "table" then error(sformat("one_of expects a list of values, got %s", type_name(options)), 2) end
    for i = 1, #options do if options[i] == x then return true end end
    return false
  end

  h.bucket = helpers.bucket

  return h
end

return helpers
