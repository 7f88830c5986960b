-- Read accounts' edges within [start_ms, end_ms] with their legs, and their meta.
-- KEYS: per account, 5 keys sharing its hash tag: in zset (:i), out zset (:o), legs hash (:x), meta hash (:m), alias times (:t)
-- ARGV: start_ms, end_ms
-- Returns per account (KEYS order) {ins (member, score, legs, ...), outs (same), meta (field, value, ...),
-- alias times (key, ms, ...)}
local function side(key, kx)
  local rows = redis.call('ZRANGEBYSCORE', key, ARGV[1], ARGV[2], 'WITHSCORES')
  local out = {}
  for i = 1, #rows, 2 do
    local m = rows[i]
    local eid = string.sub(m, 1, string.find(m, '|', 1, true) - 1)
    out[#out + 1] = m
    out[#out + 1] = rows[i + 1]
    out[#out + 1] = redis.call('HGET', kx, eid) or ''
  end
  return out
end
local result = {}
for k = 1, #KEYS, 5 do
  local meta = redis.call('HGETALL', KEYS[k + 3])
  result[#result + 1] = {side(KEYS[k], KEYS[k + 2]), side(KEYS[k + 1], KEYS[k + 2]), meta, redis.call('ZRANGE', KEYS[k + 4], 0, -1, 'WITHSCORES')}
end
return result
