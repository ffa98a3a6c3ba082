package ui

import (
	"html/template"
	"slices"
	"strings"
)

// authTypes are the auth_type values the server form offers (the
// config file's; "none" sends none).
var authTypes = []string{"none", "bearer_token", "api_key", "basic", "authorization", "token", "oauth2"}

// pageNames are the page templates; each is parsed with layout.html.
var pageNames = []string{"login", "error", "servers", "server", "tools", "keys", "teams", "connect", "access", "audit",
	"tryit"}

// principalPages are the edit pages of keys, teams and organizations
// (they share perm.html's bindings editor).
var principalPages = []string{"key", "group", "orgs"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"join":      strings.Join,
		"list_auth": func() []string { return authTypes },
		"contains": func(l []string, s string) bool {
			return strings.Contains("\x00"+strings.Join(l, "\x00")+"\x00", "\x00"+s+"\x00")
		},
	}
	pages := map[string]*template.Template{}
	for _, name := range slices.Concat(pageNames, principalPages) {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/perm.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}
