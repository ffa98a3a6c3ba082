package admin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// keyBytes is how many random bytes a minted key carries.
const keyBytes = 32

// readOnly are fields answers carry that a body cannot set.
var readOnly = []string{"created_at", "updated_at", "created_by", "updated_by", "version", "source", "key_name"}

func dropReadOnly(m map[string]any) {
	for _, k := range readOnly {
		delete(m, k)
	}
}

func permDoc(o config.ObjectPermission) map[string]any {
	m := map[string]any{}
	if o.MCPServers != nil {
		m["mcp_servers"] = o.MCPServers
	}
	if o.MCPAccessGroups != nil {
		m["mcp_access_groups"] = o.MCPAccessGroups
	}
	if o.MCPToolPermissions != nil {
		m["mcp_tool_permissions"] = o.MCPToolPermissions
	}
	if o.MCPDisallowedTools != nil {
		m["mcp_disallowed_tools"] = o.MCPDisallowedTools
	}
	return m
}

func expiresDoc(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func configKeyDoc(k config.Key) map[string]any {
	return map[string]any{
		"token": k.Token, "key_alias": k.Alias, "team_id": nullable(k.TeamID), "blocked": k.Blocked,
		"expires": expiresDoc(k.Expires), "object_permission": permDoc(k.Permission), "source": "config",
	}
}

func configTeamDoc(t config.Team) map[string]any {
	return map[string]any{
		"team_id": t.ID, "team_alias": nullable(t.Alias), "organization_id": nullable(t.OrganizationID),
		"blocked": t.Blocked, "object_permission": permDoc(t.Permission), "source": "config",
	}
}

func configOrgDoc(o config.Organization) map[string]any {
	return map[string]any{
		"organization_id": o.ID, "organization_alias": nullable(o.Alias),
		"object_permission": permDoc(o.Permission), "source": "config",
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// tokenOf reads a key as LiteLLM's /key/* routes take it: the key itself
// (sk-...) or its token (the SHA-256 hex digest).
func tokenOf(v string) string {
	if d, err := identity.ParseDigest(v); err == nil {
		return d.String()
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// keyName is LiteLLM's abbreviated key for display: "sk-...abcd".
func keyName(key string) string {
	if len(key) < 8 {
		return "sk-..."
	}
	return key[:3] + "..." + key[len(key)-4:]
}

// mintKey returns a new key: "sk-" and 32 random bytes, base64url.
func (h *handler) mintKey() (string, error) {
	b := make([]byte, keyBytes)
	if _, err := io.ReadFull(h.opts.Rand, b); err != nil {
		return "", err
	}
	return "sk-" + base64.RawURLEncoding.EncodeToString(b), nil
}

// ---- keys ----

func (h *handler) configKey(cfg *config.Config, token string) (config.Key, bool) {
	for _, k := range cfg.Access.Keys {
		if k.Token == token {
			return k, true
		}
	}
	return config.Key{}, false
}

// checkKeyAlias refuses a key_alias another key has.
func (h *handler) checkKeyAlias(ctx context.Context, cfg *config.Config, alias, token string) *apiError {
	for _, k := range cfg.Access.Keys {
		if k.Alias == alias {
			return aliasTaken("key_alias", alias, "a key of the config file")
		}
	}
	objs, aerr := h.list(ctx, controlplane.KindKey)
	if aerr != nil {
		return aerr
	}
	for _, o := range objs {
		if o.Name == alias && o.ID != token {
			return aliasTaken("key_alias", alias, "another key")
		}
	}
	return nil
}

func aliasTaken(field, value, owner string) *apiError {
	e := conflict(field + " " + quote(value) + " is already used by " + owner)
	e.param = field
	return e
}

// parseKey validates a key body and returns its Doc.
func (h *handler) parseKey(ctx context.Context, cfg *config.Config, body map[string]any) (config.Key, map[string]any, *apiError) {
	refs, aerr := h.references(ctx, cfg)
	if aerr != nil {
		return config.Key{}, nil, aerr
	}
	opts := jsonOptions(cfg, refs)
	opts.Now = h.opts.Now()
	k, rep := configfile.ParseKeyJSON(mustJSON(body), opts)
	if !rep.OK() {
		return k, nil, invalid("key", rep.Errors)
	}
	doc := make(map[string]any, len(body))
	for f, v := range body {
		doc[f] = v
	}
	delete(doc, "key")
	delete(doc, "duration")
	dropReadOnly(doc)
	doc["token"] = k.Token
	doc["key_alias"] = k.Alias
	doc["expires"] = expiresDoc(k.Expires)
	return k, doc, nil
}

func keyAnswer(o controlplane.Object) map[string]any { return stamp(docOf(o), o) }

func (h *handler) generateKey(w http.ResponseWriter, r *http.Request, c Caller) {
	wb, ok := h.readWrite(w, r, controlplane.KindKey, false, keyNotObject)
	if !ok {
		return
	}
	cfg, m := wb.cfg, wb.m
	dropReadOnly(m)
	key, _ := m["key"].(string)
	if _, hasToken := m["token"]; key == "" && !hasToken {
		var err error
		if key, err = h.mintKey(); err != nil {
			writeError(w, internal("could not generate a key"))
			return
		}
		m["key"] = key
	}
	k, doc, aerr := h.parseKey(r.Context(), cfg, m)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if key != "" {
		doc["key_name"] = keyName(key)
	}
	if _, ok := h.configKey(cfg, k.Token); ok {
		writeError(w, conflict("this key already exists in the config file"))
		return
	}
	if aerr := h.checkKeyAlias(r.Context(), cfg, k.Alias, k.Token); aerr != nil {
		writeError(w, aerr)
		return
	}
	saved, err := h.opts.Store.Create(r.Context(), controlplane.Object{Kind: controlplane.KindKey, ID: k.Token, Name: k.Alias, Doc: mustJSON(doc)}, c.Alias)
	if err != nil {
		writeError(w, h.storeError(err))
		return
	}
	h.logWrite("create", controlplane.KindKey, k.Token, k.Alias, c)
	ans := keyAnswer(saved)
	if key != "" {
		ans["key"] = key // shown this once; only its digest is kept
	}
	setETag(w, saved)
	writeJSON(w, http.StatusOK, ans)
}

func (h *handler) updateKey(w http.ResponseWriter, r *http.Request, c Caller) {
	wb, ok := h.readWrite(w, r, controlplane.KindKey, true, keyNotObject)
	if !ok {
		return
	}
	cfg, patch, expect := wb.cfg, wb.m, wb.expect
	token, aerr := h.keyToUpdate(r.Context(), cfg, patch)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if _, ok := h.configKey(cfg, token); ok {
		writeError(w, fromConfig("this key"))
		return
	}
	delete(patch, "key")
	delete(patch, "token")
	dropReadOnly(patch)
	var alias string
	_, saved, aerr := h.update(r.Context(), controlplane.KindKey, token, expect, c.Alias, func(cur controlplane.Object) (controlplane.Object, *apiError) {
		merged := docOf(cur)
		if _, ok := patch["duration"]; ok {
			delete(merged, "expires")
		}
		merged = mergePatch(merged, patch)
		name := merged["key_name"]
		dropReadOnly(merged)
		merged["token"] = token
		k, doc, aerr := h.parseKey(r.Context(), cfg, merged)
		if aerr != nil {
			return cur, aerr
		}
		if name != nil {
			doc["key_name"] = name
		}
		if aerr := h.checkKeyAlias(r.Context(), cfg, k.Alias, token); aerr != nil {
			return cur, aerr
		}
		alias = k.Alias
		return controlplane.Object{Name: k.Alias, Doc: mustJSON(doc)}, nil
	})
	if aerr != nil {
		if aerr.status == http.StatusNotFound {
			aerr.msg = "key not found"
		}
		writeError(w, aerr)
		return
	}
	h.logWrite("update", controlplane.KindKey, token, alias, c)
	setETag(w, saved)
	writeJSON(w, http.StatusOK, keyAnswer(saved))
}

// keyToUpdate is the token of the key a /key/update body names: its key
// (the key or its token), else its key_alias, as LiteLLM's
// UpdateKeyRequest reads them (the alias then names the key, not a new
// alias).
func (h *handler) keyToUpdate(ctx context.Context, cfg *config.Config, patch map[string]any) (string, *apiError) {
	if key, _ := patch["key"].(string); key != "" {
		return tokenOf(key), nil
	}
	alias, _ := patch["key_alias"].(string)
	if alias == "" {
		e := badRequest("key or key_alias is required: the key (sk-...), its token, or its key_alias names the key to update")
		e.param = "key"
		return "", e
	}
	for _, ck := range cfg.Access.Keys {
		if ck.Alias == alias {
			return "", fromConfig("key " + quote(alias))
		}
	}
	objs, aerr := h.list(ctx, controlplane.KindKey)
	if aerr != nil {
		return "", aerr
	}
	for _, o := range objs {
		if o.Name == alias {
			return o.ID, nil
		}
	}
	e := notFound("key not found: key_alias=" + alias)
	e.param = "key_alias"
	return "", e
}

func (h *handler) deleteKeys(w http.ResponseWriter, r *http.Request, c Caller) {
	wb, ok := h.readWrite(w, r, controlplane.KindKey, false, func([]byte, *config.Config) *apiError {
		return badRequest(`the body must be a JSON object: {"keys": [...]} or {"key_aliases": [...]}`)
	})
	if !ok {
		return
	}
	m := wb.m
	keys, aliases := strs(m["keys"]), strs(m["key_aliases"])
	if len(keys) == 0 && len(aliases) == 0 {
		writeError(w, badRequest("keys or key_aliases is required"))
		return
	}
	cfg := h.opts.Config()
	tokens := make([]string, 0, len(keys)+len(aliases))
	for _, k := range keys {
		tokens = append(tokens, tokenOf(k))
	}
	if len(aliases) > 0 {
		objs, aerr := h.list(r.Context(), controlplane.KindKey)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		for _, a := range aliases {
			for _, ck := range cfg.Access.Keys {
				if ck.Alias == a {
					writeError(w, fromConfig("key "+quote(a)))
					return
				}
			}
			for _, o := range objs {
				if o.Name == a {
					tokens = append(tokens, o.ID)
				}
			}
		}
	}
	for _, t := range tokens {
		if _, ok := h.configKey(cfg, t); ok {
			writeError(w, fromConfig("a key given"))
			return
		}
	}
	for _, t := range tokens {
		deleted, err := h.opts.Store.Delete(r.Context(), controlplane.KindKey, t, c.Alias)
		if err != nil {
			writeError(w, h.storeError(err))
			return
		}
		if deleted {
			h.logWrite("delete", controlplane.KindKey, t, "", c)
		}
	}
	deleted := append(keys, aliases...)
	writeJSON(w, http.StatusOK, map[string]any{"deleted_keys": deleted})
}

func (h *handler) keyInfo(w http.ResponseWriter, r *http.Request, c Caller) {
	param := r.URL.Query().Get("key")
	token := c.Token
	if param != "" {
		token = tokenOf(param)
	}
	if !c.Admin && token != c.Token {
		writeError(w, &apiError{status: http.StatusForbidden, typ: typeAuth, msg: "a key may only read its own info; the master key may read any"})
		return
	}
	cfg := h.opts.Config()
	if k, ok := h.configKey(cfg, token); ok {
		writeJSON(w, http.StatusOK, map[string]any{"key": token, "info": configKeyDoc(k)})
		return
	}
	o, ok, aerr := h.get(r.Context(), controlplane.KindKey, token)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if !ok {
		writeError(w, notFound("key not found"))
		return
	}
	setETag(w, o)
	// LiteLLM echoes the key as sent; the token is given instead, so an
	// answer never carries a key.
	writeJSON(w, http.StatusOK, map[string]any{"key": token, "info": keyAnswer(o)})
}

func (h *handler) listKeys(w http.ResponseWriter, r *http.Request, _ Caller) {
	q := r.URL.Query()
	page, size := positive(q.Get("page"), 1), positive(q.Get("size"), 10)
	size = min(size, 100)
	team, alias := q.Get("team_id"), q.Get("key_alias")
	full := q.Get("return_full_object") == "true"
	cfg := h.opts.Config()
	var all []map[string]any
	for _, k := range cfg.Access.Keys {
		all = append(all, configKeyDoc(k))
	}
	objs, aerr := h.list(r.Context(), controlplane.KindKey)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	for _, o := range objs {
		all = append(all, keyAnswer(o))
	}
	var sel []any
	for _, m := range all {
		if (team != "" && str(m["team_id"]) != team) || (alias != "" && str(m["key_alias"]) != alias) {
			continue
		}
		if full {
			sel = append(sel, m)
		} else {
			sel = append(sel, m["token"])
		}
	}
	total := len(sel)
	from := min((page-1)*size, total)
	to := min(from+size, total)
	out := sel[from:to]
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"keys": out, "total_count": total, "current_page": page, "total_pages": (total + size - 1) / size,
	})
}

func positive(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return min(n, 1<<20)
}

// ---- teams and organizations ----

// group describes teams or organizations, which the API treats alike.
type group struct {
	kind       controlplane.Kind
	what       string // "team", "organization"
	idField    string // "team_id"
	aliasField string // "team_alias"
	idsField   string // "team_ids" (delete)
	parse      func(body []byte, opts configfile.JSONOptions) (id, alias string, rep configfile.Report)
	configDocs func(cfg *config.Config) []map[string]any
}

// notObject lets the validator say what is wrong with a body that is not
// a JSON object.
func (g group) notObject(body []byte, cfg *config.Config) *apiError {
	_, _, rep := g.parse(body, jsonOptions(cfg, nil))
	return invalid(g.what, rep.Errors)
}

var teams = group{
	kind: controlplane.KindTeam, what: "team", idField: "team_id", aliasField: "team_alias", idsField: "team_ids",
	parse: func(body []byte, opts configfile.JSONOptions) (string, string, configfile.Report) {
		t, rep := configfile.ParseTeamJSON(body, opts)
		return t.ID, t.Alias, rep
	},
	configDocs: func(cfg *config.Config) []map[string]any {
		var out []map[string]any
		for _, t := range cfg.Access.Teams {
			out = append(out, configTeamDoc(t))
		}
		return out
	},
}

var orgs = group{
	kind: controlplane.KindOrganization, what: "organization", idField: "organization_id", aliasField: "organization_alias", idsField: "organization_ids",
	parse: func(body []byte, opts configfile.JSONOptions) (string, string, configfile.Report) {
		o, rep := configfile.ParseOrganizationJSON(body, opts)
		return o.ID, o.Alias, rep
	},
	configDocs: func(cfg *config.Config) []map[string]any {
		var out []map[string]any
		for _, o := range cfg.Access.Organizations {
			out = append(out, configOrgDoc(o))
		}
		return out
	},
}

func (g group) configDoc(cfg *config.Config, id string) (map[string]any, bool) {
	for _, d := range g.configDocs(cfg) {
		if d[g.idField] == id {
			return d, true
		}
	}
	return nil, false
}

// check validates a team or organization body and its alias.
func (h *handler) checkGroup(ctx context.Context, g group, cfg *config.Config, m map[string]any) (id, alias string, aerr *apiError) {
	refs, aerr := h.references(ctx, cfg)
	if aerr != nil {
		return "", "", aerr
	}
	id, alias, rep := g.parse(mustJSON(m), jsonOptions(cfg, refs))
	if !rep.OK() {
		return "", "", invalid(g.what, rep.Errors)
	}
	if alias == "" {
		return id, alias, nil
	}
	for _, d := range g.configDocs(cfg) {
		if d[g.aliasField] == alias && d[g.idField] != id {
			return "", "", aliasTaken(g.aliasField, alias, "a "+g.what+" of the config file")
		}
	}
	objs, aerr := h.list(ctx, g.kind)
	if aerr != nil {
		return "", "", aerr
	}
	for _, o := range objs {
		if o.Name == alias && o.ID != id {
			return "", "", aliasTaken(g.aliasField, alias, "another "+g.what)
		}
	}
	return id, alias, nil
}

func groupAnswer(o controlplane.Object) map[string]any { return stamp(docOf(o), o) }

func (h *handler) createGroup(w http.ResponseWriter, r *http.Request, c Caller, g group) {
	wb, ok := h.readWrite(w, r, g.kind, false, g.notObject)
	if !ok {
		return
	}
	cfg, m := wb.cfg, wb.m
	dropReadOnly(m)
	if str(m[g.idField]) == "" {
		id, err := h.newID()
		if err != nil {
			writeError(w, internal("could not generate an id"))
			return
		}
		m[g.idField] = id
	}
	if _, ok := g.configDoc(cfg, str(m[g.idField])); ok {
		e := conflict(g.idField + " " + quote(str(m[g.idField])) + " is already used by a " + g.what + " of the config file")
		e.param = g.idField
		writeError(w, e)
		return
	}
	id, alias, aerr := h.checkGroup(r.Context(), g, cfg, m)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	saved, err := h.opts.Store.Create(r.Context(), controlplane.Object{Kind: g.kind, ID: id, Name: alias, Doc: mustJSON(m)}, c.Alias)
	if err != nil {
		writeError(w, h.storeError(err))
		return
	}
	h.logWrite("create", g.kind, id, alias, c)
	setETag(w, saved)
	writeJSON(w, http.StatusOK, groupAnswer(saved))
}

func (h *handler) updateGroup(w http.ResponseWriter, r *http.Request, c Caller, g group) (controlplane.Object, bool) {
	wb, ok := h.readWrite(w, r, g.kind, true, g.notObject)
	if !ok {
		return controlplane.Object{}, false
	}
	cfg, patch, expect := wb.cfg, wb.m, wb.expect
	id := str(patch[g.idField])
	if id == "" {
		e := badRequest(g.idField + " is required: it names the " + g.what + " to update")
		e.param = g.idField
		writeError(w, e)
		return controlplane.Object{}, false
	}
	if _, ok := g.configDoc(cfg, id); ok {
		writeError(w, fromConfig(g.what+" "+quote(id)))
		return controlplane.Object{}, false
	}
	dropReadOnly(patch)
	var alias string
	_, saved, aerr := h.update(r.Context(), g.kind, id, expect, c.Alias, func(cur controlplane.Object) (controlplane.Object, *apiError) {
		merged := mergePatch(docOf(cur), patch)
		dropReadOnly(merged)
		merged[g.idField] = id
		_, a, aerr := h.checkGroup(r.Context(), g, cfg, merged)
		if aerr != nil {
			return cur, aerr
		}
		alias = a
		return controlplane.Object{Name: a, Doc: mustJSON(merged)}, nil
	})
	if aerr != nil {
		if aerr.status == http.StatusNotFound {
			aerr.msg = g.what + " not found: " + g.idField + "=" + id
		}
		writeError(w, aerr)
		return controlplane.Object{}, false
	}
	h.logWrite("update", g.kind, id, alias, c)
	setETag(w, saved)
	return saved, true
}

func (h *handler) deleteGroups(w http.ResponseWriter, r *http.Request, c Caller, g group) ([]string, bool) {
	if aerr := h.writable(g.kind); aerr != nil {
		writeError(w, aerr)
		return nil, false
	}
	body, aerr := h.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return nil, false
	}
	m := decodeObject(body)
	ids := strs(m[g.idsField])
	if len(ids) == 0 {
		e := badRequest(g.idsField + " is required: a list of ids to delete")
		e.param = g.idsField
		writeError(w, e)
		return nil, false
	}
	cfg := h.opts.Config()
	for _, id := range ids {
		if _, ok := g.configDoc(cfg, id); ok {
			writeError(w, fromConfig(g.what+" "+quote(id)))
			return nil, false
		}
	}
	for _, id := range ids {
		deleted, err := h.opts.Store.Delete(r.Context(), g.kind, id, c.Alias)
		if err != nil {
			writeError(w, h.storeError(err))
			return nil, false
		}
		if deleted {
			h.logWrite("delete", g.kind, id, "", c)
		}
	}
	return ids, true
}

func (h *handler) groupList(ctx context.Context, g group) ([]map[string]any, *apiError) {
	out := g.configDocs(h.opts.Config())
	objs, aerr := h.list(ctx, g.kind)
	if aerr != nil {
		return nil, aerr
	}
	for _, o := range objs {
		out = append(out, groupAnswer(o))
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// groupInfo finds one team or organization by the id in the query.
func (h *handler) groupInfo(w http.ResponseWriter, r *http.Request, g group) (map[string]any, bool) {
	id := r.URL.Query().Get(g.idField)
	if id == "" {
		e := badRequest(g.idField + " is required (query parameter)")
		e.param = g.idField
		writeError(w, e)
		return nil, false
	}
	if d, ok := g.configDoc(h.opts.Config(), id); ok {
		return d, true
	}
	o, ok, aerr := h.get(r.Context(), g.kind, id)
	if aerr != nil {
		writeError(w, aerr)
		return nil, false
	}
	if !ok {
		writeError(w, notFound(g.what+" not found: "+g.idField+"="+id))
		return nil, false
	}
	setETag(w, o)
	return groupAnswer(o), true
}

func (h *handler) createTeam(w http.ResponseWriter, r *http.Request, c Caller) {
	h.createGroup(w, r, c, teams)
}

func (h *handler) updateTeam(w http.ResponseWriter, r *http.Request, c Caller) {
	if o, ok := h.updateGroup(w, r, c, teams); ok {
		writeJSON(w, http.StatusOK, map[string]any{"team_id": o.ID, "data": groupAnswer(o)})
	}
}

func (h *handler) deleteTeams(w http.ResponseWriter, r *http.Request, c Caller) {
	if ids, ok := h.deleteGroups(w, r, c, teams); ok {
		writeJSON(w, http.StatusOK, map[string]any{"deleted_teams": ids})
	}
}

func (h *handler) teamInfo(w http.ResponseWriter, r *http.Request, _ Caller) {
	d, ok := h.groupInfo(w, r, teams)
	if !ok {
		return
	}
	id := str(d["team_id"])
	keys := []map[string]any{}
	for _, k := range h.opts.Config().Access.Keys {
		if k.TeamID == id {
			keys = append(keys, configKeyDoc(k))
		}
	}
	objs, aerr := h.list(r.Context(), controlplane.KindKey)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	for _, o := range objs {
		if m := keyAnswer(o); str(m["team_id"]) == id {
			keys = append(keys, m)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"team_id": id, "team_info": d, "keys": keys, "team_memberships": []any{}})
}

func (h *handler) listTeams(w http.ResponseWriter, r *http.Request, _ Caller) {
	out, aerr := h.groupList(r.Context(), teams)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if org := r.URL.Query().Get("organization_id"); org != "" {
		var sel []map[string]any
		for _, t := range out {
			if str(t["organization_id"]) == org {
				sel = append(sel, t)
			}
		}
		out = append([]map[string]any{}, sel...)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) createOrg(w http.ResponseWriter, r *http.Request, c Caller) {
	h.createGroup(w, r, c, orgs)
}

func (h *handler) updateOrg(w http.ResponseWriter, r *http.Request, c Caller) {
	if o, ok := h.updateGroup(w, r, c, orgs); ok {
		writeJSON(w, http.StatusOK, groupAnswer(o))
	}
}

func (h *handler) deleteOrgs(w http.ResponseWriter, r *http.Request, c Caller) {
	if ids, ok := h.deleteGroups(w, r, c, orgs); ok {
		out := make([]map[string]any, len(ids))
		for i, id := range ids {
			out[i] = map[string]any{"organization_id": id}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (h *handler) orgInfo(w http.ResponseWriter, r *http.Request, _ Caller) {
	if d, ok := h.groupInfo(w, r, orgs); ok {
		writeJSON(w, http.StatusOK, d)
	}
}

func (h *handler) listOrgs(w http.ResponseWriter, r *http.Request, _ Caller) {
	out, aerr := h.groupList(r.Context(), orgs)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- audit ----

// auditKinds maps LiteLLM's audit table names to kinds.
var auditKinds = map[string]controlplane.Kind{
	"LiteLLM_MCPServerTable": controlplane.KindServer, "LiteLLM_VerificationToken": controlplane.KindKey,
	"LiteLLM_TeamTable": controlplane.KindTeam, "LiteLLM_OrganizationTable": controlplane.KindOrganization,
}

func tableName(k controlplane.Kind) string {
	for t, kind := range auditKinds {
		if kind == k {
			return t
		}
	}
	return string(k)
}

func (h *handler) audit(w http.ResponseWriter, r *http.Request, _ Caller) {
	if h.opts.Store == nil {
		writeJSON(w, http.StatusOK, map[string]any{"audit_logs": []any{}})
		return
	}
	q := r.URL.Query()
	aq := controlplane.AuditQuery{ObjectID: q.Get("object_id"), Limit: min(positive(q.Get("page_size"), 100), 1000)}
	if t := q.Get("table_name"); t != "" {
		k, ok := auditKinds[t]
		if !ok {
			k = controlplane.Kind(t)
		}
		aq.Kind = k
	}
	if b := q.Get("before_id"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			writeError(w, badRequest("before_id must be a positive audit entry id"))
			return
		}
		aq.BeforeID = n
	}
	entries, err := h.opts.Store.Audit(r.Context(), aq)
	if err != nil {
		writeError(w, h.storeError(err))
		return
	}
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		out = append(out, map[string]any{
			"id": e.ID, "updated_at": e.At.UTC().Format(time.RFC3339Nano), "changed_by": e.Actor,
			"action": e.Action, "table_name": tableName(e.Kind), "object_id": e.ObjectID,
			"before_value": rawOrNil(e.Before), "updated_values": rawOrNil(e.After),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit_logs": out})
}

func rawOrNil(b []byte) any {
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	return jsonRaw(b)
}

// jsonRaw is a stored JSON document put into an answer as is.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }
