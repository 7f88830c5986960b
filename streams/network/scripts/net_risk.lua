-- Record customers' risk levels for the network stage (one hash, every worker reads it).
-- KEYS: the risk hash (aml:net:risk)
-- ARGV: high levels, comma-separated; then triples customer_id, level, event_ms (event time of the risk change)
-- The changes of one customer come in the order the customer stage emitted them (one partition),
-- and the latest emitted is its level now (a late posting re-rates with an older event time).
-- Value per high-risk customer: "level@since_ms", since_ms = the event time at which it became
-- high-risk (kept while it stays at any high level: an escalation from suspicious to prohibited
-- keeps it). A customer below the high levels has no entry, so the hash holds only the customers
-- that are high-risk now.
local high = {}
for level in string.gmatch(ARGV[1], '[^,]+') do high[level] = true end
local changed = 0
for i = 2, #ARGV, 3 do
  local cid, level, ms = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if high[level] then
    local stored = redis.call('HGET', KEYS[1], cid)
    if not stored then
      redis.call('HSET', KEYS[1], cid, level .. '@' .. ms)
      changed = changed + 1
    elseif string.match(stored, '^([^@]*)@') ~= level then
      -- suspicious <-> prohibited: the level changes, since stays (high-risk since then)
      redis.call('HSET', KEYS[1], cid, level .. '@' .. string.match(stored, '@(.*)$'))
      changed = changed + 1
    end
  else
    changed = changed + redis.call('HDEL', KEYS[1], cid)
  end
end
return changed
