-- Apply edge copies to the accounts that own them, in order per account.
-- KEYS: per account, its meta hash (:m); its other keys share the hash tag (one slot) and are named
--       from it: in zset (:i), out zset (:o), legs hash (:x), alias times zset (:t: alias key ->
--       event time it was last named). One key per account, not five: redis-py packs every
--       argument of a call in Python, which cost the worker more than the script itself.
-- ARGV: retain_ms, cap, a JSON array with one entry per account (KEYS order): the array of its
--       copies [side ("i"|"o"), ts_ms, member ("eid|fen|other"), eid, tx_id, customer_id ("" unknown),
--       peer_group ("" unknown), alias key ("" none), alias party ("" ambiguous), 1 if the party is
--       new, 1 if the time is recorded (first named, or a day after the time recorded: Adjacency.named),
--       1 if a retraction]
--       (an alias: the digest of the counterparty's name identity -> its party; meta field "a:<key>")
-- Returns per account {status, legs, status, legs, ...}, one pair per copy: status 1 new, 0 already
-- stored (the other leg of a book transfer, or a redelivery), -1 older than the retention before
-- the account's watermark (not stored), 2 an edge retracted before (not stored). legs: "p|tx1[,tx2]"
-- (outputs pending) or "d|..." (committed); a retraction: "q<legs before>" (pending) or "r|" (committed).
-- A retraction keeps the edge's member in the sorted set (so it goes with the retention, as a tombstone
-- against the edge arriving later): every read leaves an edge whose legs start with q or r out.
-- The client calls it once per account on a Cluster (each account's keys are one slot) and, on a
-- single Redis, once per group of accounts of at most 256 copies, all in one pipeline
-- (GraphStore._chunks): per-call client overhead dominated one call per copy, and one call per
-- batch held Redis for up to 42 ms.
local retain = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])

local function apply(ki, ko, kx, km, kt, copies)
  -- one read of the meta fields the call needs (each redis.call costs the server about as much as its work)
  local stored = redis.call('HMGET', km, 'wm', 'xp', 'wc', 'c', 'g')
  local wm = tonumber(stored[1] or '0')
  local wm0 = wm
  -- the watermark of the last commit: edges within the retention before it stay until the batch
  -- is committed (net_commit trims), so a retry after failed outputs reads the account as it was
  local wc = tonumber(stored[3] or wm0)
  local cid, group, cid_eid, group_eid = '', '', '', ''
  local touched = {}
  local fresh = false  -- a key created: it gets its expiry now
  local added_to = {}
  local out = {}
  -- 'ae': the aliases changed since the last commit, with their value and time before it (null:
  -- none), so that a retry after failed outputs reads the account as the batch found it
  local changed, listed, dirty = nil, {}, false
  local function keep(alias)
    if not changed then
      changed = cjson.decode(redis.call('HGET', km, 'ae') or '[]')
      for _, e in ipairs(changed) do listed[e[1]] = true end
    end
    if not listed[alias] then
      listed[alias] = true
      dirty = true
      local seen = redis.call('ZSCORE', kt, alias)
      changed[#changed + 1] = {alias, redis.call('HGET', km, 'a:' .. alias) or cjson.null, seen and tonumber(seen) or cjson.null}
    end
  end
  for _, c in ipairs(copies) do
    local key = c[1] == 'i' and ki or ko
    local ts = c[2]
    if ts > wm then wm = ts end
    local legs = nil
    local gone = nil  -- retracted: 'q' pending (its legs before follow), 'r' committed
    if ts >= wm - retain then
      legs = redis.call('HGET', kx, c[4])
      if legs then gone = string.sub(legs, 1, 1) end
      if gone ~= 'q' and gone ~= 'r' then gone = nil end
    end
    if ts < wm - retain then
      out[#out + 1] = -1
      out[#out + 1] = ''
    elseif c[12] == 1 then
      if gone then
        out[#out + 1] = 0
      else
        local added = redis.call('ZADD', key, 'NX', ts, c[3])
        added_to[key] = (added_to[key] or 0) + added
        touched[key] = true
        legs = 'q' .. (legs or '')
        redis.call('HSET', kx, c[4], legs)
        out[#out + 1] = 1
      end
      out[#out + 1] = legs
    elseif gone == 'q' and string.find(',' .. string.sub(legs, 4) .. ',', ',' .. c[5] .. ',', 1, true) then
      -- a pending retraction is a retry of the batch that wrote it: this leg was stored before it
      -- (earlier in that batch, or committed before) and reads as it was
      out[#out + 1] = 0
      out[#out + 1] = string.sub(legs, 2)
    elseif gone then
      out[#out + 1] = 2
      out[#out + 1] = legs
    else
      if c[6] ~= '' then cid = c[6]; if cid_eid == '' then cid_eid = c[4] end end
      if c[7] ~= '' then group = c[7]; if group_eid == '' then group_eid = c[4] end end
      if c[8] and c[8] ~= '' then
        if c[10] == 1 then
          local before = redis.call('HGET', km, 'a:' .. c[8])
          if before ~= c[9] then
            keep(c[8])
            redis.call('HSET', km, 'a:' .. c[8], c[9])
          end
        end
        if c[11] == 1 then
          keep(c[8])
          if redis.call('ZADD', kt, 'GT', ts, c[8]) == 1 and redis.call('ZCARD', kt) == 1 then fresh = true end
        end
      end
      local added = redis.call('ZADD', key, 'NX', ts, c[3])
      added_to[key] = (added_to[key] or 0) + added
      if not legs then
        legs = 'p|' .. c[5]
        redis.call('HSET', kx, c[4], legs)
      elseif not string.find(',' .. string.sub(legs, 3) .. ',', ',' .. c[5] .. ',', 1, true) then
        legs = legs .. ',' .. c[5]
        redis.call('HSET', kx, c[4], legs)
      end
      touched[key] = true
      out[#out + 1] = added
      out[#out + 1] = legs
    end
  end
  if dirty then redis.call('HSET', km, 'ae', cjson.encode(changed)) end
  if wm > wm0 then redis.call('HSET', km, 'wm', string.format('%d', wm)) end
  -- ce / ge: the edge whose copy first taught the account its customer / peer group (a restarted
  -- worker reading an account whose batch was never committed knows whether it knew them before)
  for _, f in ipairs({{'c', cid, cid_eid, stored[4]}, {'g', group, group_eid, stored[5]}}) do
    if f[2] ~= '' then
      local old = f[4]
      if old ~= f[2] then
        redis.call('HSET', km, f[1], f[2])
        if not old then redis.call('HSET', km, f[1] .. 'e', f[3]) end
      end
    end
  end
  -- bounded in time (event time: the account's watermark) and in size (the newest `cap` edges a side)
  local function drop(key, members)
    for _, m in ipairs(members) do
      redis.call('ZREM', key, m)
      redis.call('HDEL', kx, string.sub(m, 1, string.find(m, '|', 1, true) - 1))
    end
  end
  for _, key in ipairs({ki, ko}) do
    -- after a commit (wc stored) nothing is older than wc - retain: net_commit trimmed there and
    -- no copy older than the watermark's retention is stored, so only an uncommitted account looks
    if not stored[3] and (touched[key] or wm > wm0) then
      drop(key, redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. string.format('%d', math.min(wm, wc) - retain)))
    end
    -- the size bound on the sides that got edges (a lowered cap reaches the other side with its
    -- next edge; the worker's memory and reads apply it at once, GraphStore._retain)
    if touched[key] then
      local n = redis.call('ZCARD', key)
      if added_to[key] and n == added_to[key] then fresh = true end  -- the key holds only this call's edges: created now
      if n > cap then
        drop(key, redis.call('ZRANGE', key, 0, n - cap - 1))
        redis.call('HSET', km, 'capped', string.format('%d', wm))
      end
    end
  end
  -- aliases not named within the retention go like the edges, when the watermark enters a new
  -- day (at most 64 a call; a read drops those already older, as the memory does); like the
  -- edges, only those out of the retention before the committed watermark (a retry reads the rest)
  if math.floor(wm / 86400000) > math.floor(wm0 / 86400000) then
    local stale = redis.call('ZRANGEBYSCORE', kt, '-inf', '(' .. string.format('%d', math.min(wm, wc) - retain), 'LIMIT', 0, 64)
    for _, k in ipairs(stale) do
      redis.call('HDEL', km, 'a:' .. k)
      redis.call('ZREM', kt, k)
    end
  end
  -- an account no edge reaches any more (a one-off outside counterparty) is never trimmed again:
  -- its keys expire 2 x the retention after the watermark last moved (wall clock, storage only),
  -- renewed once a week of event time (meta xp); a key created gets it at once
  if fresh or wm >= tonumber(stored[2] or '0') + 7 * 86400000 then
    if wm > wm0 then redis.call('HSET', km, 'xp', string.format('%d', wm)) end
    for _, key in ipairs({ki, ko, kx, km, kt}) do redis.call('PEXPIRE', key, 2 * retain) end
  end
  return out
end

local result = {}
for a, copies in ipairs(cjson.decode(ARGV[3])) do
  local p = string.sub(KEYS[a], 1, -2)
  result[a] = apply(p .. 'i', p .. 'o', p .. 'x', KEYS[a], p .. 't', copies)
end
return result
