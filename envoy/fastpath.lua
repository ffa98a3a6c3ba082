-- The gateway's fast path (docs/architecture.md, "The fast path"): Envoy
-- decides a tools/call itself when everything the decision reads is plain
-- and the caller's key has a grant on the server in the route's metadata
-- (handed over by the gateway from the policy). It only ever allows:
-- whatever it does not recognise returns untouched, and the request goes
-- on to ext_proc, which decides it as it decides every other request.
--
-- Runs on the fast-path candidate routes only (envoy/fastpath.go): POST
-- /<alias>/mcp or /mcp, an MCP-Protocol-Version, Mcp-Method tools/call
-- or none. It takes a 2026-07-28 call (Mcp-Method, Mcp-Name, no session)
-- or an older client's (neither header; its session id, if any, opened
-- here as the gateway opens it) at a version the key's grant names. It
-- reads the body itself (parseBody), with a parser as strict as the full
-- path's. On the list candidate route (mode "list", envoy/directlist.go)
-- it only recognises list requests for the sidecar (isList); so it does
-- here for an older client's request, which has no Mcp-Method to keep it
-- off this route.
--
-- On /mcp (mode "aggregate") the name is "<alias><separator><tool>"
-- and the route metadata holds every server's grants instead:
--   separator            the tool-prefix separator
--   a:<alias>            true for every server (the name's alias is the
--                        longest of them, as namespace.Registry.Split)
--   p:<alias>            the upstream path of a server Envoy decides for
--   d:<digest>           true for a key with a grant on any server
--   k:<digest>:<alias>   its grant on that server
-- with key_header, valid_until, lists and the session keys as below.
--
-- Route metadata of a server's own endpoint (under this filter's name):
--   server       the server's alias
--   path         the upstream's path (with its query), which the call
--                goes to
--   prefix       "<alias><separator>": a name written with it is the
--                full path's to strip
--   key_header   the lower-case header the gateway key comes in
--   valid_until  seconds since the epoch: after it the grants are stale
--                (the gateway refreshes them while it runs)
--   lists        true when lists go to the sidecar directly
--   session_keys the keys that open session ids (hex), if any
--   session_ttl  an id's lifetime in seconds
--   k:<digest>   a key's grant on the server, by the SHA-256 of the key:
--                {key, team, org, any, tools, deny, params, versions}
--                (policy.ToolGrant; key, team and org are the key's id,
--                team and organization, for the logs; versions the
--                protocol versions its calls go at without an upstream
--                session)

-- passThrough, the client headers that reach an upstream ({name = true}),
-- is defined ahead of this script when the gateway renders it
-- (envoy/fastpath.go, from upstreams/credentials).

-- The protocol version without sessions (envoy.FastPathProtocolVersion).
local modernVersion = "2026-07-28"

-- privateNamespace holds what only this filter reads (a client's session
-- id, for its answer): the access log reads "mcpgw".
local privateNamespace = "mcpgw.fast_path"

local bit = require("bit")
local band, bnot, bxor, ror, rshift, tobit, tohex =
  bit.band, bit.bnot, bit.bxor, bit.ror, bit.rshift, bit.tobit, bit.tohex
local byte, char, rep, sub, find, lower, match, gsub =
  string.byte, string.char, string.rep, string.sub, string.find, string.lower, string.match, string.gsub

local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

-- sha256words returns the SHA-256 of s (FIPS 180-4) as eight 32-bit
-- words.
local function sha256words(s)
  local n = #s
  -- Padding: 0x80, zeros, the length in bits as 64 bits big-endian (keys
  -- are short: the high word is 0 below 512 MiB).
  local bits = n * 8
  s = s .. "\128" .. rep("\0", (55 - n) % 64) .. "\0\0\0\0"
    .. char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  local h0, h1, h2, h3 = 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a
  local h4, h5, h6, h7 = 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  local w = {}
  for chunk = 1, #s, 64 do
    for i = 0, 15 do
      local a, b, c, d = byte(s, chunk + i * 4, chunk + i * 4 + 3)
      w[i] = tobit(a * 16777216 + b * 65536 + c * 256 + d)
    end
    for i = 16, 63 do
      local x, y = w[i - 15], w[i - 2]
      local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
      local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
      w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
    for i = 0, 63 do
      local S1 = bxor(ror(e, 6), ror(e, 11), ror(e, 25))
      local ch = bxor(band(e, f), band(bnot(e), g))
      local t1 = h + S1 + ch + K[i + 1] + w[i]
      local S0 = bxor(ror(a, 2), ror(a, 13), ror(a, 22))
      local maj = bxor(band(a, b), band(a, c), band(b, c))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + S0 + maj)
    end
    h0, h1, h2, h3 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d)
    h4, h5, h6, h7 = tobit(h4 + e), tobit(h5 + f), tobit(h6 + g), tobit(h7 + h)
  end
  return h0, h1, h2, h3, h4, h5, h6, h7
end

-- sha256 returns the lower-case hex SHA-256 of s. Keys are stored only as
-- this digest; the gateway checks it the same way.
local function sha256(s)
  local h0, h1, h2, h3, h4, h5, h6, h7 = sha256words(s)
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4) .. tohex(h5) .. tohex(h6) .. tohex(h7)
end

local function be32(x)
  return char(band(rshift(x, 24), 255), band(rshift(x, 16), 255), band(rshift(x, 8), 255), band(x, 255))
end

-- sha256raw returns the SHA-256 of s, 32 bytes.
local function sha256raw(s)
  local h0, h1, h2, h3, h4, h5, h6, h7 = sha256words(s)
  return be32(h0) .. be32(h1) .. be32(h2) .. be32(h3) .. be32(h4) .. be32(h5) .. be32(h6) .. be32(h7)
end

-- A 2025-era client's session id is opened here as the gateway opens it
-- (internal/clientsession): "mcpgw1_" + base64url(issued-at (8 bytes) |
-- capabilities (1) | random (15) | mac (16)), mac the first 16 bytes of
-- HMAC-SHA256 over the first 24 and the key's digest, with one of the
-- route's session_keys (hex). Anything else is the full path's.

-- hmacPads holds each key's inner and outer padded key, per worker (the
-- keys change only with a gateway's restart).
local hmacPads, hmacPadCount = {}, 0

local function padsOf(hexKey)
  local p = hmacPads[hexKey]
  if p ~= nil then return p end
  if type(hexKey) ~= "string" or #hexKey ~= 64 or find(hexKey, "[^0-9a-f]") then return nil end
  local k = gsub(hexKey, "..", function(h) return char(tonumber(h, 16)) end) .. rep("\0", 32)
  local inner, outer = {}, {}
  for i = 1, 64 do
    local c = byte(k, i)
    inner[i], outer[i] = char(bxor(c, 0x36)), char(bxor(c, 0x5c))
  end
  p = { table.concat(inner), table.concat(outer) }
  if hmacPadCount >= 16 then hmacPads, hmacPadCount = {}, 0 end
  hmacPads[hexKey], hmacPadCount = p, hmacPadCount + 1
  return p
end

local base64Value = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for i = 1, 64 do base64Value[byte(alphabet, i)] = i - 1 end
end

-- base64url decodes unpadded base64url with no bits left over in its last
-- character (Go accepts some there; such ids are the full path's), or
-- returns nil.
local function base64url(s)
  if #s % 4 == 1 then return nil end
  local out = {}
  for i = 1, #s, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    a, b = base64Value[a], base64Value[b]
    if a == nil or b == nil then return nil end
    local v = a * 262144 + b * 4096
    if c ~= nil then
      c = base64Value[c]
      if c == nil then return nil end
      v = v + c * 64
    end
    if d ~= nil then
      d = base64Value[d]
      if d == nil then return nil end
      out[#out + 1] = char(rshift(v + d, 16), band(rshift(v + d, 8), 255), band(v + d, 255))
    elseif c ~= nil then
      if band(v, 255) ~= 0 then return nil end
      out[#out + 1] = char(rshift(v, 16), band(rshift(v, 8), 255))
    else
      if band(v, 65535) ~= 0 then return nil end
      out[#out + 1] = char(rshift(v, 16))
    end
  end
  return table.concat(out)
end

-- sessionMargin keeps the fast path off ids about to expire (the full
-- path, checking a moment later, must find them valid too).
local sessionMargin = 60

-- openSession returns the client capabilities sealed in id when id was
-- issued to the key of digest owner with one of keys and is valid for
-- ttl seconds more than sessionMargin; else nil.
local function openSession(id, owner, keys, ttl)
  if #id ~= 61 or sub(id, 1, 7) ~= "mcpgw1_" or type(keys) ~= "table" or type(ttl) ~= "number" then return nil end
  local b = base64url(sub(id, 8))
  if b == nil or #b ~= 40 then return nil end
  local signed, mac, valid = sub(b, 1, 24) .. owner, sub(b, 25, 40), false
  for _, k in ipairs(keys) do
    local p = padsOf(k)
    if p ~= nil and sub(sha256raw(p[2] .. sha256raw(p[1] .. signed)), 1, 16) == mac then
      valid = true
      break
    end
  end
  if not valid then return nil end
  local b1, b2, b3, b4, b5, b6, b7, b8, caps = byte(b, 1, 9)
  if b1 ~= 0 or b2 ~= 0 or b3 ~= 0 or b4 ~= 0 then return nil end
  local age = os.time() - (b5 * 16777216 + b6 * 65536 + b7 * 256 + b8)
  if age < 0 or age > ttl - sessionMargin then return nil end
  return caps
end



-- The body is read here, by a JSON parser that accepts exactly what
-- Go's encoding/json accepts as valid (json.Valid: the gateway's full
-- path refuses anything else), no more deeply nested than maxDepth, and
-- keeps what the decision reads, as written (see parseBody).
local maxDepth = 64

local parseValue -- a value at i: the index after it, or nil

local function skipSpace(s, i)
  return find(s, "[^ \t\r\n]", i)
end

-- parseString reads the string opening at i: the index after it, its
-- raw text, and whether it holds an escape. Control characters and
-- unknown escapes are invalid.
local function parseString(s, i)
  local j, escaped = i + 1, false
  while true do
    local k = find(s, '[%z\1-\31"\\]', j)
    if k == nil then return nil end
    local c = byte(s, k)
    if c == 34 then return k + 1, sub(s, i + 1, k - 1), escaped end
    if c ~= 92 then return nil end
    local e = byte(s, k + 1)
    if e == 117 then
      if not find(s, "^%x%x%x%x", k + 2) then return nil end
      j = k + 6
    elseif e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110 or e == 114 or e == 116 then
      j = k + 2
    else
      return nil
    end
    escaped = true
  end
end

local function parseNumber(s, i)
  local j = i
  if byte(s, j) == 45 then j = j + 1 end
  local c = byte(s, j)
  if c == 48 then
    j = j + 1
  elseif c ~= nil and c >= 49 and c <= 57 then
    local _, e = find(s, "^%d*", j + 1)
    j = e + 1
  else
    return nil
  end
  if byte(s, j) == 46 then
    local _, e = find(s, "^%d+", j + 1)
    if e == nil then return nil end
    j = e + 1
  end
  c = byte(s, j)
  if c == 101 or c == 69 then
    j = j + 1
    c = byte(s, j)
    if c == 43 or c == 45 then j = j + 1 end
    local _, e = find(s, "^%d+", j)
    if e == nil then return nil end
    j = e + 1
  end
  return j
end

-- parseObject reads the object opening at i. level says what it is: 1
-- the message, 2 its params, 3 params.arguments, 0 anything else. For
-- levels 1 to 3 it keeps the member names in doc.names[level], in order;
-- they must be plain ASCII without escapes (else the body is the full
-- path's: Go folds case over Unicode and decodes escapes). For levels 1
-- and 2 it keeps each member's raw scalar value (doc.raw) or "{" / "["
-- for an object or array (doc.kind).
local function parseObject(s, i, depth, level, doc)
  if depth > maxDepth then return nil end
  i = skipSpace(s, i + 1)
  if i == nil then return nil end
  if byte(s, i) == 125 then return i + 1 end
  while true do
    if byte(s, i) ~= 34 then return nil end
    local e, name, escaped = parseString(s, i)
    if e == nil then return nil end
    if level > 0 then
      if escaped or find(name, "[\128-\255]") then return nil end
      local names = doc.names[level]
      names[#names + 1] = name
    end
    i = skipSpace(s, e)
    if i == nil or byte(s, i) ~= 58 then return nil end
    i = skipSpace(s, i + 1)
    if i == nil then return nil end
    local c, child = byte(s, i), 0
    if c == 123 and ((level == 1 and name == "params") or (level == 2 and name == "arguments")) then
      child = level + 1
    end
    if level == 1 or level == 2 then
      if c == 123 or c == 91 then
        doc.kind[level][name] = char(c)
      end
    end
    if c == 123 then
      e = parseObject(s, i, depth + 1, child, doc)
    else
      e = parseValue(s, i, depth + 1, doc)
    end
    if e == nil then return nil end
    if (level == 1 or level == 2) and c ~= 123 and c ~= 91 then
      doc.raw[level][name] = sub(s, i, e - 1)
      -- Where params.name is, to rewrite it on /mcp (aggregate mode).
      if level == 2 and name == "name" then doc.namePos = { i, e - 1 } end
    end
    i = skipSpace(s, e)
    if i == nil then return nil end
    c = byte(s, i)
    if c == 125 then return i + 1 end
    if c ~= 44 then return nil end
    i = skipSpace(s, i + 1)
    if i == nil then return nil end
  end
end

local function parseArray(s, i, depth, doc)
  if depth > maxDepth then return nil end
  i = skipSpace(s, i + 1)
  if i == nil then return nil end
  if byte(s, i) == 93 then return i + 1 end
  while true do
    local e = parseValue(s, i, depth + 1, doc)
    if e == nil then return nil end
    i = skipSpace(s, e)
    if i == nil then return nil end
    local c = byte(s, i)
    if c == 93 then return i + 1 end
    if c ~= 44 then return nil end
    i = skipSpace(s, i + 1)
    if i == nil then return nil end
  end
end

parseValue = function(s, i, depth, doc)
  local c = byte(s, i)
  if c == 123 then return parseObject(s, i, depth, 0, doc) end
  if c == 91 then return parseArray(s, i, depth, doc) end
  if c == 34 then return (parseString(s, i)) end
  if c == 116 then return sub(s, i, i + 3) == "true" and i + 4 or nil end
  if c == 102 then return sub(s, i, i + 4) == "false" and i + 5 or nil end
  if c == 110 then return sub(s, i, i + 3) == "null" and i + 4 or nil end
  return parseNumber(s, i)
end

-- parseBody reads a body that must be one JSON object and nothing else:
-- the member names of the message (doc.names[1]), of its params
-- (doc.names[2]) and of params.arguments (doc.names[3]), with the
-- message's and params' raw scalar values and container kinds. nil for
-- anything else.
local function parseBody(body)
  local i = skipSpace(body, 1)
  if i == nil or byte(body, i) ~= 123 then return nil end
  local doc = { names = { {}, {}, {} }, raw = { {}, {} }, kind = { {}, {} } }
  local e = parseObject(body, i, 1, 1, doc)
  if e == nil or skipSpace(body, e) ~= nil then return nil end
  return doc
end

-- The members the full path reads by their exact names (extproc/rpc): of
-- a message and of its params. A name that repeats another or differs
-- from another or from one of these only in case is refused there, so it
-- is the full path's to refuse.
local messageMembers = { jsonrpc = true, id = true, method = true, params = true, result = true, error = true }
local paramMembers = { name = true, arguments = true, uri = true, ref = true, _meta = true }

local function ambiguous(names, known)
  local seen = {}
  for _, n in ipairs(names) do
    local l = lower(n)
    if seen[l] or (known[l] and l ~= n) then return true end
    seen[l] = true
  end
  return false
end

-- The full path's limits on arguments (policy/request.go): at most 256
-- names, each at most 256 bytes.
local maxArgs, maxArgName = 256, 256

-- requestID is the call's raw JSON id when it is an integer or a string
-- without escapes (anything else: the full path).
local function requestID(raw)
  if raw == nil then return nil end
  if match(raw, "^%-?%d+$") and #raw <= 16 then return raw end
  if match(raw, '^"[^"\\]*"$') then return raw end
  return nil
end

-- keyFromHeader reads a key as identity.KeyFromHeader does: the value,
-- or "Bearer <key>" (scheme in any case), spaces and tabs around ignored.
-- A key with a byte outside visible ASCII is the full path's.
local function keyFromHeader(v)
  v = match(v, "^[ \t]*(.-)[ \t]*$")
  local scheme, rest = match(v, "^([^ ]*) (.*)$")
  if scheme ~= nil and lower(scheme) == "bearer" then
    v = match(rest, "^[ \t]*(.*)$")
  end
  if #v == 0 or #v > 1024 or find(v, "[^!-~]") then return nil end
  return v
end

local function set(t) return type(t) == "table" and t or {} end

-- split reads a prefixed name as namespace.Registry.Split does: the
-- longest server alias (route metadata "a:<alias>", every server's)
-- followed by the separator, with something after it. It returns the
-- alias and the server's own name, or nil. Names longer than
-- maxSplitName are the full path's (MCP names have at most 128
-- characters; a long name of separators would cost a lookup each).
local maxSplitName = 256

local function split(name, sep, route)
  if #name > maxSplitName or #sep == 0 then return nil end
  -- Every position the separator starts at, overlapping ones included.
  local starts, from = {}, 1
  while true do
    local i = find(name, sep, from, true)
    if i == nil then break end
    starts[#starts + 1], from = i, i + 1
  end
  -- From the right: the first alias found is the longest.
  for n = #starts, 1, -1 do
    local i = starts[n]
    if i > 1 and i + #sep <= #name and route:get("a:" .. sub(name, 1, i - 1)) then
      return sub(name, 1, i - 1), sub(name, i + #sep)
    end
  end
  return nil
end

-- decide returns the call's tool, id and the key's grant when that grant on the
-- server allows it, else nil.
local function decide(handle, route, headers)
  local value = headers:get(route:get("key_header"))
  if value == nil or headers:getNumValues(route:get("key_header")) ~= 1 then return nil end
  local key = keyFromHeader(value)
  if key == nil then return nil end
  -- The protocol version: 2026-07-28 names the call in Mcp-Method and
  -- Mcp-Name and has no session; an older client sends neither header
  -- (the full path would rewrite an Mcp-Name) and may send its session.
  local version = headers:get("mcp-protocol-version")
  if version == nil or headers:getNumValues("mcp-protocol-version") ~= 1 then return nil end
  local name, session
  if version == modernVersion then
    name = headers:get("mcp-name")
    if name == nil or headers:getNumValues("mcp-name") ~= 1 or headers:getNumValues("mcp-method") ~= 1 then return nil end
    if headers:get("mcp-session-id") ~= nil then return nil end
  else
    if headers:get("mcp-name") ~= nil or headers:get("mcp-method") ~= nil then return nil end
    session = headers:get("mcp-session-id")
    if session ~= nil and headers:getNumValues("mcp-session-id") ~= 1 then return nil end
  end
  -- Headers only the full path reads: scope lists and per-server
  -- credentials (x-mcp-*), the client's own Authorization, an Origin to
  -- check, 2026-07-28 parameter headers to compare with the body.
  if headers:get("authorization") ~= nil or headers:get("origin") ~= nil then return nil end
  -- (Iterated to the end: a header map with an iteration under way
  -- cannot be changed.)
  local reserved = false
  for k, _ in pairs(headers) do
    if sub(k, 1, 6) == "x-mcp-" or sub(k, 1, 10) == "mcp-param-" then reserved = true end
  end
  if reserved then return nil end
  if find(headers:get(":path"), "?", 1, true) then return nil end
  local ct = headers:get("content-type")
  if ct == nil or lower(ct) ~= "application/json" then return nil end

  local validUntil = route:get("valid_until")
  if type(validUntil) ~= "number" or os.time() >= validUntil then return nil end
  local digest = sha256(key)
  -- Read before body(): a wrapper Envoy handed out is gone after a yield.
  local aggregate = route:get("mode") == "aggregate"
  local sessionKeys, sessionTTL
  if session ~= nil then sessionKeys, sessionTTL = route:get("session_keys"), route:get("session_ttl") end
  local grant, prefix, sep
  if aggregate then
    -- /mcp: the server is known once the name is read; a key with no
    -- grant on any server is the full path's at once.
    if route:get("d:" .. digest) == nil then return nil end
    sep = route:get("separator")
  else
    grant = route:get("k:" .. digest)
    if grant == nil then return nil end
    prefix = route:get("prefix")
  end

  local body = handle:body()
  if body == nil then return nil end
  local doc = parseBody(body:getBytes(0, body:length()))
  if doc == nil or ambiguous(doc.names[1], messageMembers) or ambiguous(doc.names[2], paramMembers) then return nil end
  local top, params = doc.raw[1], doc.raw[2]
  if top.jsonrpc ~= '"2.0"' or top.method ~= '"tools/call"' or doc.kind[1].params ~= "{" then return nil end
  if top.result or top.error or doc.kind[1].result or doc.kind[1].error then return nil end
  if params.uri or params.ref or doc.kind[2].uri or doc.kind[2].ref then return nil end
  local id = requestID(top.id)
  if id == nil then return nil end
  -- The tool: a plain ASCII string, as Mcp-Name says, not written with
  -- the server's prefix (the full path strips that).
  local raw = params.name
  if raw == nil or find(raw, '[\\\128-\255]') or #raw < 3 or sub(raw, 1, 1) ~= '"' then return nil end
  local tool = sub(raw, 2, -2)
  if name ~= nil and tool ~= name then return nil end
  local server, path
  if aggregate then
    -- "<alias><separator><tool>", the alias one Envoy has grants on.
    route = handle:metadata()
    local alias, own = split(tool, sep, route)
    if alias == nil then return nil end
    path, grant = route:get("p:" .. alias), route:get("k:" .. digest .. ":" .. alias)
    if path == nil or grant == nil or doc.namePos == nil then return nil end
    server, tool = alias, own
  elseif sub(tool, 1, #prefix) == prefix then
    -- A name written with the server's prefix: the full path strips it.
    return nil
  end
  if params.arguments ~= nil or (doc.kind[2].arguments ~= nil and doc.kind[2].arguments ~= "{") then return nil end
  -- The key's calls to the server at this version were seen to go
  -- without an upstream session (the gateway learned it).
  local versions = grant.versions
  if versions == nil then versions = { [modernVersion] = true } end
  if type(versions) ~= "table" or not versions[version] then return nil end
  if session ~= nil then
    -- The id must open for this key, as on the full path. A client that
    -- declared capabilities (elicitation, sampling, roots) gets, on /mcp,
    -- its call's event stream relayed by ext_proc (upstream requests'
    -- ids signed, the answer read for the logs): the full path's.
    local caps = openSession(session, digest, sessionKeys, sessionTTL)
    if caps == nil or (caps ~= 0 and aggregate) then return nil end
  end
  local args = doc.names[3]
  if #args > maxArgs then return nil end

  -- The policy's allow for a tool (authz.rego tool_granted and
  -- params_violated), on the grant the policy computed for this key.
  if set(grant.deny)[tool] then return nil end
  if not grant.any and not set(grant.tools)[tool] then return nil end
  local rule = set(grant.params)[tool]
  for _, k in ipairs(args) do
    if #k > maxArgName then return nil end
    if rule ~= nil and not rule[k] then return nil end
  end
  return tool, id, grant, server, path, aggregate and doc.namePos or nil, session
end

-- maxListBody is the largest list request sent to the sidecar directly
-- (envoy/directlist.go maxListBody; the list candidate route checks the
-- Content-Length too).
local maxListBody = 4096

-- The list methods the sidecar answers from its discovery cache: a
-- request for one of them may go to the sidecar directly (list mode).
local listMethods = {
  ['"tools/list"'] = true, ['"prompts/list"'] = true,
  ['"resources/list"'] = true, ['"resources/templates/list"'] = true,
}

-- isList reports whether the body is one plain JSON-RPC request for a
-- list method. It decides nothing: the sidecar then runs the full path's
-- decision itself (extproc.Server.DecideDirect), and only ever serves a
-- request that decision sends it.
local function isList(handle)
  local body = handle:body()
  if body == nil then return false end
  if body:length() > maxListBody then return false end
  local bytes = body:getBytes(0, body:length())
  -- Most bodies (calls, initialize) are not lists: skip parsing them.
  if not find(bytes, "/list", 1, true) then return false end
  local doc = parseBody(bytes)
  if doc == nil or ambiguous(doc.names[1], messageMembers) then return false end
  local top = doc.raw[1]
  if top.jsonrpc ~= '"2.0"' or not listMethods[top.method] then return false end
  if top.result or top.error or doc.kind[1].result or doc.kind[1].error then return false end
  if top.params ~= nil or (doc.kind[1].params ~= nil and doc.kind[1].params ~= "{") then return false end
  return requestID(top.id) ~= nil
end

-- onListRequest (list mode): a list request goes to the sidecar's direct
-- route (envoy/directlist.go), which matches decided_by "sidecar".
local function markList(handle)
  handle:streamInfo():dynamicMetadata():set("mcpgw", "decided_by", "sidecar")
  handle:clearRouteCache()
end

local function onListRequest(handle)
  if isList(handle) then markList(handle) end
end

function envoy_on_request(handle)
  local route = handle:metadata()
  if route:get("mode") == "list" then return onListRequest(handle) end
  local server, upstreamPath = route:get("server"), route:get("path")
  if route:get("mode") ~= "aggregate" and (server == nil or upstreamPath == nil) then return end
  local headers = handle:headers()
  -- An older client's list, where the sidecar answers lists directly:
  -- this route comes ahead of the list candidate route.
  if route:get("lists") == true and headers:get("mcp-method") == nil then
    if isList(handle) then return markList(handle) end
    -- Wrappers Envoy handed out are gone after body()'s yield.
    route, headers = handle:metadata(), handle:headers()
  end
  local tool, id, grant, aggServer, aggPath, namePos, session = decide(handle, route, headers)
  if tool == nil then return end
  if namePos ~= nil then
    -- /mcp: the name goes upstream without its prefix, in the body (its
    -- Content-Length follows) and in Mcp-Name, as the full path sends it.
    server, upstreamPath = aggServer, aggPath
    local body = handle:body()
    local bytes = body:getBytes(0, body:length())
    body:setBytes(sub(bytes, 1, namePos[1] - 1) .. '"' .. tool .. '"' .. sub(bytes, namePos[2] + 1))
    -- (Older clients send no Mcp-Name; the full path adds none.)
    if handle:headers():get("mcp-name") ~= nil then handle:headers():replace("mcp-name", tool) end
  end
  -- What the full path sends upstream: the client's headers but for the
  -- MCP protocol's own and a few others (upstreams/credentials).
  -- The client's session id is the gateway's, never the upstream's.
  local drop = {}
  headers = handle:headers()
  for k, _ in pairs(headers) do
    if (sub(k, 1, 1) ~= ":" and k ~= "host" and not passThrough[k]) or k == "mcp-session-id" then drop[#drop + 1] = k end
  end
  for _, k in ipairs(drop) do headers:remove(k) end
  -- The upstream's path, set here as ext_proc sets it on the full path
  -- (a route rewrite would send x-envoy-original-path upstream).
  headers:replace(":path", upstreamPath)
  -- The decision, in the namespace ext_proc writes its own in (the
  -- access log reads server, tool and mcp_method there); the fast route
  -- matches decided_by and server.
  local meta = handle:streamInfo():dynamicMetadata()
  meta:set("mcpgw", "key_alias", grant.key or "")
  meta:set("mcpgw", "key_team", grant.team or "")
  meta:set("mcpgw", "key_org", grant.org or "")
  meta:set("mcpgw", "server", server)
  meta:set("mcpgw", "tool", tool)
  meta:set("mcpgw", "mcp_method", "tools/call")
  meta:set("mcpgw", "jsonrpc_id", id)
  meta:set("mcpgw", "decided_by", "envoy")
  -- The answer gives the client its own session id back. (Envoy's gRPC
  -- access log sends every namespace to the gateway's access log
  -- service, which reads only "mcpgw": the id is never logged.)
  if session ~= nil then meta:set(privateNamespace, "session", session) end
  handle:clearRouteCache()
end

-- An upstream's answer no MCP client can read (an HTML error page, plain
-- text) becomes the full path's 502 (extproc/router/response.go).
local function printable(s)
  return (gsub(sub(s, 1, 64), "[^!-~]", "?"))
end

local function jsonText(s)
  return (gsub(s, '[\\"<>&]', { ["\\"] = "\\\\", ['"'] = '\\"', ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" }))
end

-- idText is a request id as the full path writes it back (Go's
-- encoding/json: <, >, &, U+2028 and U+2029 escaped); requestID has let
-- through no other escape.
local function idText(s)
  s = gsub(s, "[<>&]", { ["<"] = "\\u003c", [">"] = "\\u003e", ["&"] = "\\u0026" })
  s = gsub(s, "\226\128\168", "\\u2028")
  return (gsub(s, "\226\128\169", "\\u2029"))
end

-- The sidecar tells the access log what ext_proc would have (its key
-- alias, JSON-RPC method and error) in these response headers, on the
-- direct route only; they never reach the client.
local logHeaders = {
  ["x-mcpgw-log-key-alias"] = "key_alias",
  ["x-mcpgw-log-mcp-method"] = "mcp_method",
  ["x-mcpgw-log-jsonrpc-error"] = "jsonrpc_error",
}

local function onDirectResponse(handle)
  local headers, meta = handle:headers(), handle:streamInfo():dynamicMetadata()
  local refused = headers:get("x-mcpgw-log-jsonrpc-error") ~= nil
  for name, key in pairs(logHeaders) do
    local v = headers:get(name)
    if v ~= nil then
      if key == "jsonrpc_error" then v = tonumber(v) end
      if v ~= nil then meta:set("mcpgw", key, v) end
      headers:remove(name)
    end
  end
  -- A refusal is the full path's reply, which Envoy answers itself:
  -- no upstream timing.
  if refused then headers:remove("x-envoy-upstream-service-time") end
end

function envoy_on_response(handle)
  local fp = handle:streamInfo():dynamicMetadata():get("mcpgw")
  if fp == nil then return end
  if fp.decided_by == "sidecar" then return onDirectResponse(handle) end
  if fp.decided_by ~= "envoy" then return end
  local headers = handle:headers()
  local code = tonumber(headers:get(":status")) or 0
  local own = handle:streamInfo():dynamicMetadata():get(privateNamespace)
  if own ~= nil and own.session ~= nil then
    -- (The route has removed the upstream's.)
    headers:replace("mcp-session-id", own.session)
  end
  local mt = lower(match(headers:get("content-type") or "", "^%s*([^;%s]*)"))
  if code == 202 or code == 204 or not ((code >= 200 and code < 300) or code >= 500) then return end
  if mt == "application/json" or mt == "text/event-stream" or sub(mt, -5) == "+json" then return end
  local msg = string.format('upstream MCP server "%s" answered HTTP %d with %s, not JSON-RPC', fp.server, code, printable(mt))
  local body = '{"jsonrpc":"2.0","id":' .. idText(fp.jsonrpc_id) .. ',"error":{"code":-32603,"message":"' .. jsonText(msg) .. '"}}'
  -- The full path's reply carries none of the upstream's headers.
  local drop = {}
  for k, _ in pairs(headers) do
    if k ~= ":status" then drop[#drop + 1] = k end
  end
  for _, k in ipairs(drop) do headers:remove(k) end
  headers:replace(":status", "502")
  headers:replace("content-type", "application/json")
  handle:body():setBytes(body)
  -- As the full path logs its reply (the access log's jsonrpc_error).
  handle:streamInfo():dynamicMetadata():set("mcpgw", "jsonrpc_error", -32603)
end
