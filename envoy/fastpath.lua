-- The gateway's fast path (docs/architecture.md, "The fast path"): Envoy
-- decides a tools/call itself when everything the decision reads is plain
-- and the caller's key has a grant on the server in the route's metadata
-- (handed over by the gateway from the policy). It only ever allows:
-- whatever it does not recognise returns untouched, and the request goes
-- on to ext_proc, which decides it as it decides every other request.
--
-- Runs on the fast-path candidate routes only (envoy/fastpath.go): POST
-- /<alias>/mcp, MCP-Protocol-Version 2026-07-28, Mcp-Method tools/call,
-- no Mcp-Session-Id. Envoy's MCP filter runs before it and has parsed the
-- body into dynamic metadata.
--
-- Route metadata (under this filter's name):
--   server       the server's alias
--   prefix       "<alias><separator>": a name written with it is the
--                full path's to strip
--   key_header   the lower-case header the gateway key comes in
--   mcp          the MCP filter's metadata namespace
--   pass         the client headers that reach an upstream ({name: true})
--   k:<digest>   a key's grant on the server, by the SHA-256 of the key:
--                {any, tools, deny, params} (policy.ToolGrant)

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

-- sha256 returns the lower-case hex SHA-256 of s (FIPS 180-4). Keys are
-- stored only as this digest; the gateway checks it the same way.
local function sha256(s)
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
  return tohex(h0) .. tohex(h1) .. tohex(h2) .. tohex(h3) .. tohex(h4) .. tohex(h5) .. tohex(h6) .. tohex(h7)
end

-- count is the number of times the plain text pat occurs in s.
local function count(s, pat)
  local n, i = 0, 1
  while true do
    local at = find(s, pat, i, true)
    if at == nil then return n end
    n, i = n + 1, at + 1
  end
end

-- Members the full path reads by exact name (extproc/rpc: a message's,
-- its params' and params.ref's). In the body each must appear, as a
-- quoted string anywhere, at most once and only in lower case: then no
-- member repeats or differs from another only in case, whichever parser
-- reads the body (Envoy's, ours, the upstream's). One that must not
-- appear at all has no place in a tools/call.
local once = { "jsonrpc", "id", "method", "params", "name", "arguments", "_meta" }
local never = { "result", "error", "uri", "ref", "type" }

-- plain reports whether body reads the same to every JSON parser as far
-- as the decision goes. No \u escape (the only one that writes a letter)
-- and no character that Unicode case folding takes to an ASCII letter
-- (U+017F, U+212A): a member name is then written as it reads.
local function plain(body)
  if find(body, "\\u", 1, true) or find(body, "\197\191", 1, true) or find(body, "\226\132\170", 1, true) then
    return false
  end
  local low = lower(body)
  for _, m in ipairs(once) do
    local q = '"' .. m .. '"'
    local n = count(low, q)
    if n > 1 or n ~= count(body, q) then return false end
  end
  for _, m in ipairs(never) do
    if find(low, '"' .. m .. '"', 1, true) then return false end
  end
  return true
end

-- The full path's limits on arguments (policy/request.go): at most 256
-- names, each at most 256 bytes. Duplicate names collapse in Envoy's
-- metadata, so the names are bounded by the body's quotes instead.
local maxArgs, maxArgName = 256, 256

-- requestID is the raw JSON id of the call when it is an integer or a
-- string without escapes (anything else: the full path).
local function requestID(body)
  local id = match(body, '"id"%s*:%s*(%-?%d+)%s*[,}]')
  if id ~= nil and #id <= 16 then return id end
  id = match(body, '"id"%s*:%s*("[^"\\]*")')
  return id
end

local function set(t) return type(t) == "table" and t or {} end

-- decide returns the call's tool and id when the key's grant on the
-- server allows it, else nil.
local function decide(handle, route, headers)
  local key = headers:get(route:get("key_header"))
  if key == nil or headers:getNumValues(route:get("key_header")) ~= 1 then return nil end
  -- A key as sent, nothing around it (a "Bearer " form, spaces, control
  -- characters, over 1024 bytes: the full path reads those).
  if #key == 0 or #key > 1024 or find(key, "[^!-~]") then return nil end
  local name = headers:get("mcp-name")
  if name == nil or headers:getNumValues("mcp-name") ~= 1 or headers:getNumValues("mcp-method") ~= 1 then return nil end
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

  local grant = route:get("k:" .. sha256(key))
  if grant == nil then return nil end
  -- Read before body(): a wrapper Envoy handed out is gone after a yield.
  local mcpNamespace, prefix = route:get("mcp"), route:get("prefix")

  local body = handle:body()
  if body == nil then return nil end
  local raw = body:getBytes(0, body:length())
  if not plain(raw) or count(raw, '"') > 2 * maxArgs then return nil end
  if not find(raw, '"jsonrpc"%s*:%s*"2%.0"') then return nil end
  local id = requestID(raw)
  if id == nil then return nil end

  local mcp = handle:streamInfo():dynamicMetadata():get(mcpNamespace)
  if type(mcp) ~= "table" or mcp.method ~= "tools/call" or type(mcp.params) ~= "table" then return nil end
  local tool = mcp.params.name
  if type(tool) ~= "string" or tool ~= name or tool == "" then return nil end
  if sub(tool, 1, #prefix) == prefix then return nil end

  -- The policy's allow for a tool (authz.rego tool_granted and
  -- params_violated), on the grant the policy computed for this key.
  if set(grant.deny)[tool] then return nil end
  if not grant.any and not set(grant.tools)[tool] then return nil end
  local args = {}
  if find(raw, '"arguments"', 1, true) then
    if not find(raw, '"arguments"%s*:%s*{') or type(mcp.params.arguments) ~= "table" then return nil end
    args = mcp.params.arguments
  end
  local rule = set(grant.params)[tool]
  local n = 0
  for k, _ in pairs(args) do
    n = n + 1
    if type(k) ~= "string" or #k > maxArgName or n > maxArgs then return nil end
    if rule ~= nil and not rule[k] then return nil end
  end
  return tool, id
end

function envoy_on_request(handle)
  local route = handle:metadata()
  local server, pass = route:get("server"), route:get("pass")
  if server == nil then return end
  local tool, id = decide(handle, route, handle:headers())
  if tool == nil then return end
  -- What the full path sends upstream: the client's headers but for the
  -- MCP protocol's own and a few others (upstreams/credentials).
  local headers, drop = handle:headers(), {}
  for k, _ in pairs(headers) do
    if sub(k, 1, 1) ~= ":" and k ~= "host" and not pass[k] then drop[#drop + 1] = k end
  end
  for _, k in ipairs(drop) do headers:remove(k) end
  -- The decision, in the namespace ext_proc writes its own in (the
  -- access log reads server, tool and mcp_method there); the fast route
  -- matches decided_by.
  local meta = handle:streamInfo():dynamicMetadata()
  meta:set("mcpgw", "server", server)
  meta:set("mcpgw", "tool", tool)
  meta:set("mcpgw", "mcp_method", "tools/call")
  meta:set("mcpgw", "jsonrpc_id", id)
  meta:set("mcpgw", "decided_by", "envoy")
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

function envoy_on_response(handle)
  local fp = handle:streamInfo():dynamicMetadata():get("mcpgw")
  if fp == nil or fp.decided_by ~= "envoy" then return end
  local headers = handle:headers()
  local code = tonumber(headers:get(":status")) or 0
  local mt = lower(match(headers:get("content-type") or "", "^%s*([^;%s]*)"))
  if code == 202 or code == 204 or not ((code >= 200 and code < 300) or code >= 500) then return end
  if mt == "application/json" or mt == "text/event-stream" or sub(mt, -5) == "+json" then return end
  local msg = string.format('upstream MCP server "%s" answered HTTP %d with %s, not JSON-RPC', fp.server, code, printable(mt))
  local body = '{"jsonrpc":"2.0","id":' .. fp.jsonrpc_id .. ',"error":{"code":-32603,"message":"' .. jsonText(msg) .. '"}}'
  headers:replace(":status", "502")
  headers:replace("content-type", "application/json")
  handle:body():setBytes(body)
end
