-- Mark edge copies as committed (their outputs acknowledged) and record emitted detections.
-- KEYS: legs hash (:x), meta hash (:m)
-- ARGV: n_edges, eid..., then field, value pairs for the meta hash (detection keys)
local n = tonumber(ARGV[1])
for i = 2, n + 1 do
  local legs = redis.call('HGET', KEYS[1], ARGV[i])
  if legs and string.sub(legs, 1, 2) == 'p|' then
    redis.call('HSET', KEYS[1], ARGV[i], 'd|' .. string.sub(legs, 3))
  end
end
for i = n + 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
