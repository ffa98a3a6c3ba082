package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// bindings is the part of the key, team and organization edit forms that
// says what the principal may use (its object_permission): servers,
// access groups and, per server, the tools (mcp_tool_permissions: only
// these; mcp_disallowed_tools: never these).
type bindings struct {
	Servers []permChoice
	Groups  []permChoice
	// ToolServers are every server, with its tools from the catalog and
	// the tools the permission names.
	ToolServers []permServer
	// ToolsError says why the catalog could not be read (the tools the
	// permission names are still listed).
	ToolsError string
	// Errors are the validator's problems by field: "servers", "groups".
	Errors   map[string]string
	ReadOnly bool
}

type permChoice struct {
	Name    string
	Checked bool
}

type permServer struct {
	// Index numbers the server's form fields (only_<i>, allow_<i>,
	// deny_<i>): a server name is never part of a field name.
	Index       int
	Name, Alias string
	// Only: mcp_tool_permissions has an entry for the server, so only
	// the Allowed tools may be used on it.
	Only  bool
	Tools []permTool
	Error string
}

// Open reports whether the server's section starts unfolded.
func (t permServer) Open() bool {
	return t.Only || t.Error != "" || slices.ContainsFunc(t.Tools, func(c permTool) bool { return c.Disallowed })
}

type permTool struct {
	Name                string
	Allowed, Disallowed bool
}

// entryOf returns the entries of m (a server-keyed map of tool lists)
// for the server named name, alias or id (its server_id, which names it
// too, as in LiteLLM's object_permission), joined as the gateway joins
// them (configfile's resolveServers). A save sends every stored entry as
// null and the form's own instead, so an entry missed here would be
// dropped, and its restriction with it.
func entryOf(m map[string]any, name, alias, id string) ([]string, bool) {
	var out []string
	found := false
	for _, k := range slices.Compact([]string{name, alias, id}) {
		if v, ok := m[k]; ok && k != "" {
			out, found = append(out, strList(v)...), true
		}
	}
	return out, found
}

// bindingsFor builds the form part for perm (an object_permission
// document; nil for none) from the servers and the catalog.
func (h *Handler) bindingsFor(r *http.Request, s *session, perm map[string]any) (*bindings, apiAnswer) {
	servers, a := h.listServers(r, s)
	if !a.ok() {
		return nil, a
	}
	b := &bindings{Errors: map[string]string{}}
	tools, ta := h.listTools(r, s)
	if !ta.ok() {
		b.ToolsError = "The tool list is not available: " + ta.err().Message
	}
	bound, boundGroups := strList(perm["mcp_servers"]), strList(perm["mcp_access_groups"])
	only, _ := perm["mcp_tool_permissions"].(map[string]any)
	never, _ := perm["mcp_disallowed_tools"].(map[string]any)
	sort.Slice(servers, func(i, j int) bool { return str(servers[i]["server_name"]) < str(servers[j]["server_name"]) })
	var groups []string
	known := map[string]bool{}
	for i, m := range servers {
		name, alias, id := str(m["server_name"]), aliasOf(m), str(m["server_id"])
		known[name], known[alias], known[id] = true, true, true
		b.Servers = append(b.Servers, permChoice{Name: name,
			Checked: slices.Contains(bound, name) || slices.Contains(bound, alias) || id != "" && slices.Contains(bound, id)})
		for _, g := range strs(m["mcp_access_groups"]) {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		ts := permServer{Index: i, Name: name, Alias: alias}
		pre := h.prefix(alias)
		var names []string
		for _, t := range tools {
			if strings.HasPrefix(t.Name, pre) {
				names = append(names, strings.TrimPrefix(t.Name, pre))
			}
		}
		allowed, hasOnly := entryOf(only, name, alias, id)
		denied, _ := entryOf(never, name, alias, id)
		ts.Only = hasOnly
		// Tools the permission names are listed even when the catalog
		// lacks them (the server is down, or the tool is disallowed on
		// the server), so they can be unchecked.
		for _, n := range slices.Concat(allowed, denied) {
			n = strings.TrimPrefix(n, pre)
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			ts.Tools = append(ts.Tools, permTool{Name: n,
				Allowed:    hasOnly && (slices.Contains(allowed, n) || slices.Contains(allowed, pre+n)),
				Disallowed: slices.Contains(denied, n) || slices.Contains(denied, pre+n)})
		}
		b.ToolServers = append(b.ToolServers, ts)
	}
	// A binding to a server that is gone stays listed (checked), so that
	// saving keeps it or unchecking removes it.
	for _, n := range bound {
		if !known[n] {
			b.Servers = append(b.Servers, permChoice{Name: n, Checked: true})
		}
	}
	for _, g := range boundGroups {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	sort.Strings(groups)
	for _, g := range groups {
		b.Groups = append(b.Groups, permChoice{Name: g, Checked: slices.Contains(boundGroups, g)})
	}
	return b, apiAnswer{status: http.StatusOK}
}

// postedPerm reads the bindings of a posted form as an object_permission
// document (what the form says, before comparing with what is stored).
func postedPerm(f url.Values) map[string]any {
	groups := slices.Concat(f["groups"], list(f.Get("extra_groups")))
	only, never := map[string]any{}, map[string]any{}
	for i, name := range f["tool_server"] {
		n := strconv.Itoa(i)
		if f.Get("only_"+n) != "" {
			only[name] = nonNil(f["allow_"+n])
		}
		if d := f["deny_"+n]; len(d) > 0 {
			never[name] = d
		}
	}
	return map[string]any{"mcp_servers": nonNil(f["servers"]), "mcp_access_groups": nonNil(groups),
		"mcp_tool_permissions": only, "mcp_disallowed_tools": never}
}

// permPatch is the merge patch (RFC 7396, as the update routes take it)
// turning the stored permission cur into the posted one: a server entry
// no longer posted is sent as null (removed). A list the stored
// permission does not have is sent only when something is chosen: for a
// key, an absent mcp_servers means "not restricted here", which an empty
// list would change.
func permPatch(cur, posted map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range []string{"mcp_servers", "mcp_access_groups"} {
		l, _ := posted[f].([]string)
		if _, had := cur[f]; had || len(l) > 0 {
			out[f] = nonNil(l)
		}
	}
	for _, f := range []string{"mcp_tool_permissions", "mcp_disallowed_tools"} {
		m := map[string]any{}
		old, _ := cur[f].(map[string]any)
		for k := range old {
			m[k] = nil
		}
		nw, _ := posted[f].(map[string]any)
		for k, v := range nw {
			m[k] = v
		}
		if len(m) > 0 {
			out[f] = m
		}
	}
	return out
}

// unescapePointer decodes one JSON pointer segment (RFC 6901).
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// placePermProblem puts a problem about object_permission on its part
// of the form; false when the pointer is not about it.
func (b *bindings) placePermProblem(p problem) bool {
	segs := strings.Split(strings.TrimPrefix(p.Pointer, "/"), "/")
	if len(segs) < 2 || segs[0] != "object_permission" {
		return false
	}
	add := func(cur *string) {
		if *cur != "" {
			*cur += "; "
		}
		*cur += p.Message
	}
	switch segs[1] {
	case "mcp_servers":
		s := b.Errors["servers"]
		add(&s)
		b.Errors["servers"] = s
		return true
	case "mcp_access_groups":
		s := b.Errors["groups"]
		add(&s)
		b.Errors["groups"] = s
		return true
	case "mcp_tool_permissions", "mcp_disallowed_tools":
		if len(segs) > 2 {
			name := unescapePointer(segs[2])
			for i := range b.ToolServers {
				if t := &b.ToolServers[i]; t.Name == name || t.Alias == name {
					add(&t.Error)
					return true
				}
			}
		}
	}
	return false
}

// placeProblems puts each problem on its field: those of
// object_permission on the bindings, those named in fields on errs;
// the rest are returned.
func (b *bindings) placeProblems(ps []problem, fields []string, errs map[string]string) []problem {
	var rest []problem
	for _, p := range ps {
		if b.placePermProblem(p) {
			continue
		}
		f := strings.Split(strings.TrimPrefix(p.Pointer, "/"), "/")[0]
		if slices.Contains(fields, f) {
			if errs[f] != "" {
				errs[f] += "; "
			}
			errs[f] += p.Message
			continue
		}
		rest = append(rest, p)
	}
	return rest
}

// permSummary is a one-line account of per-tool permissions, for lists.
func permSummary(perm map[string]any) string {
	var parts []string
	for _, f := range []struct{ field, word string }{{"mcp_tool_permissions", "only"}, {"mcp_disallowed_tools", "not"}} {
		m, _ := perm[f.field].(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s: %s %s", k, f.word, strings.Join(strs(m[k]), ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// strList reads a list of strings as decoded JSON ([]any) or as built
// here ([]string).
func strList(v any) []string {
	if l, ok := v.([]string); ok {
		return l
	}
	return strs(v)
}

// ifMatch is the If-Match header naming version (the object's version
// when its form was read), or none: a save then fails (409) if someone
// else saved the object in between, instead of undoing their change.
func ifMatch(version string) http.Header {
	if version == "" {
		return nil
	}
	return http.Header{"If-Match": {`"` + version + `"`}}
}
