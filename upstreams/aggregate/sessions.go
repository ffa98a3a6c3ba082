package aggregate

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/clientsession"
)

// The sidecar's MCP server is stateless (go-sdk Stateless): it keeps no
// per-session state, so any replica, and a restarted one, can serve any
// request. Client sessions are sealed ids (clientsession.Sealer) issued here on
// initialize and checked here on every later request; the GET event
// stream, which a stateless go-sdk server does not offer, is served here
// too and carries list_changed notifications.

const (
	sessionHeader   = "Mcp-Session-Id"
	keepAliveEvery  = 20 * time.Second
	maxPeekBodySize = 64 << 20
)

// sessionLayer wraps the stateless MCP handler with sealed sessions.
type sessionLayer struct {
	sealer *clientsession.Sealer
	// owner names the credential a request authenticated with: session
	// ids are issued to it and open only for it (clientsession.Sealer).
	owner func(*http.Request) (string, error)
	next  http.Handler
	// toolsPage answers a plain tools/list itself when it can
	// (Server.serveToolsPage); nil: never.
	toolsPage func(w http.ResponseWriter, r *http.Request, body []byte) bool
	notify    *notifier
	done      <-chan struct{} // closed when the sidecar closes

	mu      sync.Mutex
	revoked map[string]time.Time // DELETEd ids → when to forget them
}

func (l *sessionLayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(sessionHeader)
	// A request without a valid key (the router refuses those before they
	// get here) owns nothing: no id issued to a key opens for it, and the
	// MCP server below refuses its requests with the reason.
	owner, _ := l.owner(r)
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPeekBodySize+1))
		if err != nil || len(body) > maxPeekBodySize {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if isInitialize(body) {
			// The id carries what the client can do for upstreams
			// (elicitation, sampling), for the upstream sessions opened later.
			l.next.ServeHTTP(&issueSession{ResponseWriter: w, id: l.sealer.New(clientsession.CapabilitiesOf(body), owner)}, r)
			return
		}
		if id != "" && !l.known(id, owner) {
			sessionNotFound(w)
			return
		}
		// No id: a client that does not keep sessions (allowed; they
		// carry no state here).
		if l.toolsPage != nil && l.toolsPage(w, r, body) {
			return
		}
		l.next.ServeHTTP(w, r)
	case http.MethodGet:
		if id == "" {
			http.Error(w, "Bad Request: GET needs an Mcp-Session-Id", http.StatusBadRequest)
			return
		}
		if !l.known(id, owner) {
			sessionNotFound(w)
			return
		}
		l.stream(w, r)
	case http.MethodDelete:
		if id == "" {
			http.Error(w, "Bad Request: DELETE needs an Mcp-Session-Id", http.StatusBadRequest)
			return
		}
		if !l.known(id, owner) {
			sessionNotFound(w)
			return
		}
		l.revoke(id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

// known reports whether id is a live session of owner: sealed by us for
// owner, not expired and not ended by DELETE on this replica.
func (l *sessionLayer) known(id, owner string) bool {
	if l.sealer.Check(id, owner) != nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, gone := l.revoked[id]
	return !gone
}

// revoke ends id on this replica. Ids are sealed, so another replica only
// learns of the DELETE through the ext_proc service, which ends the
// upstream sessions; see docs/architecture.md.
func (l *sessionLayer) revoke(id string) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, until := range l.revoked {
		if now.After(until) {
			delete(l.revoked, k)
		}
	}
	l.revoked[id] = now.Add(48 * time.Hour)
}

// stream serves the GET event stream: list_changed notifications and
// keep-alive comments until the client or the sidecar goes away.
func (l *sessionLayer) stream(w http.ResponseWriter, r *http.Request) {
	ch := l.notify.subscribe()
	defer l.notify.unsubscribe(ch)
	serveEvents(w, r, l.done, "", ch)
}

// isInitialize reports whether a POST body is an initialize request.
func isInitialize(body []byte) bool {
	var m struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &m) == nil && m.Method == "initialize"
}

func sessionNotFound(w http.ResponseWriter) {
	e := &rpc.Error{Status: http.StatusNotFound, Code: rpc.CodeSessionNotFound,
		Message: "Session not found: initialize a new session"}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(e.Response(nil))
}

// issueSession adds the new session id to a successful initialize answer.
type issueSession struct {
	http.ResponseWriter
	id    string
	wrote bool
}

func (w *issueSession) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code == http.StatusOK {
			w.Header().Set(sessionHeader, w.id)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *issueSession) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *issueSession) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *issueSession) Unwrap() http.ResponseWriter { return w.ResponseWriter }
