package ui

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/controlplane/admin"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

// "Test connection" on the server form: the form's current fields,
// before saving, parsed by the admin API's validator (its problems go on
// their fields), then Options.TestServer connects and lists the tools.
// The caller holds the master key, so an unsaved URL may be reached
// (unlike POST /mcp-rest/test/connection, open to keys, which tests
// configured servers only); a stdio command must be one the admin API
// would let the server be saved with.

// testConnectionWithin bounds a test (LiteLLM's MCP_TOOL_LISTING_TIMEOUT).
const testConnectionWithin = 30 * time.Second

// FieldErrors is an error of Options.TestServer about the form's fields,
// by field name (as the form names them): shown on those fields, the
// server not tested. The messages hold no secret.
type FieldErrors map[string]string

func (e *FieldErrors) Error() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(*e)) {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + (*e)[k])
	}
	return b.String()
}

type connTest struct {
	OK    bool
	Error string
	// BadFields says the form's fields were refused (not tested): ui.js
	// then shows the whole page, with the errors on their fields.
	BadFields bool
	Tools     []toolRow
}

func (h *Handler) testServer(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PostForm.Get("server_id")
	body, errs := serverBody(r.PostForm, false)
	f := postedForm(r.PostForm, errs)
	title := "Add an MCP server"
	if id != "" {
		title = "Edit " + f.Name
	}
	p := h.newPage(s, title, "servers")
	p.Data = &f
	fail := func(msg string) {
		f.Test = &connTest{Error: msg, BadFields: true}
		h.render(w, http.StatusOK, "server", p)
	}
	if h.opts.TestServer == nil {
		f.Test = &connTest{Error: "This gateway cannot test connections from the UI."}
		h.render(w, http.StatusOK, "server", p)
		return
	}
	if len(errs) > 0 {
		p.Error = "Fix the fields marked below."
		fail("Not tested: fix the fields marked below.")
		return
	}
	if body["server_name"] == nil {
		body["server_name"] = "untitled" // not saved: any name does
	}
	cfg := h.opts.Config()
	b, _ := json.Marshal(body)
	srv, rep := configfile.ParseServerJSON(b, configfile.JSONOptions{
		Separator: cfg.General.MCPToolPrefixSeparator, KeyHeader: cfg.General.KeyHeaderName, MasterKeyHash: cfg.General.MasterKeyHash,
	})
	if !rep.OK() {
		var ps []problem
		for _, e := range rep.Errors {
			ps = append(ps, problem{Pointer: e.Pointer, Message: e.Message})
		}
		p.Problems = placeProblems(ps, f.Errors)
		p.Error = "The admin API's validator refuses these fields: fix the ones marked below."
		fail("Not tested: the fields are not valid.")
		return
	}
	if srv.Command != "" && !slices.Contains(admin.DefaultStdioCommands, srv.Command) && !slices.Contains(h.opts.StdioCommands, srv.Command) {
		f.Errors["command"] = "command " + srv.Command + " is not allowed for stdio servers written through the API; allowed: " +
			strings.Join(append(slices.Clone(admin.DefaultStdioCommands), h.opts.StdioCommands...), ", ") + " (more with LITELLM_MCP_STDIO_EXTRA_COMMANDS)"
		fail("Not tested: the command is not allowed.")
		return
	}
	if u, err := url.Parse(srv.URL); err == nil && u.User != nil {
		f.Errors["url"] = "url must not carry credentials (user:password@): send them in the credentials fields"
		fail("Not tested: the URL carries credentials.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), testConnectionWithin)
	defer cancel()
	raw, err := h.opts.TestServer(ctx, id, srv)
	var fe *FieldErrors
	if errors.As(err, &fe) {
		h.log.Info("ui connection test refused", "server_id", id, "fields", slices.Sorted(maps.Keys(*fe)))
		maps.Copy(f.Errors, *fe)
		p.Error = "Not tested: fix the fields marked below."
		fail("Not tested: the saved secrets are not sent to a new destination; type them again.")
		return
	}
	h.log.Info("ui connection test", "server_id", id, "transport", f.Transport, "ok", err == nil)
	t := &connTest{OK: err == nil}
	if err != nil {
		t.Error = "The connection failed: " + redactSecrets(err.Error(), r.PostForm)
		if ctx.Err() != nil && r.Context().Err() == nil {
			t.Error = "The connection failed: no answer within " + testConnectionWithin.String() + "."
		}
	}
	for _, b := range raw {
		var tl tool
		if json.Unmarshal(b, &tl) == nil {
			t.Tools = append(t.Tools, toolRow{Name: tl.Name, Description: tl.Description})
		}
	}
	sort.Slice(t.Tools, func(i, j int) bool { return t.Tools[i].Name < t.Tools[j].Name })
	f.Test = t
	h.render(w, http.StatusOK, "server", p)
}

// redactSecrets takes out of an error text the URLs (their query or user
// info may be secret) and every secret the form carried: an upstream or
// a library may quote a header, a token or an environment value.
func redactSecrets(msg string, form url.Values) string {
	msg = redactURLs(msg)
	var secrets []string
	for _, k := range []string{"auth_value", "client_id", "client_secret"} {
		secrets = append(secrets, form.Get(k))
	}
	for _, x := range []struct{ field, sep string }{{"static_headers", ":"}, {"env", "="}} {
		for _, l := range lines(form.Get(x.field)) {
			if _, v, ok := strings.Cut(l, x.sep); ok {
				secrets = append(secrets, strings.TrimSpace(v))
			}
		}
	}
	for _, v := range secrets {
		if len(v) >= 4 && v != mask {
			msg = strings.ReplaceAll(msg, v, mask)
		}
	}
	return msg
}
