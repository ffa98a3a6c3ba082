package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// page is what every template gets.
type page struct {
	Title  string
	Active string // the nav entry to mark
	CSRF   string
	Flash  string
	Error  string
	// Problems are validator problems no form field shows.
	Problems []problem
	Data     any
}

func (h *Handler) newPage(s *session, title, active string) *page {
	p := &page{Title: title, Active: active}
	if s != nil {
		p.CSRF = s.csrf
		p.Flash = h.sessions.takeFlash(s.id)
	}
	return p
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p *page) {
	t, ok := h.pages[name]
	if !ok {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("page failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// apiFailed shows an API error the page cannot place on a field. A 401
// means the key the session holds is no longer valid (the master key
// changed): the session ends.
func (h *Handler) apiFailed(w http.ResponseWriter, r *http.Request, s *session, a apiAnswer) {
	if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
		h.sessions.delete(s.id)
		clearSessionCookie(w, r)
		http.Redirect(w, r, Base+"/login", http.StatusSeeOther)
		return
	}
	p := h.newPage(s, "Error", "")
	e := a.err()
	p.Error = e.Message
	p.Problems = e.Problems
	h.render(w, a.status, "error", p)
}

// back redirects to path with a flash message.
func (h *Handler) back(w http.ResponseWriter, r *http.Request, s *session, path, flash string) {
	if flash != "" {
		h.sessions.setFlash(s.id, flash)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// ---- login ----

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	s := h.session(r)
	if s != nil && s.signedIn() {
		http.Redirect(w, r, Base+"/servers", http.StatusSeeOther)
		return
	}
	if s == nil {
		s = h.sessions.create("", loginTTL)
		setSessionCookie(w, r, s)
	}
	h.render(w, http.StatusOK, "login", h.newPage(s, "Sign in", ""))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s := h.session(r)
	if !validCSRF(s, r.PostForm.Get("csrf")) {
		h.forbidden(w)
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	p := h.newPage(s, "Sign in", "")
	if key == "" {
		p.Error = "Enter the master key (general_settings.master_key)."
		h.render(w, http.StatusBadRequest, "login", p)
		return
	}
	client := clientAddress(r)
	// Counted as failed until the key is found good (begin), so that
	// sign-ins sent at once are limited too.
	if wait, all := h.signins.Begin(client); wait > 0 {
		h.tooManySignins(w, p, client, wait, all)
		return
	}
	// A master-key route: 200 only for the master key.
	a := h.call(r.Context(), key, http.MethodGet, "/v1/mcp/server", nil)
	switch {
	case a.ok():
		h.signins.Undo(client)
		h.signins.Succeeded(client)
	case a.status == http.StatusUnauthorized:
		h.log.Info("ui sign-in refused", "reason", "invalid key", "client", client)
		p.Error = "That key is not valid. Sign in with the master key (general_settings.master_key)."
		h.render(w, http.StatusUnauthorized, "login", p)
		return
	case a.status == http.StatusForbidden:
		h.log.Info("ui sign-in refused", "reason", "not the master key", "client", client)
		p.Error = "That is a gateway key, not the master key: only the master key may use the admin UI."
		h.render(w, http.StatusForbidden, "login", p)
		return
	default:
		// Not a wrong key (the API failed): not counted.
		h.signins.Undo(client)
		p.Error = a.err().Message
		h.render(w, a.status, "login", p)
		return
	}
	// A new id on sign-in: the anonymous one may have been seen.
	h.sessions.delete(s.id)
	ns := h.sessions.create(key, SessionTTL)
	setSessionCookie(w, r, ns)
	h.log.Info("ui sign-in")
	http.Redirect(w, r, Base+"/servers", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *session) {
	h.sessions.delete(s.id)
	clearSessionCookie(w, r)
	http.Redirect(w, r, Base+"/login", http.StatusSeeOther)
}

// ---- servers ----

type serverRow struct {
	ID, Name, Alias, Transport, Target string
	Status, LastCheck, HealthError     string
	Tools                              int
	Groups                             []string
	Source                             string
	ReadOnly                           bool
}

// tools lists every tool (the master key sees all) as MCP Tool objects.
type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"`
}

func (h *Handler) listTools(r *http.Request, s *session) ([]tool, apiAnswer) {
	a := h.call(r.Context(), s.key, http.MethodGet, "/v1/mcp/tools", nil)
	var out struct {
		Tools []tool `json:"tools"`
	}
	if a.ok() {
		if err := json.Unmarshal(a.body, &out); err != nil {
			return nil, apiAnswer{status: http.StatusBadGateway, body: []byte(`{"error":{"message":"the tool list could not be read"}}`)}
		}
	}
	return out.Tools, a
}

func (h *Handler) listServers(r *http.Request, s *session) ([]map[string]any, apiAnswer) {
	a := h.call(r.Context(), s.key, http.MethodGet, "/v1/mcp/server", nil)
	var out []map[string]any
	if a.ok() {
		if err := a.decode(&out); err != nil {
			return nil, apiAnswer{status: http.StatusBadGateway, body: []byte(`{"error":{"message":"the server list could not be read"}}`)}
		}
	}
	return out, a
}

// aliasOf is the name a server's tools are prefixed with.
func aliasOf(m map[string]any) string {
	if a := str(m["alias"]); a != "" {
		return a
	}
	return str(m["server_name"])
}

func (h *Handler) prefix(alias string) string {
	return alias + h.opts.Config().General.MCPToolPrefixSeparator
}

func (h *Handler) serversPage(w http.ResponseWriter, r *http.Request, s *session) {
	servers, a := h.listServers(r, s)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	tools, ta := h.listTools(r, s)
	p := h.newPage(s, "MCP servers", "servers")
	if !ta.ok() {
		p.Error = "Tool counts are not available: " + ta.err().Message
	}
	rows := make([]serverRow, 0, len(servers))
	for _, m := range servers {
		row := serverRow{
			ID: str(m["server_id"]), Name: str(m["server_name"]), Alias: aliasOf(m), Transport: str(m["transport"]),
			Status: str(m["status"]), LastCheck: str(m["last_health_check"]), HealthError: str(m["health_check_error"]),
			Groups: strs(m["mcp_access_groups"]), Source: str(m["source"]),
		}
		row.ReadOnly = row.Source == "config"
		switch {
		case str(m["spec_path"]) != "":
			row.Transport = "openapi"
			row.Target = str(m["url"]) + " (spec " + str(m["spec_path"]) + ")"
		case str(m["command"]) != "":
			row.Target = strings.Join(append([]string{str(m["command"])}, strs(m["args"])...), " ")
		default:
			row.Target = str(m["url"])
		}
		pre := h.prefix(row.Alias)
		for _, t := range tools {
			if strings.HasPrefix(t.Name, pre) {
				row.Tools++
			}
		}
		rows = append(rows, row)
	}
	shown, pg := paginate(r, rows, func(s serverRow) []string {
		return append([]string{s.Name, s.Alias, s.Transport, s.Target, s.Status, s.Source}, s.Groups...)
	})
	p.Data = serversData{Rows: shown, Pager: pg, All: len(rows)}
	h.render(w, http.StatusOK, "servers", p)
}

type serversData struct {
	Rows  []serverRow
	Pager pager
	All   int // servers before the search
}

// serverForm is the add/edit form's state. Secrets are write-only: the
// form never holds a stored credential, header value or env value.
type serverForm struct {
	ID, Version                         string
	Name, Alias, Description, Transport string
	URL, SpecPath, Command, Args        string
	AuthType, TokenURL, Scopes          string
	ExtraHeaders, StaticHeaders, Env    string
	AccessGroups                        string
	AllowedTools, DisallowedTools       string
	Timeout                             string
	// OldStaticHeaders and OldEnv are the stored names (values are
	// masked), so that removing a line removes the header.
	OldStaticHeaders, OldEnv string
	Errors                   map[string]string
	ReadOnly                 bool
	// Test is the outcome of "Test connection" (testconn.go).
	Test *connTest
}

var transports = []string{"http", "sse", "stdio", "openapi"}

func (h *Handler) serverForm(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.URL.Query().Get("id")
	f := serverForm{Transport: "http"}
	if t := r.URL.Query().Get("transport"); slices.Contains(transports, t) {
		f.Transport = t
	}
	title := "Add an MCP server"
	if id != "" {
		m, ok := h.server(w, r, s, id)
		if !ok {
			return
		}
		f = formOf(m)
		title = "Edit " + f.Name
	}
	p := h.newPage(s, title, "servers")
	p.Data = f
	h.render(w, http.StatusOK, "server", p)
}

func formOf(m map[string]any) serverForm {
	f := serverForm{
		ID: str(m["server_id"]), Name: str(m["server_name"]), Alias: str(m["alias"]), Description: str(m["description"]),
		Transport: str(m["transport"]), URL: str(m["url"]), SpecPath: str(m["spec_path"]), Command: str(m["command"]),
		Args: strings.Join(strs(m["args"]), "\n"), AuthType: str(m["auth_type"]), TokenURL: str(m["token_url"]),
		ExtraHeaders: strings.Join(strs(m["extra_headers"]), ", "), AccessGroups: strings.Join(strs(m["mcp_access_groups"]), ", "),
		AllowedTools: strings.Join(strs(m["allowed_tools"]), ", "), DisallowedTools: strings.Join(strs(m["disallowed_tools"]), ", "),
		ReadOnly: str(m["source"]) == "config",
	}
	if v, ok := m["version"].(json.Number); ok {
		f.Version = v.String()
	}
	if v, ok := m["timeout"].(json.Number); ok {
		f.Timeout = v.String()
	}
	if f.SpecPath != "" {
		f.Transport = "openapi"
	}
	names := func(v any) []string {
		mm, _ := v.(map[string]any)
		out := make([]string, 0, len(mm))
		for k := range mm {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	sh, env := names(m["static_headers"]), names(m["env"])
	f.OldStaticHeaders, f.OldEnv = strings.Join(sh, "\n"), strings.Join(env, "\n")
	var lines []string
	for _, n := range sh {
		lines = append(lines, n+": "+mask)
	}
	f.StaticHeaders = strings.Join(lines, "\n")
	lines = nil
	for _, n := range env {
		lines = append(lines, n+"="+mask)
	}
	f.Env = strings.Join(lines, "\n")
	return f
}

// mask is the admin API's stand-in for a stored secret value; sent back,
// it keeps the stored value.
const mask = "********"

// formFields are the form's inputs, by the JSON pointer's first segment
// the validator names (credentials/<x> by <x>).
var formFields = map[string]string{
	"server_name": "server_name", "alias": "alias", "description": "description", "transport": "transport",
	"url": "url", "spec_path": "spec_path", "command": "command", "args": "args", "env": "env",
	"auth_type": "auth_type", "auth_value": "auth_value", "client_id": "client_id", "client_secret": "client_secret",
	"scopes": "scopes", "token_url": "token_url", "oauth2_flow": "auth_type", "extra_headers": "extra_headers",
	"static_headers": "static_headers", "mcp_access_groups": "access_groups", "access_groups": "access_groups",
	"allowed_tools": "allowed_tools", "disallowed_tools": "disallowed_tools", "timeout": "timeout",
}

// fieldOf maps a problem's JSON pointer to a form field, or "".
func fieldOf(pointer string) string {
	segs := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	if segs[0] == "credentials" && len(segs) > 1 {
		segs = segs[1:]
	}
	return formFields[segs[0]]
}

// placeProblems puts each problem on its field; the rest are returned.
func placeProblems(ps []problem, errs map[string]string) []problem {
	var rest []problem
	for _, p := range ps {
		if f := fieldOf(p.Pointer); f != "" {
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

// list splits a comma- or line-separated field.
func list(s string) []string {
	out := []string{}
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// lines splits a line-separated field (arguments may hold commas).
func lines(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, "\n") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// pairs reads "name<sep>value" lines; a line without sep is an error.
func pairs(s, sep string) (map[string]any, string) {
	out := map[string]any{}
	for _, l := range lines(s) {
		k, v, ok := strings.Cut(l, sep)
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Sprintf("each line must be name%svalue", sep)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, ""
}

// serverBody turns the posted form into the admin API's server body. On
// an update, emptied fields are sent as null (RFC 7396: removed), lists
// as given (empty clears), and secrets only when typed.
func serverBody(form url.Values, update bool) (map[string]any, map[string]string) {
	errs := map[string]string{}
	body := map[string]any{}
	set := func(k, v string) {
		switch {
		case v != "":
			body[k] = v
		case update:
			body[k] = nil
		}
	}
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	transport := get("transport")
	if !slices.Contains(transports, transport) {
		errs["transport"] = "choose http, sse, stdio or openapi"
	}
	set("server_name", get("server_name"))
	set("alias", get("alias"))
	set("description", get("description"))
	switch transport {
	case "stdio":
		body["transport"] = "stdio"
		set("command", get("command"))
		body["args"] = lines(form.Get("args"))
		if update {
			body["url"], body["spec_path"] = nil, nil
		}
	case "openapi":
		body["transport"] = "http"
		set("url", get("url"))
		set("spec_path", get("spec_path"))
		if update {
			body["command"], body["args"] = nil, nil
		}
	default:
		body["transport"] = transport
		set("url", get("url"))
		if update {
			body["command"], body["args"], body["spec_path"] = nil, nil, nil
		}
	}
	auth := get("auth_type")
	if auth == "none" {
		auth = ""
	}
	set("auth_type", auth)
	creds := map[string]any{}
	for _, k := range []string{"auth_value", "client_id", "client_secret"} {
		if v := form.Get(k); v != "" {
			creds[k] = v
		}
	}
	if sc := list(form.Get("scopes")); len(sc) > 0 {
		creds["scopes"] = sc
	}
	if len(creds) > 0 {
		body["credentials"] = creds
	}
	if auth == "oauth2" && get("token_url") != "" {
		body["oauth2_flow"] = "client_credentials"
		body["token_url"] = get("token_url")
	} else if update {
		body["oauth2_flow"], body["token_url"] = nil, nil
	}
	body["extra_headers"] = list(form.Get("extra_headers"))
	body["mcp_access_groups"] = list(form.Get("access_groups"))
	body["allowed_tools"] = list(form.Get("allowed_tools"))
	body["disallowed_tools"] = list(form.Get("disallowed_tools"))
	if t := get("timeout"); t != "" {
		body["timeout"] = json.Number(t)
	} else if update {
		body["timeout"] = nil
	}
	for _, x := range []struct{ field, sep, old string }{{"static_headers", ":", "old_static_headers"}, {"env", "=", "old_env"}} {
		m, msg := pairs(form.Get(x.field), x.sep)
		if msg != "" {
			errs[x.field] = msg
			continue
		}
		if update {
			for _, n := range lines(form.Get(x.old)) {
				if _, ok := m[n]; !ok {
					m[n] = nil // the line was removed
				}
			}
		}
		if len(m) > 0 {
			body[x.field] = m
		}
	}
	return body, errs
}

// postedForm is the server form as posted, to show it again.
func postedForm(form url.Values, errs map[string]string) serverForm {
	return serverForm{
		ID: form.Get("server_id"), Version: form.Get("version"), Name: form.Get("server_name"), Alias: form.Get("alias"),
		Description: form.Get("description"), Transport: form.Get("transport"), URL: form.Get("url"),
		SpecPath: form.Get("spec_path"), Command: form.Get("command"), Args: form.Get("args"),
		AuthType: form.Get("auth_type"), TokenURL: form.Get("token_url"), Scopes: form.Get("scopes"),
		ExtraHeaders: form.Get("extra_headers"), StaticHeaders: form.Get("static_headers"), Env: form.Get("env"),
		AccessGroups: form.Get("access_groups"), AllowedTools: form.Get("allowed_tools"),
		DisallowedTools: form.Get("disallowed_tools"), Timeout: form.Get("timeout"),
		OldStaticHeaders: form.Get("old_static_headers"), OldEnv: form.Get("old_env"), Errors: errs,
	}
}

func (h *Handler) saveServer(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PostForm.Get("server_id")
	body, errs := serverBody(r.PostForm, id != "")
	f := postedForm(r.PostForm, errs)
	title := "Add an MCP server"
	if id != "" {
		title = "Edit " + f.Name
	}
	p := h.newPage(s, title, "servers")
	p.Data = &f
	if len(errs) > 0 {
		p.Error = "Fix the fields marked below."
		h.render(w, http.StatusBadRequest, "server", p)
		return
	}
	var a apiAnswer
	if id == "" {
		a = h.call(r.Context(), s.key, http.MethodPost, "/v1/mcp/server", body)
	} else {
		body["server_id"] = id
		a = h.call(r.Context(), s.key, http.MethodPut, "/v1/mcp/server", body)
	}
	if a.status == http.StatusUnauthorized || a.status >= 500 && a.status != http.StatusServiceUnavailable {
		h.apiFailed(w, r, s, a)
		return
	}
	if !a.ok() {
		e := a.err()
		p.Problems = placeProblems(e.Problems, f.Errors)
		p.Error = e.Message
		if len(e.Problems) > 0 {
			p.Error = "The admin API refused the server: fix the fields marked below."
		}
		h.render(w, a.status, "server", p)
		return
	}
	verb := "added"
	if id != "" {
		verb = "saved"
	}
	h.back(w, r, s, Base+"/servers", fmt.Sprintf("Server %s %s.", f.Name, verb))
}

func (h *Handler) deleteServer(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PostForm.Get("server_id")
	a := h.call(r.Context(), s.key, http.MethodDelete, "/v1/mcp/server/"+url.PathEscape(id), nil)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	h.back(w, r, s, Base+"/servers", "Server "+id+" deleted.")
}

// ---- tools ----

type toolRow struct {
	Name, Full, Description, Schema string
	Allowed, Listed                 bool
}

type toolsData struct {
	ID, Name, Alias string
	ReadOnly        bool
	AllowedTools    []string
	Tools           []toolRow
	// Params are the allowed_params editors, by tool (params.go).
	Params map[string]*paramsRow
}

func (h *Handler) toolsPage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.URL.Query().Get("server")
	m, ok := h.server(w, r, s, id)
	if !ok {
		return
	}
	tools, ta := h.listTools(r, s)
	p := h.newPage(s, "Tools of "+str(m["server_name"]), "servers")
	if !ta.ok() {
		p.Error = "The tool list is not available: " + ta.err().Message
	}
	d := toolsData{ID: str(m["server_id"]), Name: str(m["server_name"]), Alias: aliasOf(m), ReadOnly: str(m["source"]) == "config",
		AllowedTools: strs(m["allowed_tools"])}
	pre := h.prefix(d.Alias)
	for _, t := range tools {
		if !strings.HasPrefix(t.Name, pre) {
			continue
		}
		schema := "{}"
		if len(t.InputSchema) > 0 {
			schema = indentJSON(t.InputSchema)
		}
		d.Tools = append(d.Tools, toolRow{Name: strings.TrimPrefix(t.Name, pre), Full: t.Name, Description: t.Description, Schema: schema, Allowed: true, Listed: true})
	}
	// Disallowed tools are not in the catalog: list them so they can be
	// allowed again.
	for _, n := range strs(m["disallowed_tools"]) {
		if !slices.ContainsFunc(d.Tools, func(t toolRow) bool { return t.Name == n }) {
			d.Tools = append(d.Tools, toolRow{Name: n, Full: pre + n})
		}
	}
	sort.Slice(d.Tools, func(i, j int) bool { return d.Tools[i].Name < d.Tools[j].Name })
	d.Params = toolParams(m, d.Tools, pre)
	p.Data = d
	h.render(w, http.StatusOK, "tools", p)
}

// saveTools sets disallowed_tools to the listed tools left unchecked.
func (h *Handler) saveTools(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PostForm.Get("server_id")
	allowed := r.PostForm["allowed"]
	disallowed := []string{}
	for _, t := range r.PostForm["tool"] {
		if !slices.Contains(allowed, t) {
			disallowed = append(disallowed, t)
		}
	}
	a := h.call(r.Context(), s.key, http.MethodPut, "/v1/mcp/server", map[string]any{"server_id": id, "disallowed_tools": disallowed})
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	msg := "All tools allowed."
	if len(disallowed) > 0 {
		msg = "Disallowed: " + strings.Join(disallowed, ", ") + "."
	}
	h.back(w, r, s, Base+"/tools?server="+url.QueryEscape(id), msg)
}

// ---- keys ----

type keyRow struct {
	Token, Alias, Name, Team, Expires, Source string
	Blocked, ReadOnly                         bool
	Servers, Groups                           []string
	// NoServers: the key's server list is set and empty (its access
	// groups may still add servers), not absent.
	NoServers bool
}

type keysData struct {
	Keys    []keyRow
	Servers []string
	Groups  []string
	Teams   []teamRow
	// Form is what was typed (after a refused create).
	Form struct {
		Alias, Team, Duration, ExtraGroups string
		Servers, Groups                    []string
	}
	Errors map[string]string
	// Shown are the keys of this page of the search.
	Shown []keyRow
	Pager pager
	// Created is the key just minted, shown once.
	Created, CreatedAlias string
	// Connect are client configs holding Created (only on that page).
	Connect *connectData
}

// maxKeyPages bounds the key list pages read (100 keys each).
const maxKeyPages = 100

// emptyList reports whether perm sets field to an empty list, which
// restricts (to nothing), unlike a field left out, which does not.
func emptyList(perm map[string]any, field string) bool {
	l, ok := perm[field].([]any)
	return ok && len(l) == 0
}

func permOf(m map[string]any) map[string]any {
	p, _ := m["object_permission"].(map[string]any)
	return p
}

func (h *Handler) keysData(r *http.Request, s *session) (*keysData, apiAnswer) {
	d := &keysData{Errors: map[string]string{}}
	// Every page of the API's list (100 a page): the search below
	// matches substrings, which the API's exact filters cannot.
	var all []map[string]any
	for page := 1; page <= maxKeyPages; page++ {
		a := h.call(r.Context(), s.key, http.MethodGet, fmt.Sprintf("/key/list?return_full_object=true&size=100&page=%d", page), nil)
		if !a.ok() {
			return nil, a
		}
		var kl struct {
			Keys       []map[string]any `json:"keys"`
			TotalPages int              `json:"total_pages"`
		}
		if err := json.Unmarshal(a.body, &kl); err != nil {
			return nil, apiAnswer{status: http.StatusBadGateway}
		}
		all = append(all, kl.Keys...)
		if page >= kl.TotalPages {
			break
		}
	}
	for _, k := range all {
		perm := permOf(k)
		d.Keys = append(d.Keys, keyRow{
			Token: str(k["token"]), Alias: str(k["key_alias"]), Name: str(k["key_name"]), Team: str(k["team_id"]),
			Expires: str(k["expires"]), Source: str(k["source"]), Blocked: k["blocked"] == true, ReadOnly: str(k["source"]) == "config",
			Servers: strs(perm["mcp_servers"]), Groups: strs(perm["mcp_access_groups"]),
			NoServers: emptyList(perm, "mcp_servers"),
		})
	}
	servers, a := h.listServers(r, s)
	if !a.ok() {
		return nil, a
	}
	for _, m := range servers {
		d.Servers = append(d.Servers, str(m["server_name"]))
		for _, g := range strs(m["mcp_access_groups"]) {
			if !slices.Contains(d.Groups, g) {
				d.Groups = append(d.Groups, g)
			}
		}
	}
	sort.Strings(d.Groups)
	teams, a := h.teams(r, s)
	if !a.ok() {
		return nil, a
	}
	d.Teams = teams
	d.Shown, d.Pager = paginate(r, d.Keys, func(k keyRow) []string {
		return append(append([]string{k.Alias, k.Name, k.Team, k.Token}, k.Servers...), k.Groups...)
	})
	return d, apiAnswer{status: http.StatusOK}
}

func (h *Handler) keysPage(w http.ResponseWriter, r *http.Request, s *session) {
	d, a := h.keysData(r, s)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	p := h.newPage(s, "Keys", "keys")
	p.Data = d
	h.render(w, http.StatusOK, "keys", p)
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	groups := append(append([]string{}, f["groups"]...), list(f.Get("extra_groups"))...)
	body := map[string]any{"object_permission": map[string]any{"mcp_servers": nonNil(f["servers"]), "mcp_access_groups": groups}}
	if v := strings.TrimSpace(f.Get("key_alias")); v != "" {
		body["key_alias"] = v
	}
	if v := f.Get("team_id"); v != "" {
		body["team_id"] = v
	}
	if v := strings.TrimSpace(f.Get("duration")); v != "" {
		body["duration"] = v
	}
	a := h.call(r.Context(), s.key, http.MethodPost, "/key/generate", body)
	d, da := h.keysData(r, s)
	if !da.ok() {
		h.apiFailed(w, r, s, da)
		return
	}
	p := h.newPage(s, "Keys", "keys")
	p.Data = d
	if !a.ok() {
		if a.status == http.StatusUnauthorized {
			h.apiFailed(w, r, s, a)
			return
		}
		e := a.err()
		p.Error = e.Message
		for _, pr := range e.Problems {
			field := strings.Split(strings.TrimPrefix(pr.Pointer, "/"), "/")[0]
			switch field {
			case "key_alias", "team_id", "duration":
				d.Errors[field] += pr.Message
			case "object_permission":
				d.Errors["servers"] += pr.Message
			default:
				p.Problems = append(p.Problems, pr)
			}
		}
		d.Form.Alias, d.Form.Team, d.Form.Duration, d.Form.ExtraGroups = f.Get("key_alias"), f.Get("team_id"), f.Get("duration"), f.Get("extra_groups")
		d.Form.Servers, d.Form.Groups = f["servers"], f["groups"]
		h.render(w, a.status, "keys", p)
		return
	}
	var out struct {
		Key   string `json:"key"`
		Alias string `json:"key_alias"`
	}
	_ = json.Unmarshal(a.body, &out)
	d.Created, d.CreatedAlias = out.Key, out.Alias
	if out.Key != "" {
		d.Connect = &connectData{Scope: connectScope{Kind: "all"}}
		h.fillConnect(r, d.Connect, out.Key)
	}
	h.render(w, http.StatusOK, "keys", p)
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func (h *Handler) blockKey(w http.ResponseWriter, r *http.Request, s *session) {
	token := r.PostForm.Get("token")
	block := r.PostForm.Get("blocked") == "true"
	a := h.call(r.Context(), s.key, http.MethodPost, "/key/update", map[string]any{"key": token, "blocked": block})
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	msg := "Key unblocked."
	if block {
		msg = "Key blocked: requests with it now get 401."
	}
	h.back(w, r, s, Base+"/keys", msg)
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, s *session) {
	a := h.call(r.Context(), s.key, http.MethodPost, "/key/delete", map[string]any{"keys": []string{r.PostForm.Get("token")}})
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	h.back(w, r, s, Base+"/keys", "Key deleted.")
}

// ---- teams ----

type teamRow struct {
	ID, Alias, Source string
	Servers, Groups   []string
	ReadOnly, Blocked bool
}

func (h *Handler) teams(r *http.Request, s *session) ([]teamRow, apiAnswer) {
	a := h.call(r.Context(), s.key, http.MethodGet, "/team/list", nil)
	if !a.ok() {
		return nil, a
	}
	var l []map[string]any
	if err := a.decode(&l); err != nil {
		return nil, apiAnswer{status: http.StatusBadGateway}
	}
	var out []teamRow
	for _, t := range l {
		perm := permOf(t)
		out = append(out, teamRow{ID: str(t["team_id"]), Alias: str(t["team_alias"]), Source: str(t["source"]),
			ReadOnly: str(t["source"]) == "config", Blocked: t["blocked"] == true,
			Servers: strs(perm["mcp_servers"]), Groups: strs(perm["mcp_access_groups"])})
	}
	return out, a
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// indentJSON re-encodes raw indented, with "<", ">" and "&" as
// themselves (not \u003c): the template escapes them for the page, and
// the user sees the schema as the upstream wrote it.
func indentJSON(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSpace(buf.String())
}

// pickedServers is the object_permission of a create form's server and
// access-group choices: only the lists something was picked in.
func pickedServers(f url.Values) map[string]any {
	perm := map[string]any{}
	if l := list(f.Get("servers")); len(l) > 0 {
		perm["mcp_servers"] = l
	}
	if l := list(f.Get("groups")); len(l) > 0 {
		perm["mcp_access_groups"] = l
	}
	return perm
}

// server reads one server through the admin API; false when that failed
// (the answer is written).
func (h *Handler) server(w http.ResponseWriter, r *http.Request, s *session, id string) (map[string]any, bool) {
	a := h.call(r.Context(), s.key, http.MethodGet, "/v1/mcp/server/"+url.PathEscape(id), nil)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return nil, false
	}
	var m map[string]any
	if err := a.decode(&m); err != nil {
		h.apiFailed(w, r, s, apiAnswer{status: http.StatusBadGateway})
		return nil, false
	}
	return m, true
}
