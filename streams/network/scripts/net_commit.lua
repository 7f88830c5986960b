-- Mark edge copies as committed (their outputs acknowledged).
-- KEYS: per account, its legs hash (:x) and meta hash (:m)
-- ARGV: a JSON array with one entry per account (KEYS order): its edge ids
for a, eids in ipairs(cjson.decode(ARGV[1])) do
  local kx = KEYS[2 * a - 1]
  for _, eid in ipairs(eids) do
    local legs = redis.call('HGET', kx, eid)
    if legs and string.sub(legs, 1, 2) == 'p|' then
      redis.call('HSET', kx, eid, 'd|' .. string.sub(legs, 3))
    end
  end
end
return 1
