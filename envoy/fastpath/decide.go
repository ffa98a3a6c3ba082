package fastpath

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Header is one request or response header as Envoy holds it (names in
// lower case).
type Header struct{ Name, Value string }

// Headers are a request's or response's headers, in Envoy's order.
type Headers []Header

// Get returns the first value of the header name and how many it has.
func (h Headers) Get(name string) (value string, n int) {
	for _, x := range h {
		if x.Name == name {
			if n == 0 {
				value = x.Value
			}
			n++
		}
	}
	return value, n
}

// sessionMargin keeps the fast path off ids about to expire: the full
// path, checking a moment later, must find them valid too.
const sessionMargin = time.Minute

// Pending is a call whose headers the fast path may take; its body
// decides (Body).
type Pending struct {
	route   *Route
	digest  string // the key's, lower-case hex SHA-256
	version string // MCP-Protocol-Version
	name    string // Mcp-Name (2026-07-28), "" for older clients
	session string // an older client's session id, if any
	grant   *grant // ModeServer: the key's grant on the server
	now     time.Time
}

// Headers checks what the fast path reads of a call's headers at now. It
// returns nil for a call that is the full path's whatever its body.
func (r *Route) Headers(h Headers, now time.Time) *Pending {
	if r.mode != ModeServer && r.mode != ModeAggregate {
		return nil
	}
	value, n := h.Get(r.keyHeader)
	if n != 1 {
		return nil
	}
	key, ok := identity.KeyFromHeader(value)
	if !ok {
		return nil
	}
	p := &Pending{route: r, now: now}
	// The protocol version: 2026-07-28 names the call in Mcp-Method and
	// Mcp-Name and has no session; an older client sends neither header
	// (the full path would rewrite an Mcp-Name) and may send its session.
	if p.version, n = h.Get("mcp-protocol-version"); n != 1 {
		return nil
	}
	if p.version == ProtocolVersion {
		var names int
		p.name, names = h.Get("mcp-name")
		// (An empty Mcp-Name is missing, to the full path: 400.)
		if method, n := h.Get("mcp-method"); names != 1 || p.name == "" || n != 1 || method != "tools/call" {
			return nil
		}
		if _, n := h.Get("mcp-session-id"); n != 0 {
			return nil
		}
	} else {
		_, names := h.Get("mcp-name")
		_, methods := h.Get("mcp-method")
		if names != 0 || methods != 0 {
			return nil
		}
		if p.session, n = h.Get("mcp-session-id"); n > 1 {
			return nil
		}
	}
	// Headers only the full path reads: scope lists and per-server
	// credentials (x-mcp-*), the client's own Authorization, an Origin to
	// check, 2026-07-28 parameter headers to compare with the body.
	for _, x := range h {
		switch {
		case x.Name == "authorization", x.Name == "origin",
			strings.HasPrefix(x.Name, "x-mcp-"), strings.HasPrefix(x.Name, "mcp-param-"):
			return nil
		case x.Name == ":path" && strings.Contains(x.Value, "?"):
			return nil
		}
	}
	if ct, n := h.Get("content-type"); n != 1 || !strings.EqualFold(ct, "application/json") {
		return nil
	}
	if !now.Before(r.validUntil) {
		return nil
	}
	p.digest = identity.Hash(key).String()
	if r.mode == ModeAggregate {
		// /mcp: the server is known once the name is read; a key with
		// no grant on any server is the full path's at once.
		if !r.anyGrant[p.digest] {
			return nil
		}
	} else if p.grant = r.server.grants[p.digest]; p.grant == nil {
		return nil
	}
	return p
}

// Decision is a call the fast path allows, and what goes upstream.
type Decision struct {
	// Server is the server's alias, Path its upstream path (with query).
	Server, Path string
	// Tool is the upstream's own name of the tool; ID the call's JSON-RPC
	// id as sent.
	Tool, ID string
	// KeyAlias, Team and Org are the key's, for the logs.
	KeyAlias, Team, Org string
	// Body, when set, replaces the request body (on /mcp: the name
	// without its prefix); SetMCPName says Mcp-Name must become Tool.
	Body       []byte
	SetMCPName bool
	// Session is the client's session id, given back on the answer.
	Session string
	// relayIDs, set for a client that declared capabilities (on /mcp),
	// sign the ids of the requests the upstream sends it during the call
	// (Relay).
	relayIDs *relay.IDs
}

// Relay is what rewrites the call's answer, an event stream with status
// 200, as the full path does (router.NewRelay): the requests the upstream
// sends the client get ids signed for the client's session, which route
// the client's answers back (the full path routes those). Nil: the
// answer passes as it is.
func (d *Decision) Relay() *relay.Stream {
	if d.relayIDs == nil {
		return nil
	}
	return relay.New(relay.Options{Alias: d.Server, IDs: d.relayIDs, Session: d.Session})
}

// Body decides the call of body, or returns nil: the full path's.
func (p *Pending) Body(body []byte) *Decision {
	msg := plainRequest(body)
	if msg == nil || msg.Method != "tools/call" {
		return nil
	}
	id, ok := requestID(msg.ID)
	if !ok || len(msg.Params) == 0 || msg.Params[0] != '{' {
		return nil
	}
	// Member names as they read, on every path and upstream: on /mcp
	// the name is rewritten in place, where the full path writes the
	// message anew.
	if !plainNames(body) || !plainNames(msg.Params) {
		return nil
	}
	if msg.ParamRaw("uri") != nil || msg.ParamRaw("ref") != nil {
		return nil
	}
	// The tool: a plain ASCII string, as Mcp-Name says, not written with
	// the server's prefix (the full path strips that).
	tool, ok := plainString(msg.ParamRaw("name"))
	if !ok || tool == "" || (p.version == ProtocolVersion && tool != p.name) {
		return nil
	}
	r := p.route
	d := &Decision{ID: id, Tool: tool, Session: p.session}
	g := p.grant
	if r.mode == ModeAggregate {
		// "<alias><separator><tool>", the alias one Envoy has grants on.
		alias, own, ok := r.split(tool)
		if !ok {
			return nil
		}
		s := r.servers[alias]
		if s == nil || s.grants[p.digest] == nil {
			return nil
		}
		g = s.grants[p.digest]
		d.Server, d.Path, d.Tool = alias, s.path, own
		if d.Body = renamed(body, own); d.Body == nil {
			return nil
		}
		d.SetMCPName = p.name != ""
	} else {
		if strings.HasPrefix(tool, r.prefix) {
			return nil
		}
		d.Server, d.Path = r.server.alias, r.server.path
	}
	// The key's calls to the server at this version were seen to go
	// without an upstream session (the gateway learned it).
	if !g.versions[p.version] {
		return nil
	}
	if p.session != "" {
		// The id must open for this key, as on the full path. A client
		// that declared capabilities (elicitation, sampling, roots) may be
		// asked things during the call: on /mcp, the upstream's requests
		// in the answer get relayed ids (Relay), with the key the full
		// path routes the answers by; without it, the full path's.
		issued, caps, ok := clientsession.Unseal(r.sessionKeys, p.session, p.digest)
		if !ok || r.sessionTTL <= 0 {
			return nil
		}
		if age := p.now.Sub(issued); age < 0 || age > r.sessionTTL-sessionMargin {
			return nil
		}
		if caps != 0 && r.mode == ModeAggregate {
			if r.relayIDs == nil {
				return nil
			}
			d.relayIDs = r.relayIDs
		}
	}
	var names []string
	if args := msg.ParamRaw("arguments"); args != nil {
		if len(args) == 0 || args[0] != '{' {
			return nil
		}
		var err error
		if names, err = rpc.ArgumentNames(args); err != nil {
			return nil
		}
	}
	// The policy's allow for a tool (authz.rego tool_granted and
	// params_violated), on the grant the policy computed for this key.
	if g.deny[d.Tool] || (!g.any && !g.tools[d.Tool]) {
		return nil
	}
	if rule, ok := g.params[d.Tool]; ok {
		for _, n := range names {
			if !rule[n] {
				return nil
			}
		}
	}
	d.KeyAlias, d.Team, d.Org = g.key, g.team, g.org
	return d
}

// plainRequest reads body with the full path's parser: one JSON-RPC
// request, with no result or error member beside its method (the full
// path reads such a message as a request; an upstream might not), or
// nil.
func plainRequest(body []byte) *rpc.Message {
	msg, batch, err := rpc.Parse(body)
	if err != nil || batch || msg.Kind != rpc.KindRequest || msg.Has("result") || msg.Has("error") {
		return nil
	}
	return msg
}

// requestID is the call's raw JSON id when it is an integer of at most 16
// characters or a string without escapes (anything else: the full path).
func requestID(raw json.RawMessage) (string, bool) {
	s := string(raw)
	switch {
	case s == "":
		return "", false
	case s[0] == '"':
		_, ok := plainString(raw)
		return s, ok
	case len(s) > 16:
		return "", false
	}
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	return s, true
}

// plainString reads a JSON string of visible ASCII and spaces without
// escapes: what it says is what it is, on every path and upstream.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c < 0x20 || c > 0x7e || c == '\\' || c == '"' {
			return "", false
		}
	}
	return string(inner), true
}

// plainNames reports whether every member name of obj is plain ASCII
// without escapes.
func plainNames(obj []byte) bool {
	for _, n := range rpc.RawMemberNames(obj) {
		if _, ok := plainString(json.RawMessage(`"` + n + `"`)); !ok {
			return false
		}
	}
	return true
}

// maxSplitName bounds the names split here (MCP names have at most 128
// characters; a long name of separators would cost a lookup each).
const maxSplitName = 256

// split reads a prefixed name as namespace.Registry.Split does: the
// longest server alias followed by the separator, with something after
// it.
func (r *Route) split(name string) (alias, own string, ok bool) {
	if len(name) > maxSplitName {
		return "", "", false
	}
	sep := r.separator
	for i := len(name) - len(sep) - 1; i > 0; i-- {
		if strings.HasPrefix(name[i:], sep) && r.aliases[name[:i]] {
			return name[:i], name[i+len(sep):], true
		}
	}
	return "", "", false
}

// renamed is body with params.name set to name (a plain string), the
// rest as sent; nil where it cannot be found.
func renamed(body []byte, name string) []byte {
	ps, pe, ok := rpc.MemberSpan(body, "params")
	if !ok {
		return nil
	}
	ns, ne, ok := rpc.MemberSpan(body[ps:pe], "name")
	if !ok {
		return nil
	}
	ns, ne = ps+ns, ps+ne
	out := make([]byte, 0, len(body))
	out = append(out, body[:ns]...)
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, '"')
	return append(out, body[ne:]...)
}

// DropHeaders are the request headers the full path never sends upstream,
// of a call the fast path decided: every client header but the
// pseudo-headers, host and those of passThrough, and the client's session
// id (the gateway's, never an upstream's).
func DropHeaders(h Headers, passThrough map[string]bool) []string {
	var drop []string
	for _, x := range h {
		if x.Name == "mcp-session-id" || (!strings.HasPrefix(x.Name, ":") && x.Name != "host" && !passThrough[x.Name]) {
			drop = append(drop, x.Name)
		}
	}
	return drop
}
