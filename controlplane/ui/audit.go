package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// auditPageSize is how many audit entries a page shows.
const auditPageSize = 50

// auditKinds are the kinds the audit page filters by (the API's
// table_name accepts them).
var auditKinds = []string{"mcp", "key", "team", "organization"}

type auditRow struct {
	ID, At, By, Action, Table, Object string
	Before, After                     string
}

type auditData struct {
	Rows     []auditRow
	Kind     string
	ObjectID string
	Kinds    []string
	// Newer and Older are the neighbouring pages' URLs ("" at an end).
	Newer, Older string
}

// auditPage shows GET /audit, newest first, auditPageSize a page. Paging
// is by id (the API's before_id), so a page stays put while entries are
// added; "Newer" goes back to the first page.
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := auditData{Kind: q.Get("kind"), ObjectID: q.Get("object_id"), Kinds: auditKinds}
	if !slices.Contains(auditKinds, d.Kind) {
		d.Kind = ""
	}
	v := url.Values{}
	// One more than a page: tells whether there is an older one.
	v.Set("page_size", strconv.Itoa(auditPageSize+1))
	if d.Kind != "" {
		v.Set("table_name", d.Kind)
	}
	if d.ObjectID != "" {
		v.Set("object_id", d.ObjectID)
	}
	before := q.Get("before_id")
	if n, err := strconv.ParseInt(before, 10, 64); err == nil && n > 0 {
		v.Set("before_id", before)
	} else {
		before = ""
	}
	a := h.call(r.Context(), s.key, http.MethodGet, "/audit?"+v.Encode(), nil)
	if !a.ok() {
		h.apiFailed(w, r, s, a)
		return
	}
	var out struct {
		Logs []struct {
			ID        json.Number     `json:"id"`
			At        string          `json:"updated_at"`
			By        string          `json:"changed_by"`
			Action    string          `json:"action"`
			Table     string          `json:"table_name"`
			Object    string          `json:"object_id"`
			Before    json.RawMessage `json:"before_value"`
			UpdatedTo json.RawMessage `json:"updated_values"`
		} `json:"audit_logs"`
	}
	if err := a.decode(&out); err != nil {
		h.apiFailed(w, r, s, apiAnswer{status: http.StatusBadGateway})
		return
	}
	more := len(out.Logs) > auditPageSize
	if more {
		out.Logs = out.Logs[:auditPageSize]
	}
	for _, e := range out.Logs {
		d.Rows = append(d.Rows, auditRow{ID: e.ID.String(), At: e.At, By: e.By, Action: e.Action, Table: e.Table, Object: e.Object,
			Before: rawText(e.Before), After: rawText(e.UpdatedTo)})
	}
	link := func(beforeID string) string {
		l := url.Values{}
		if d.Kind != "" {
			l.Set("kind", d.Kind)
		}
		if d.ObjectID != "" {
			l.Set("object_id", d.ObjectID)
		}
		if beforeID != "" {
			l.Set("before_id", beforeID)
		}
		return Base + "/audit?" + l.Encode()
	}
	if more {
		d.Older = link(d.Rows[len(d.Rows)-1].ID)
	}
	if before != "" {
		d.Newer = link("")
	}
	p := h.newPage(s, "Audit log", "audit")
	p.Data = d
	h.render(w, http.StatusOK, "audit", p)
}

// rawText is a stored document for a <pre>, "" for none.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return indentJSON(raw)
}
