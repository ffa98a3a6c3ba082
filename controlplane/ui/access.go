package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

type accessServer struct {
	Name, Alias string
	Tools       []toolRow
}

type accessData struct {
	Token, Alias, Name, Expires string
	Blocked                     bool
	Servers, Groups             []string // the key's own bindings
	Team                        string
	// Tools sums up the key's own per-tool permissions.
	Tools    string
	ReadOnly bool
	// Denied is why the gateway refuses the key (blocked, expired): it
	// can use nothing.
	Denied string
	// Unavailable says why the decision could not be asked.
	Unavailable string
	Effective   []accessServer
	ToolCount   int
}

// accessPage shows what a key can use: the tools a tools/list on /mcp
// shows it, grouped by server. The list comes from Options.KeyTools,
// which asks the gateway's own policy decision (the one /mcp and GET
// /v1/mcp/tools make) for the key's principal, found by its token: the
// UI knows a stored key only by its SHA-256.
func (h *Handler) accessPage(w http.ResponseWriter, r *http.Request, s *session) {
	token := r.URL.Query().Get("key")
	if token == "" {
		// Without a key the API would answer about the caller's own.
		http.Redirect(w, r, Base+"/keys", http.StatusSeeOther)
		return
	}
	a := h.call(r.Context(), s.key, http.MethodGet, "/key/info?key="+url.QueryEscape(token), nil)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	var ki struct {
		Key  string         `json:"key"`
		Info map[string]any `json:"info"`
	}
	if err := a.decode(&ki); err != nil {
		h.apiFailed(w, r, s, apiAnswer{status: http.StatusBadGateway})
		return
	}
	perm := permOf(ki.Info)
	d := accessData{Token: str(ki.Info["token"]), Alias: str(ki.Info["key_alias"]), Name: str(ki.Info["key_name"]),
		Expires: str(ki.Info["expires"]), Blocked: ki.Info["blocked"] == true, Team: str(ki.Info["team_id"]),
		Servers: strs(perm["mcp_servers"]), Groups: strs(perm["mcp_access_groups"]), Tools: permSummary(perm),
		ReadOnly: str(ki.Info["source"]) == "config"}
	if d.Token == "" {
		d.Token = ki.Key
	}
	title := "Effective access of " + d.Alias
	if d.Alias == "" {
		title = "Effective access of " + d.Name
	}
	p := h.newPage(s, title, "keys")
	p.Data = &d
	if h.opts.KeyTools == nil {
		d.Unavailable = "This gateway does not expose its access decision to the UI."
		h.render(w, http.StatusOK, "access", p)
		return
	}
	raw, err := h.opts.KeyTools(r.Context(), d.Token)
	if err != nil {
		// The gateway's refusal, as a client would get it (401).
		d.Denied = err.Error()
		h.render(w, http.StatusOK, "access", p)
		return
	}
	servers, sa := h.listServers(r, s)
	if !sa.ok() {
		h.apiFailed(w, r, s, sa)
		return
	}
	byAlias := map[string]*accessServer{}
	var aliases []string
	for _, m := range servers {
		al := aliasOf(m)
		byAlias[al] = &accessServer{Name: str(m["server_name"]), Alias: al}
		aliases = append(aliases, al)
	}
	// Longest alias first: "a-b" before "a" when both prefix a name.
	sort.Slice(aliases, func(i, j int) bool { return len(aliases[i]) > len(aliases[j]) })
	for _, b := range raw {
		var t tool
		if json.Unmarshal(b, &t) != nil {
			continue
		}
		d.ToolCount++
		srv := (*accessServer)(nil)
		for _, al := range aliases {
			if strings.HasPrefix(t.Name, h.prefix(al)) {
				srv = byAlias[al]
				break
			}
		}
		if srv == nil {
			srv = byAlias[""]
			if srv == nil {
				srv = &accessServer{Name: "(other)"}
				byAlias[""] = srv
			}
		}
		srv.Tools = append(srv.Tools, toolRow{Name: strings.TrimPrefix(t.Name, h.prefix(srv.Alias)), Full: t.Name, Description: t.Description})
	}
	for _, srv := range byAlias {
		if len(srv.Tools) > 0 {
			sort.Slice(srv.Tools, func(i, j int) bool { return srv.Tools[i].Full < srv.Tools[j].Full })
			d.Effective = append(d.Effective, *srv)
		}
	}
	sort.Slice(d.Effective, func(i, j int) bool { return d.Effective[i].Name < d.Effective[j].Name })
	h.render(w, http.StatusOK, "access", p)
}
