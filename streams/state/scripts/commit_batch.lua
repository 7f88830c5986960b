-- State layout 2: commit one customer's batch after its output events were acknowledged by Kafka:
-- drop the pending snapshots, record the committed watermark, sequence and profile version,
-- store the new rating state and trim the trail to what a later redelivery can still need.
-- KEYS: 1 state hash, 2 trail list
-- ARGV: 1 n, 2..n+1 pending ids, n+2 committed profile updated_ms or "", n+3 state JSON,
--   n+4 "trail_max,trail_horizon_ms"
local K_S, K_TRAIL = KEYS[1], KEYS[2]
local n = tonumber(ARGV[1])

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, i - 1)
    from = i + 1
  end
end

if n > 0 then
  local fields = {}
  for i = 2, n + 1 do fields[#fields + 1] = 'p:' .. ARGV[i] end
  redis.call('HDEL', K_S, unpack(fields))
end
local raw = redis.call('HGET', K_S, 'm')
local cwm, cseq
if raw then
  local m = split(raw, ',')
  m[5], m[6] = m[1], m[4] -- committed watermark and sequence := current ones
  if ARGV[n + 2] ~= '' then m[9] = ARGV[n + 2] end
  cwm, cseq = tonumber(m[1]), tonumber(m[4])
  redis.call('HSET', K_S, 'm', table.concat(m, ','), 'r', ARGV[n + 3])
else
  redis.call('HSET', K_S, 'r', ARGV[n + 3])
end

-- the trail holds one entry per applied transaction, in sequence order: a redelivered item with
-- sequence s > cseq sees at most trail_max entries up to s and none older than the horizon before
-- the watermark it saw (>= cwm), so older entries can go
if cseq then
  local limits = split(ARGV[n + 4], ',')
  local keep, horizon = tonumber(limits[1]), tonumber(limits[2])
  local head = redis.call('LINDEX', K_TRAIL, 0)
  if head then
    local first = tonumber(string.match(head, '^(%d+)|'))
    local drop = (cseq - keep + 1) - first
    if drop > 0 then redis.call('LTRIM', K_TRAIL, drop, -1) end
    for _ = 1, 1000 do
      head = redis.call('LINDEX', K_TRAIL, 0)
      if not head then break end
      local s, ts = string.match(head, '^(%d+)|(%d+)|')
      if tonumber(s) <= cseq and tonumber(ts) < cwm - horizon then redis.call('LPOP', K_TRAIL) else break end
    end
  end
end
return n
