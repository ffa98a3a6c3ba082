package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The Try-it page: a key (typed once, kept with the session like the
// master key, never in a page or a URL), one of the tools that key sees
// (Options.KeyTools: the effective-access decision) or any other name, a
// form made from the tool's input schema, and the call run through the
// gateway's MCP endpoint as a client runs it (mcpcall.go), its answer
// shown as the client gets it.

// tryTimeout bounds one Try-it call (initialize to the result).
const tryTimeout = 60 * time.Second

type toolChoice struct {
	Name, Description string
}

type tryData struct {
	// Unavailable says why calls cannot be made from here.
	Unavailable string
	// Key is the masked key in use; "" asks for one.
	Key string
	// Denied is the gateway's refusal of the key (what a client gets
	// with 401).
	Denied string
	// NoList says the key's tool list could not be asked.
	NoList string
	// Tools are this page of the key's tools (searchable, 100 a page);
	// All counts them all.
	Tools []toolChoice
	Pager pager
	All   int
	// Tool is the chosen tool (the name clients call).
	Tool        string
	Visible     bool // in the key's tools/list
	Known       bool // in the gateway's catalog
	Description string
	Schema      string
	Fields      []argField
	RawOnly     bool // the schema gives no fields: JSON only
	RawArgs     string
	RawError    string
	Outcome     *tryOutcome
}

type tryOutcome struct {
	Step       string
	Status     int
	StatusText string
	Failed     string
	Body       string
	HasErr     bool
	ErrCode    int
	ErrMessage string
	ErrData    string
	HasResult  bool
	IsError    bool
	Texts      []string
	Result     string
}

// setTryKey keeps key with the session for the Try-it page ("" forgets
// it).
func (t *sessions) setTryKey(id, key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.byID[id]; ok {
		s.tryKey = key
	}
}

// maskKey shows a key as the admin API's key_name does: sk-...abcd.
func maskKey(key string) string {
	if len(key) < 12 {
		return "********"
	}
	return key[:3] + "..." + key[len(key)-4:]
}

// keyToken is the admin API's token of a key: its SHA-256, hex.
func keyToken(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

func (h *Handler) tryEndpoint() string {
	if h.opts.GatewayURL == "" {
		return ""
	}
	return strings.TrimSuffix(h.opts.GatewayURL, "/") + "/mcp"
}

// gatewayClient is Options.GatewayClient (or a default one) that never
// follows a redirect: the key travels in the gateway's key header (by
// default x-litellm-api-key, not Authorization), which Go's client would
// copy to any host a redirect names, and an upstream's 3xx reaches the
// page through Envoy. The redirect is shown as the answer instead.
func (h *Handler) gatewayClient() *http.Client {
	var c http.Client
	if h.opts.GatewayClient != nil {
		c = *h.opts.GatewayClient
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// tryData fills what the page shows for the session's key and tool.
func (h *Handler) tryData(r *http.Request, s *session, name string) (*tryData, []tool) {
	d := &tryData{Tool: name}
	if h.tryEndpoint() == "" {
		d.Unavailable = "This gateway does not give the UI its own address: Try it is not available."
		return d, nil
	}
	if s.tryKey == "" {
		return d, nil
	}
	d.Key = maskKey(s.tryKey)
	var visible []tool
	switch {
	case h.opts.KeyTools == nil:
		d.NoList = "This gateway does not expose its access decision to the UI: type a tool name."
	default:
		raw, err := h.opts.KeyTools(r.Context(), keyToken(s.tryKey))
		if err != nil {
			d.Denied = err.Error()
			break
		}
		for _, b := range raw {
			var t tool
			if json.Unmarshal(b, &t) == nil && t.Name != "" {
				visible = append(visible, t)
				d.Tools = append(d.Tools, toolChoice{Name: t.Name, Description: t.Description})
			}
		}
		sort.Slice(d.Tools, func(i, j int) bool { return d.Tools[i].Name < d.Tools[j].Name })
		d.All = len(d.Tools)
		d.Tools, d.Pager = paginate(r, d.Tools, func(t toolChoice) []string { return []string{t.Name, t.Description} })
	}
	return d, visible
}

// chooseTool fills the chosen tool's schema form: from the key's list,
// else from the gateway's catalog (the master key's view), else raw
// JSON only.
func (h *Handler) chooseTool(r *http.Request, s *session, d *tryData, visible []tool) {
	if d.Tool == "" {
		return
	}
	var found *tool
	for i := range visible {
		if visible[i].Name == d.Tool {
			found, d.Visible = &visible[i], true
		}
	}
	if found == nil {
		all, a := h.listTools(r, s)
		if a.ok() {
			for i := range all {
				if all[i].Name == d.Tool {
					found = &all[i]
				}
			}
		}
	}
	if found == nil {
		d.RawOnly = true
		return
	}
	d.Known = true
	d.Description = found.Description
	d.Schema = "{}"
	if len(found.InputSchema) > 0 {
		d.Schema = indentJSON(found.InputSchema)
	}
	fields, ok := schemaFields(found.InputSchema)
	d.Fields, d.RawOnly = fields, !ok
}

func (h *Handler) tryPage(w http.ResponseWriter, r *http.Request, s *session) {
	d, visible := h.tryData(r, s, strings.TrimSpace(r.URL.Query().Get("tool")))
	h.chooseTool(r, s, d, visible)
	p := h.newPage(s, "Try a tool", "tryit")
	p.Data = d
	h.render(w, http.StatusOK, "tryit", p)
}

// tryKey sets (or, with forget, drops) the session's Try-it key.
func (h *Handler) tryKey(w http.ResponseWriter, r *http.Request, s *session) {
	if r.PostForm.Get("forget") != "" {
		h.sessions.setTryKey(s.id, "")
		h.back(w, r, s, Base+"/tryit", "The key is forgotten.")
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	key = strings.TrimSpace(strings.TrimPrefix(key, "Bearer "))
	if msg := keyProblem(key); msg != "" {
		d, _ := h.tryData(r, s, "")
		p := h.newPage(s, "Try a tool", "tryit")
		p.Error = msg
		p.Data = d
		h.render(w, http.StatusBadRequest, "tryit", p)
		return
	}
	h.sessions.setTryKey(s.id, key)
	h.back(w, r, s, Base+"/tryit", "Calls are made with key "+maskKey(key)+".")
}

// maxKeyLen bounds a Try-it key (gateway keys are about 50 characters).
const maxKeyLen = 1024

// keyProblem says what is wrong with a typed key, or "".
func keyProblem(key string) string {
	switch {
	case key == "":
		return "Enter a gateway key: the calls are made with it, as its client would make them."
	case len(key) > maxKeyLen || strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "That is not a gateway key: a key is one word of printable characters."
	}
	return ""
}

// tryRun calls the tool through the gateway and shows what came back.
func (h *Handler) tryRun(w http.ResponseWriter, r *http.Request, s *session) {
	if s.tryKey == "" {
		h.back(w, r, s, Base+"/tryit", "Enter a key first.")
		return
	}
	d, visible := h.tryData(r, s, strings.TrimSpace(r.PostForm.Get("tool")))
	p := h.newPage(s, "Try a tool", "tryit")
	p.Data = d
	if d.Unavailable != "" {
		h.render(w, http.StatusServiceUnavailable, "tryit", p)
		return
	}
	if d.Tool == "" {
		p.Error = "Choose a tool."
		h.render(w, http.StatusBadRequest, "tryit", p)
		return
	}
	h.chooseTool(r, s, d, visible)
	d.RawArgs = r.PostForm.Get("raw_args")
	args, rawErr, ok := buildArgs(d.Fields, r.PostForm)
	if !ok {
		d.RawError = rawErr
		p.Error = "Fix the arguments marked below."
		h.render(w, http.StatusBadRequest, "tryit", p)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), tryTimeout)
	defer cancel()
	out := callTool(ctx, h.tryEndpoint(), h.gatewayClient(), keyHeader(h.opts.Config()), s.tryKey, d.Tool, args)
	d.Outcome = outcomeOf(out)
	h.log.Info("ui try-it call", "tool", d.Tool, "step", out.Step, "status", out.Status)
	h.render(w, http.StatusOK, "tryit", p)
}

// outcomeOf is what the page shows of a call: everything in it comes
// from the gateway or the upstream and is rendered escaped.
func outcomeOf(c callOutcome) *tryOutcome {
	o := &tryOutcome{Step: c.Step, Status: c.Status, StatusText: http.StatusText(c.Status), Failed: c.Failed, Body: c.Body}
	if c.Err != nil {
		o.HasErr, o.ErrCode, o.ErrMessage = true, c.Err.Code, c.Err.Message
		if len(c.Err.Data) > 0 && string(c.Err.Data) != "null" {
			o.ErrData = indentJSON(c.Err.Data)
		}
	}
	if len(c.Result) > 0 && c.Err == nil {
		o.HasResult = true
		o.Result = indentJSON(c.Result)
		var res struct {
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
			IsError bool `json:"isError"`
		}
		if json.Unmarshal(c.Result, &res) == nil {
			o.IsError = res.IsError
			for _, c := range res.Content {
				if c.Type == "text" {
					o.Texts = append(o.Texts, c.Text)
				}
			}
		}
	}
	return o
}
