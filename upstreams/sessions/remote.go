package sessions

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// remote is an upstream session as the pool keeps it once go-sdk has
// opened it (initialize, initialized): its id, version and how to reach
// it. Calls never travel on it (Envoy carries them), so go-sdk's client
// session is closed right after the handshake, its DELETE held back
// (heldDelete): kept open it would cost a goroutine and some 14 KiB per
// session, 10,000 client sessions holding 10,000 of them for nothing.
// The pool's own ping and DELETE take its place.
type remote struct {
	url     string
	id      string // "" for a stateless upstream
	version string
	hc      *http.Client
	// ctx holds the credentials the session was opened with
	// (upstreams.DetachCallCredentials), nothing else of the call that
	// opened it: the DELETE that ends the session carries them too.
	ctx   context.Context
	close sync.Once
}

// endTimeout bounds the DELETE that ends an upstream session: best effort,
// an upstream that never answers must not hold anything up.
const endTimeout = 5 * time.Second

// End ends the session at the upstream (DELETE with its id), once.
func (r *remote) End() {
	r.close.Do(func() {
		if r.id == "" {
			return
		}
		ctx, cancel := context.WithTimeout(r.ctx, endTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, r.url, nil)
		if err != nil {
			return
		}
		r.setHeaders(req)
		if resp, err := r.hc.Do(req); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
		}
	})
}

// Ping asks the upstream whether it still knows the session: a JSON-RPC
// ping on it, answered with a result. ctx carries the call's credentials.
// The ping's id is a string no client sends (clients count from 1): a
// client's call with the same id still running on the session would make
// the upstream refuse the ping as a duplicate, and a live session would
// look lost.
func (r *remote) Ping(ctx context.Context) error {
	id := pingID()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url,
		strings.NewReader(`{"jsonrpc":"2.0","id":"`+id+`","method":"ping"}`))
	if err != nil {
		return err
	}
	r.setHeaders(req)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return pingAnswered(resp.Header.Get("Content-Type"), io.LimitReader(resp.Body, 1<<20), id)
}

func (r *remote) setHeaders(req *http.Request) {
	if r.id != "" {
		req.Header.Set("Mcp-Session-Id", r.id)
	}
	if r.version != "" {
		req.Header.Set("Mcp-Protocol-Version", r.version)
	}
}

// pingID returns a fresh id for a ping: "mcpgw-ping-" and 16 hex digits.
func pingID() string {
	var b [8]byte
	rand.Read(b[:])
	return "mcpgw-ping-" + hex.EncodeToString(b[:])
}

// pingAnswered reads a ping's answer (one JSON-RPC message, or an event
// stream carrying it) and reports whether it is a result for the ping id.
func pingAnswered(contentType string, body io.Reader, id string) error {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/json":
		data, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return pingResult(data, id)
	case "text/event-stream":
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 0, 4096), 1<<20)
		var data []byte
		for sc.Scan() {
			line := sc.Bytes()
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				data = append(data, bytes.TrimPrefix(d, []byte(" "))...)
				continue
			}
			if len(line) == 0 && len(data) > 0 {
				if err := pingResult(data, id); err == nil {
					return nil
				}
				data = data[:0]
			}
		}
		if len(data) > 0 {
			return pingResult(data, id)
		}
		return fmt.Errorf("ping: no answer in the event stream")
	}
	return fmt.Errorf("ping: answered with %q", contentType)
}

func pingResult(msg []byte, id string) error {
	var m struct {
		ID     json.RawMessage  `json:"id"`
		Result *json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	switch {
	case !sameID(m.ID, id):
		return fmt.Errorf("ping: an answer to another request")
	case m.Error != nil:
		return fmt.Errorf("ping: %s", m.Error.Message)
	case m.Result == nil:
		return fmt.Errorf("ping: no result")
	}
	return nil
}

// heldDelete passes requests on until the pool takes the session over
// from go-sdk; then it answers go-sdk's own DELETE (its Close) itself, so
// the upstream session stays open for the pool.
type heldDelete struct {
	next http.RoundTripper
	held atomic.Bool
}

func (h *heldDelete) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.held.Load() {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: http.StatusNoContent, Status: "204 No Content", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return h.next.RoundTrip(r)
}

// holdingDeletes returns a copy of hc whose requests pass through a
// heldDelete.
func holdingDeletes(hc *http.Client) (*http.Client, *heldDelete) {
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	h := &heldDelete{next: next}
	c := *hc
	c.Transport = h
	return &c, h
}

func sameID(raw json.RawMessage, id string) bool {
	var got string
	return json.Unmarshal(raw, &got) == nil && got == id
}
