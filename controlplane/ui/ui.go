// Package ui is the gateway's admin web UI: server-rendered pages
// (html/template, embedded with the binary, no outside fetch) for MCP
// servers, their tools, keys and teams. It is a client of the admin API
// (package controlplane/admin): every read and write goes through that
// handler in process, with the key the user signed in with, so the API's
// validator, authorization and audit log are the only ones.
//
// Security: sign-in with the master key makes a server-side session (a
// random id in an HttpOnly, SameSite=Strict cookie, Secure over TLS; the
// key stays in this process's memory); every form carries the session's
// CSRF token, checked on every POST; every page is sent with a strict
// Content-Security-Policy (no inline script), frame-ancestors 'none',
// X-Frame-Options DENY, nosniff and no-referrer. Everything an upstream
// controls (tool names, descriptions, schemas, health errors) is rendered
// by html/template, which escapes it. See docs/ui.md.
package ui

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/controlplane/authlimit"
	"github.com/mcpgw/mcpgw/internal/config"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Base is the path the UI is served under.
const Base = "/ui"

// SessionCookie names the session cookie.
const SessionCookie = "mcpgw_ui_session"

const (
	// SessionTTL is how long a signed-in session lasts.
	SessionTTL = 8 * time.Hour
	// loginTTL is how long an anonymous session (the login form's) lasts.
	loginTTL = 15 * time.Minute
	// maxSessions bounds the session table.
	maxSessions = 10000
	// maxFormBytes bounds a form body.
	maxFormBytes = 1 << 20
)

// Options configure the UI.
type Options struct {
	// API is the admin API handler (controlplane/admin.New). Required.
	API http.Handler
	// Config returns the current config file (never nil): the tool
	// prefix separator and the key header name.
	Config func() *config.Config
	// Logger gets sign-ins and failures; nil means slog.Default().
	Logger *slog.Logger
	// KeyTools lists the tools a tools/list on /mcp shows the key whose
	// SHA-256 (hex) is token: the gateway's own decision
	// (aggregate.Server.ToolsForToken), for the effective-access page.
	// nil: the page says it is not available.
	KeyTools func(ctx context.Context, token string) ([]json.RawMessage, error)
	// GatewayURL is the gateway's own listener (Envoy) as this process
	// reaches it, e.g. http://127.0.0.1:4000: the Try-it page calls
	// tools on GatewayURL/mcp, through Envoy, as a client does. "": the
	// page says it is not available.
	GatewayURL string
	// GatewayClient carries those requests; nil means
	// http.DefaultClient.
	GatewayClient *http.Client
	// TestServer connects to a server as the add/edit form gives it
	// (saved or not; id is the saved server's, "" for a new one) and
	// lists its tools: the form's "Test connection". nil: the button
	// says it is not available.
	TestServer func(ctx context.Context, id string, s config.Server) ([]json.RawMessage, error)
	// StdioCommands are the stdio commands the admin API allows besides
	// admin.DefaultStdioCommands (LITELLM_MCP_STDIO_EXTRA_COMMANDS): a
	// connection test runs no other command.
	StdioCommands []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the UI's paths (wellknown.UIPaths).
type Handler struct {
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessions
	pages    map[string]*template.Template
	static   http.Handler
	// signins limits failed sign-ins.
	signins *authlimit.Limiter
}

// New returns the UI handler.
func New(opts Options) (*Handler, error) {
	if opts.API == nil || opts.Config == nil {
		return nil, errors.New("ui: Options.API and Options.Config are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, log: opts.Logger, mux: http.NewServeMux(), sessions: newSessions(maxSessions, opts.Now)}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("component", "ui")
	h.signins = newSigninLimiter(opts.Now)
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	h.static = http.StripPrefix(Base+"/static/", http.FileServerFS(static))
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	home := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Base+"/servers", http.StatusSeeOther)
	}
	h.mux.HandleFunc("GET /ui", home)
	h.mux.HandleFunc("GET /ui/{$}", home)
	h.mux.HandleFunc("GET /ui/login", h.loginPage)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.Handle("POST /ui/logout", h.signedIn(h.logout))

	h.mux.Handle("GET /ui/servers", h.signedIn(h.serversPage))
	h.mux.Handle("GET /ui/server", h.signedIn(h.serverForm))
	h.mux.Handle("POST /ui/server", h.signedIn(h.saveServer))
	h.mux.Handle("POST /ui/server/delete", h.signedIn(h.deleteServer))
	h.mux.Handle("POST /ui/server/test", h.signedIn(h.testServer))
	h.mux.Handle("GET /ui/tools", h.signedIn(h.toolsPage))
	h.mux.Handle("POST /ui/tools", h.signedIn(h.saveTools))
	h.mux.Handle("POST /ui/tools/params", h.signedIn(h.saveParams))

	h.mux.Handle("GET /ui/keys", h.signedIn(h.keysPage))
	h.mux.Handle("POST /ui/keys", h.signedIn(h.createKey))
	h.mux.Handle("POST /ui/keys/block", h.signedIn(h.blockKey))
	h.mux.Handle("POST /ui/keys/delete", h.signedIn(h.deleteKey))

	h.mux.Handle("GET /ui/teams", h.signedIn(h.groupsPage(teamKind)))
	h.mux.Handle("POST /ui/teams", h.signedIn(h.createGroup(teamKind)))
	h.mux.Handle("POST /ui/teams/delete", h.signedIn(h.deleteGroup(teamKind)))

	h.principalRoutes()

	h.mux.Handle("GET /ui/connect", h.signedIn(h.connectPage))
	h.mux.Handle("GET /ui/access", h.signedIn(h.accessPage))
	h.mux.Handle("GET /ui/audit", h.signedIn(h.auditPage))

	h.mux.Handle("GET /ui/tryit", h.signedIn(h.tryPage))
	h.mux.Handle("POST /ui/tryit", h.signedIn(h.tryRun))
	h.mux.Handle("POST /ui/tryit/key", h.signedIn(h.tryKey))

	h.mux.Handle("GET /ui/static/{file}", h.static)
}

// securityHeaders go on every answer. No inline script or style is
// allowed: ui.js and ui.css are files of this origin.
func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	if _, pattern := h.mux.Handler(r); pattern == "" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if !strings.HasPrefix(r.URL.Path, Base+"/static/") {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// secure reports whether the browser reached us over TLS: directly, or
// through Envoy (x-forwarded-proto).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, s *session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: s.id, Path: Base, HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteStrictMode, Expires: s.expires,
	})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: Base, HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

func (h *Handler) session(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	return h.sessions.get(c.Value)
}

// handlerFunc is a page of a signed-in user.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session)

// signedIn runs f for a signed-in session: GETs without one go to the
// login page; POSTs must carry the session's CSRF token (else 403).
func (h *Handler) signedIn(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := h.session(r)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if !validCSRF(s, r.PostForm.Get("csrf")) {
				h.forbidden(w)
				return
			}
		}
		if s == nil || !s.signedIn() {
			http.Redirect(w, r, Base+"/login", http.StatusSeeOther)
			return
		}
		f(w, r, s)
	})
}

func (h *Handler) forbidden(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("403 forbidden: the form's CSRF token is missing or does not match your session; reload the page and try again\n"))
}

// ---- calling the admin API ----

// apiAnswer is one answer of the admin API.
type apiAnswer struct {
	status int
	body   []byte
}

func (a apiAnswer) ok() bool { return a.status >= 200 && a.status < 300 }

// decode decodes the body into v.
func (a apiAnswer) decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	return dec.Decode(v)
}

// problem is one field the validator refused.
type problem struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// apiErr is the API's error body.
type apiErr struct {
	Message  string    `json:"message"`
	Param    any       `json:"param"`
	Problems []problem `json:"problems"`
}

func (a apiAnswer) err() apiErr {
	var e struct {
		Error apiErr `json:"error"`
	}
	if json.Unmarshal(a.body, &e) != nil || e.Error.Message == "" {
		return apiErr{Message: "the admin API answered " + http.StatusText(a.status)}
	}
	// A refusal outside the validator may still name its field.
	if p, ok := e.Error.Param.(string); ok && p != "" && len(e.Error.Problems) == 0 {
		e.Error.Problems = []problem{{Pointer: "/" + p, Message: e.Error.Message}}
	}
	return e.Error
}

// recorder is the ResponseWriter the API writes its answer into.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// call sends one request to the admin API, in process, with key.
func (h *Handler) call(ctx context.Context, key, method, path string, body any) apiAnswer {
	return h.callWith(ctx, key, method, path, body, nil)
}

// callWith is call with more request headers (If-Match).
func (h *Handler) callWith(ctx context.Context, key, method, path string, body any, header http.Header) apiAnswer {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiAnswer{status: http.StatusInternalServerError, body: nil}
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	// The sign-in's key is limited by h.signins, a session's was found
	// good at sign-in: the admin API does not count them again (in
	// process, every call would be the same client).
	req, err := http.NewRequestWithContext(authlimit.LimitedByCaller(ctx), method, path, rd)
	if err != nil {
		return apiAnswer{status: http.StatusInternalServerError}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}}
	h.opts.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return apiAnswer{status: rec.status, body: rec.body.Bytes()}
}
