-- Read accounts' edges within [start_ms, end_ms] with their legs, and their meta.
-- KEYS: per account, its meta hash (:m); in zset (:i), out zset (:o), legs hash (:x) and alias times (:t)
--       share its hash tag and are named from it (see net_apply.lua)
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
for _, km in ipairs(KEYS) do
  local p = string.sub(km, 1, -2)
  local meta = redis.call('HGETALL', km)
  result[#result + 1] = {side(p .. 'i', p .. 'x'), side(p .. 'o', p .. 'x'), meta, redis.call('ZRANGE', p .. 't', 0, -1, 'WITHSCORES')}
end
return result
