-- Apply a committed batch's counter increments (per-level customer counts, peer statistics and
-- distributions) at most once per batch: a retried commit whose pipeline Redis already ran finds
-- the guard set and changes nothing. All keys of one call share one Redis Cluster slot.
-- KEYS: 1 the guard "aml:commit-guard:{<tag>}:<token>", then the counter hashes.
-- ARGV: 1 the guard's time to live in seconds, then per increment: the counter's index in KEYS
--   (2 ..), the field, the amount (an integer).
-- Returns 1 when the increments were applied, 0 when the guard was already set.

if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2])
end
return 1
