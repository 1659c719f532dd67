// Lua shared by the device registry's scripts (device-scripts.ts, delivery-scripts.ts): bounded queues,
// key templates and numbered delivery. Prepended to a script body that needs them.
/**
 * Lua: RPUSH onto a list bounded in count and in bytes; the byte total lives in its own key (written with
 * the list and with its TTL), so the bound costs no read of the list. At either bound the message is
 * refused (false), never an older one dropped: what is queued first (an answer, early candidates) is what
 * the peer needs first, and the sender hears the refusal. deviceKey fills a `{u}`/`{c}` key template.
 */
export const PUSH_BOUNDED = `
local function pushBounded(list, bytesKey, msg, maxCount, maxBytes, ttl)
  local n = redis.call('LLEN', list)
  local used = 0
  if n > 0 then used = tonumber(redis.call('GET', bytesKey) or '0') or 0 end
  if n >= tonumber(maxCount) or used + #msg > tonumber(maxBytes) then return false end
  redis.call('RPUSH', list, msg)
  redis.call('PEXPIRE', list, ttl)
  redis.call('SET', bytesKey, used + #msg, 'PX', ttl)
  return true
end
local function deviceKey(template, u, c)
  local k = string.gsub(string.gsub(template, '{u}', u), '{c}', c)
  return k
end
`;

/**
 * Lua: numbered delivery, for a device whose record has `seqOn` (it sent `auth.lastSeq`). withSeq adds
 * `"seq":n` to a JSON `[event, {payload}]` message (the payload is never empty: it has a callId); seqOf
 * reads it back (nil for an unnumbered message). pushReplay appends to the device's replay buffer of
 * messages already emitted, dropping the OLDEST past either bound: unlike the pending queue nobody could be
 * told of a refusal here (the message is already on its way), and a device that was gone for longer than the
 * buffer holds has lost its media state anyway.
 */
export const NUMBERED = `
local function withSeq(msg, n) return string.sub(msg, 1, -3) .. ',"seq":' .. n .. '}]' end
local function seqOf(entry) return tonumber(string.match(entry, '"seq":(%d+)}%]$')) end
local function pushReplay(list, bytesKey, msg, maxCount, maxBytes, ttl)
  local n = redis.call('RPUSH', list, msg)
  local used = #msg
  if n > 1 then used = used + (tonumber(redis.call('GET', bytesKey) or '0') or 0) end
  while n > 1 and (n > tonumber(maxCount) or used > tonumber(maxBytes)) do
    used = used - #redis.call('LPOP', list)
    n = n - 1
  end
  redis.call('PEXPIRE', list, ttl)
  redis.call('SET', bytesKey, used, 'PX', ttl)
end
`;

/** Queued [event, payload] messages, oldest first; a corrupt entry is dropped, never thrown at the client. */
/** Lua: the device map entry (keys.userClients) of one device says `state` now, if it has an entry. */
export const MAP_ENTRY = `
local function setEntryState(userClients, clientId, state)
  local entry = redis.call('HGET', userClients, clientId)
  if not entry then return end
  local e = cjson.decode(entry)
  e.state = state
  redis.call('HSET', userClients, clientId, cjson.encode(e))
end
`;

export function parseMessages(raw: readonly string[] | undefined): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const entry of raw ?? []) {
    try {
      out.push(JSON.parse(entry) as [string, unknown]);
    } catch {
      // skip it
    }
  }
  return out;
}
