-- Apply one customer's batch of events atomically and return what re-rating needs.
--
-- KEYS (one customer, one hash tag): 1 aggregates hash, 2 counterparties hash,
--   3 dedup zset (tx_id -> ts_ms), 4 recent-trail list, 5 rating-state hash.
-- ARGV: 1 retain_days (longest window), 2 trail horizon ms, 3 trail max entries,
--   4 dormancy ms, 5 the items, one per line, fields separated by tabs:
--   T tx_id ts_ms dir fen flags fine day hour cp ccy amount
--                                                   a transaction (flags: c cash, x cross-border,
--                                                   h high-risk country, r round amount)
--   P updated_ms                                    a profile update (its content stays in Python)
--   Q                                               a read-only snapshot (re-rating on demand)
--
-- Aggregates hash fields: wm/wf/wd = watermark ts_ms, fine bucket, business day; seq = applied
-- count; as = start of the current activity after a dormancy; pu/pcu = updated_ms of the latest
-- applied / committed profile; cwm/cseq = watermark and seq at the last commit; f:<fine> and
-- d:<day> = buckets "count,in,out,cash_in,cash_out,xb_in,xb_out,hr"; p:<id> = pending snapshot
-- (applied, outputs not yet committed). A redelivered item returns its pending snapshot
-- ("pend") so the worker derives the same events again, or "done" once committed: an item is
-- never applied twice.

local K_AGG, K_CP, K_DEDUP, K_TRAIL, K_RISK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local RETAIN_DAYS = tonumber(ARGV[1])
local TRAIL_MS = tonumber(ARGV[2])
local TRAIL_MAX = tonumber(ARGV[3])
local DORMANT_MS = tonumber(ARGV[4])
local FINE_PER_HOUR, FINE_PER_DAY = 12, 288
local HOUR_MS, DAY_MS = 3600000, 86400000
local NM = 8 -- metrics per bucket

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end

local function parse_bucket(v)
  local b = split(v, ',')
  for i = 1, NM do b[i] = tonumber(b[i]) or 0 end
  return b
end

local function new_bucket() return {0, 0, 0, 0, 0, 0, 0, 0} end
local function fmt(n) return string.format('%.0f', n) end

local function bucket_str(b)
  local parts = {}
  for i = 1, NM do parts[i] = fmt(b[i]) end
  return table.concat(parts, ',')
end

-- load state
local fine, day, pending = {}, {}, {}
local wm, wf, wd, seq, cwm, cseq, as, pu, pcu
local raw = redis.call('HGETALL', K_AGG)
for i = 1, #raw, 2 do
  local k, v = raw[i], raw[i + 1]
  local kind = string.sub(k, 1, 2)
  if kind == 'f:' then fine[tonumber(string.sub(k, 3))] = parse_bucket(v)
  elseif kind == 'd:' then day[tonumber(string.sub(k, 3))] = parse_bucket(v)
  elseif kind == 'p:' then pending[string.sub(k, 3)] = v
  elseif k == 'wm' then wm = tonumber(v)
  elseif k == 'wf' then wf = tonumber(v)
  elseif k == 'wd' then wd = tonumber(v)
  elseif k == 'seq' then seq = tonumber(v)
  elseif k == 'cwm' then cwm = tonumber(v)
  elseif k == 'cseq' then cseq = tonumber(v)
  elseif k == 'as' then as = tonumber(v)
  elseif k == 'pu' then pu = tonumber(v)
  elseif k == 'pcu' then pcu = tonumber(v)
  end
end
seq = seq or 0
cseq = cseq or 0

local cps = {}
raw = redis.call('HGETALL', K_CP)
for i = 1, #raw, 2 do cps[raw[i]] = tonumber(raw[i + 1]) end

-- a snapshot: seq, asof, 5 windows x (8 metrics + cp_in + cp_out), the item's day bucket,
-- active days in 90, previous watermark, start of activity after dormancy
local CP_WINDOW_MS = {HOUR_MS, DAY_MS, 7 * DAY_MS, 30 * DAY_MS, RETAIN_DAYS * DAY_MS}
local DAY_SPANS = {7, 30, RETAIN_DAYS}
local NW = NM + 2

local function snapshot(item_day, prev_wm)
  local w = {}
  for i = 1, 5 do
    w[i] = {}
    for m = 1, NW do w[i][m] = 0 end
  end
  if wm then
    for idx, b in pairs(fine) do
      if idx > wf - FINE_PER_DAY then
        for m = 1, NM do w[2][m] = w[2][m] + b[m] end
        if idx > wf - FINE_PER_HOUR then
          for m = 1, NM do w[1][m] = w[1][m] + b[m] end
        end
      end
    end
  end
  local active = 0
  if wd then
    for d, b in pairs(day) do
      for s = 1, 3 do
        if d > wd - DAY_SPANS[s] then
          local t = w[s + 2]
          for m = 1, NM do t[m] = t[m] + b[m] end
        end
      end
      if d > wd - RETAIN_DAYS and b[1] > 0 then active = active + 1 end
    end
    for k, last in pairs(cps) do
      local slot = (string.sub(k, 1, 1) == 'i') and (NM + 1) or (NM + 2)
      for i = 1, 5 do
        if last > wm - CP_WINDOW_MS[i] then w[i][slot] = w[i][slot] + 1 end
      end
    end
  end
  local out = {fmt(seq), fmt(wm or 0)}
  for i = 1, 5 do
    for m = 1, NW do out[#out + 1] = fmt(w[i][m]) end
  end
  local tb = (item_day and day[item_day]) or new_bucket()
  for m = 1, NM do out[#out + 1] = fmt(tb[m]) end
  out[#out + 1] = fmt(active)
  out[#out + 1] = fmt(prev_wm or 0)
  out[#out + 1] = fmt(as or 0)
  return table.concat(out, ',')
end

local results = {}
local agg_writes = {}
local cp_writes = {}
local dirty_fine, dirty_day = {}, {}
local trail_new = {}
local changed = false

local function remember(id, snap)
  pending[id] = snap
  agg_writes[#agg_writes + 1] = 'p:' .. id
  agg_writes[#agg_writes + 1] = snap
end

local seen = {} -- tx_ids already met in this call: a second copy in the same batch is a plain duplicate
for _, line in ipairs(split(ARGV[5], '\n')) do
  local f = split(line, '\t')
  local kind = f[1]
  if kind == 'T' then
    local tx_id, ts, dir, fen, flags = f[2], tonumber(f[3]), f[4], tonumber(f[5]), f[6]
    local fidx, didx, hour, cp, ccy, amount = tonumber(f[7]), tonumber(f[8]), f[9], f[10], f[11], f[12]
    if seen[tx_id] then
      results[#results + 1] = 'done'
    elseif redis.call('ZSCORE', K_DEDUP, tx_id) then
      seen[tx_id] = true
      if pending[tx_id] then results[#results + 1] = 'pend|' .. pending[tx_id]
      else results[#results + 1] = 'done' end
    elseif wd and didx <= wd - RETAIN_DAYS then
      results[#results + 1] = 'late'
    else
      seen[tx_id] = true
      changed = true
      redis.call('ZADD', K_DEDUP, ts, tx_id)
      seq = seq + 1
      local prev = wm
      if not wm or ts > wm then
        if wm and ts - wm >= DORMANT_MS then as = ts end
        wm, wf, wd = ts, fidx, didx
      end
      local cash = string.find(flags, 'c', 1, true) ~= nil
      local xb = string.find(flags, 'x', 1, true) ~= nil
      local hr = string.find(flags, 'h', 1, true) ~= nil
      local o = (dir == 'in') and 0 or 1
      local function add(b)
        b[1] = b[1] + 1
        b[2 + o] = b[2 + o] + fen
        if cash then b[4 + o] = b[4 + o] + fen end
        if xb then b[6 + o] = b[6 + o] + fen end
        if hr then b[8] = b[8] + fen end
      end
      day[didx] = day[didx] or new_bucket()
      add(day[didx]); dirty_day[didx] = true
      if fidx > wf - FINE_PER_DAY then
        fine[fidx] = fine[fidx] or new_bucket()
        add(fine[fidx]); dirty_fine[fidx] = true
      end
      if cp ~= '' then
        local ck = ((o == 0) and 'i' or 'o') .. cp
        if not cps[ck] or ts > cps[ck] then cps[ck] = ts; cp_writes[ck] = ts end
      end
      trail_new[#trail_new + 1] = table.concat({fmt(seq), fmt(ts), dir, fmt(fen), flags, fmt(didx), hour, cp, ccy, amount, tx_id}, '|')
      local snap = snapshot(didx, prev)
      remember(tx_id, snap)
      results[#results + 1] = 'new|' .. snap
    end
  elseif kind == 'P' then
    local updated = tonumber(f[2])
    local id = '~P' .. f[2]
    if pu and updated < pu then results[#results + 1] = 'stale'
    elseif pu and updated == pu then
      if pending[id] then results[#results + 1] = 'pend|' .. pending[id]
      elseif pcu and pcu >= updated then results[#results + 1] = 'done'
      else results[#results + 1] = 'stale' end
    else
      changed = true
      pu = updated
      local snap = snapshot(wd, wm)
      remember(id, snap)
      results[#results + 1] = 'new|' .. snap
    end
  else -- 'Q'
    results[#results + 1] = 'peek|' .. snapshot(wd, wm)
  end
end

if changed then
  -- expire by event time: buckets and counterparties that left the longest window
  if wm then
    local drop = {}
    for idx, _ in pairs(fine) do
      if idx <= wf - FINE_PER_DAY then drop[#drop + 1] = 'f:' .. fmt(idx); dirty_fine[idx] = nil end
    end
    for d, _ in pairs(day) do
      if d <= wd - RETAIN_DAYS then drop[#drop + 1] = 'd:' .. fmt(d); dirty_day[d] = nil end
    end
    if #drop > 0 then redis.call('HDEL', K_AGG, unpack(drop)) end
    local cp_drop = {}
    for k, last in pairs(cps) do
      if last <= wm - RETAIN_DAYS * DAY_MS then cp_drop[#cp_drop + 1] = k; cp_writes[k] = nil end
    end
    if #cp_drop > 0 then redis.call('HDEL', K_CP, unpack(cp_drop)) end
    redis.call('ZREMRANGEBYSCORE', K_DEDUP, '-inf', '(' .. fmt(wm - (RETAIN_DAYS + 1) * DAY_MS))
  end
  for idx, _ in pairs(dirty_fine) do
    agg_writes[#agg_writes + 1] = 'f:' .. fmt(idx); agg_writes[#agg_writes + 1] = bucket_str(fine[idx])
  end
  for d, _ in pairs(dirty_day) do
    agg_writes[#agg_writes + 1] = 'd:' .. fmt(d); agg_writes[#agg_writes + 1] = bucket_str(day[d])
  end
  agg_writes[#agg_writes + 1] = 'seq'; agg_writes[#agg_writes + 1] = fmt(seq)
  if wm then
    for _, v in ipairs({'wm', fmt(wm), 'wf', fmt(wf), 'wd', fmt(wd)}) do agg_writes[#agg_writes + 1] = v end
  end
  if as then agg_writes[#agg_writes + 1] = 'as'; agg_writes[#agg_writes + 1] = fmt(as) end
  if pu then agg_writes[#agg_writes + 1] = 'pu'; agg_writes[#agg_writes + 1] = fmt(pu) end
  redis.call('HSET', K_AGG, unpack(agg_writes))
  local cpw = {}
  for k, ts in pairs(cp_writes) do cpw[#cpw + 1] = k; cpw[#cpw + 1] = fmt(ts) end
  if #cpw > 0 then redis.call('HSET', K_CP, unpack(cpw)) end
  if #trail_new > 0 then redis.call('RPUSH', K_TRAIL, unpack(trail_new)) end
end

-- trim the trail relative to the last commit only, so a redelivered pending item still sees
-- every entry it saw the first time
local trail = redis.call('LRANGE', K_TRAIL, 0, -1)
if cwm then
  local cut, n = 0, #trail
  while cut < n do
    local e = split(trail[cut + 1], '|')
    local eseq, ets = tonumber(e[1]), tonumber(e[2])
    if eseq <= cseq and (ets < cwm - TRAIL_MS or n - cut > TRAIL_MAX) then cut = cut + 1 else break end
  end
  if cut > 0 then
    redis.call('LTRIM', K_TRAIL, cut, -1)
    local kept = {}
    for i = cut + 1, n do kept[#kept + 1] = trail[i] end
    trail = kept
  end
end

return {redis.call('HGET', K_RISK, 's') or false, trail, results}
