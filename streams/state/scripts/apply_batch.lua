-- State layout 3: apply one customer's items atomically; cost per item independent of history.
--
-- KEYS: the state hash "<prefix>:s" of each customer in the call (one on Redis Cluster, where a
--   call may only touch one slot; many on a single Redis). A customer's other keys share its
--   hash tag (a digest of its id): "<prefix>:c" counterparty sorted set, "<prefix>:x<block>"
--   deduplication sets (a block is 30 business days).
-- ARGV: 1 "layout,retain_days,keep_days,dormant_ms", 2 "token[,token...]": this batch's token
--   (every call of one batch shares it) and those of the worker's batches still in delivery,
--   then per customer i: 2i+1 customer id, 2i+2 the items, one per line,
--   fields separated by tabs:
--     T tx_id dedup ts dir fen flags fine day hour cp ccy amount foreign cpacct
--        a leg: dir i|o; flags: c cash, x cross-border, h high-risk country, r round amount,
--        t a return (counted apart from the flows); dedup: a digest of the tx_id (decimal); cp:
--        counterparty digest or ""; foreign: "" for CNY, else "usd_cents:milli" (USD
--        equivalent, original amount in thousandths); cpacct: digest of the counterparty's
--        account ("" if none): one of the customer's own accounts makes it an own-account move
--     O tx_id dedup kind day             a leg that is no flow of the customer's (own, bank):
--                                        deduplicated and counted, nothing else
--     V tx_id dedup ts dir fen flags fine day hour ccy amount foreign kind orig_tx_id orig_dedup
--       orig_day orig_fine source        a reversal or correction (kind) of orig_tx_id: the
--                                        original's effect is removed (a correction's amount put
--                                        in its place); orig_day "" when unknown; source: the
--                                        input's coordinates, kept if the original is not found
--     N id dedup day                     a network-stage detection or exposure measurement for the
--                                        customer (content in Python): deduplicated, rated
--     P updated_ms accounts              a profile update (content in Python; accounts: digests)
--     D                                  a profile deletion (tombstone)
--     Q                                  a read-only snapshot (re-rating on demand)
--
-- State hash fields: v layout; id the readable customer id; m "wm,wf,wd,seq,cwm,cseq,as,pu,pcu,
-- blocks,pd,orphans" (watermark ts/fine bucket/business day, applied count, the same at the last
-- commit, start of activity after a dormancy, applied/committed profile version, live dedup
-- blocks "b1;b2", profile version a tombstone deleted, orphaned reversals "dedup:day;...",
-- the customer's own latest event: its watermark unless the sweep moved that on);
-- A the customer's own accounts (digests); rv reversed legs "dedup:day;..."; T the recent-
-- transaction trail, one entry a line;
-- o:<dedup> a reversal waiting for its original;
-- W running totals of the five windows (1h, 24h, 7d, 30d, 90d) x 10 metrics; D day buckets and
-- F 5-minute buckets (MessagePack maps bucket -> positional metrics); r rating state (MessagePack, streams/state/codec.py, written
-- by commit_batch); p:<id> "<batch token>#<snapshot>" of an applied item whose outputs are not
-- committed yet. A pending item met again in a batch of another worker (or of this one after a
-- restart or a retried apply) is a redelivery ("pend": its outputs are derived again from the
-- stored snapshot), and becomes the redelivering batch's own (its token, same snapshot); met
-- again in its own batch, or in the next one while its own is still being delivered, it is a
-- plain copy, judged like any duplicate, so outcomes do not depend on where the stream was cut.
--
-- Window totals change by the item's delta when it lands inside a window and by whole buckets
-- when the watermark moves past them: no item rescans the buckets or the counterparties.
-- Distinct counterparties per window are ZCOUNTs over last-seen times (O(log n)).

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end

local H = split(ARGV[1], ',')
local LAYOUT, RETAIN, KEEP, DORMANT_MS = H[1], tonumber(H[2]), tonumber(H[3]), tonumber(H[4])
local TRAIL_MAX, TRAIL_HORIZON = tonumber(H[5]), tonumber(H[6]) -- the trail an item sees (commit_batch.lua keeps no more)
local FINE_HOUR, FINE_DAY, BLOCK_DAYS = 12, 288, 30
local PACKED_MAX = 340 -- digests a block keeps packed in the state hash before its further ones go to a set
local DAY_MS = 86400000
local CP_OFF = 4398046511104 -- 2^42: scores of counterparties paid ("out") live above this
local CP_SPAN = {3600000, DAY_MS, 7 * DAY_MS, 30 * DAY_MS, 90 * DAY_MS}
local DAY_SPAN = {7, 30, 90} -- windows 3..5
local NB = 19 -- positional day-bucket metrics (factors/model.py DAY_FIELDS)
local S_FIELDS = 10 -- elements of the aggregates array S (see apply_customer)
local NWM = 10 -- metrics per window and 5-minute bucket: count, in, out, cash in/out, xb in/out, high-risk, returns, return fen

local function fmt(n) return string.format('%.0f', n) end

-- the 6 bytes of a dedup digest given as 12 hex characters
local function bin6(hex)
  local out = {}
  for k = 1, 12, 2 do out[#out + 1] = string.char(tonumber(string.sub(hex, k, k + 1), 16)) end
  return table.concat(out)
end

-- whether a string of 6-byte digests holds this one (at a digest boundary)
local function packed_has(packed, digest)
  local from = 1
  while true do
    local at = string.find(packed, digest, from, true)
    if not at then return false end
    if (at - 1) % 6 == 0 then return true end
    from = at + 1
  end
end
local function num(s) if s == nil or s == '' or s == '-' then return nil end return tonumber(s) end
local function opt(n) if n == nil then return '-' end return fmt(n) end

-- bucket maps are stored as MessagePack arrays [key, bucket, key, bucket, ...] sorted by key, and
-- a bucket's foreign-currency sums as [key, sums, ...] sorted too: the same state is the same bytes
local function unpack_map(raw)
  local map = {}
  if not raw then return map end
  local flat = cmsgpack.unpack(raw)
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end

-- the window metrics of a day bucket: count, in, out, cash in, cash out, xb in, xb out, high-risk,
-- returns, return fen
local function day8(b)
  return {(b[1] or 0) + (b[3] or 0), b[2] or 0, b[4] or 0, b[5] or 0, b[7] or 0, b[9] or 0, b[11] or 0, b[13] or 0, b[18] or 0, b[19] or 0}
end

local function add8(t, d, sign)
  for m = 1, NWM do t[m] = (t[m] or 0) + sign * (d[m] or 0) end
end

local function foreign_str(b)
  local f = b[NB + 1]
  if not f then return '' end
  local parts = {}
  for k, v in pairs(f) do parts[#parts + 1] = k .. ':' .. fmt(v[1]) .. ':' .. fmt(v[2]) .. ':' .. fmt(v[3]) .. ':' .. fmt(v[4]) end
  table.sort(parts)  -- pairs() order is not stable: the snapshot must be
  return table.concat(parts, ';')
end

local function sorted_keys(t)
  local keys = {}
  for k, _ in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- a bucket of n metrics as stored: trailing zeros dropped, or, with foreign sums (slot n + 1),
-- every metric and the sums as [key, sums, ...] sorted: the same state is the same bytes
local function canonical(b, n)
  local out = {}
  if b[n + 1] then
    for m = 1, n do out[m] = b[m] or 0 end
    local f = {}
    for _, fk in ipairs(sorted_keys(b[n + 1])) do f[#f + 1] = fk; f[#f + 1] = b[n + 1][fk] end
    out[n + 1] = f
  else
    local last = n
    while last > 0 and (b[last] or 0) == 0 do last = last - 1 end
    for m = 1, last do out[m] = b[m] or 0 end
  end
  return out
end

-- pack a bucket map canonically, sorted by key
local function pack_map(buckets, n)
  local flat = {}
  for _, k in ipairs(sorted_keys(buckets)) do
    flat[#flat + 1] = k
    flat[#flat + 1] = canonical(buckets[k], n)
  end
  return cmsgpack.pack(flat)
end

-- this batch's token, then the tokens of earlier batches of this worker still being delivered
-- (applied, outputs on their way): their pending items are this worker's own, not redeliveries
local OWN = {}
local TOKEN
for t in string.gmatch(ARGV[2], '[^,]+') do
  TOKEN = TOKEN or t
  OWN[t] = true
end

-- a reversal carries its original's amount and currency (contract v1.1); amounts compare as numbers
local function same_amount(ccy1, amount1, ccy2, amount2)
  return ccy1 == ccy2 and tonumber(amount1) ~= nil and tonumber(amount1) == tonumber(amount2)
end

local function fmt_fen(fen)
  local n = tonumber(fen)
  return string.format('%d.%02d', math.floor(n / 100), n % 100)
end

-- one customer's items, applied in order; returns {'ok', rating state, trail, results, expired} or
-- {'layout', found} when its state was written by another layout. A result per item: {status} or,
-- with a snapshot, {status, numbers, foreign, undid} (see snapshot; 'newc' adds the correction's fen
-- and amount that took the leg's place, 'pendc' is its redelivery)
local function apply_customer(K_S, customer_id, items_text)
  local prefix = string.sub(K_S, 1, -2)
  local K_CP, X_PREFIX = prefix .. 'c', prefix .. 'x'
  local raw = redis.call('HMGET', K_S, 'S', 'r', 'v')
  if raw[3] then return {'layout', raw[3]} end -- layout 1 kept its version in a field of its own
  -- S: the aggregates, one MessagePack array (one field, so a customer costs one hash entry):
  -- 1 layout, 2 meta, 3 window totals, 4 day buckets, 5 5-minute buckets, 7 own accounts,
  -- 8 reversed legs, 9 trail, 10 dedup digests ("" for none; 6 is unused)
  local st = raw[1] and cmsgpack.unpack(raw[1]) or {}
  for i = 1, S_FIELDS do
    if st[i] == '' then st[i] = nil end
  end
  if st[1] and st[1] ~= LAYOUT then return {'layout', st[1]} end
  local rating = raw[2]

  local wm, wf, wd, seq, cwm, cseq, as, pu, pcu, pd, lr
  local blocks, orphans = {}, {}
  local function day_list(text, into)
    if text and text ~= '' then
      for _, e in ipairs(split(text, ';')) do
        local k, d = string.match(e, '^(.+):(%d+)$')
        into[k] = tonumber(d)
      end
    end
  end
  if st[2] then
    local m = split(st[2], ',')
    wm, wf, wd, seq, cwm, cseq, as, pu, pcu = num(m[1]), num(m[2]), num(m[3]), num(m[4]), num(m[5]), num(m[6]), num(m[7]), num(m[8]), num(m[9])
    if m[10] and m[10] ~= '' then
      for _, b in ipairs(split(m[10], ';')) do
        if string.sub(b, -1) == '!' then blocks[tonumber(string.sub(b, 1, -2))] = 'spilled' else blocks[tonumber(b)] = 'packed' end
      end
    end
    pd = num(m[11])
    lr = num(m[13]) or wm -- the customer's own latest event (its watermark, unless a sweep moved that on)
    day_list(m[12], orphans)
  end
  seq = seq or 0
  local own_accounts = {}
  if st[7] then for a in string.gmatch(st[7], '[^;]+') do own_accounts[a] = true end end
  local reversed = {}
  day_list(st[8], reversed)
  local W = {}
  do
    local w = st[3] and cmsgpack.unpack(st[3]) or {} -- 50 integers, MessagePack
    for i = 1, 5 do
      W[i] = {}
      for m = 1, NWM do W[i][m] = tonumber(w[(i - 1) * NWM + m]) or 0 end
    end
  end
  -- day buckets, with their days in ascending order (the stored order): packing them needs no
  -- sort, and a bucket this call did not touch is stored again as it came (already trimmed)
  local D, D_days, D_touched = {}, {}, {}
  if st[4] then
    local flat = cmsgpack.unpack(st[4])
    for i = 1, #flat, 2 do
      local d, b = flat[i], flat[i + 1]
      local f = b[NB + 1]
      if type(f) == 'table' then -- foreign-currency sums [key, sums, ...] to a map
        local m = {}
        for j = 1, #f, 2 do m[f[j]] = f[j + 1] end
        b[NB + 1] = m
      end
      D[d] = b
      D_days[#D_days + 1] = d
    end
  end
  -- dedup digests: per block of 30 business days, 6-byte digests packed in one field (X); a busy
  -- block keeps its first PACKED_MAX there and puts the rest in a set of 62-bit integers (intset
  -- while small), the key "<prefix>:x<block>"
  local X = unpack_map(st[10])
  local x_dirty = false
  local F = unpack_map(st[5])
  local d_dirty, f_dirty, changed, extra_dirty = false, false, false, false
  local attached = 0 -- expired[1..attached] are stored with a pending item (see mark)
  local expired = {} -- set-aside reversals, 'why<TAB>orphan record': never (its original did not come within
  -- the late-arrival window) or differs (not the original's amount)


  local active -- business days with activity in the 90-day window, recomputed when days move
  local function count_active()
    active = 0
    if not wd then return end
    for d, b in pairs(D) do
      if d > wd - 90 and ((b[1] or 0) + (b[3] or 0)) > 0 then active = active + 1 end
    end
  end
  count_active()

  local cp_counts -- distinct counterparties in/out per window, recounted only when they may change
  local function count_cps()
    cp_counts = {}
    if not wm then
      for i = 1, 10 do cp_counts[i] = 0 end
      return
    end
    for i = 1, 5 do
      cp_counts[i] = redis.call('ZCOUNT', K_CP, '(' .. fmt(wm - CP_SPAN[i]), fmt(wm))
      cp_counts[5 + i] = redis.call('ZCOUNT', K_CP, '(' .. fmt(CP_OFF + wm - CP_SPAN[i]), fmt(CP_OFF + wm))
    end
  end

  -- move the watermark forward: buckets that leave a window are subtracted from it, buckets and
  -- counterparties that leave the longest window (and dedup blocks past the late-arrival bound) go
  local function advance(ts, fidx, didx)
    if wm and ts <= wm then return end
    if wf and fidx > wf then
      for idx, b in pairs(F) do
        if idx > wf - FINE_HOUR and idx <= fidx - FINE_HOUR then add8(W[1], b, -1) end
        if idx <= fidx - FINE_DAY then
          if idx > wf - FINE_DAY then add8(W[2], b, -1) end
          F[idx] = nil; f_dirty = true
        end
      end
    end
    if wd and didx > wd then
      local kept = {}
      for _, d in ipairs(D_days) do
        local b = D[d]
        for s = 1, 3 do
          if d > wd - DAY_SPAN[s] and d <= didx - DAY_SPAN[s] then add8(W[2 + s], day8(b), -1) end
        end
        if d <= didx - KEEP then D[d] = nil; d_dirty = true else kept[#kept + 1] = d end
      end
      D_days = kept
    end
    -- a customer's first leg moves the clock too: reversals that waited for an original before it
    -- (the customer had no watermark) expire as they would have
    if (not wd) or didx > wd then
      for b, how in pairs(blocks) do
        if (b + 1) * BLOCK_DAYS - 1 <= didx - RETAIN then
          if how == 'spilled' then redis.call('UNLINK', X_PREFIX .. fmt(b)) end
          blocks[b] = nil; X[b] = nil; x_dirty = true
        end
      end
      for k, d in pairs(orphans) do
        if d <= didx - RETAIN then
          expired[#expired + 1] = 'never\t' .. (redis.call('HGET', K_S, 'o:' .. k) or '')
          redis.call('HDEL', K_S, 'o:' .. k); orphans[k] = nil; extra_dirty = true
        end
      end
      for k, d in pairs(reversed) do
        if d <= didx - RETAIN then reversed[k] = nil; extra_dirty = true end
      end
    end
    local moved_day = (not wd) or didx > wd
    wm, wf, wd = ts, fidx, didx
    redis.call('ZREMRANGEBYSCORE', K_CP, '-inf', fmt(wm - CP_SPAN[5]))
    redis.call('ZREMRANGEBYSCORE', K_CP, fmt(CP_OFF), fmt(CP_OFF + wm - CP_SPAN[5]))
    if moved_day then count_active() end
    cp_counts = nil
  end



  -- {numbers, foreign, undid}: numbers are seq, asof, 5 windows x 10 metrics, 10 counterparty
  -- counts, active days, previous watermark, activity start, the item's day bucket (19 metrics) and
  -- its day (-1: none), returned as integers (no text to build here or to parse in the worker);
  -- foreign the day's foreign-currency sums; undid an undoing's undone leg, "direction,flags"
  local function snapshot(item_day, prev_wm, undid)
    if not cp_counts then count_cps() end
    local out = {seq, wm or 0}
    local n = 2
    for i = 1, 5 do
      local w = W[i]
      for m = 1, NWM do out[n + m] = w[m] end
      n = n + NWM
    end
    for i = 1, 10 do out[n + i] = cp_counts[i] end
    out[n + 11], out[n + 12], out[n + 13] = active, prev_wm or 0, as or 0
    n = n + 13
    local b = (item_day and D[item_day]) or {}
    for m = 1, NB do out[n + m] = b[m] or 0 end
    out[n + NB + 1] = item_day or -1
    return {out, foreign_str(b), undid or ''}
  end

  -- an item's reply: {status, numbers, foreign, undid} (see snapshot)
  local function with(status, snap)
    return {status, snap[1], snap[2], snap[3]}
  end

  -- whether a day's totals hold a leg of this direction, amount and kind (a reversal of a leg
  -- older than the trail must not take out what was never there)
  local function holds(dir, fen, flags, didx, ccy)
    local b = D[didx]
    if not b then return false end
    local o = (dir == 'i') and 0 or 2
    local function v(at) return b[at] or 0 end
    local function at_least(count, total) return count >= 1 and total >= fen end
    if not at_least(v(1 + o), v(2 + o)) then return false end
    -- its kind: cash or not, cross-border or not (the "not" parts are the total less the kind)
    local cash, xb = string.find(flags, 'c', 1, true), string.find(flags, 'x', 1, true)
    if cash then
      if not at_least(v(6 + o), v(5 + o)) then return false end
    elseif not at_least(v(1 + o) - v(6 + o), v(2 + o) - v(5 + o)) then return false end
    if xb then
      if not at_least(v(10 + o), v(9 + o)) then return false end
    elseif not at_least(v(1 + o) - v(10 + o), v(2 + o) - v(9 + o)) then return false end
    -- and in its currency: a foreign one's own entry, CNY what the foreign entries leave
    local fx = b[NB + 1] or {}
    local cat = cash and 'C' or (xb and 'X' or 'D')
    if ccy ~= 'CNY' then
      local e = fx[cat .. dir .. ccy]
      return e ~= nil and e[1] >= 1 and e[2] >= fen
    end
    local n, f = b[1 + o] or 0, b[2 + o] or 0
    for key, e in pairs(fx) do
      if string.sub(key, 2, 2) == dir then n = n - e[1]; f = f - e[2] end
    end
    return n >= 1 and f >= fen
  end

  -- add a leg to its day and 5-minute buckets and to the windows that hold them (sign -1: take
  -- it out again, for a reversal); a return counts apart from the flows
  local function add_tx(dir, fen, flags, fidx, didx, ccy, foreign, sign)
    local cash = string.find(flags, 'c', 1, true) ~= nil
    local xb = string.find(flags, 'x', 1, true) ~= nil
    local hr = string.find(flags, 'h', 1, true) ~= nil
    local ret = string.find(flags, 't', 1, true) ~= nil
    local o = (dir == 'i') and 0 or 2 -- offset of the direction in the positional bucket
    local b = D[didx]
    local new_day = b == nil
    if new_day then
      b = {}; D[didx] = b
      local at = #D_days + 1 -- usually the newest day; a late one goes in its place
      while at > 1 and D_days[at - 1] > didx do at = at - 1 end
      table.insert(D_days, at, didx)
    end
    D_touched[didx] = true
    for m = 1, NB do b[m] = b[m] or 0 end
    local delta = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
    if ret then
      b[18] = b[18] + sign; b[19] = b[19] + sign * fen
      delta[9], delta[10] = sign, sign * fen
    else
      b[1 + o] = b[1 + o] + sign
      b[2 + o] = b[2 + o] + sign * fen
      if cash then b[5 + o] = b[5 + o] + sign * fen; b[6 + o] = b[6 + o] + sign end
      if xb then b[9 + o] = b[9 + o] + sign * fen; b[10 + o] = b[10 + o] + sign end
      if hr then b[13] = b[13] + sign * fen end
      if cash and xb then b[14 + o] = b[14 + o] + sign * fen; b[15 + o] = b[15 + o] + sign end
      if foreign ~= '' then
        local usd, milli = string.match(foreign, '^(%d+):(%d+)$')
        local cat = cash and 'C' or (xb and 'X' or 'D')
        local key = cat .. dir .. ccy
        b[NB + 1] = b[NB + 1] or {}
        local e = b[NB + 1][key] or {0, 0, 0, 0}
        e[1] = e[1] + sign; e[2] = e[2] + sign * fen; e[3] = e[3] + sign * tonumber(usd); e[4] = e[4] + sign * tonumber(milli)
        if e[1] == 0 then e = nil end
        b[NB + 1][key] = e
        if next(b[NB + 1]) == nil then b[NB + 1] = nil end
      end
      delta[1] = sign
      if o == 0 then delta[2] = sign * fen else delta[3] = sign * fen end
      if cash then delta[4 + o / 2] = sign * fen end
      if xb then delta[6 + o / 2] = sign * fen end
      if hr then delta[8] = sign * fen end
    end
    d_dirty = true
    for s = 1, 3 do
      if didx > wd - DAY_SPAN[s] then add8(W[2 + s], delta, 1) end
    end
    if fidx > wf - FINE_DAY then
      F[fidx] = F[fidx] or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
      add8(F[fidx], delta, 1); f_dirty = true
      add8(W[2], delta, 1)
      if fidx > wf - FINE_HOUR then add8(W[1], delta, 1) end
    end
    if new_day or sign < 0 then count_active() end
  end

  -- a tx_id is a duplicate if any live block holds it, whatever day the copy claims; `member` is
  -- "<12 hex>:<62-bit decimal>" (the packed digest, and the set member of a busy block)
  local function seen(member)
    local hex, dec = string.match(member, '^(%x+):(%d+)$')
    local digest = bin6(hex)
    for b, how in pairs(blocks) do
      if X[b] and packed_has(X[b], digest) then return true end
      if how == 'spilled' and redis.call('SISMEMBER', X_PREFIX .. fmt(b), dec) == 1 then return true end
    end
    return false
  end

  -- the stored snapshot of an item applied in an earlier, uncommitted batch; and whether this
  -- batch applied or took over it already (a copy within the batch)
  local taken = {}
  local function redelivered(id)
    if taken[id] then return nil, true end
    local p = redis.call('HGET', K_S, 'p:' .. id)
    if not p then return nil, false end
    local cut = string.find(p, '#', 1, true)
    if OWN[string.sub(p, 1, cut - 1)] then return nil, true end
    return cmsgpack.unpack(string.sub(p, cut + 1)), false
  end

  -- the customer's own clock: a silence of the dormancy period before this event starts a new
  -- run of activity (measured from its own latest event, whatever moved its watermark)
  local function woke(ts)
    if lr and ts - lr >= DORMANT_MS then as = ts end
    if not lr or ts > lr then lr = ts end
  end

  local results, writes, trail_new = {}, {}, {}
  local trail_old -- the stored trail, read only when a reversal looks for its original

  -- a trail entry: seq ts dir fen flags day hour cp ccy amount tx_id foreign ref (tab-separated)
  local function trail_entry(ts, dir, fen, flags, didx, hour, cp, ccy, amount, tx_id, foreign, ref)
    return table.concat({fmt(seq), fmt(ts), dir, fmt(fen), flags, fmt(didx), hour, cp, ccy, amount, tx_id, foreign, ref}, '\t')
  end

  -- the leg a reversal or correction undoes, among the recent legs: {root, current} — the root leg's
  -- trail entry (a flow or a return), and the correction in force when `orig_tx_id` is one (a
  -- chain of corrections is followed back to its root); nil when not there, and nil, nil, true
  -- when it is a reversal (a reversal is not undone: the leg is posted again)
  local function in_trail(orig_tx_id)
    if not trail_old then trail_old = st[9] and split(st[9], '\n') or {} end
    -- only what a commit after the previous item would have kept, so the answer does not
    -- depend on where batches were cut
    local oldest_seq, oldest_ts = seq - TRAIL_MAX, wm and (wm - TRAIL_HORIZON)
    local function find(id)
      for _, list in ipairs({trail_new, trail_old}) do
        for i = #list, 1, -1 do
          local e = split(list[i], '\t')
          if e[11] == id then
            if tonumber(e[1]) <= oldest_seq or (oldest_ts and tonumber(e[2]) < oldest_ts) then return nil end
            return e
          end
        end
      end
      return nil
    end
    local current
    local id = orig_tx_id
    for _ = 1, 16 do
      local e = find(id)
      if not e then return nil end
      if string.find(e[5], 'v', 1, true) then return nil, nil, true end
      if not string.find(e[5], 'k', 1, true) then return e, current end
      current = current or e
      id = e[13]
    end
    return nil
  end

  -- stored with the snapshot, what a redelivery must give again: `c` {fen, amount} of a
  -- correction that came first (in the leg's place), `x` the reversals set aside since the last
  -- marked item (`expired`: their records leave the state now, their dead letters go with this batch)
  local function mark(id, snap, c)
    writes[#writes + 1] = 'p:' .. id
    local stored, x = snap, nil
    if #expired > attached then
      x = {unpack(expired, attached + 1)}
      attached = #expired
    end
    if c or x then stored = {snap[1], snap[2], snap[3], c = c, x = x} end
    writes[#writes + 1] = TOKEN .. '#' .. cmsgpack.pack(stored)
  end

  -- a redelivered item becomes this batch's own (same snapshot, this batch's token): a copy of it
  -- later in this batch, or in the next one while this one is delivered, is then a plain copy, as
  -- it is when nothing failed, not a second redelivery rated again (a retried apply, whose first
  -- attempt left its items pending under its own token, or a batch redelivered after a crash).
  -- The reversals the lost attempt set aside with it are set aside again (their dead letters).
  local function take(id, pending)
    taken[id] = true
    for _, rec in ipairs(pending.x or {}) do expired[#expired + 1] = rec end
    mark(id, {pending[1], pending[2], pending[3]}, pending.c)
  end

  -- record a leg as seen (the dedup set of its day's block)
  local function record(member, didx)
    local block = math.floor(didx / BLOCK_DAYS)
    local hex, dec = string.match(member, '^(%x+):(%d+)$')
    if blocks[block] == 'spilled' then
      redis.call('SADD', X_PREFIX .. fmt(block), dec)
    else
      X[block] = (X[block] or '') .. bin6(hex)
      blocks[block] = (#X[block] >= 6 * PACKED_MAX) and 'spilled' or 'packed'
      x_dirty = true
    end
    changed = true
  end

  -- the common start of every leg: a redelivery, a duplicate, too late, or new
  local function triage(tx_id, member, didx)
    local pending = redelivered(tx_id)
    if pending then
      take(tx_id, pending)
      if pending.c then return {'pendc', pending[1], pending[2], pending[3], pending.c[1], pending.c[2]} end
      return with('pend', pending)
    end
    if seen(member) then return {'done'} end
    if wd and didx <= wd - RETAIN then return {'late'} end
    return nil
  end

  -- apply a new leg (T) and return its snapshot
  local function apply_leg(tx_id, member, ts, dir, fen, flags, fidx, didx, hour, cp, ccy, amount, foreign)
    record(member, didx)
    seq = seq + 1
    local prev = lr
    woke(ts)
    advance(ts, fidx, didx)
    add_tx(dir, fen, flags, fidx, didx, ccy, foreign, 1)
    if cp ~= '' and not string.find(flags, 't', 1, true) then
      local score = (dir == 'i') and ts or (CP_OFF + ts)
      if redis.call('ZADD', K_CP, 'GT', 'CH', score, dir .. cp) > 0 then cp_counts = nil end
    end
    trail_new[#trail_new + 1] = trail_entry(ts, dir, fen, flags, didx, hour, cp, ccy, (ccy == 'CNY') and '' or amount, tx_id, foreign, '')
    return snapshot(didx, prev)
  end

  for _, line in ipairs(split(items_text, '\n')) do
    local f = split(line, '\t')
    local kind = f[1]
    if kind == 'T' then
      local tx_id, member, ts, dir, fen, flags = f[2], f[3], tonumber(f[4]), f[5], tonumber(f[6]), f[7]
      local fidx, didx, hour, cp, ccy, amount, foreign, cpacct = tonumber(f[8]), tonumber(f[9]), f[10], f[11], f[12], f[13], f[14], f[15]
      local verdict = triage(tx_id, member, didx)
      if verdict then
        results[#results + 1] = verdict
      elseif cpacct ~= '' and own_accounts[cpacct] then
        record(member, didx) -- between two of the customer's own accounts: no flow
        results[#results + 1] = {'own'}
      elseif orphans[member] then
        -- its reversal (or correction) came first: the leg is seen, its effect is already undone
        local rec = redis.call('HGET', K_S, 'o:' .. member) or ''
        redis.call('HDEL', K_S, 'o:' .. member); orphans[member] = nil; extra_dirty = true
        local r = split(rec, '\t')
        if r[1] == 'reversal' and not same_amount(r[6], r[4], ccy, amount) then
          -- a reversal undoes the whole leg: one of another amount is set aside, the leg counts
          expired[#expired + 1] = 'differs\t' .. rec
          local snap = apply_leg(tx_id, member, ts, dir, fen, flags, fidx, didx, hour, cp, ccy, amount, foreign)
          mark(tx_id, snap)
          results[#results + 1] = with('new', snap)
        elseif r[1] == 'correction' then
          -- the correction's amount takes the leg's place
          local snap = apply_leg(tx_id, member, ts, dir, tonumber(r[3]), flags, fidx, didx, hour, cp, ccy, r[4], r[5])
          mark(tx_id, snap, {tonumber(r[3]), r[4]})
          results[#results + 1] = {'newc', snap[1], snap[2], snap[3], tonumber(r[3]), r[4]}
        else
          record(member, didx)
          reversed[member] = didx
          results[#results + 1] = {'reversed'}
        end
      else
        local snap = apply_leg(tx_id, member, ts, dir, fen, flags, fidx, didx, hour, cp, ccy, amount, foreign)
        mark(tx_id, snap)
        results[#results + 1] = with('new', snap)
      end
    elseif kind == 'O' then
      local tx_id, member, what, didx = f[2], f[3], f[4], tonumber(f[5])
      local pending = redelivered(tx_id)
      if pending or seen(member) then results[#results + 1] = {'done'}
      elseif wd and didx <= wd - RETAIN then results[#results + 1] = {'late'}
      else
        record(member, didx)
        results[#results + 1] = {what}
      end
    elseif kind == 'V' then
      local tx_id, member, ts, dir, fen, flags = f[2], f[3], tonumber(f[4]), f[5], tonumber(f[6]), f[7]
      local fidx, didx, hour, ccy, amount, foreign = tonumber(f[8]), tonumber(f[9]), f[10], f[11], f[12], f[13]
      local what, orig_tx_id, orig_member, orig_day, orig_fine, source = f[14], f[15], f[16], num(f[17]), num(f[18]), f[19]
      local verdict = triage(tx_id, member, didx)
      if verdict then
        results[#results + 1] = verdict
      elseif reversed[orig_member] or orphans[orig_member] then
        record(member, didx) -- already undone, or another undoing of it waits for it
        results[#results + 1] = {'twice'}
      else
        local e, cur, of_reversal = in_trail(orig_tx_id)
        local no_such
        local o -- the original: dir, fen, flags, day, fine, ccy, foreign (a corrected one's amount in force)
        if e then
          local now = cur or e
          o = {e[3], tonumber(now[4]), e[5], tonumber(e[6]), math.floor(tonumber(e[2]) / 300000), now[9], now[12]}
        elseif what == 'reversal' and orig_day and seen(orig_member) then
          -- older than the trail: the reversal states the original's amount and method, and is
          -- posted against its direction; its day must hold such a leg
          o = {(dir == 'i') and 'o' or 'i', fen, flags, orig_day, orig_fine, ccy, foreign}
          if not (wd and o[4] <= wd - RETAIN) and not holds(o[1], fen, flags, orig_day, ccy) then o = nil; no_such = true end
        end
        if of_reversal then
          record(member, didx)
          results[#results + 1] = {'chain'}
        elseif no_such then
          record(member, didx)
          results[#results + 1] = {'nosuch'}
        elseif o and wd and o[4] <= wd - RETAIN then
          results[#results + 1] = {'late'}
        elseif e and what == 'reversal' and not same_amount(o[6], (o[6] == 'CNY') and fmt_fen(o[2]) or (cur or e)[10], ccy, amount) then
          record(member, didx)
          results[#results + 1] = {'differs'} -- a partial reversal is a correction
        elseif not o and orig_day and wd and orig_day <= wd - RETAIN then
          results[#results + 1] = {'late'} -- its original's day has expired: a manual revision is needed
        elseif not o and seen(orig_member) then
          record(member, didx)
          results[#results + 1] = {'unmatched'} -- seen, but neither in the trail nor dated: cannot be undone exactly
        elseif not o then
          -- kept until its original arrives, or dead-lettered once the late-arrival window is past
          record(member, didx)
          local pday = orig_day or didx
          orphans[orig_member] = pday; extra_dirty = true
          redis.call('HSET', K_S, 'o:' .. orig_member, table.concat({what, tx_id, fmt(fen), amount, foreign, ccy, source}, '\t'))
          results[#results + 1] = {'orphan'}
        else
          record(member, didx)
          seq = seq + 1
          local prev = lr
          woke(ts)
          advance(ts, fidx, didx)
          add_tx(o[1], o[2], o[3], o[5], o[4], o[6], o[7], -1)
          if what == 'correction' then add_tx(o[1], fen, o[3], o[5], o[4], ccy, foreign, 1) end
          reversed[orig_member] = o[4]; extra_dirty = true
          local mark_flag = (what == 'correction') and 'k' or 'v'
          trail_new[#trail_new + 1] = trail_entry(ts, dir, fen, flags .. mark_flag, didx, hour, '', ccy, (ccy == 'CNY') and '' or amount, tx_id, foreign, orig_tx_id)
          local snap = snapshot(o[4], prev, o[1] .. ',' .. o[3])
          mark(tx_id, snap)
          results[#results + 1] = with('new', snap)
        end
      end
    elseif kind == 'N' then
      local id, member, didx = f[2], f[3], tonumber(f[4])
      local verdict = triage(id, member, didx)
      if verdict then
        results[#results + 1] = verdict
      else
        record(member, didx)
        local snap = snapshot(wd, wm)
        mark(id, snap)
        results[#results + 1] = with('new', snap)
      end
    elseif kind == 'P' then
      local updated = tonumber(f[2])
      local id = '~P' .. f[2]
      -- deleted at its current version: the same version published again re-creates the profile
      local recreate = pd and pu and pd == pu and updated == pu and not redelivered(id)
      if pu and updated < pu then results[#results + 1] = {'stale'}
      elseif pu and updated == pu and not recreate then
        local pending, own = redelivered(id)
        if pending then
          take(id, pending)
          results[#results + 1] = with('pend', pending)
        elseif own or (pcu and pcu >= updated) then results[#results + 1] = {'done'}
        else results[#results + 1] = {'stale'} end
      else
        changed = true
        pu = updated
        pd = nil -- whatever was deleted, a profile exists again
        own_accounts = {}
        for a in string.gmatch(f[3] or '', '[^,]+') do own_accounts[a] = true end
        extra_dirty = true
        local snap = snapshot(wd, wm)
        mark(id, snap)
        results[#results + 1] = with('new', snap)
      end
    elseif kind == 'D' then
      local id = '~D' -- one deletion at a time: committed, it is the profile version pd records
      local pending, own = redelivered(id)
      if pending then
        take(id, pending)
        results[#results + 1] = with('pend', pending)
      elseif own or (pd and pd == (pu or 0)) then results[#results + 1] = {'done'}
      else
        changed = true
        pd = pu or 0
        own_accounts = {}
        extra_dirty = true
        local snap = snapshot(wd, wm)
        mark(id, snap)
        results[#results + 1] = with('new', snap)
      end
    else -- 'Q'
      results[#results + 1] = with('peek', snapshot(wd, wm))
    end
  end

  if changed then
    local wparts = {}
    for i = 1, 5 do
      for m = 1, NWM do wparts[#wparts + 1] = W[i][m] end
    end
    local live = {}
    for _, b in ipairs(sorted_keys(blocks)) do live[#live + 1] = fmt(b) .. ((blocks[b] == 'spilled') and '!' or '') end
    local function days_text(t)
      local parts = {}
      for _, k in ipairs(sorted_keys(t)) do parts[#parts + 1] = k .. ':' .. fmt(t[k]) end
      return table.concat(parts, ';')
    end
    local meta = table.concat({opt(wm), opt(wf), opt(wd), fmt(seq), opt(cwm), opt(cseq), opt(as), opt(pu), opt(pcu), table.concat(live, ';'), opt(pd), days_text(orphans), opt(lr)}, ',')
    if #trail_new > 0 then
      local added = table.concat(trail_new, '\n')
      st[9] = st[9] and (st[9] .. '\n' .. added) or added
    end
    if d_dirty then
      -- the buckets in day order (pack_map without its sort); one with foreign sums (a map in
      -- memory) or touched by this call made canonical again, the others stored as they came
      local flat = {}
      for _, d in ipairs(D_days) do
        local b = D[d]
        flat[#flat + 1] = d
        flat[#flat + 1] = (b[NB + 1] or D_touched[d]) and canonical(b, NB) or b
      end
      st[4] = cmsgpack.pack(flat)
    end
    if f_dirty then st[5] = pack_map(F, NWM) end
    if x_dirty then
      local flat = {}
      for _, b in ipairs(sorted_keys(X)) do flat[#flat + 1] = b; flat[#flat + 1] = X[b] end
      st[10] = cmsgpack.pack(flat)
    end
    local S = {LAYOUT, meta, cmsgpack.pack(wparts), st[4] or '', st[5] or '', '', table.concat(sorted_keys(own_accounts), ';'), days_text(reversed), st[9] or '', st[10] or ''}
    writes[#writes + 1] = 'S'; writes[#writes + 1] = cmsgpack.pack(S)
    writes[#writes + 1] = 'id'; writes[#writes + 1] = customer_id
    redis.call('HSET', K_S, unpack(writes))
  elseif #writes > 0 then
    redis.call('HSET', K_S, unpack(writes))
  end
  return {'ok', rating or false, st[9] or '', results, expired}
end

-- a failure of one customer's data (not of Redis) is that customer's reply, not the whole call's
local replies = {}
for i = 1, #KEYS do
  local ok, reply = pcall(apply_customer, KEYS[i], ARGV[2 * i + 1], ARGV[2 * i + 2])
  if ok then
    replies[i] = reply
  else -- a failed redis.call arrives as a table {err = ...}
    replies[i] = {'error', type(reply) == 'table' and tostring(reply.err) or tostring(reply)}
  end
end
return replies
