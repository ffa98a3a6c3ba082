package admin

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

// Mask stands for a secret value in answers (static_headers and env
// values). Sent back unchanged in an update, it keeps the stored value.
const Mask = "********"

// defaultTransport is what LiteLLM's API assumes when a new server's
// body has no transport (NewMCPServerRequest); the config file's
// default is http.
const defaultTransport = "sse"

// references are the names bodies may refer to: the config file's and
// the store's servers, access groups, teams and organizations.
func (h *handler) references(ctx context.Context, cfg *config.Config) (*configfile.References, *apiError) {
	refs := &configfile.References{Servers: map[string]string{}, AccessGroups: map[string]bool{}, Teams: map[string]bool{}, Organizations: map[string]bool{}}
	for _, s := range cfg.Servers {
		refs.Servers[s.Name], refs.Servers[s.Alias] = s.Alias, s.Alias
		if s.ServerID != "" {
			refs.Servers[s.ServerID] = s.Alias
		}
		for _, g := range s.AccessGroups {
			refs.AccessGroups[g] = true
		}
	}
	for _, t := range cfg.Access.Teams {
		refs.Teams[t.ID] = true
	}
	for _, o := range cfg.Access.Organizations {
		refs.Organizations[o.ID] = true
	}
	servers, aerr := h.list(ctx, controlplane.KindServer)
	if aerr != nil {
		return nil, aerr
	}
	for _, o := range servers {
		d := docOf(o)
		name, alias := str(d["server_name"]), str(d["alias"])
		if alias == "" {
			alias = name
		}
		for _, n := range []string{name, alias, o.ID} {
			if _, taken := refs.Servers[n]; n != "" && !taken {
				refs.Servers[n] = alias
			}
		}
		for _, g := range strs(d["mcp_access_groups"]) {
			refs.AccessGroups[g] = true
		}
	}
	for kind, set := range map[controlplane.Kind]map[string]bool{controlplane.KindTeam: refs.Teams, controlplane.KindOrganization: refs.Organizations} {
		objs, aerr := h.list(ctx, kind)
		if aerr != nil {
			return nil, aerr
		}
		for _, o := range objs {
			set[o.ID] = true
		}
	}
	return refs, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
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

// configServerID is the server_id a config-file server is listed under:
// its server_id, else its name.
func configServerID(s config.Server) string {
	if s.ServerID != "" {
		return s.ServerID
	}
	return s.Name
}

// configServer finds a config-file server by server_id or name.
func configServer(cfg *config.Config, id string) (config.Server, bool) {
	for _, s := range cfg.Servers {
		if configServerID(s) == id || s.Name == id {
			return s, true
		}
	}
	return config.Server{}, false
}

// configServerDoc is how a config-file server is shown: LiteLLM's fields,
// secrets masked.
func configServerDoc(s config.Server) map[string]any {
	m := map[string]any{
		"server_id":         configServerID(s),
		"server_name":       s.Name,
		"alias":             s.Alias,
		"description":       s.Description,
		"transport":         string(s.Transport),
		"mcp_access_groups": nonNil(s.AccessGroups),
		"allowed_tools":     nonNil(s.AllowedTools),
		"extra_headers":     nonNil(s.ExtraHeaders),
		"allow_all_keys":    s.AllowAllKeys,
		"mcp_info":          map[string]any{"server_name": s.MCPInfo.ServerName, "description": s.MCPInfo.Description},
		"credentials":       nil,
		"source":            "config",
	}
	if s.URL != "" {
		m["url"] = s.URL
	}
	if s.AuthType != "" {
		m["auth_type"] = string(s.AuthType)
	}
	if len(s.DisallowedTools) > 0 {
		m["disallowed_tools"] = s.DisallowedTools
	}
	if len(s.AllowedParams) > 0 {
		// An empty list is a tool that takes no arguments: [] (not null).
		ap := make(map[string][]string, len(s.AllowedParams))
		for tool, names := range s.AllowedParams {
			ap[tool] = nonNil(names)
		}
		m["allowed_params"] = ap
	}
	if s.SpecPath != "" {
		m["spec_path"] = s.SpecPath
	}
	if s.Command != "" {
		m["command"], m["args"] = s.Command, nonNil(s.Args)
	}
	if len(s.Env) > 0 {
		m["env"] = masked(s.Env)
	}
	if len(s.StaticHeaders) > 0 {
		m["static_headers"] = masked(s.StaticHeaders)
	}
	if s.Timeout > 0 {
		m["timeout"] = s.Timeout.Seconds()
	}
	if s.FetchesToken() {
		m["oauth2_flow"], m["token_url"] = s.OAuth2.Flow, s.OAuth2.TokenURL
	}
	return m
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func masked(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k := range m {
		out[k] = Mask
	}
	return out
}

// splitServer splits a full server body (the parser accepted it) into
// what answers may show (Doc: no credentials, static_headers and env
// values masked) and the secret part (credentials, static_headers, env).
func splitServer(full map[string]any) (doc, secret map[string]any) {
	doc = maps.Clone(full)
	secret = map[string]any{}
	creds, _ := full["credentials"].(map[string]any)
	creds = maps.Clone(creds)
	for _, k := range configfile.CredentialKeys {
		if v, ok := doc[k]; ok { // top-level credential keys are stored nested
			if creds == nil {
				creds = map[string]any{}
			}
			creds[k] = v
			delete(doc, k)
		}
	}
	delete(doc, "credentials")
	if len(creds) > 0 {
		secret["credentials"] = creds
	}
	for _, k := range []string{"static_headers", "env"} {
		if h, ok := full[k].(map[string]any); ok && len(h) > 0 {
			secret[k] = h
			m := map[string]any{}
			for name := range h {
				m[name] = Mask
			}
			doc[k] = m
		}
	}
	for _, k := range configfile.ServerReadOnlyFields {
		delete(doc, k)
	}
	delete(doc, "version")
	delete(doc, "source")
	return doc, secret
}

// joinServer is the full body of a stored server: Doc with its secrets.
func joinServer(o controlplane.Object) map[string]any {
	full := docOf(o)
	secret := decodeObject(o.Secret)
	for k, v := range secret {
		full[k] = v
	}
	return full
}

// serverAnswer is how a stored server is shown.
func serverAnswer(o controlplane.Object, health map[string]controlplane.Health) map[string]any {
	m := stamp(docOf(o), o)
	m["credentials"] = nil
	addHealth(m, o.ID, health)
	return m
}

func addHealth(m map[string]any, id string, health map[string]controlplane.Health) {
	h, ok := health[id]
	if !ok || h.Status == "" {
		m["status"] = "unknown"
		return
	}
	m["status"] = h.Status
	if !h.CheckedAt.IsZero() {
		m["last_health_check"] = h.CheckedAt.UTC().Format(time.RFC3339Nano)
	}
	if h.Error != "" {
		m["health_check_error"] = h.Error
	}
}

func (h *handler) health(ctx context.Context) map[string]controlplane.Health {
	if h.opts.Store == nil {
		return nil
	}
	m, err := h.opts.Store.Health(ctx)
	if err != nil {
		return nil // health is advisory: servers list without it
	}
	return m
}

func (h *handler) listServers(w http.ResponseWriter, r *http.Request, _ Caller) {
	cfg := h.opts.Config()
	objs, aerr := h.list(r.Context(), controlplane.KindServer)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	health := h.health(r.Context())
	out := make([]map[string]any, 0, len(cfg.Servers)+len(objs))
	for _, s := range cfg.Servers {
		m := configServerDoc(s)
		addHealth(m, configServerID(s), health)
		out = append(out, m)
	}
	for _, o := range objs {
		out = append(out, serverAnswer(o, health))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) getServer(w http.ResponseWriter, r *http.Request, _ Caller) {
	id := r.PathValue("server_id")
	cfg := h.opts.Config()
	o, ok, aerr := h.get(r.Context(), controlplane.KindServer, id)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	health := h.health(r.Context())
	if ok {
		setETag(w, o)
		writeJSON(w, http.StatusOK, serverAnswer(o, health))
		return
	}
	if s, ok := configServer(cfg, id); ok {
		m := configServerDoc(s)
		addHealth(m, configServerID(s), health)
		writeJSON(w, http.StatusOK, m)
		return
	}
	objs, aerr := h.list(r.Context(), controlplane.KindServer)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	for _, o := range objs {
		if o.Name == id {
			setETag(w, o)
			writeJSON(w, http.StatusOK, serverAnswer(o, health))
			return
		}
	}
	writeError(w, notFound("MCP Server with id "+id+" not found"))
}

func (h *handler) serverHealth(w http.ResponseWriter, r *http.Request, _ Caller) {
	var want map[string]bool
	for _, v := range r.URL.Query()["server_ids"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				if want == nil {
					want = map[string]bool{}
				}
				want[id] = true
			}
		}
	}
	cfg := h.opts.Config()
	objs, aerr := h.list(r.Context(), controlplane.KindServer)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	health := h.health(r.Context())
	var ids []string
	for _, s := range cfg.Servers {
		ids = append(ids, configServerID(s))
	}
	for _, o := range objs {
		ids = append(ids, o.ID)
	}
	out := []map[string]any{}
	for _, id := range ids {
		if want != nil && !want[id] {
			continue
		}
		status := "unknown"
		if hs, ok := health[id]; ok && hs.Status != "" {
			status = hs.Status
		}
		out = append(out, map[string]any{"server_id": id, "status": status})
	}
	writeJSON(w, http.StatusOK, out)
}

// serverNames maps every server's name, alias and id to its server_id,
// except the server skip's.
func (h *handler) serverNames(ctx context.Context, cfg *config.Config, skip string) (map[string]string, *apiError) {
	names := map[string]string{}
	for _, s := range cfg.Servers {
		id := configServerID(s)
		for _, n := range []string{s.Name, s.Alias, id} {
			names[n] = id
		}
	}
	objs, aerr := h.list(ctx, controlplane.KindServer)
	if aerr != nil {
		return nil, aerr
	}
	for _, o := range objs {
		if o.ID == skip {
			continue
		}
		d := docOf(o)
		for _, n := range []string{str(d["server_name"]), str(d["alias"]), o.ID} {
			if n != "" {
				names[n] = o.ID
			}
		}
	}
	return names, nil
}

// checkServer parses a full server body and checks its names against the
// other servers.
func (h *handler) checkServer(ctx context.Context, cfg *config.Config, full map[string]any, id string) (config.Server, *apiError) {
	s, rep := configfile.ParseServerJSON(mustJSON(full), jsonOptions(cfg, nil))
	if !rep.OK() {
		return s, invalid("MCP server", rep.Errors)
	}
	if aerr := h.checkWritable(s); aerr != nil {
		return s, aerr
	}
	names, aerr := h.serverNames(ctx, cfg, id)
	if aerr != nil {
		return s, aerr
	}
	for _, c := range []struct{ field, value string }{{"server_id", id}, {"server_name", s.Name}, {"alias", s.Alias}} {
		if other, taken := names[c.value]; taken {
			e := conflict(c.field + " " + quote(c.value) + " is already the name, alias or server_id of MCP server " + quote(other))
			e.param = c.field
			return s, e
		}
	}
	return s, nil
}

// DefaultStdioCommands are the commands a stdio server written through
// the API may run, as in LiteLLM (MCP_STDIO_ALLOWED_COMMANDS): a leaked
// master key must not run any binary on the gateway's host with one
// POST. They still run what their arguments say (python -c): the admin
// API is for administrators. The config file is not limited.
var DefaultStdioCommands = []string{"npx", "uvx", "python", "python3", "node", "docker", "deno"}

// checkWritable refuses what the config file allows but an API body must
// not carry: a stdio command outside the allowed list, credentials in
// the URL (they would be stored, listed and audited unencrypted).
func (h *handler) checkWritable(s config.Server) *apiError {
	if s.Command != "" && !slices.Contains(DefaultStdioCommands, s.Command) && !slices.Contains(h.opts.StdioCommands, s.Command) {
		e := badRequest("command " + quote(s.Command) + " is not allowed for stdio servers written through the API; allowed: " +
			strings.Join(append(slices.Clone(DefaultStdioCommands), h.opts.StdioCommands...), ", ") + " (more with LITELLM_MCP_STDIO_EXTRA_COMMANDS)")
		e.param = "command"
		return e
	}
	if u, err := url.Parse(s.URL); err == nil && u.User != nil {
		e := badRequest("url must not carry credentials (user:password@): they would be stored and shown unencrypted; send them in credentials with auth_type basic")
		e.param = "url"
		return e
	}
	return nil
}

// serverNotObject and keyNotObject let the validator say what is wrong
// with a body that is not a JSON object, in its own words.
func serverNotObject(body []byte, cfg *config.Config) *apiError {
	_, rep := configfile.ParseServerJSON(body, jsonOptions(cfg, nil))
	return invalid("MCP server", rep.Errors)
}

func keyNotObject(body []byte, cfg *config.Config) *apiError {
	_, rep := configfile.ParseKeyJSON(body, jsonOptions(cfg, nil))
	return invalid("key", rep.Errors)
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func (h *handler) createServer(w http.ResponseWriter, r *http.Request, c Caller) {
	wb, ok := h.readWrite(w, r, controlplane.KindServer, false, serverNotObject)
	if !ok {
		return
	}
	cfg, full := wb.cfg, wb.m
	if v, ok := full["transport"]; !ok || v == nil {
		full["transport"] = defaultTransport
	}
	id := str(full["server_id"])
	if id == "" {
		var err error
		if id, err = h.newID(); err != nil {
			writeError(w, internal("could not generate a server_id"))
			return
		}
		full["server_id"] = id
	}
	s, aerr := h.checkServer(r.Context(), cfg, full, id)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	full["server_name"] = s.Name
	doc, secret := splitServer(full)
	obj := controlplane.Object{Kind: controlplane.KindServer, ID: id, Name: s.Name, Doc: mustJSON(doc)}
	if len(secret) > 0 {
		obj.Secret = mustJSON(secret)
	}
	saved, err := h.opts.Store.Create(r.Context(), obj, c.Alias)
	if err != nil {
		writeError(w, h.storeError(err))
		return
	}
	h.logWrite("create", controlplane.KindServer, id, s.Name, c)
	setETag(w, saved)
	writeJSON(w, http.StatusCreated, serverAnswer(saved, nil))
}

func (h *handler) updateServer(w http.ResponseWriter, r *http.Request, c Caller) {
	wb, ok := h.readWrite(w, r, controlplane.KindServer, true, serverNotObject)
	if !ok {
		return
	}
	cfg, patch, expect := wb.cfg, wb.m, wb.expect
	id := str(patch["server_id"])
	if id == "" {
		e := badRequest("server_id is required: it names the server to update")
		e.param = "server_id"
		writeError(w, e)
		return
	}
	if _, ok := configServer(cfg, id); ok {
		writeError(w, fromConfig("MCP server "+quote(id)))
		return
	}
	// A GET answer sent back: credentials null and masked values keep
	// what is stored.
	if v, ok := patch["credentials"]; ok && v == nil {
		delete(patch, "credentials")
	}
	for _, k := range []string{"static_headers", "env"} {
		if m, ok := patch[k].(map[string]any); ok {
			for name, v := range m {
				if v == Mask {
					delete(m, name)
				}
			}
		}
	}
	for _, k := range configfile.ServerReadOnlyFields {
		delete(patch, k)
	}
	delete(patch, "version")
	delete(patch, "source")
	nestCredentials(patch)
	var name string
	_, saved, aerr := h.update(r.Context(), controlplane.KindServer, id, expect, c.Alias, func(cur controlplane.Object) (controlplane.Object, *apiError) {
		full := mergePatch(joinServer(cur), patch)
		s, aerr := h.checkServer(r.Context(), cfg, full, id)
		if aerr != nil {
			return cur, aerr
		}
		name = s.Name
		full["server_name"] = s.Name
		doc, secret := splitServer(full)
		next := controlplane.Object{Name: s.Name, Doc: mustJSON(doc)}
		if len(secret) > 0 {
			next.Secret = mustJSON(secret)
		}
		return next, nil
	})
	if aerr != nil {
		if aerr.status == http.StatusNotFound {
			aerr.msg = "MCP Server not found, passed server_id=" + id
		}
		writeError(w, aerr)
		return
	}
	h.logWrite("update", controlplane.KindServer, id, name, c)
	setETag(w, saved)
	writeJSON(w, http.StatusAccepted, serverAnswer(saved, h.health(r.Context())))
}

func (h *handler) deleteServer(w http.ResponseWriter, r *http.Request, c Caller) {
	id := r.PathValue("server_id")
	if _, ok := configServer(h.opts.Config(), id); ok {
		writeError(w, fromConfig("MCP server "+quote(id)))
		return
	}
	if aerr := h.writable(controlplane.KindServer); aerr != nil {
		writeError(w, aerr)
		return
	}
	deleted, err := h.opts.Store.Delete(r.Context(), controlplane.KindServer, id, c.Alias)
	if err != nil {
		writeError(w, h.storeError(err))
		return
	}
	if deleted {
		h.logWrite("delete", controlplane.KindServer, id, "", c)
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *handler) accessGroups(w http.ResponseWriter, r *http.Request, _ Caller) {
	cfg := h.opts.Config()
	refs, aerr := h.references(r.Context(), cfg)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	groups := slices.Collect(maps.Keys(refs.AccessGroups))
	sort.Strings(groups)
	writeJSON(w, http.StatusOK, map[string]any{"access_groups": groups})
}

func (h *handler) tools(w http.ResponseWriter, r *http.Request, c Caller) {
	if h.opts.Tools == nil {
		writeError(w, &apiError{status: http.StatusNotImplemented, typ: typeInternal, msg: "listing tools is not available on this endpoint"})
		return
	}
	tools, err := h.opts.Tools.ListTools(r.Context(), c)
	if err != nil {
		writeError(w, &apiError{status: http.StatusBadGateway, typ: typeInternal, msg: "could not list the tools of this key's servers"})
		return
	}
	if tools == nil {
		tools = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tools": tools})
}

// nestCredentials moves top-level credential keys of an update into
// credentials, where the stored server keeps them, unless credentials
// sets them too (the parser then reports it).
func nestCredentials(patch map[string]any) {
	for _, k := range configfile.CredentialKeys {
		v, ok := patch[k]
		if !ok {
			continue
		}
		creds, isMap := patch["credentials"].(map[string]any)
		if patch["credentials"] != nil && !isMap {
			return
		}
		if creds == nil {
			creds = map[string]any{}
			patch["credentials"] = creds
		}
		if _, both := creds[k]; both {
			continue
		}
		creds[k] = v
		delete(patch, k)
	}
}

// mergePatch applies an RFC 7396 merge patch: objects merge key by key,
// null removes a key, anything else replaces.
func mergePatch(target, patch map[string]any) map[string]any {
	out := maps.Clone(target)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			tv, _ := out[k].(map[string]any)
			out[k] = mergePatch(tv, pv)
		default:
			out[k] = v
		}
	}
	return out
}
