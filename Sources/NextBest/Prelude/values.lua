-- Small value utilities every other prelude module uses: JSON lists, copies, memo tables, names of values.
local _natives, _M = ...
local setmetatable, pairs, type, tostring = setmetatable, pairs, type, tostring
local sformat, ssub, sbyte = string.format, string.sub, string.byte

local values = {}

--- Tables marked as lists encode as JSON arrays even when empty.
values.LIST = { __jsontype = "array" }
local LIST = values.LIST
function values.list(t) return setmetatable(t or {}, LIST) end

--- One shared empty table (never written to): the default for plans' empty parts.
values.EMPTY = {}

--- A shallow copy of `t`, leaving out the keys set in `without`.
function values.copy(t, without)
  local out = {}
  for k, v in pairs(t) do if not (without and without[k]) then out[k] = v end end
  return out
end

--- A table that computes each missing entry with `make(key)` once and keeps it.
function values.memo(make)
  return setmetatable({}, { __index = function(t, k) local v = make(k); t[k] = v; return v end })
end

--- A value as a policy author reads it in a message: "the text \"x\"", "a table", ...
function values.type_name(v)
  if v == nil then return "nothing (nil)" end
  local t = type(v)
  if t == "table" then return "a table" end
  if t == "string" then return sformat("the text %q", #v > 40 and ssub(v, 1, 40) .. "..." or v) end
  return sformat("%s %s", t == "number" and "the number" or "a " .. t, tostring(v))
end

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

--- " (did you mean 'x'?)" when a key of `known` is close to `name`.
function values.suggest(name, known)
  local best, bestd = nil, 3
  for k in pairs(known) do
    local d = distance(name, k)
    if d < bestd or (d == bestd and best and k < best) then best, bestd = k, d end
  end
  return best and sformat(" (did you mean '%s'?)", best) or ""
end

return values
