-- Every change to a shared batch (braket_async/batch_redis.py), atomic per call.
-- KEYS: meta (hash), items (stream, group "w"), created (stream), cbits / dbits / sbits
-- (bitmaps: created, done, settled), outcomes (stream), lease (string).
-- ARGV[1]: the command; ARGV[2]: retention in ms (every key expires that long after the
-- batch's last change); the rest per command.
local meta, items, created, cbits, dbits, sbits, outcomes, lease =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local cmd = ARGV[1]
local retention = tonumber(ARGV[2])
local GROUP = 'w'

local function touch()
  for i = 1, 7 do
    redis.call('PEXPIRE', KEYS[i], retention)
  end
end

-- An item is settled once it has a task or a final outcome without one.
local function settle(index)
  if redis.call('SETBIT', sbits, index, 1) == 0 then
    redis.call('HINCRBY', meta, 'settled', 1)
  end
end

-- The hand-out is over: acknowledged, and the entry (its request) dropped.
local function ack(ticket)
  if ticket ~= '' then
    redis.call('XACK', items, GROUP, ticket)
    redis.call('XDEL', items, ticket)
  end
end

-- The first outcome of an item goes on the outcome stream; later ones are dropped.
local function record(index, kind, fields)
  if redis.call('SETBIT', dbits, index, 1) == 1 then
    return 0
  end
  redis.call('XADD', outcomes, '*', unpack(fields))
  redis.call('HINCRBY', meta, kind, 1)
  redis.call('HINCRBY', meta, 'done', 1)
  return 1
end

local function field(entry, name)
  local values = entry[2]
  for i = 1, #values, 2 do
    if values[i] == name then
      return values[i + 1]
    end
  end
  return nil
end

if cmd == 'take' then
  -- ARGV: consumer, claim_idle ms, count
  local st = redis.call('HMGET', meta, 'items', 'settled', 'stop', 'cursor')
  if not st[1] then
    return {'gone'}
  end
  local consumer, idle, count = ARGV[3], ARGV[4], ARGV[5]
  local claimed = redis.call('XAUTOCLAIM', items, GROUP, consumer, idle, st[4] or '0-0',
    'COUNT', count)
  redis.call('HSET', meta, 'cursor', claimed[1])
  local entries = claimed[2]
  local reclaimed = '1'
  if #entries == 0 and st[3] ~= '1' then
    reclaimed = '0'
    local read = redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', count,
      'STREAMS', items, '>')
    if read then
      entries = read[1][2]
    end
  end
  return {st[1], st[2] or '0', st[3] or '0', reclaimed, entries}

elseif cmd == 'created' then
  -- ARGV: index, arn, ticket, slow (0/1)
  local index, arn, ticket = ARGV[3], ARGV[4], ARGV[5]
  local new = 0
  if redis.call('SETBIT', cbits, index, 1) == 0 then
    if ARGV[6] == '1' then
      redis.call('XADD', created, '*', 'i', index, 'a', arn, 's', '1')
    else
      redis.call('XADD', created, '*', 'i', index, 'a', arn)
    end
    redis.call('HINCRBY', meta, 'submitted', 1)
    new = 1
  end
  settle(index)
  ack(ticket)
  touch()
  return {new, redis.call('HGET', meta, 'cancel') or '0'}

elseif cmd == 'outcome' then
  -- ARGV: index, kind, ticket, settles (0/1), then the outcome's fields
  local index, kind, ticket = ARGV[3], ARGV[4], ARGV[5]
  local fields = {}
  for i = 7, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  local new = record(index, kind, fields)
  if ARGV[6] == '1' then
    settle(index)
  end
  ack(ticket)
  touch()
  return new

elseif cmd == 'stop' then
  -- ARGV: consumer, cancel (0/1), reason. Items nobody took get their outcome now.
  local consumer, reason = ARGV[3], ARGV[5]
  redis.call('HSET', meta, 'stop', '1')
  if ARGV[4] == '1' then
    redis.call('HSET', meta, 'cancel', '1')
  end
  local count = 0
  while true do
    local read = redis.call('XREADGROUP', 'GROUP', GROUP, consumer, 'COUNT', 500,
      'STREAMS', items, '>')
    if not read then
      break
    end
    local entries = read[1][2]
    if #entries == 0 then
      break
    end
    for _, entry in ipairs(entries) do
      local index = field(entry, 'i')
      count = count + record(index, 'not_submitted',
        {'i', index, 'k', 'not_submitted', 'e', 'ItemNotSubmitted', 'm', reason})
      settle(index)
      ack(entry[1])
    end
  end
  touch()
  return count

elseif cmd == 'lease' then
  -- ARGV: owner, ttl ms
  local current = redis.call('GET', lease)
  if current == ARGV[3] then
    redis.call('PEXPIRE', lease, ARGV[4])
    return 1
  end
  if not current then
    redis.call('SET', lease, ARGV[3], 'PX', ARGV[4])
    return 1
  end
  return 0

elseif cmd == 'release' then
  if redis.call('GET', lease) == ARGV[3] then
    redis.call('DEL', lease)
  end
  return 0
end
return redis.error_reply('unknown command ' .. tostring(cmd))
