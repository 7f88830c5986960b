-- Commit one customer's batch after its output events were acknowledged by Kafka:
-- drop the pending snapshots, record the committed watermark and store the new risk state.
-- KEYS: 1 aggregates hash, 2 risk-state hash
-- ARGV: 1 n = number of tx_ids, 2..n+1 tx_ids, then field/value pairs for the risk state
local K_AGG, K_RISK = KEYS[1], KEYS[2]
local n = tonumber(ARGV[1])
if n > 0 then
  local fields = {}
  for i = 2, n + 1 do fields[#fields + 1] = 'p:' .. ARGV[i] end
  redis.call('HDEL', K_AGG, unpack(fields))
end
local wm = redis.call('HGET', K_AGG, 'wm')
if wm then
  redis.call('HSET', K_AGG, 'cwm', wm, 'cseq', redis.call('HGET', K_AGG, 'seq'))
end
if #ARGV > n + 1 then
  local pairs_ = {}
  for i = n + 2, #ARGV do pairs_[#pairs_ + 1] = ARGV[i] end
  redis.call('HSET', K_RISK, unpack(pairs_))
end
return n
