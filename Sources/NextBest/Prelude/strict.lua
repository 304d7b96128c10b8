-- Strict names (policy-language.md §6.1): undefined globals are errors with "did you mean", and functions that must answer have a 'return'.
local natives, M = ...
local type, pairs, next, error, tostring, pcall, rawget, setmetatable = type, pairs, next, error, tostring, pcall, rawget, setmetatable
local sformat, smatch, sbyte, sgsub = string.format, string.match, string.byte, string.gsub
local sgmatch = M.bounds.original.gmatch
local dump = string.dump  -- taken before the sandbox removes it
local suggest = M.values.suggest

local strict = {}

local HEADER_SIZE = 4 + 1 + 1 + 6 + 3 + 8 + 8  -- signature, version, format, LUAC_DATA, sizes, check int and float
local OP_TAILCALL, OP_RETURN, OP_RETURN1 = 69, 70, 72

--- Whether function `fn` itself (not the functions inside it) has a `return` with a value
--- (`return x`, `return f(x)`, `return a, b`): read from its Lua 5.4 bytecode. Unknown: true.
local function returns_value(fn)
  local ok, bc = pcall(dump, fn, true)
  if not ok then return true end
  local pos = HEADER_SIZE + 2  -- and the main function's upvalue count
  local function size()
    local x = 0
    repeat local b = sbyte(bc, pos); pos = pos + 1; x = x * 128 + (b & 0x7f) until b >= 0x80
    return x
  end
  local n = size(); if n > 0 then pos = pos + n - 1 end  -- source (stripped)
  size(); size()                                          -- linedefined, lastlinedefined
  pos = pos + 3                                           -- numparams, is_vararg, maxstacksize
  for _ = 1, size() do
    local b1, _, b3 = sbyte(bc, pos, pos + 2)
    pos = pos + 4
    local op = b1 & 0x7f
    if op == OP_RETURN1 or op == OP_TAILCALL or (op == OP_RETURN and b3 ~= 1) then return true end
  end
  return false
end
strict.returns_value = returns_value

-- The scan must not be silently blind (a Lua with another format fails here, not in policies).
do
  local function yes(c) if c then return 1 end end
  local function no(c) if c then local _ = 1 end end
  local function tail(c) return tostring(c) end
  if _VERSION ~= "Lua 5.4" or not returns_value(yes) or returns_value(no) or not returns_value(tail) then
    error("the 'return' check was written for Lua 5.4's bytecode: refusing to run policies on " .. _VERSION)
  end
end

--- The file (last path part) among `sources` (path -> text) that defines global `name` at the
--- start of a line (`function name(` or `name =`), or nil.
local function definer(sources, name)
  local n = sgsub(name, "%p", "%%%0")
  for path, src in pairs(sources) do
    for line in sgmatch("\n" .. src, "\n([^\n]*)") do
      if smatch(line, "^function%s+" .. n .. "%s*%(") or smatch(line, "^" .. n .. "%s*=[^=]") then return path end
    end
  end
  return nil
end

local function tail(path) return smatch(path, "([^/]+)$") or path end

--- Makes reading an undefined global an error, while the set loads and while it decides:
--- `global 'x' is not defined (did you mean 'y'?)`.
local LEFT_OUT = { io = true, os = true, debug = true, package = true, require = true, load = true, loadstring = true,
                   loadfile = true, dofile = true, collectgarbage = true }

function strict.install(sb)
  local SAFE, USER = sb.SAFE, sb.USER
  setmetatable(SAFE, { __index = function(_, k)
    if LEFT_OUT[k] then error(sformat("global '%s' is not available to policies (the sandbox leaves it out)", k), 2) end
    local known = {}
    for name in next, SAFE do known[name] = true end
    for name in next, USER do known[name] = true end
    local what = type(k) == "string" and sformat("'%s'", k) or tostring(k)
    error(sformat("global %s is not defined%s", what, type(k) == "string" and suggest(k, known) or ""), 2)
  end })
end

--- After every file has loaded: a problem "'x' is not defined" whose name a later file
--- defines says so (`'is_milano' is not defined yet: helpers.lua defines it but loads after catalog.lua`).
function strict.explain_order(set, sb)
  for _, p in pairs(set.problems) do
    local name = smatch(p.message, "^global '([%a_][%w_]*)' is not defined")
    if name and rawget(sb.USER, name) ~= nil then
      local by = definer(set.sources, name)
      p.message = sformat("'%s' is not defined yet: %s defines it but loads after %s (files load in sorted order: rename one, or move the definition)",
                          name, by and tail(by) or "a later file", tail(p.file))
    end
  end
end

local MUST_RETURN = { when = true, eligible = true, propose = true, value = true, propensity = true, priority = true }

--- Load problems for functions that must answer but have no `return` of a value anywhere.
function strict.check_returns(set, problem)
  local getinfo = natives.debug.getinfo
  for _, group in pairs({ { "segment", set.segments }, { "action", set.actions }, { "policy", set.policies } }) do
    for _, rec in pairs(group[2]) do
      for k in pairs(MUST_RETURN) do
        local fn = rec.spec_functions and rec.spec_functions[k]
        if type(fn) == "function" and not (k == "priority" and rec.propose) and not returns_value(fn) then
          local info = getinfo(fn, "S")
          problem(set, rec.file, info.linedefined > 0 and info.linedefined or rec.line, sformat(
            "%s '%s': its '%s' function has no 'return' (it would always say no): write 'return' before the answer", group[1], rec.name, k))
        end
      end
    end
  end
end

return strict
