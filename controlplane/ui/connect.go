package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/mcpgw/mcpgw/internal/config"
)

// keyPlaceholder stands for the key on the Connect page: the key itself
// is known only when it is created (the store keeps its SHA-256), so
// only the "key created" answer fills it in.
const keyPlaceholder = "<your key>"

// scopes are the endpoint kinds a client can connect to.
var scopes = []string{"all", "servers", "group", "server"}

// connectScope is what the user picked: which endpoint of the gateway.
type connectScope struct {
	Kind    string   // one of scopes
	Servers []string // aliases, for "servers"
	Group   string   // for "group"
	Server  string   // alias, for "server"
}

// path is the gateway endpoint of the scope: /mcp, /mcp/a,b,
// /mcp/<group> or /<alias>/mcp. Names are path-escaped; "" when the
// scope misses its name.
func (c connectScope) path() string {
	switch c.Kind {
	case "servers":
		if len(c.Servers) == 0 {
			return ""
		}
		esc := make([]string, len(c.Servers))
		for i, s := range c.Servers {
			esc[i] = url.PathEscape(s)
		}
		return "/mcp/" + strings.Join(esc, ",")
	case "group":
		if c.Group == "" {
			return ""
		}
		return "/mcp/" + url.PathEscape(c.Group)
	case "server":
		if c.Server == "" {
			return ""
		}
		return "/" + url.PathEscape(c.Server) + "/mcp"
	}
	return "/mcp"
}

// label names the connection in client configs (a JSON key, and the
// Responses API's server_label, which allows letters, digits, - and _).
func (c connectScope) label() string {
	l := "mcpgw"
	switch c.Kind {
	case "group":
		l = "mcpgw-" + c.Group
	case "server":
		l = c.Server
	}
	l = unsafeLabel.ReplaceAllString(l, "_")
	if l == "" || l == "_" {
		return "mcpgw"
	}
	return l
}

var unsafeLabel = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// clientConfig is one copyable snippet.
type clientConfig struct {
	ID, Title, Where, Text string
}

// Rows is the textarea's height: the text's lines, within bounds.
func (c clientConfig) Rows() int { return min(max(strings.Count(c.Text, "\n")+1, 2), 18) }

// clientConfigs are the snippets for an endpoint URL, a key header and
// a key (or keyPlaceholder). Every string is JSON-encoded (a JSON string
// is also a valid Python string literal); the page escapes the result
// for HTML.
func clientConfigs(endpoint, header, key, label string) []clientConfig {
	value := "Bearer " + key
	headers := map[string]string{header: value}
	entry := map[string]any{"url": endpoint, "headers": headers}
	typed := map[string]any{"type": "http", "url": endpoint, "headers": headers}
	q := func(s string) string { return string(encodeJSON(s, "")) }
	return []clientConfig{
		{ID: "cfg-cursor", Title: "Cursor", Where: "~/.cursor/mcp.json (or .cursor/mcp.json in a project)",
			Text: string(encodeJSON(map[string]any{"mcpServers": map[string]any{label: entry}}, "  "))},
		{ID: "cfg-claude", Title: "Claude Code", Where: ".mcp.json in a project",
			Text: string(encodeJSON(map[string]any{"mcpServers": map[string]any{label: typed}}, "  "))},
		{ID: "cfg-claude-cli", Title: "Claude Code (command line)", Where: "a shell",
			Text: "claude mcp add --transport http " + shellQuote(label) + " " + shellQuote(endpoint) + " --header " + shellQuote(header+": "+value)},
		{ID: "cfg-vscode", Title: "VS Code", Where: ".vscode/mcp.json",
			Text: string(encodeJSON(map[string]any{"servers": map[string]any{label: typed}}, "  "))},
		{ID: "cfg-python", Title: "Python (fastmcp)", Where: "pip install fastmcp",
			Text: "import asyncio\n\nfrom fastmcp import Client\nfrom fastmcp.client.transports import StreamableHttpTransport\n\n" +
				"transport = StreamableHttpTransport(\n    " + q(endpoint) + ",\n    headers={" + q(header) + ": " + q(value) + "},\n)\n\n\n" +
				"async def main():\n    async with Client(transport) as client:\n        for tool in await client.list_tools():\n            print(tool.name)\n\n\nasyncio.run(main())"},
		{ID: "cfg-openai", Title: "OpenAI Responses API", Where: "an entry of tools in POST /v1/responses (server_url must be reachable from OpenAI)",
			Text: string(encodeJSON(map[string]any{"type": "mcp", "server_label": label, "server_url": endpoint, "headers": headers, "require_approval": "never"}, "  "))},
	}
}

// shellQuote quotes s for a POSIX shell: in single quotes, each single
// quote inside closed, escaped with a backslash and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// encodeJSON encodes v without HTML escaping (the template escapes).
func encodeJSON(v any, indent string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	_ = enc.Encode(v)
	return bytes.TrimSpace(buf.Bytes())
}

// baseURL is the gateway's address as the browser reached it: the UI is
// served on the same listener (through Envoy) as the MCP endpoints.
func baseURL(r *http.Request) string {
	scheme := "http"
	if secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func keyHeader(cfg *config.Config) string {
	if cfg.General.KeyHeaderName != "" {
		return cfg.General.KeyHeaderName
	}
	return config.DefaultKeyHeader
}

type connectData struct {
	Scope    connectScope
	Endpoint string
	Servers  []string // aliases
	Groups   []string
	Configs  []clientConfig
	Missing  string // what the scope lacks
	Key      bool   // the configs hold the real key
}

// connectPage offers client configs for a scope, with keyPlaceholder:
// the key is never in a URL, and the store cannot give it back.
func (h *Handler) connectPage(w http.ResponseWriter, r *http.Request, s *session) {
	servers, a := h.listServers(r, s)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	q := r.URL.Query()
	sc := connectScope{Kind: q.Get("scope"), Servers: q["servers"], Group: q.Get("group"), Server: q.Get("server")}
	if !slices.Contains(scopes, sc.Kind) {
		sc.Kind = "all"
	}
	d := &connectData{Scope: sc}
	d.Servers, d.Groups = namesAndGroups(servers)
	h.fillConnect(r, d, keyPlaceholder)
	p := h.newPage(s, "Connect a client", "connect")
	p.Data = d
	h.render(w, http.StatusOK, "connect", p)
}

// fillConnect sets the endpoint and the configs of d's scope for key.
func (h *Handler) fillConnect(r *http.Request, d *connectData, key string) {
	path := d.Scope.path()
	if path == "" {
		d.Missing = map[string]string{"servers": "Pick at least one server.", "group": "Pick an access group.", "server": "Pick a server."}[d.Scope.Kind]
		return
	}
	d.Endpoint = baseURL(r) + path
	d.Key = key != keyPlaceholder
	d.Configs = clientConfigs(d.Endpoint, keyHeader(h.opts.Config()), key, d.Scope.label())
}

// namesAndGroups are the servers' aliases (what endpoints are named by)
// and their access groups, sorted.
func namesAndGroups(servers []map[string]any) (names, groups []string) {
	for _, m := range servers {
		names = append(names, aliasOf(m))
		for _, g := range strs(m["mcp_access_groups"]) {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	sort.Strings(names)
	sort.Strings(groups)
	return names, groups
}
