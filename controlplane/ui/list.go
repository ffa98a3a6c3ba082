package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pageSize is how many rows a list page shows.
const pageSize = 100

// pager is a list page's search and position, for the template.
type pager struct {
	Q                  string
	Page, Pages, Total int
	// Prev and Next are the neighbouring pages' URLs ("" at an end).
	Prev, Next string
}

// paginate keeps the rows matching the query's q (case-insensitive, in
// any of the strings fields returns) and cuts page "page" of them.
func paginate[T any](r *http.Request, rows []T, fields func(T) []string) ([]T, pager) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q != "" {
		lq := strings.ToLower(q)
		var keep []T
		for _, row := range rows {
			for _, f := range fields(row) {
				if strings.Contains(strings.ToLower(f), lq) {
					keep = append(keep, row)
					break
				}
			}
		}
		rows = keep
	}
	p := pager{Q: q, Total: len(rows), Pages: max(1, (len(rows)+pageSize-1)/pageSize)}
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	link := func(n int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		v.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + v.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	from := (p.Page - 1) * pageSize
	return rows[from:min(from+pageSize, len(rows))], p
}
