-- Record customers' risk levels for the network stage (one hash, every worker reads it).
-- KEYS: the risk hash (aml:net:risk: each customer's newest episode), the hash of its ended earlier
--       episodes ({aml:net:risk}:past, the same Cluster slot)
-- ARGV: high levels, comma-separated; how long an ended episode is kept (ms of event time); then
--       triples customer_id, level, event_ms (event time of the risk change)
-- The changes of one customer come in the order the customer stage emitted them (one partition),
-- and the latest emitted is its level now (a late posting re-rates with an older event time).
-- Value: its high-risk episodes, newest first, ';'-separated. The newest: "level@since_ms" while the
-- customer is high-risk, since_ms = the event time at which it became high-risk (kept while it
-- stays at any high level: an escalation from suspicious to prohibited keeps it);
-- "level@since_ms@until_ms" once it fell below the high levels at until_ms (the exposure rule's
-- monitoring period reads it; streams/network/risk.py prunes old ones). An earlier episode keeps
-- that ended form, while it ended no more than the kept time before the newest began (at most 8):
-- the edges topic and the risk topic are consumed independently, so an edge of an earlier episode
-- may be judged after a new one began, and must be judged as of its own event time
-- (factors.patterns.high_risk_exposure.episode_at). A customer never high-risk has no entry.
-- Stored split: the newest episode in the risk hash, as a marker was before earlier episodes were
-- kept (a worker of that version, during a rolling update, reads and writes it as it did; it
-- keeps no earlier episodes), the earlier ones in the past hash.
-- Returns the entries it set, flat: {customer_id, value, ...} (the worker applies them to its copy
-- of the hash instead of reading the whole hash again).
local EARLIER = 8
local high = {}
for level in string.gmatch(ARGV[1], '[^,]+') do high[level] = true end
local keep = tonumber(ARGV[2])
local changed = {}
for i = 3, #ARGV, 3 do
  local cid, level, ms = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local stored = redis.call('HGET', KEYS[1], cid)
  local value = nil
  if stored then
    local past = redis.call('HGET', KEYS[2], cid)
    local head, tail = stored, past and (';' .. past) or ''
    local was, since, fell = string.match(head, '^([^@]*)@([^@]*)@?(.*)$')
    if high[level] then
      if fell ~= '' then  -- high-risk again: a new episode; the ended ones within the kept time stay
        local kept, n = '', 0
        for episode in string.gmatch(head .. tail, '[^;]+') do
          local s, u = string.match(episode, '^[^@]*@([^@]*)@(.*)$')
          if n < EARLIER and math.max(tonumber(s), tonumber(u)) >= tonumber(ms) - keep then
            kept = kept .. ';' .. episode
            n = n + 1
          end
        end
        value = level .. '@' .. ms .. kept
      elseif was ~= level then value = level .. '@' .. since .. tail end  -- suspicious <-> prohibited
    elseif fell == '' then value = level .. '@' .. since .. '@' .. ms .. tail  -- it falls below: the monitoring period starts
    elseif was ~= level then value = level .. '@' .. since .. '@' .. fell .. tail
    end
  elseif high[level] then
    value = level .. '@' .. ms
  end
  if value then
    local newest, earlier = string.match(value, '^([^;]*);?(.*)$')
    redis.call('HSET', KEYS[1], cid, newest)
    if earlier ~= '' then redis.call('HSET', KEYS[2], cid, earlier) else redis.call('HDEL', KEYS[2], cid) end
    changed[#changed + 1] = cid
    changed[#changed + 1] = value
  end
end
return changed
