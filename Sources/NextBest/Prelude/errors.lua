-- Errors inside policies: the one home of their messages, the message handler that places them (policy, file:line), and protected calls.
local natives, M = ...
local type, tostring, rawget = type, tostring, rawget
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local sformat, ssub, smatch, sfind, sgsub = string.format, string.sub, string.match, string.find, string.gsub
--- What an address in a message becomes, by the kind of value it was.
local ADDRESSED = { ["function"] = "a function", table = "a table", userdata = "a userdata", thread = "a thread" }
local getinfo = natives.debug.getinfo
local guarded = natives.guarded  -- guarded(handler, fn, c, ctx): xpcall with a fresh instruction budget
local type_name = M.values.type_name
local OUT_OF_MEMORY = natives.out_of_memory  -- what a protected call returns when it ran out of memory

local errors = {}

--- What a policy reads when it runs out of memory.
errors.MEMORY_MESSAGE = natives.memory_limit > 0
  and sformat("memory limit exceeded: a Lua state may hold at most %s MiB (a table or text that grows without end?)",
              sformat("%.4g", natives.memory_limit / 1048576))
  or "not enough memory"

--- A message as plain, bounded text: long texts cut, and addresses ("function: 0x55d2...",
--- which change from run to run) replaced by what they were ("a function").
local function bounded_text(e)
  if #e > 2000 then e = ssub(e, 1, 2000) .. sformat("... (%d more bytes)", #e - 2000) end
  if sfind(e, ": 0x", 1, true) then
    e = sgsub(sgsub(e, "(%a+): builtin: 0x%x+", "%1: 0x0"), "(%a+): 0x%x+", ADDRESSED)
  end
  return e
end

--- An error value as text (long texts cut, tables' `message`, other values named).
function errors.message_of(e)
  if e == OUT_OF_MEMORY then return "not enough memory" end
  if type(e) == "string" then return bounded_text(e) end
  if type(e) == "table" then
    local m = rawget(e, "message")
    if type(m) == "string" then return bounded_text(m) end
    return "error() was called with a table instead of a message"
  end
  return sformat("error() was called with %s instead of a message", type_name(e))
end
local message_of = errors.message_of

--- A plan error as one line: `policy 'x' (file:line): message` (summary counters, tests).
function errors.text(e)
  local who = e.policy and sformat("policy '%s'", e.policy) or e.segment and sformat("segment '%s'", e.segment)
              or e.action and sformat("action '%s'", e.action) or sformat("field '%s'", tostring(e.field))
  return e.at and sformat("%s (%s): %s", who, e.at, e.message) or sformat("%s: %s", who, e.message)
end

local sources = {}  -- policy file texts by path (errors.read_sources), to read the lines errors are at
local source_lines = {}  -- path -> its lines, split when an error first needs one

--- Gives the policy files' texts (`set.sources`, by path): errors are then told by the lines they are at.
function errors.read_sources(texts)
  sources, source_lines = texts or {}, {}
end

--- The lines of policy file `file`, split when first needed; nil when its text is unknown.
local function lines_of(file)
  local lines = source_lines[file]
  if lines == nil then
    local src = sources[file]
    if not src then return nil end
    lines = {}
    for l in M.bounds.original.gmatch(src .. "\n", "([^\n]*)\n") do lines[#lines + 1] = l end
    source_lines[file] = lines
  end
  return lines
end

--- `s` as a pattern that matches `s` itself.
local function literal(s) return (sgsub(s, "%p", "%%%0")) end

--- Whether `text` holds `s` in double or single quotes.
local function quotes(text, s)
  return sfind(text, '"' .. s .. '"', 1, true) ~= nil or sfind(text, "'" .. s .. "'", 1, true) ~= nil
end

--- Whether line `line` of policy file `file` reads the field `name` (as `.name`, `["name"]` or `'name'`).
local function line_reads(file, line, name)
  local lines = lines_of(file)
  local text = lines and lines[line]
  if not text or type(name) ~= "string" then return false end
  return sfind(text, "%." .. literal(name) .. "%f[^%w_]") ~= nil or quotes(text, name)
end

--- The error reporter of one state. `policy_sources` lists the chunk names of policy and test
--- files ("@path" = true): the handler places an error at the innermost line in one of them.
--- `reporter.missing` is the last profile field read that was not there (set by the profile's view):
--- when the line the error is at reads that field, the message says the field is missing. What
--- is compared is the policy's line, never the error's text, whose wording belongs to Lua.
function errors.new(policy_sources)
  local r = { missing = nil }

  --- Message handler for policy calls: { message, file, line }.
  function r.handler(e)
    local msg = message_of(e)
    local file, line
    for level = 2, 60 do
      local info = getinfo(level, "Sl")
      if not info then break end
      if policy_sources[info.source] and info.currentline > 0 then
        file, line = ssub(info.source, 2), info.currentline
        break
      end
    end
    -- "policies/x.lua:12: attempt to ..." -> "attempt to ..."
    local stripped = smatch(msg, "^[^\n]-%.lua:%d+: (.*)$") or smatch(msg, "^%.%.%.[^\n]-:%d+: (.*)$")
    if stripped then msg = stripped end
    local missing = r.missing
    if missing and file and line_reads(file, line, missing) then
      msg = sformat("%s (field '%s' is missing)", msg, tostring(missing))
    end
    return { message = msg, file = file, line = line }
  end
  local handler = r.handler

  --- Calls a policy function with a fresh instruction budget, catching its errors: ok, result.
  function r.call(fn, c, ctx)
    r.missing = nil
    return guarded(handler, fn, c, ctx)
  end

  return r
end

--- An entry for plan.errors: { policy|segment|action = name, at = "file:line", message },
--- from what a protected call of `decl`'s code returned.
function errors.failure(kind, decl, r)
  local e = { at = decl.where }
  e[kind] = decl.name
  if type(r) == "table" then
    e.message = r.message
    if r.file then e.at = r.file .. ":" .. r.line end
  elseif r == OUT_OF_MEMORY then  -- memory errors skip the handler
    e.message = errors.MEMORY_MESSAGE
  else
    e.message = message_of(r)
  end
  return e
end

--- The line of policy p's `propose` that made a proposal (§6.1): for a text `value`, the line that
--- holds it in quotes; else the line that writes `key =`; p's own line when neither is found.
--- At most 64 lines are kept per policy, so names a policy makes up per customer cannot pile up.
local function proposal_line(p, key, value)
  if not p.propose or type(key) ~= "string" then return p.line end
  local cache = p.proposal_lines
  if not cache then cache = { n = 0 }; p.proposal_lines = cache end
  local ck = type(value) == "string" and key .. "=" .. value or key
  if cache[ck] then return cache[ck] end
  local info = getinfo(p.propose, "S")
  local lines = lines_of(ssub(info.source, 2))
  local found, by_key = nil, nil
  if lines then
    local written = literal(key) .. "%s*="
    for n = info.linedefined, info.lastlinedefined do
      local l = lines[n]
      if not l then break end
      if type(value) == "string" and quotes(l, value) then found = n; break end
      if not by_key and sfind(l, written) then
        by_key = n
        if type(value) ~= "string" then break end
      end
    end
  end
  found = found or by_key or p.line
  if cache.n < 64 then cache.n = cache.n + 1; cache[ck] = found end
  return found
end

--- A proposal a policy returned that cannot be used: placed at the line of its `propose` that
--- wrote `key` (or the text `value`) when there is one, else at the policy.
function errors.bad_proposal(p, why, key, value)
  return { message = sformat("policy '%s' returned a proposal that %s", p.name, why), file = p.file,
           line = key and proposal_line(p, key, value) or p.line }
end

--- Appends error `e` to a plan's list of errors `errs` (made on first use, nil before); returns the list.
function errors.add(errs, e)
  errs = errs or M.values.list()
  errs[#errs + 1] = e
  return errs
end

return errors
