package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The allowed_params editor of the Tools page: per tool, the only
// top-level argument names a tools/call may send (the server's
// allowed_params, see docs/access-control.md), picked from the tool's
// input schema or typed. "Only" (restrict) with no names: no arguments
// at all (an empty entry); neither: any arguments (the entry is
// removed). Names alone restrict, as "only" does.

type paramChoice struct {
	Name    string
	Checked bool
}

type paramsRow struct {
	// Restricted: the server has an entry for the tool.
	Restricted bool
	// Allowed are the entry's names, in its order.
	Allowed []string
	// Choices are the schema's properties; Extra the entry's other names.
	Choices []paramChoice
	Extra   string
}

// toolParams is each listed tool's allowed_params editor, by bare name.
// An entry under the prefixed name wins over the bare one, as in the
// policy.
func toolParams(m map[string]any, rows []toolRow, pre string) map[string]*paramsRow {
	ap, _ := m["allowed_params"].(map[string]any)
	out := map[string]*paramsRow{}
	for _, t := range rows {
		p := &paramsRow{}
		v, ok := ap[pre+t.Name]
		if !ok {
			v, ok = ap[t.Name]
		}
		if ok {
			p.Restricted, p.Allowed = true, strs(v)
		}
		fields, _ := schemaFields(json.RawMessage(t.Schema))
		var extra []string
		for _, f := range fields {
			p.Choices = append(p.Choices, paramChoice{Name: f.Name, Checked: slices.Contains(p.Allowed, f.Name)})
		}
		for _, a := range p.Allowed {
			if !slices.ContainsFunc(fields, func(f argField) bool { return f.Name == a }) {
				extra = append(extra, a)
			}
		}
		p.Extra = strings.Join(extra, ", ")
		out[t.Name] = p
	}
	return out
}

// saveParams sets one tool's allowed_params entry (merge patch: the
// other tools' entries stay), under its bare name; an entry under the
// prefixed name is removed, since it would win.
func (h *Handler) saveParams(w http.ResponseWriter, r *http.Request, s *session) {
	id, name := r.PostForm.Get("server_id"), strings.TrimSpace(r.PostForm.Get("tool"))
	back := Base + "/tools?server=" + url.QueryEscape(id)
	if name == "" {
		h.back(w, r, s, back, "Choose a tool.")
		return
	}
	var names []string
	for _, n := range append(slices.Clone(r.PostForm["param"]), list(r.PostForm.Get("extra"))...) {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	m, ok := h.server(w, r, s, id)
	if !ok {
		return
	}
	// An entry that allows nothing ("only none" on the page) saved as
	// shown must stay one: "only" keeps it, not the names alone.
	restrict := r.PostForm.Get("restrict") != "" || len(names) > 0
	entry := map[string]any{name: nil}
	if restrict {
		entry[name] = nonNil(names)
	}
	if ap, _ := m["allowed_params"].(map[string]any); ap != nil {
		if full := h.prefix(aliasOf(m)) + name; full != name {
			if _, ok := ap[full]; ok {
				entry[full] = nil
			}
		}
	}
	a := h.call(r.Context(), s.key, http.MethodPut, "/v1/mcp/server", map[string]any{"server_id": id, "allowed_params": entry})
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	msg := name + " takes any parameters."
	switch {
	case len(names) > 0:
		msg = name + " takes only: " + strings.Join(names, ", ") + "."
	case restrict:
		msg = name + " takes no parameters."
	}
	h.back(w, r, s, back, msg)
}
