-- Record detections emitted (their events acknowledged), one key per detection_key (aml:net:e:{key}).
-- KEYS: the detections' keys (one per call on a Cluster: each is its own slot)
-- ARGV: ttl_ms (storage only: the network stage compares the recorded event time), then a JSON
--       array, one entry per key (KEYS order): [pattern, "party marks|event ms", event ms]
-- A record is replaced only by an emission at the same or a later event time, so a redelivered
-- older batch never overwrites what a later one recorded.
local ttl = tonumber(ARGV[1])
for n, entry in ipairs(cjson.decode(ARGV[2])) do
  local key = KEYS[n]
  local stored = redis.call('HGET', key, entry[1])
  local ms = stored and tonumber(string.match(stored, '|(%d+)$')) or nil
  if not ms or ms <= entry[3] then
    redis.call('HSET', key, entry[1], entry[2])
  end
  redis.call('PEXPIRE', key, ttl)
end
return 1
