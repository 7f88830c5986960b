-- Read an account's edges within [start_ms, end_ms] with their legs, and its meta.
-- KEYS: in zset (:i), out zset (:o), legs hash (:x), meta hash (:m)
-- ARGV: start_ms, end_ms
-- Returns {ins (member, score, legs, ...), outs (same), meta (field, value, ...)}
local function side(key)
  local rows = redis.call('ZRANGEBYSCORE', key, ARGV[1], ARGV[2], 'WITHSCORES')
  local out = {}
  for i = 1, #rows, 2 do
    local m = rows[i]
    local eid = string.sub(m, 1, string.find(m, '|', 1, true) - 1)
    out[#out + 1] = m
    out[#out + 1] = rows[i + 1]
    out[#out + 1] = redis.call('HGET', KEYS[3], eid) or ''
  end
  return out
end
return {side(KEYS[1]), side(KEYS[2]), redis.call('HGETALL', KEYS[4])}
