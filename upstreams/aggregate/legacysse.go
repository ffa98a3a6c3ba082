package aggregate

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// Clients of the legacy HTTP+SSE transport (protocol 2024-11-05) open an
// event stream with GET …/sse, are told an endpoint to POST messages to,
// and get every answer on that stream. The sidecar bridges them onto the
// gateway's own Streamable HTTP endpoint: each message is re-sent to
// Envoy's listener (the hairpin URL), with the client's headers, so
// routing, credentials and policy are exactly those of any other client;
// the answers are written back on the client's stream. Such a client
// stays on the replica that holds its stream.

const maxLegacyMessage = 4 << 20

// sseBridge holds the legacy clients' streams.
type sseBridge struct {
	gatewayURL string // e.g. http://127.0.0.1:4000; "" disables the bridge
	client     *http.Client
	done       <-chan struct{}

	mu       sync.Mutex
	sessions map[string]*sseSession
}

// sseSession is one legacy client: its stream and its session on the
// gateway's Streamable HTTP endpoint.
type sseSession struct {
	mcpPath string
	out     chan []byte
	ctx     context.Context

	mu         sync.Mutex
	mcpSession string // Mcp-Session-Id the gateway issued, once initialized
	version    string // protocol version negotiated
}

func newSSEBridge(gatewayURL string, done <-chan struct{}) *sseBridge {
	base, client := gatewayClient(gatewayURL)
	return &sseBridge{gatewayURL: base, done: done, client: client, sessions: map[string]*sseSession{}}
}

// isLegacySSE reports whether a request is for a legacy endpoint: a path
// ending in /sse (the stream), or a POST carrying its sessionid.
func isLegacySSE(r *http.Request) bool {
	return strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/sse")
}

// streamablePath is the Streamable HTTP endpoint serving the same scope as
// a legacy path: /sse → /mcp, /<alias>/sse → /<alias>/mcp,
// /mcp/<names>/sse → /mcp/<names>.
func streamablePath(ssePath string) string {
	p := strings.TrimSuffix(strings.TrimSuffix(ssePath, "/"), "/sse")
	switch {
	case p == "":
		return "/mcp"
	case strings.HasPrefix(p, "/mcp/"):
		return p
	default:
		return p + "/mcp"
	}
}

func (b *sseBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.gatewayURL == "" {
		http.Error(w, "legacy HTTP+SSE is not enabled on this sidecar", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		b.stream(w, r)
	case http.MethodPost:
		b.message(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

func (b *sseBridge) stream(w http.ResponseWriter, r *http.Request) {
	id := rand.Text()
	// The path as sent, never decoded: it goes back out in the endpoint
	// event and to the gateway, where it is decoded once.
	path := r.URL.EscapedPath()
	sess := &sseSession{mcpPath: streamablePath(path), out: make(chan []byte, 64), ctx: r.Context()}
	b.mu.Lock()
	b.sessions[id] = sess
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.sessions, id)
		b.mu.Unlock()
		b.end(sess, r.Header)
	}()
	serveEvents(w, r, b.done, fmt.Sprintf("event: endpoint\ndata: %s?sessionid=%s\n\n", path, id), sess.out)
}

func (b *sseBridge) message(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("sessionid")
	if id == "" {
		id = r.URL.Query().Get("sessionId")
	}
	b.mu.Lock()
	sess := b.sessions[id]
	b.mu.Unlock()
	if sess == nil {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxLegacyMessage+1))
	if err != nil || len(body) > maxLegacyMessage || !json.Valid(body) {
		http.Error(w, "invalid message", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	// Answers go on the stream; the forwarding outlives this POST.
	go b.forward(sess, r.Header.Clone(), body)
}

// forward re-sends one message to the gateway and writes what comes back
// onto the client's stream.
func (b *sseBridge) forward(sess *sseSession, h http.Header, body []byte) {
	req, err := http.NewRequestWithContext(sess.ctx, http.MethodPost, b.gatewayURL+sess.mcpPath, bytes.NewReader(body))
	if err != nil {
		return
	}
	copyClientHeaders(req.Header, h)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	sess.mu.Lock()
	if sess.mcpSession != "" {
		req.Header.Set(sessionHeader, sess.mcpSession)
	}
	if sess.version != "" {
		req.Header.Set("Mcp-Protocol-Version", sess.version)
	}
	sess.mu.Unlock()
	resp, err := b.client.Do(req)
	if err != nil {
		sess.send(errorFor(body, "gateway unreachable"))
		return
	}
	defer resp.Body.Close()
	if sid := resp.Header.Get(sessionHeader); sid != "" {
		sess.mu.Lock()
		sess.mcpSession = sid
		sess.mu.Unlock()
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusAccepted:
	case mt == "text/event-stream":
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), maxLegacyMessage)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				sess.deliver([]byte(strings.TrimSpace(data)))
			}
		}
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxLegacyMessage))
		if json.Valid(msg) {
			sess.deliver(msg)
		} else {
			sess.send(errorFor(body, fmt.Sprintf("gateway answered HTTP %d", resp.StatusCode)))
		}
	}
}

// deliver sends a message to the client, noting the protocol version an
// initialize result settles.
func (s *sseSession) deliver(msg []byte) {
	if len(msg) == 0 {
		return
	}
	var m struct {
		Result struct {
			ProtocolVersion string `json:"protocolVersion"`
		} `json:"result"`
	}
	if json.Unmarshal(msg, &m) == nil && m.Result.ProtocolVersion != "" {
		s.mu.Lock()
		s.version = m.Result.ProtocolVersion
		s.mu.Unlock()
	}
	s.send(msg)
}

func (s *sseSession) send(msg []byte) {
	if msg == nil {
		return
	}
	select {
	case s.out <- msg:
	case <-s.ctx.Done():
	}
}

// end closes the client's gateway session when its stream goes away.
func (b *sseBridge) end(sess *sseSession, h http.Header) {
	sess.mu.Lock()
	id := sess.mcpSession
	sess.mu.Unlock()
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, b.gatewayURL+sess.mcpPath, nil)
	if err != nil {
		return
	}
	copyClientHeaders(req.Header, h)
	req.Header.Set(sessionHeader, id)
	if resp, err := b.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// copyClientHeaders passes on what the client sent (its gateway key,
// x-mcp-servers, per-server credentials), but not what belongs to one
// HTTP hop or to the legacy transport.
func copyClientHeaders(dst, src http.Header) {
	for k, vs := range src {
		switch strings.ToLower(k) {
		case "host", "content-length", "content-type", "accept", "connection", "keep-alive",
			"transfer-encoding", "te", "upgrade", "mcp-session-id", "mcp-protocol-version",
			"last-event-id", strings.ToLower(pathHeader):
			continue
		}
		if strings.HasPrefix(strings.ToLower(k), "x-envoy-") {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

// errorFor is a JSON-RPC error answering request body (nil for a
// notification, which gets no answer).
func errorFor(body []byte, msg string) []byte {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.ID) == 0 {
		return nil
	}
	return (&rpc.Error{Code: rpc.CodeInternalError, Message: msg}).Response(m.ID)
}

// withLegacySSE sends legacy HTTP+SSE requests to the bridge.
func withLegacySSE(b *sseBridge, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLegacySSE(r) {
			b.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
