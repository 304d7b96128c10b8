-- Steps 3 and 4 of a decision (policy-language.md §5): eligibility (consent, cooldowns, caps and outcome rules, campaign dates, eligible checks, capacity), then arbitration (groups, the per-channel and per-plan limits), over one customer's candidates.
local natives, M = ...
local type, rawget, tostring, next = type, rawget, tostring, next
type = natives.type  -- type() with its answers kept, not interned again each call (state.c)
local sformat = string.format
local V, errors = M.values, M.errors
local memo, EMPTY, type_name = V.memo, V.EMPTY, V.type_name
local failure, add_error = errors.failure, errors.add
local unview = M.sandbox.unview
local parse_time = M.time.parse
local consent_nulls = natives.consent_nulls  -- consent_nulls() -> the consent entries given as JSON null, or nil
local levers = M.levers

local arbitration = {}
local JSON_NULL = {}  -- a consent entry written as JSON null (the reader drops other nulls)

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

--- Days since the last contact with `action` in the contact history (nil when never), and
--- the errors list with any unreadable entry for that action added.
local function days_since_contact(history, field, now, action, errs)
  local last = nil
  for i = 1, #history do
    local h = history[i]
    if type(h) == "table" and h.action == action then
      local d = h.days_ago
      if d == nil and h.at ~= nil then
        local t = parse_time(h.at)
        if t then d = (now - t) / 86400 end
      end
      if type(d) ~= "number" then d = 0 end  -- undated: made today (the cautious reading; undated() reports it)
      if last == nil or d < last then last = d end
    end
  end
  return last, errs
end

--- The plan errors for contacts in the history with neither a readable `at` nor `days_ago`
--- (§3): each counts as a contact made today.
local function undated(history, field, errs)
  for i = 1, #history do
    local h = history[i]
    if type(h) == "table" then
      local at, ago = h.at, h.days_ago
      if not (type(ago) == "number" or (at ~= nil and parse_time(at))) then
        errs = add_error(errs, { field = field, message = sformat(
          "contact %d (%s) has no readable date ('at' or 'days_ago'): it counts as made today; add its date", i,
          type(h.action) == "string" and h.action or "no action") })
      end
    end
  end
  return errs
end

--- The arbitration of one pipeline over the finished `set` at the time of `clock`: the host's
--- contacts and their rules (`history`, contacts.new), the schema's held values (`held`, or
--- nil), capacity (`cap`, levers.capacity, or nil) and policies' `ctx`. Returns { choose,
--- block }: `block` is the capacity block of the customer being decided (set by the pipeline).
function arbitration.new(set, clock, history, held, cap, ctx)
  local CONTACT, HISTORY, HELD, CAP, CTX = set.contact, history, held, cap, ctx
  local HISTORY_RULES = HISTORY.rules  -- whether any declaration has a cap or an outcome rule
  local A = { block = nil }

  -- Suppression reasons, made once per channel or limit rather than once per customer.
  local NO_CONSENT = memo(function(channel) return "no consent for " .. channel end)
  local NO_CONSENT_RECORDED = memo(function(channel) return "no consent recorded for " .. channel end)
  -- Per channel: the consent key, or false when it needs no consent (§2.1, §3.2).
  local CONSENT_KEY = memo(function(channel)
    local decl = set.decl.channel[channel]
    if decl then return decl.requires_consent and decl.consent end
    return channel
  end)
  local OPT_OUT = CONTACT.consent == "opt_out"
  local CHANNEL_FULL = memo(function(channel)
    return sformat("channel %s is full (at most %d per plan)", channel, CONTACT.max_per_channel)
  end)
  local PLAN_FULL = memo(function(n) return sformat("plan is full (at most %d actions)", n) end)

  -- Steps 3 and 4 in C (choose.c) when no action has a group, campaign dates or an eligible
  -- check and nothing has a cap or an outcome rule: the same choice from the same memo tables,
  -- or nothing, and the Lua choose below decides (it fills the memos as it goes).
  local PLAIN_CHOOSE = nil
  if not HISTORY_RULES and type(CONTACT.max_actions) == "number" and type(CONTACT.max_per_channel) == "number" then
    local plain = true
    for _, a in next, set.decl.action do
      if a.group ~= nil or a.dates ~= nil or a.eligible ~= nil then plain = false end
    end
    if plain then
      PLAIN_CHOOSE = natives.chooser(EMPTY, CONSENT_KEY, NO_CONSENT, NO_CONSENT_RECORDED, CHANNEL_FULL, PLAN_FULL,
                                     HELD or false, OPT_OUT, not not CONTACT.respect_consent, CONTACT.max_actions, CONTACT.max_per_channel,
                                     CONTACT.history)
    end
  end

  --- 3 and 4. Eligibility, then arbitration, walking the candidates `cands` (of profile `data`,
  --- seen by policies as `c`; eligible checks run through `call`) by priority: the actions of
  --- the plan and the suppressed candidates with their reasons, and `errs` with any added.
  function A.choose(data, c, cands, errs, call)
    order_candidates(cands)
    if PLAIN_CHOOSE and not A.block then
      local actions, suppressed = PLAIN_CHOOSE(cands, data)  -- reads data's consent and CONTACT.history raw
      if actions then return actions, suppressed, errs end
    end
    local actions, suppressed = EMPTY, EMPTY  -- made on first use: most customers need neither
    local check_consent = #cands > 0 and CONTACT.respect_consent
    local consent = check_consent and rawget(data, "consent")
    if consent ~= nil and consent ~= false and type(consent) ~= "table" then
      errs = add_error(errs, { field = "consent", message = sformat("'consent' should be a table of channel = true/false, not %s: no consent is read from it", type_name(consent)) })
      consent = nil
    elseif consent then
      consent = unview(consent)  -- read raw below: a schema's reading rules are for policies
    end
    local history = rawget(data, CONTACT.history)
    if history ~= nil and type(history) ~= "table" then
      errs = add_error(errs, { field = CONTACT.history, message = sformat("the contact history '%s' should be a list, not %s", CONTACT.history, type_name(history)) })
      history = nil
    elseif history then
      errs = undated(history, CONTACT.history, errs)
    end
    local groups, per_channel, reported = nil, nil, nil
    local max_actions, max_per_channel = CONTACT.max_actions, CONTACT.max_per_channel
    for i = 1, #cands do
      local p = cands[i]
      local a = p.spec
      local why
      -- 3. Eligibility
      local key = check_consent and CONSENT_KEY[p.channel]
      local given = key and consent and rawget(consent, key)
      if key and given ~= true then
        local held = false
        if given == nil and HELD then given = HELD["consent." .. key]; held = given ~= nil end  -- the schema took it out (and named it)
        local null = given == nil and consent and consent_nulls()
        if null and null[key] then given = JSON_NULL end  -- written as null: named, never "missing" (§3.2)
        if given == false then why = NO_CONSENT[p.channel]
        elseif given == nil then
          if not OPT_OUT then why = NO_CONSENT_RECORDED[p.channel] end
        else
          local shown = given == JSON_NULL and "null" or type_name(given)
          why = sformat("consent for %s is %s, not true or false", p.channel, shown)
          if not held and not (reported and reported[key]) then  -- one error per consent entry
            reported = reported or {}
            reported[key] = true
            errs = add_error(errs, { field = "consent." .. key, message = sformat(
              "consent for %s is %s, not true or false: no action used it (write true or false)", p.channel, shown) })
          end
        end
      end
      if why then  -- no consent
      elseif a.cooldown_days and history then
        local d
        d, errs = days_since_contact(history, CONTACT.history, clock.epoch, p.action, errs)
        if d and d < a.cooldown_days then
          why = d >= 0 and sformat("cooldown: last contact %s days ago, cooldown is %s days", sformat("%.4g", d), tostring(a.cooldown_days))
                or sformat("cooldown: a contact is dated %s days after now, cooldown is %s days", sformat("%.4g", -d), tostring(a.cooldown_days))
        end
      end
      if not why and HISTORY_RULES then why = HISTORY.check(p, history, actions) end  -- §8.2 caps, §8.3 outcome rules
      if not why and a.dates then why = levers.outside_dates(a, clock.epoch) end  -- campaign dates (§8.6)
      if not why and a.eligible then
        local ok, r = call(a.eligible_call, c, CTX)
        if not ok then
          errs = add_error(errs, failure("action", a, r))
          why = "its eligible check failed (see errors)"
        elseif r ~= true then
          local because = r and r[1]
          if type(because) == "number" then because = tostring(because) end
          why = type(because) == "string" and "not eligible: " .. because or "not eligible (the action's eligible check said no)"
        end
      end
      if not why and A.block then why = CAP.why(A.block, p) end  -- lost to capacity (§8.4)
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
    return actions, suppressed, errs
  end

  return A
end

return arbitration
