-- Record customers' risk levels for the network stage (one hash, every worker reads it).
-- KEYS: the risk hash (aml:net:risk)
-- ARGV: high levels, comma-separated; then triples customer_id, level, event_ms (event time of the risk change)
-- The changes of one customer come in the order the customer stage emitted them (one partition),
-- and the latest emitted is its level now (a late posting re-rates with an older event time).
-- Value: "level@since_ms" while the customer is high-risk, since_ms = the event time at which it
-- became high-risk (kept while it stays at any high level: an escalation from suspicious to
-- prohibited keeps it); "level@since_ms@until_ms" once it fell below the high levels at until_ms
-- (the exposure rule's monitoring period reads it; streams/network/risk.py prunes old ones). A
-- customer never high-risk has no entry.
-- Returns the entries it set, flat: {customer_id, value, ...} (the worker applies them to its copy
-- of the hash instead of reading the whole hash again).
local high = {}
for level in string.gmatch(ARGV[1], '[^,]+') do high[level] = true end
local changed = {}
for i = 2, #ARGV, 3 do
  local cid, level, ms = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local stored = redis.call('HGET', KEYS[1], cid)
  local value = nil
  if stored then
    local was, since, fell = string.match(stored, '^([^@]*)@([^@]*)@?(.*)$')
    if high[level] then
      if fell ~= '' then value = level .. '@' .. ms  -- high-risk again: a new episode
      elseif was ~= level then value = level .. '@' .. since end  -- suspicious <-> prohibited
    elseif fell == '' then value = level .. '@' .. since .. '@' .. ms  -- it falls below: the monitoring period starts
    elseif was ~= level then value = level .. '@' .. since .. '@' .. fell
    end
  elseif high[level] then
    value = level .. '@' .. ms
  end
  if value then
    redis.call('HSET', KEYS[1], cid, value)
    changed[#changed + 1] = cid
    changed[#changed + 1] = value
  end
end
return changed
