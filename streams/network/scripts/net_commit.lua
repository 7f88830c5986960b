-- Mark edge copies as committed (their outputs acknowledged) and record emitted detections.
-- KEYS: per account, its legs hash (:x) and meta hash (:m)
-- ARGV: a JSON array with one entry per account (KEYS order): [edge ids, [field, value, ...]]
--       (the detections emitted with the account as anchor, for its meta hash)
for a, entry in ipairs(cjson.decode(ARGV[1])) do
  local kx, km = KEYS[2 * a - 1], KEYS[2 * a]
  for _, eid in ipairs(entry[1]) do
    local legs = redis.call('HGET', kx, eid)
    if legs and string.sub(legs, 1, 2) == 'p|' then
      redis.call('HSET', kx, eid, 'd|' .. string.sub(legs, 3))
    end
  end
  local kv = entry[2]
  for i = 1, #kv, 2 do
    redis.call('HSET', km, kv[i], kv[i + 1])
  end
end
return 1
