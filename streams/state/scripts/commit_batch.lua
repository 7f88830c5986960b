-- Commit one customer's batch after its output events were acknowledged by Kafka: drop the
-- pending snapshots, record the committed watermark (and profile version) and store the new
-- rating state.
-- KEYS: 1 aggregates hash, 2 rating-state hash
-- ARGV: 1 n, 2..n+1 pending ids, n+2 committed profile updated_ms or "", n+3 state JSON
local K_AGG, K_RISK = KEYS[1], KEYS[2]
local n = tonumber(ARGV[1])
if n > 0 then
  local fields = {}
  for i = 2, n + 1 do fields[#fields + 1] = 'p:' .. ARGV[i] end
  redis.call('HDEL', K_AGG, unpack(fields))
end
local agg = redis.call('HMGET', K_AGG, 'wm', 'seq')
if agg[1] then redis.call('HSET', K_AGG, 'cwm', agg[1], 'cseq', agg[2]) end
if ARGV[n + 2] ~= '' then redis.call('HSET', K_AGG, 'pcu', ARGV[n + 2]) end
redis.call('HSET', K_RISK, 's', ARGV[n + 3])
return n
