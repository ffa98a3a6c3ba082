package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/controlplane/authlimit"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// DefaultMaxBodyBytes bounds a request body unless Options say otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Failed authentications (an unknown, blocked or expired key: a 401) are
// limited per client address: authLimit.Burst at once, then one more
// every authLimit.Every, at most maxAuthClients addresses remembered.
// There is no global cap: it would let any client lock every address's
// automation out with wrong keys (the UI's sign-in has one: a signed-in
// session does not sign in again).
var authLimit = authlimit.Limit{Burst: 10, Every: 6 * time.Second}

const maxAuthClients = 10000

// MasterAlias names the master key as an actor (created_by, updated_by,
// audit entries), as the policy names it.
const MasterAlias = identity.MasterID

// Caller is who sent a request.
type Caller struct {
	// Alias is the key's key_alias (MasterAlias for the master key).
	Alias string
	// Token is the key's SHA-256, lower-case hex.
	Token string
	// Admin is set for the master key, which may use every route.
	Admin bool
	// Header is a copy of the request's headers with the key in the
	// gateway key header, whichever header it came in: what the policy
	// reads (ToolLister). It holds the key: never log it.
	Header http.Header
}

// KeyChecker authenticates gateway keys other than the master key: the
// config file's and the store's (the gateway's keyring knows both).
type KeyChecker interface {
	// CheckKey returns the caller a key belongs to, or ok=false for an
	// unknown, blocked or expired key.
	CheckKey(ctx context.Context, key string) (c Caller, ok bool)
}

// ToolLister lists the tools a caller may use (GET /v1/mcp/tools).
type ToolLister interface {
	// ListTools returns the caller's tools, each as MCP's Tool object.
	ListTools(ctx context.Context, c Caller) ([]json.RawMessage, error)
}

// Options configure the handler.
type Options struct {
	// Config returns the current config file (never nil); its objects are
	// listed with the store's and cannot be written here.
	Config func() *config.Config
	// Store keeps the written objects; nil when store_model_in_db is off:
	// writes are then refused and reads list the config file's objects.
	Store controlplane.Store
	// Kinds are the kinds that may be written (supported_db_objects); nil
	// means every kind.
	Kinds []controlplane.Kind
	// Keys authenticates non-master keys; nil refuses them (401).
	Keys KeyChecker
	// Tools answers GET /v1/mcp/tools; nil makes the route 501.
	Tools ToolLister
	// Logger gets one line per write; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (413 above); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// StdioCommands are commands a stdio server written through the API
	// may run besides DefaultStdioCommands (LiteLLM's
	// LITELLM_MCP_STDIO_EXTRA_COMMANDS).
	StdioCommands []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is where keys and ids come from; nil means crypto/rand.
	Rand io.Reader
}

type handler struct {
	opts Options
	mux  *http.ServeMux
	log  *slog.Logger
	// failures limits failed authentications per client address.
	failures *authlimit.Limiter
}

// New returns the admin API as an http.Handler.
func New(opts Options) (http.Handler, error) {
	if opts.Config == nil {
		return nil, errors.New("admin: Options.Config is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	h := &handler{opts: opts, mux: http.NewServeMux(), log: opts.Logger,
		failures: authlimit.New(opts.Now, authLimit, authlimit.Limit{}, maxAuthClients)}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("component", "admin")
	h.routes()
	return h, nil
}

// route is one admin route: its handler and whether it needs the master
// key (else any valid key).
type route func(w http.ResponseWriter, r *http.Request, c Caller)

func (h *handler) routes() {
	admin := func(pattern string, f route) { h.mux.Handle(pattern, h.auth(f, true)) }
	anyKey := func(pattern string, f route) { h.mux.Handle(pattern, h.auth(f, false)) }

	admin("GET /v1/mcp/server", h.listServers)
	admin("POST /v1/mcp/server", h.createServer)
	admin("PUT /v1/mcp/server", h.updateServer)
	admin("GET /v1/mcp/server/health", h.serverHealth)
	admin("GET /v1/mcp/server/{server_id}", h.getServer)
	admin("DELETE /v1/mcp/server/{server_id}", h.deleteServer)
	anyKey("GET /v1/mcp/tools", h.tools)
	anyKey("GET /v1/mcp/access_groups", h.accessGroups)

	admin("POST /key/generate", h.generateKey)
	admin("POST /key/update", h.updateKey)
	admin("POST /key/delete", h.deleteKeys)
	anyKey("GET /key/info", h.keyInfo)
	admin("GET /key/list", h.listKeys)

	admin("POST /team/new", h.createTeam)
	admin("POST /team/update", h.updateTeam)
	admin("POST /team/delete", h.deleteTeams)
	admin("GET /team/info", h.teamInfo)
	admin("GET /team/list", h.listTeams)

	admin("POST /organization/new", h.createOrg)
	admin("PATCH /organization/update", h.updateOrg)
	admin("POST /organization/update", h.updateOrg)
	admin("DELETE /organization/delete", h.deleteOrgs)
	admin("POST /organization/delete", h.deleteOrgs)
	admin("GET /organization/info", h.orgInfo)
	admin("GET /organization/list", h.listOrgs)

	admin("GET /audit", h.audit)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		writeError(w, &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: "no such admin route: " + r.Method + " " + r.URL.Path})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// auth authenticates the caller: the master key from Authorization
// ("Bearer <key>") or the gateway key header; other keys through
// Options.Keys. Missing or invalid: 401; a valid key on a master-key
// route: 403; a client address with too many invalid keys: 429.
func (h *handler) auth(f route, adminOnly bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := h.opts.Config()
		key := presentedKey(r, cfg.General.KeyHeaderName)
		if key == "" {
			writeError(w, &apiError{status: http.StatusUnauthorized, typ: typeAuth,
				msg: "Authentication required: send the master key as Authorization: Bearer <key> or in the " + keyHeader(cfg) + " header"})
			return
		}
		sum := sha256.Sum256([]byte(key))
		digest := hex.EncodeToString(sum[:])
		master := cfg.General.MasterKeyHash
		isMaster := func() bool {
			return master != "" && subtle.ConstantTimeCompare([]byte(digest), []byte(master)) == 1
		}
		// Limited per client address; a limited client is refused before
		// its key is looked at. The master key is checked under the
		// limiter's lock (in memory), so it is never counted nor held
		// back by other tries; another key counts as a failure until
		// Options.Keys finds it good. The UI's in-process calls are
		// limited by the UI.
		limited := !authlimit.IsLimitedByCaller(r.Context())
		var client string
		var isAdmin bool
		if limited {
			client = authlimit.ClientAddress(r)
			res := h.failures.Try(client, isMaster)
			if res.Wait > 0 {
				h.tooManyFailures(w, client, res)
				return
			}
			isAdmin = res.Good
		} else {
			isAdmin = isMaster()
		}
		var c Caller
		switch {
		case isAdmin:
			c = Caller{Alias: MasterAlias, Token: digest, Admin: true}
		case h.opts.Keys != nil:
			var ok bool
			if c, ok = h.opts.Keys.CheckKey(r.Context(), key); !ok {
				writeError(w, &apiError{status: http.StatusUnauthorized, typ: typeAuth, msg: "Authentication failed: invalid key"})
				return
			}
			if limited {
				h.failures.Undo(client)
			}
			c.Admin = false
			c.Token = digest
		default:
			writeError(w, &apiError{status: http.StatusUnauthorized, typ: typeAuth, msg: "Authentication failed: invalid key"})
			return
		}
		c.Header = r.Header.Clone()
		c.Header.Set(keyHeader(cfg), key)
		if adminOnly && !c.Admin {
			writeError(w, &apiError{status: http.StatusForbidden, typ: typeAuth, msg: "Only the master key (general_settings.master_key) may call " + r.Method + " " + r.URL.Path})
			return
		}
		f(w, r, c)
	})
}

// tooManyFailures is the 429 of a client limited for failed
// authentications, with Retry-After in whole seconds. Logged once a
// while per client (authlimit.Result.Log), never with the key.
func (h *handler) tooManyFailures(w http.ResponseWriter, client string, res authlimit.Result) {
	secs := int(math.Ceil(res.Wait.Seconds()))
	if res.Log {
		h.log.Warn("admin API authentication rate limited", "client", client, "retry_after_s", secs)
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, &apiError{status: http.StatusTooManyRequests, typ: typeRateLimit,
		msg: fmt.Sprintf("Too many failed authentications (invalid keys) from your address: try again in %d seconds", secs)})
}

func keyHeader(cfg *config.Config) string {
	if cfg.General.KeyHeaderName != "" {
		return cfg.General.KeyHeaderName
	}
	return identity.DefaultHeader
}

// presentedKey reads the key from the gateway key header, else from
// Authorization, as LiteLLM's admin routes do.
func presentedKey(r *http.Request, header string) string {
	if header == "" {
		header = identity.DefaultHeader
	}
	for _, name := range []string{header, identity.AuthorizationHeader} {
		if v := r.Header.Get(name); strings.TrimSpace(v) != "" {
			if key, ok := identity.KeyFromHeader(v); ok {
				return key
			}
			return ""
		}
	}
	return ""
}

// Error types, as LiteLLM's ProxyException spells them where it has one.
const (
	typeAuth        = "auth_error"
	typeBadRequest  = "bad_request_error"
	typeNotFound    = "not_found_error"
	typeConflict    = "conflict_error"
	typeUnavailable = "service_unavailable_error"
	typeRateLimit   = "rate_limit_error"
	typeInternal    = "internal_server_error"
)

// apiError is an error answer: LiteLLM's {"error": {message, type, param,
// code}} plus this gateway's problems (one per field, with JSON pointers).
type apiError struct {
	status   int
	typ      string
	msg      string
	param    string
	problems config.Problems
}

type problemJSON struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{
		"message": e.msg,
		"type":    e.typ,
		"param":   nil,
		"code":    strconv.Itoa(e.status),
	}
	if e.param != "" {
		body["param"] = e.param
	}
	if len(e.problems) > 0 {
		ps := make([]problemJSON, len(e.problems))
		for i, p := range e.problems {
			ps[i] = problemJSON{Pointer: p.Pointer, Message: p.Message}
		}
		body["problems"] = ps
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typeBadRequest, msg: msg}
}

func notFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, typ: typeNotFound, msg: msg}
}

func conflict(msg string) *apiError {
	return &apiError{status: http.StatusConflict, typ: typeConflict, msg: msg}
}

// invalid is the 400 for a body the config parser refused.
func invalid(what string, errs config.Problems) *apiError {
	msg := "invalid " + what
	if len(errs) > 0 {
		p := errs[0]
		if p.Pointer != "" {
			msg += ": " + p.Pointer + ": " + p.Message
		} else {
			msg += ": " + p.Message
		}
		if len(errs) > 1 {
			msg += fmt.Sprintf(" (and %d more problems)", len(errs)-1)
		}
	}
	e := badRequest(msg)
	e.problems = errs
	if len(errs) > 0 {
		e.param = strings.TrimPrefix(errs[0].Pointer, "/")
	}
	return e
}

// fromConfig is the 409 for a write to an object of the config file.
func fromConfig(what string) *apiError {
	return conflict(what + " comes from the config file and is read-only here; change it in the config file")
}

// storeError maps a Store error to an answer naming the store.
func (h *handler) storeError(err error) *apiError {
	switch {
	case errors.Is(err, controlplane.ErrNotFound):
		return notFound("not found in the store")
	case errors.Is(err, controlplane.ErrConflict):
		return conflict("the store already has an object with that id or name")
	case errors.Is(err, controlplane.ErrStale):
		return conflict("the object changed since it was read (version mismatch); read it again and retry")
	case errors.Is(err, controlplane.ErrUnavailable):
		// The store's message names the database and the cause
		// ("postgres db:5432: connection refused"), never its password
		// (the Store contract), so an operator sees which one is down.
		detail := strings.TrimPrefix(err.Error(), controlplane.ErrUnavailable.Error()+": ")
		return &apiError{status: http.StatusServiceUnavailable, typ: typeUnavailable,
			msg: "the control-plane store (database) is unavailable: " + detail + "; try again"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, typ: typeUnavailable, msg: "the control-plane store (database) did not answer in time"}
	}
	// Not one of the store's own errors: the answer stays generic (it may
	// be about the schema or the data), the log says what it was.
	h.log.Error("store failed", "err", err)
	return &apiError{status: http.StatusInternalServerError, typ: typeInternal, msg: "the control-plane store (database) failed"}
}

// writeBody is what every write reads first: the current config, the
// body as a JSON object and, for updates, the If-Match version (0: none).
type writeBody struct {
	cfg    *config.Config
	m      map[string]any
	expect int64
}

// readWrite checks that kind may be written, reads If-Match when update,
// and reads the body, which must be a JSON object: notObject says why
// another body is wrong (the validator's own message), nil for a generic
// one. It answers the request itself when it returns false.
func (h *handler) readWrite(w http.ResponseWriter, r *http.Request, kind controlplane.Kind, update bool, notObject func(body []byte, cfg *config.Config) *apiError) (writeBody, bool) {
	var wb writeBody
	if aerr := h.writable(kind); aerr != nil {
		writeError(w, aerr)
		return wb, false
	}
	if update {
		var aerr *apiError
		if wb.expect, aerr = ifMatch(r); aerr != nil {
			writeError(w, aerr)
			return wb, false
		}
	}
	body, aerr := h.readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return wb, false
	}
	wb.cfg = h.opts.Config()
	if wb.m = decodeObject(body); wb.m == nil {
		if notObject == nil {
			writeError(w, badRequest("the body must be a JSON object"))
		} else {
			writeError(w, notObject(body, wb.cfg))
		}
		return wb, false
	}
	return wb, true
}

// writable refuses writes when there is no store or kind is not among
// supported_db_objects.
func (h *handler) writable(kind controlplane.Kind) *apiError {
	if h.opts.Store == nil {
		return &apiError{status: http.StatusInternalServerError, typ: typeInternal,
			msg: "Database not connected: general_settings.store_model_in_db is off, so objects come only from the config file; change them there, or turn store_model_in_db on with a database_url"}
	}
	if h.opts.Kinds != nil && !slices.Contains(h.opts.Kinds, kind) {
		return badRequest(fmt.Sprintf("objects of kind %q are not stored in the database: general_settings.supported_db_objects does not list it; change them in the config file", kind))
	}
	return nil
}

// readBody reads a JSON body of at most MaxBodyBytes.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, typ: typeBadRequest, msg: fmt.Sprintf("request body is larger than %d bytes", h.opts.MaxBodyBytes)}
		}
		return nil, badRequest("could not read the request body")
	}
	return body, nil
}

// decodeObject decodes a JSON object body into a map (numbers kept as
// written). Syntax errors are left to the config parser, which reports
// them; here they give nil.
func decodeObject(body []byte) map[string]any {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

func mustJSON(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // maps of JSON values always encode
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func docOf(o controlplane.Object) map[string]any {
	m := decodeObject(o.Doc)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// ifMatch reads the expected version from If-Match ("<version>" as the
// ETag gave it); 0 when absent.
func ifMatch(r *http.Request) (int64, *apiError) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	v = strings.TrimPrefix(v, "W/")
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, badRequest(`If-Match must be an ETag this API returned ("<version>")`)
	}
	return n, nil
}

func setETag(w http.ResponseWriter, o controlplane.Object) {
	if o.Version > 0 {
		w.Header().Set("ETag", `"`+strconv.FormatInt(o.Version, 10)+`"`)
	}
}

// maxRetries bounds read-merge-write rounds lost to concurrent writers.
const maxRetries = 8

// update is one read-merge-write of a stored object: build gets the
// current object and returns the new one. A lost race (ErrStale) is
// retried with a fresh read unless the client named the version it
// expects (If-Match), which must then match.
func (h *handler) update(ctx context.Context, kind controlplane.Kind, id string, expect int64, actor string,
	build func(cur controlplane.Object) (controlplane.Object, *apiError)) (controlplane.Object, controlplane.Object, *apiError) {
	for attempt := 0; ; attempt++ {
		cur, err := h.opts.Store.Get(ctx, kind, id)
		if err != nil {
			return cur, cur, h.storeError(err)
		}
		if expect != 0 && cur.Version != expect {
			return cur, cur, conflict(fmt.Sprintf("version mismatch: the object is at version %d, If-Match says %d; read it again", cur.Version, expect))
		}
		next, aerr := build(cur)
		if aerr != nil {
			return cur, cur, aerr
		}
		next.Kind, next.ID, next.Version = kind, cur.ID, cur.Version
		saved, err := h.opts.Store.Update(ctx, next, actor)
		if errors.Is(err, controlplane.ErrStale) && expect == 0 && attempt < maxRetries {
			continue
		}
		if err != nil {
			return cur, cur, h.storeError(err)
		}
		return cur, saved, nil
	}
}

// logWrite logs one write; it names objects by id (a key by its alias and
// the start of its digest), never by a secret.
func (h *handler) logWrite(action string, kind controlplane.Kind, id, name string, c Caller) {
	if kind == controlplane.KindKey && len(id) >= 12 {
		id = "sha256:" + id[:12]
	}
	h.log.Info("admin write", "action", action, "kind", string(kind), "id", id, "name", name, "actor", c.Alias)
}

// newID returns a random UUID (version 4).
func (h *handler) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(h.opts.Rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:], nil
}

func internal(msg string) *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: typeInternal, msg: msg}
}

// stamp adds the store's bookkeeping to an answer.
func stamp(m map[string]any, o controlplane.Object) map[string]any {
	if !o.CreatedAt.IsZero() {
		m["created_at"] = o.CreatedAt.UTC().Format(time.RFC3339Nano)
		m["updated_at"] = o.UpdatedAt.UTC().Format(time.RFC3339Nano)
		m["created_by"] = o.CreatedBy
		m["updated_by"] = o.UpdatedBy
	}
	if o.Version > 0 {
		m["version"] = o.Version
	}
	m["source"] = "db"
	return m
}

// jsonOptions are the parser options of the current config.
func jsonOptions(cfg *config.Config, refs *configfile.References) configfile.JSONOptions {
	return configfile.JSONOptions{
		Separator:     cfg.General.MCPToolPrefixSeparator,
		KeyHeader:     cfg.General.KeyHeaderName,
		MasterKeyHash: cfg.General.MasterKeyHash,
		References:    refs,
	}
}

// list returns the stored objects of kind; none without a store or for
// a kind not in supported_db_objects.
func (h *handler) list(ctx context.Context, kind controlplane.Kind) ([]controlplane.Object, *apiError) {
	if h.opts.Store == nil || (h.opts.Kinds != nil && !slices.Contains(h.opts.Kinds, kind)) {
		return nil, nil
	}
	objs, err := h.opts.Store.List(ctx, kind)
	if err != nil {
		return nil, h.storeError(err)
	}
	return objs, nil
}

// get returns one stored object, or ok=false.
func (h *handler) get(ctx context.Context, kind controlplane.Kind, id string) (controlplane.Object, bool, *apiError) {
	if h.opts.Store == nil || (h.opts.Kinds != nil && !slices.Contains(h.opts.Kinds, kind)) {
		return controlplane.Object{}, false, nil
	}
	o, err := h.opts.Store.Get(ctx, kind, id)
	if errors.Is(err, controlplane.ErrNotFound) {
		return o, false, nil
	}
	if err != nil {
		return o, false, h.storeError(err)
	}
	return o, true, nil
}
