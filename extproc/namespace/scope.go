package namespace

import (
	"fmt"
	"net/url"
	"strings"
)

// Endpoint is the aggregated MCP endpoint path.
const Endpoint = "/mcp"

// Headers a client narrows the aggregated endpoint with.
const (
	HeaderServers      = "x-mcp-servers"
	HeaderAccessGroups = "x-mcp-access-groups"
)

// Scope is the set of servers one request may address, and how names are
// written in it.
type Scope struct {
	// Servers are the aliases in scope, in configuration order. It is
	// empty (not nil) only when an x-mcp-servers or x-mcp-access-groups
	// header was sent empty: such a request may use no server.
	Servers []string
	// Prefixed is true when names carry the alias prefix (/mcp, /mcp/<names>);
	// false on a single server's own endpoint (/<alias>/mcp).
	Prefixed bool
	// Single is the alias of a single-server endpoint ("" otherwise).
	Single string
	// LegacySSE is set for the HTTP+SSE endpoints of protocol 2024-11-05
	// (a path ending in /sse): answers travel on the client's event
	// stream, so the sidecar serves every request of such a client.
	LegacySSE bool
	// Narrowed is set when the client named the servers (a server list in
	// the path, x-mcp-servers or x-mcp-access-groups), so Servers are
	// what it asked for less the names that do not exist.
	Narrowed bool
}

// Has reports whether alias is in scope.
func (s Scope) Has(alias string) bool {
	for _, a := range s.Servers {
		if a == alias {
			return true
		}
	}
	return false
}

// ScopeError is a request that names no valid endpoint or an unknown
// server. Its message only repeats what the client sent.
type ScopeError struct {
	NotFound bool // true: 404; false: 400
	Message  string
	// Unknown is the server or access group name that does not exist
	// ("" when the error is about something else), so that callers can
	// answer it like a name the client may not see.
	Unknown string
}

func (e *ScopeError) Error() string { return e.Message }

// HeaderLookup returns a request header by lower-case name, and whether
// the request carries it at all: a header sent with an empty value is
// present, and an empty x-mcp-servers header means "no servers", not
// "every server". Repeated headers are joined with ", ".
type HeaderLookup func(name string) (value string, present bool)

// Resolve turns a request's path and headers into its scope. It is the
// one function routing, listing and authorization all use:
//
//	/mcp                  every server; prefixed names
//	/mcp/<a>[,<b>…][/…]   the named servers or access groups; prefixed names
//	/<alias>/mcp          one server; unprefixed names
//
// and the same with /sse in place of the final /mcp segment (/sse,
// /mcp/<a>,<b>/sse, /<alias>/sse) for clients of the legacy HTTP+SSE
// transport.
//
// As in LiteLLM, whatever follows the server list (/mcp/a,b/tools) is the
// MCP endpoint of those servers, and a name that is neither a configured
// server nor an access group is skipped: /mcp/a,nope serves a. Only a
// list of which nothing is left is an error (404). LiteLLM reads
// /mcp/a/tools as one server named "a/tools" (its names may contain '/');
// here names cannot, so it is server a.
//
// x-mcp-servers and x-mcp-access-groups narrow /mcp the same way as the
// path form (comma-separated). Either header sent with an empty value
// means no servers (fail closed), as in LiteLLM: the scope is then empty,
// lists are empty and calls are refused. The query string is ignored.
// Names are case-sensitive, and path segments are percent-decoded once.
func (r *Registry) Resolve(path string, header HeaderLookup) (Scope, error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) > 0 && segs[len(segs)-1] == "" && len(segs) > 1 {
		segs = segs[:len(segs)-1] // one trailing slash is fine
	}
	if last := len(segs) - 1; segs[last] == "sse" {
		// The legacy endpoint of each form: /sse, /mcp/<names>/sse, /<alias>/sse.
		rest := segs[:last]
		switch {
		case len(rest) == 0:
			segs = []string{"mcp"}
		case len(rest) == 1 && rest[0] != "mcp":
			segs = []string{rest[0], "mcp"}
		case len(rest) == 2 && rest[0] == "mcp":
			segs = rest
		default:
			return Scope{}, &ScopeError{NotFound: true, Message: "no MCP endpoint at this path; use /sse, /mcp/<servers>/sse or /<server>/sse"}
		}
		sc, err := r.resolveSegments(segs, header)
		sc.LegacySSE = err == nil
		return sc, err
	}
	return r.resolveSegments(segs, header)
}

func (r *Registry) resolveSegments(segs []string, header HeaderLookup) (Scope, error) {
	switch {
	case len(segs) == 1 && segs[0] == "mcp":
		return r.aggregate(header)
	case len(segs) >= 2 && segs[0] == "mcp":
		// segs[2:], if any, is a path after the list: the same endpoint.
		names, err := splitNames(segs[1], true)
		if err != nil {
			return Scope{}, err
		}
		servers, err := r.expand(names)
		if err != nil {
			return Scope{}, err
		}
		return Scope{Servers: servers, Prefixed: true, Narrowed: true}, nil
	case len(segs) == 2 && segs[1] == "mcp":
		alias, err := url.PathUnescape(segs[0])
		if err != nil || !r.Has(alias) {
			return Scope{}, &ScopeError{NotFound: true, Message: fmt.Sprintf("unknown MCP server %q", segs[0]), Unknown: segs[0]}
		}
		return Scope{Servers: []string{alias}, Single: alias}, nil
	}
	return Scope{}, &ScopeError{NotFound: true, Message: "no MCP endpoint at this path; use /mcp, /mcp/<servers> or /<server>/mcp"}
}

func (r *Registry) aggregate(header HeaderLookup) (Scope, error) {
	var names []string
	narrowed := false
	for _, h := range []string{HeaderServers, HeaderAccessGroups} {
		var v string
		var present bool
		if header != nil {
			v, present = header(h)
		}
		if !present {
			continue
		}
		narrowed = true
		if strings.TrimSpace(v) == "" {
			continue // names no server
		}
		n, err := splitNames(v, false)
		if err != nil {
			return Scope{}, &ScopeError{Message: h + ": " + err.Error()}
		}
		if h == HeaderAccessGroups {
			// Only groups: a server name here is not a group.
			known := n[:0:0]
			for _, g := range n {
				if _, ok := r.groups[g]; ok {
					known = append(known, g)
				}
			}
			if len(known) == 0 {
				return Scope{}, &ScopeError{NotFound: true, Message: fmt.Sprintf("unknown access group %q", n[0]), Unknown: n[0]}
			}
			n = known
		}
		names = append(names, n...)
	}
	switch {
	case !narrowed:
		return Scope{Servers: r.Aliases(), Prefixed: true}, nil
	case len(names) == 0:
		return Scope{Servers: []string{}, Prefixed: true, Narrowed: true}, nil
	}
	servers, err := r.expand(names)
	if err != nil {
		return Scope{}, err
	}
	return Scope{Servers: servers, Prefixed: true, Narrowed: true}, nil
}

// splitNames splits a comma-separated list. Path segments are
// percent-decoded; header values are taken as sent. Whitespace around
// names is dropped; empty names are an error, and so are names with
// control characters: unknown names are skipped, so without this check
// such a name would travel on with the path (into an event stream's
// endpoint event, for one).
func splitNames(list string, decode bool) ([]string, error) {
	if decode {
		d, err := url.PathUnescape(list)
		if err != nil {
			return nil, &ScopeError{Message: "bad percent-encoding in server list"}
		}
		list = d
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, &ScopeError{Message: "empty server name in list"}
		}
		if strings.ContainsFunc(n, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return nil, &ScopeError{Message: "server name with a control character in list"}
		}
		names = append(names, n)
	}
	return names, nil
}

// expand resolves server aliases and access groups to aliases in
// configuration order, without duplicates. An alias wins over a group of
// the same name. Names that are neither are skipped; when nothing is left
// the error names the first of them.
func (r *Registry) expand(names []string) ([]string, error) {
	want := make(map[string]bool, len(names))
	unknown := ""
	for _, n := range names {
		if r.Has(n) {
			want[n] = true
			continue
		}
		members, ok := r.groups[n]
		if !ok {
			if unknown == "" {
				unknown = n
			}
			continue
		}
		for _, m := range members {
			want[m] = true
		}
	}
	if len(want) == 0 {
		return nil, &ScopeError{NotFound: true, Message: fmt.Sprintf("unknown MCP server or access group %q", unknown), Unknown: unknown}
	}
	out := make([]string, 0, len(want))
	for _, a := range r.ordered {
		if want[a] {
			out = append(out, a)
		}
	}
	return out, nil
}
