package ui

import (
	"net/http"
	"net/url"
	"strings"
)

// keyEdit is the key edit form's state. The key is named by its token
// (its SHA-256, the admin API's object id), never by the key itself.
type keyEdit struct {
	Token, Name, Alias, Team, Expires, Duration string
	// Version is the key's version when the form was read (If-Match).
	Version           string
	Blocked, ReadOnly bool
	Teams             []teamRow
	Bind              *bindings
	Errors            map[string]string
}

// keyFields are the key form's own fields, by the validator's pointer.
var keyFields = []string{"key_alias", "team_id", "blocked", "expires", "duration"}

// keyInfo reads one key by its token.
func (h *Handler) keyInfo(r *http.Request, s *session, token string) (map[string]any, apiAnswer) {
	a := h.call(r.Context(), s.key, http.MethodGet, "/key/info?key="+url.QueryEscape(token), nil)
	if !a.ok() {
		return nil, a
	}
	var ki struct {
		Key  string         `json:"key"`
		Info map[string]any `json:"info"`
	}
	if err := a.decode(&ki); err != nil || ki.Info == nil {
		return nil, apiAnswer{status: http.StatusBadGateway, body: []byte(`{"error":{"message":"the key could not be read"}}`)}
	}
	if str(ki.Info["token"]) == "" {
		ki.Info["token"] = ki.Key
	}
	return ki.Info, a
}

// isToken reports whether v is a key's token (64 hex digits), the only
// way these pages name a key: a key itself must not travel in a URL.
func isToken(v string) bool {
	if len(v) != 64 {
		return false
	}
	for _, c := range v {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// notToken is the answer to a key named otherwise than by its token.
func (h *Handler) notToken(w http.ResponseWriter, s *session) {
	p := h.newPage(s, "Error", "keys")
	p.Error = "A key is named here by its token (its SHA-256, 64 hex digits, as in the keys list), never by the key itself."
	h.render(w, http.StatusBadRequest, "error", p)
}

// keyEditPage is GET /ui/key?key=<token>.
func (h *Handler) keyEditPage(w http.ResponseWriter, r *http.Request, s *session) {
	token := r.URL.Query().Get("key")
	if token == "" {
		http.Redirect(w, r, Base+"/keys", http.StatusSeeOther)
		return
	}
	if !isToken(token) {
		h.notToken(w, s)
		return
	}
	info, a := h.keyInfo(r, s, token)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	f := &keyEdit{Token: str(info["token"]), Name: str(info["key_name"]), Alias: str(info["key_alias"]), Team: str(info["team_id"]),
		Expires: str(info["expires"]), Blocked: info["blocked"] == true, ReadOnly: str(info["source"]) == "config", Errors: map[string]string{},
		Version: str(info["version"])}
	if !h.fillKeyEdit(w, r, s, f, permOf(info)) {
		return
	}
	h.render(w, http.StatusOK, "key", h.keyEditPageOf(s, f))
}

func (h *Handler) keyEditPageOf(s *session, f *keyEdit) *page {
	title := "Edit key " + f.Alias
	if f.ReadOnly {
		title = "Key " + f.Alias
	}
	p := h.newPage(s, title, "keys")
	p.Data = f
	return p
}

// fillKeyEdit adds the teams and the bindings editor; false when the
// API failed (the answer is written).
func (h *Handler) fillKeyEdit(w http.ResponseWriter, r *http.Request, s *session, f *keyEdit, perm map[string]any) bool {
	teams, a := h.teams(r, s)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return false
	}
	f.Teams = teams
	b, a := h.bindingsFor(r, s, perm)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return false
	}
	b.ReadOnly = f.ReadOnly
	f.Bind = b
	return true
}

// saveKey is POST /ui/key: the form as one /key/update (a merge patch).
func (h *Handler) saveKey(w http.ResponseWriter, r *http.Request, s *session) {
	form := r.PostForm
	token := form.Get("token")
	if !isToken(token) {
		h.notToken(w, s)
		return
	}
	info, a := h.keyInfo(r, s, token)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	f := &keyEdit{Token: str(info["token"]), Name: str(info["key_name"]), Alias: strings.TrimSpace(form.Get("key_alias")),
		Team: form.Get("team_id"), Expires: strings.TrimSpace(form.Get("expires")), Duration: strings.TrimSpace(form.Get("duration")),
		Blocked: form.Get("blocked") != "", ReadOnly: str(info["source"]) == "config", Errors: map[string]string{},
		Version: form.Get("version")}
	posted := postedPerm(form)
	body := map[string]any{"key": f.Token, "key_alias": nullIfEmpty(f.Alias), "team_id": nullIfEmpty(f.Team), "blocked": f.Blocked,
		"object_permission": permPatch(permOf(info), posted)}
	if f.Duration != "" {
		body["duration"] = f.Duration
	} else {
		body["expires"] = nullIfEmpty(f.Expires)
	}
	a = h.callWith(r.Context(), s.key, http.MethodPost, "/key/update", body, ifMatch(f.Version))
	if a.ok() {
		name := f.Alias
		if name == "" {
			name = f.Name
		}
		h.back(w, r, s, Base+"/access?key="+url.QueryEscape(f.Token), "Key "+name+" saved.")
		return
	}
	if a.status == http.StatusUnauthorized || a.status >= 500 && a.status != http.StatusServiceUnavailable {
		h.apiFailed(w, r, s, a)
		return
	}
	if !h.fillKeyEdit(w, r, s, f, posted) {
		return
	}
	p := h.keyEditPageOf(s, f)
	e := a.err()
	p.Problems = f.Bind.placeProblems(e.Problems, keyFields, f.Errors)
	p.Error = e.Message
	if len(e.Problems) > 0 {
		p.Error = "The admin API refused the key: fix the fields marked below."
	}
	h.render(w, a.status, "key", p)
}

// nullIfEmpty is v, or nil (JSON null: removed by a merge patch) for "".
func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}
