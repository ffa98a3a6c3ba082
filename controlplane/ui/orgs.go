package ui

import (
	"net/http"
	"strings"
)

// principalRoutes are the edit pages of keys, teams and organizations.
func (h *Handler) principalRoutes() {
	h.mux.Handle("GET /ui/key", h.signedIn(h.keyEditPage))
	h.mux.Handle("POST /ui/key", h.signedIn(h.saveKey))

	h.mux.Handle("GET /ui/team", h.signedIn(h.groupEditPage(teamKind)))
	h.mux.Handle("POST /ui/team", h.signedIn(h.saveGroup(teamKind)))

	h.mux.Handle("GET /ui/orgs", h.signedIn(h.groupsPage(orgKind)))
	h.mux.Handle("POST /ui/orgs", h.signedIn(h.createGroup(orgKind)))
	h.mux.Handle("POST /ui/orgs/delete", h.signedIn(h.deleteGroup(orgKind)))
	h.mux.Handle("GET /ui/org", h.signedIn(h.groupEditPage(orgKind)))
	h.mux.Handle("POST /ui/org", h.signedIn(h.saveGroup(orgKind)))
}

// groupKind describes teams or organizations, which the admin API (and
// so the UI) treats alike.
type groupKind struct {
	What                          string // "team", "organization"
	Title                         string // "Teams", "Organizations"
	IDField, AliasField, IDsField string
	NewPath                       string // the admin API's
	ListPath, UpdatePath, DelPath string // the admin API's
	ListPage, EditPage, Active    string // the UI's
	HasOrg, HasBlocked            bool   // a team's own fields
}

var teamKind = groupKind{What: "team", Title: "Teams", NewPath: "/team/new", IDField: "team_id", AliasField: "team_alias", IDsField: "team_ids",
	ListPath: "/team/list", UpdatePath: "/team/update", DelPath: "/team/delete",
	ListPage: Base + "/teams", EditPage: Base + "/team", Active: "teams", HasOrg: true, HasBlocked: true}

var orgKind = groupKind{What: "organization", Title: "Organizations", NewPath: "/organization/new", IDField: "organization_id", AliasField: "organization_alias", IDsField: "organization_ids",
	ListPath: "/organization/list", UpdatePath: "/organization/update", DelPath: "/organization/delete",
	ListPage: Base + "/orgs", EditPage: Base + "/org", Active: "orgs"}

// groupRow is one team or organization in a list.
type groupRow struct {
	ID, Alias, Org, Source string
	Version                string
	Servers, Groups        []string
	// NoServers: the level sets its server list and access groups, and
	// both are empty: its keys may use no server. Lists left out do not
	// restrict.
	NoServers bool
	// Tools sums up the per-tool permissions.
	Tools             string
	ReadOnly, Blocked bool
	perm              map[string]any
}

func (h *Handler) groupRows(r *http.Request, s *session, k groupKind) ([]groupRow, apiAnswer) {
	a := h.call(r.Context(), s.key, http.MethodGet, k.ListPath, nil)
	if !a.ok() {
		return nil, a
	}
	var l []map[string]any
	if err := a.decode(&l); err != nil {
		return nil, apiAnswer{status: http.StatusBadGateway, body: []byte(`{"error":{"message":"the ` + k.What + ` list could not be read"}}`)}
	}
	out := make([]groupRow, 0, len(l))
	for _, t := range l {
		perm := permOf(t)
		out = append(out, groupRow{ID: str(t[k.IDField]), Alias: str(t[k.AliasField]), Org: str(t["organization_id"]), Version: str(t["version"]),
			Source: str(t["source"]), ReadOnly: str(t["source"]) == "config", Blocked: t["blocked"] == true,
			Servers: strs(perm["mcp_servers"]), Groups: strs(perm["mcp_access_groups"]), Tools: permSummary(perm), perm: perm,
			NoServers: noServers(perm)})
	}
	return out, a
}

// groupList is a list page's data: this page of the search.
type groupList struct {
	Kind  groupKind
	All   int
	Shown []groupRow
	Pager pager
}

// groupList reads the list of k and cuts this page of the search.
func (h *Handler) groupList(r *http.Request, s *session, k groupKind) (groupList, apiAnswer) {
	rows, a := h.groupRows(r, s, k)
	if !a.ok() {
		return groupList{}, a
	}
	d := groupList{Kind: k, All: len(rows)}
	d.Shown, d.Pager = searchGroups(r, rows)
	return d, a
}

func searchGroups(r *http.Request, rows []groupRow) ([]groupRow, pager) {
	return paginate(r, rows, func(g groupRow) []string {
		return append(append([]string{g.ID, g.Alias, g.Org, g.Tools}, g.Servers...), g.Groups...)
	})
}

// ---- organizations ----

// groupsPage lists teams or organizations; its template is named as
// the nav entry (k.Active).
func (h *Handler) groupsPage(k groupKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		d, a := h.groupList(r, s, k)
		if !a.ok() {
			h.apiFailed(w, r, s, a)
			return
		}
		p := h.newPage(s, k.Title, k.Active)
		p.Data = d
		h.render(w, http.StatusOK, k.Active, p)
	}
}

// createGroup creates a team or an organization from the list page's
// form. Nothing picked sends no list: an empty list would be a list,
// and limit the level's keys to no server at all.
func (h *Handler) createGroup(k groupKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		f := r.PostForm
		body := map[string]any{}
		if v := strings.TrimSpace(f.Get(k.AliasField)); v != "" {
			body[k.AliasField] = v
		}
		if perm := pickedServers(f); len(perm) > 0 {
			body["object_permission"] = perm
		}
		a := h.call(r.Context(), s.key, http.MethodPost, k.NewPath, body)
		if !a.ok() {
			if a.status == http.StatusUnauthorized {
				h.apiFailed(w, r, s, a)
				return
			}
			d, da := h.groupList(r, s, k)
			if !da.ok() {
				h.apiFailed(w, r, s, da)
				return
			}
			p := h.newPage(s, k.Title, k.Active)
			e := a.err()
			p.Error, p.Problems, p.Data = e.Message, e.Problems, d
			h.render(w, a.status, k.Active, p)
			return
		}
		var out map[string]any
		_ = a.decode(&out)
		name := str(out[k.AliasField])
		if name == "" {
			name = str(out[k.IDField])
		}
		h.back(w, r, s, k.ListPage, capitalize(k.What)+" "+name+" created.")
	}
}

func (h *Handler) deleteGroup(k groupKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		a := h.call(r.Context(), s.key, http.MethodPost, k.DelPath, map[string]any{k.IDsField: []string{r.PostForm.Get(k.IDField)}})
		if !a.ok() {
			h.apiFailed(w, r, s, a)
			return
		}
		h.back(w, r, s, k.ListPage, capitalize(k.What)+" deleted.")
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ---- editing a team or an organization ----

// groupEdit is the edit form's state.
type groupEdit struct {
	Kind           groupKind
	ID, Alias, Org string
	// Version is the object's version when the form was read (If-Match).
	Version           string
	Blocked, ReadOnly bool
	Orgs              []groupRow // for a team's organization
	Bind              *bindings
	Errors            map[string]string
}

func (h *Handler) findGroup(r *http.Request, s *session, k groupKind, id string) (*groupRow, apiAnswer) {
	rows, a := h.groupRows(r, s, k)
	if !a.ok() {
		return nil, a
	}
	for i := range rows {
		if rows[i].ID == id {
			return &rows[i], a
		}
	}
	return nil, apiAnswer{status: http.StatusNotFound, body: []byte(`{"error":{"message":"` + k.What + ` not found"}}`)}
}

func (h *Handler) groupEditPageOf(s *session, f *groupEdit) *page {
	name := f.Alias
	if name == "" {
		name = f.ID
	}
	verb := "Edit "
	if f.ReadOnly {
		verb = ""
	}
	p := h.newPage(s, verb+f.Kind.What+" "+name, f.Kind.Active)
	p.Data = f
	return p
}

// fillGroupEdit adds the organizations (for a team) and the bindings
// editor; false when the API failed (the answer is written).
func (h *Handler) fillGroupEdit(w http.ResponseWriter, r *http.Request, s *session, f *groupEdit, perm map[string]any) bool {
	if f.Kind.HasOrg {
		orgs, a := h.groupRows(r, s, orgKind)
		if !a.ok() {
			h.apiFailed(w, r, s, a)
			return false
		}
		f.Orgs = orgs
	}
	b, a := h.bindingsFor(r, s, perm)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return false
	}
	b.ReadOnly = f.ReadOnly
	f.Bind = b
	return true
}

func (h *Handler) groupEditPage(k groupKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		g, a := h.findGroup(r, s, k, r.URL.Query().Get("id"))
		if !a.ok() {
			h.apiFailed(w, r, s, a)
			return
		}
		f := &groupEdit{Kind: k, ID: g.ID, Alias: g.Alias, Org: g.Org, Blocked: g.Blocked, ReadOnly: g.ReadOnly, Errors: map[string]string{}, Version: g.Version}
		if !h.fillGroupEdit(w, r, s, f, g.perm) {
			return
		}
		h.render(w, http.StatusOK, "group", h.groupEditPageOf(s, f))
	}
}

// groupFields are the group form's own fields, by the validator's
// pointer.
var groupFields = []string{"team_alias", "organization_alias", "organization_id", "blocked"}

func (h *Handler) saveGroup(k groupKind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		form := r.PostForm
		g, a := h.findGroup(r, s, k, form.Get("id"))
		if !a.ok() {
			h.apiFailed(w, r, s, a)
			return
		}
		f := &groupEdit{Kind: k, ID: g.ID, Alias: strings.TrimSpace(form.Get("alias")), ReadOnly: g.ReadOnly, Errors: map[string]string{},
			Version: form.Get("version")}
		posted := postedPerm(form)
		body := map[string]any{k.IDField: g.ID, k.AliasField: nullIfEmpty(f.Alias), "object_permission": permPatch(g.perm, posted)}
		if k.HasOrg {
			f.Org = form.Get("organization_id")
			body["organization_id"] = nullIfEmpty(f.Org)
		}
		if k.HasBlocked {
			f.Blocked = form.Get("blocked") != ""
			body["blocked"] = f.Blocked
		}
		a = h.callWith(r.Context(), s.key, http.MethodPost, k.UpdatePath, body, ifMatch(f.Version))
		if a.ok() {
			name := f.Alias
			if name == "" {
				name = f.ID
			}
			h.back(w, r, s, k.ListPage, strings.ToUpper(k.What[:1])+k.What[1:]+" "+name+" saved.")
			return
		}
		if a.status == http.StatusUnauthorized || a.status >= 500 && a.status != http.StatusServiceUnavailable {
			h.apiFailed(w, r, s, a)
			return
		}
		if !h.fillGroupEdit(w, r, s, f, posted) {
			return
		}
		p := h.groupEditPageOf(s, f)
		e := a.err()
		p.Problems = f.Bind.placeProblems(e.Problems, groupFields, f.Errors)
		// The alias field is named "alias" in the form.
		if msg := f.Errors[k.AliasField]; msg != "" {
			f.Errors["alias"] = msg
		}
		p.Error = e.Message
		if len(e.Problems) > 0 {
			p.Error = "The admin API refused the " + k.What + ": fix the fields marked below."
		}
		h.render(w, a.status, "group", p)
	}
}

// noServers reports whether a team's or organization's lists are set
// and both empty: a ceiling of no server.
func noServers(perm map[string]any) bool {
	_, servers := perm["mcp_servers"].([]any)
	_, groups := perm["mcp_access_groups"].([]any)
	return (servers || groups) && len(strs(perm["mcp_servers"])) == 0 && len(strs(perm["mcp_access_groups"])) == 0
}
