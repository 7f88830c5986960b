-- State layout 3: commit customers' batches after their output events were acknowledged by Kafka:
-- drop the pending snapshots, record the committed watermark, sequence and profile version,
-- store the new rating state and trim the trail to what a later redelivery can still need.
-- KEYS: the state hash "<prefix>:s" of each customer (one on Redis Cluster, many on one Redis):
--   its aggregates array S (meta, trail) and its rating state r.
-- ARGV: 1 "trail_max,trail_horizon_ms", then per customer i: 4i-2 pending ids joined by tabs,
--   4i-1 committed profile updated_ms or "", 4i rating state JSON, 4i+1 "seq,watermark" the
--   batch's items reached (or "": everything applied so far). With pipelined delivery the next
--   batch may already be applied: only what this batch reached is committed.

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end

local limits = split(ARGV[1], ',')
local KEEP, HORIZON = tonumber(limits[1]), tonumber(limits[2])

local function commit_customer(K_S, ids, profile_version, state, through)
  if ids ~= '' then
    local fields = {}
    for _, id in ipairs(split(ids, '\t')) do fields[#fields + 1] = 'p:' .. id end
    redis.call('HDEL', K_S, unpack(fields))
  end
  local packed = redis.call('HGET', K_S, 'S')
  if not packed then
    redis.call('HSET', K_S, 'r', state)
    return
  end
  local S = cmsgpack.unpack(packed) -- the aggregates array (apply_batch.lua): 2 meta, 9 trail
  local m = split(S[2], ',')
  local cwm, cseq = tonumber(m[1]), tonumber(m[4])
  if through ~= '' then
    local t = split(through, ',')
    cseq, cwm = tonumber(t[1]), tonumber(t[2])
  end
  -- never backwards: a commit of an older batch cannot undo a newer one's
  if tonumber(m[6]) and tonumber(m[6]) > cseq then cseq = tonumber(m[6]) end
  if tonumber(m[5]) and cwm and tonumber(m[5]) > cwm then cwm = tonumber(m[5]) end
  m[5], m[6] = cwm and string.format('%.0f', cwm) or m[5], string.format('%.0f', cseq)
  if profile_version ~= '' then m[9] = profile_version end
  S[2] = table.concat(m, ',')
  -- the trail holds one entry per applied transaction, in sequence order: a redelivered item
  -- with sequence s > cseq sees at most KEEP entries up to s and none older than the horizon
  -- before the watermark it saw (>= cwm), so older entries can go
  if cwm and S[9] ~= '' then
    local entries = split(S[9], '\n')
    local first = tonumber(string.match(entries[1], '^(%d+)\t'))
    local cut = math.max(0, (cseq - KEEP + 1) - first)
    while cut < #entries do
      local s, ts = string.match(entries[cut + 1], '^(%d+)\t(%d+)\t')
      if tonumber(s) <= cseq and tonumber(ts) < cwm - HORIZON then cut = cut + 1 else break end
    end
    if cut > 0 then S[9] = table.concat(entries, '\n', cut + 1) end
  end
  redis.call('HSET', K_S, 'S', cmsgpack.pack(S), 'r', state)
end

for i = 1, #KEYS do
  commit_customer(KEYS[i], ARGV[4 * i - 2], ARGV[4 * i - 1], ARGV[4 * i], ARGV[4 * i + 1])
end
return #KEYS
