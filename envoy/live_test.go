package envoy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

// seenRequest is what a test upstream received.
type seenRequest struct {
	Method, Path, Host string
	Header             http.Header
	Body               string
}

// recorder is a test upstream that remembers the last request.
type recorder struct {
	name string
	mu   sync.Mutex
	last *seenRequest
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/sse" {
		serveSSE(w, req)
		return
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.last = &seenRequest{req.Method, req.URL.RequestURI(), req.Host, req.Header.Clone(), string(body)}
	r.mu.Unlock()
	w.Header().Set("content-type", "application/json")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"result":{"from":%q}}`, r.name)
}

// serveSSE sends one event, then holds the stream open until the client
// goes away: a client can only see the event if nothing buffers it.
func serveSSE(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("content-type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\n\n")
	w.(http.Flusher).Flush()
	select {
	case <-req.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func (r *recorder) take() *seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.last
	r.last = nil
	return s
}

// rpcErrorBody is of a JSON-RPC error response.
type rpcErrorBody struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestEnvoyLive runs Envoy 1.40 on a rendered config with a test ext_proc
// service, two plain upstreams and a TLS upstream, and checks routing, the
// 413 body limit, local-reply rewriting, and failure without ext_proc.
func TestEnvoyLive(t *testing.T) {
	testutil.EnvoyBin(t)

	plainUp := &recorder{name: "plain"}
	plainSrv := httptest.NewServer(plainUp)
	t.Cleanup(plainSrv.Close)
	sidecar := &recorder{name: "sidecar"}
	sidecarSrv := httptest.NewServer(sidecar)
	t.Cleanup(sidecarSrv.Close)
	cert, caFile := selfSignedCert(t)
	tlsUp := &recorder{name: "tls"}
	tlsSrv := httptest.NewUnstartedServer(tlsUp)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tlsURL := strings.Replace(tlsSrv.URL, "127.0.0.1", "localhost", 1) + "/mcp"

	plain := upstream(t, "plain", plainSrv.URL+"/mcp")
	secure := upstream(t, "secure", tlsURL)
	proc := &testProcessor{
		defaultCluster: plain.Cluster,
		routes: map[string]string{
			"/tls":           secure.Cluster,
			"/route-in-body": wellknown.SidecarCluster,
			"/missing":       "no_such_cluster",
		},
		slow: 2 * time.Second,
	}
	procAddr, procSrv := proc.serve(t)

	logPath := filepath.Join(t.TempDir(), "access.log")
	p := Params{
		ListenAddress:       "127.0.0.1",
		ListenPort:          testutil.FreePort(t),
		AdminAddress:        "127.0.0.1",
		AdminPort:           testutil.FreePort(t),
		ExtProcAddress:      procAddr,
		SidecarAddress:      sidecarSrv.Listener.Addr().String(),
		Upstreams:           []*upstreams.Upstream{plain, secure, {Alias: "stdio", Transport: upstreams.TransportStdio, Cluster: upstreams.ClusterName("stdio")}},
		MaxRequestBodyBytes: 4096,
		MessageTimeout:      500 * time.Millisecond,
		AccessLog:           logPath,
		CAFile:              caFile,
	}
	startEnvoy(t, p)
	base := fmt.Sprintf("http://127.0.0.1:%d", p.ListenPort)
	client := &http.Client{Timeout: 5 * time.Second}
	const call = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"plain_echo"}}`

	// post sends body to path; extra headers come in name, value pairs.
	post := func(t *testing.T, path, body string, headers ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("content-type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("post reaches upstream", func(t *testing.T) {
		// The client's own x-mcp-cluster is overwritten by ext_proc.
		resp, body := post(t, "/mcp", call, wellknown.RouteHeader, wellknown.SidecarCluster)
		if resp.StatusCode != 200 || !strings.Contains(body, `"from":"plain"`) {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("x-test-ext-proc"); got != "response-seen" {
			t.Errorf("response headers did not pass ext_proc: x-test-ext-proc=%q", got)
		}
		seen := plainUp.take()
		if seen == nil {
			t.Fatal("upstream saw nothing")
		}
		if seen.Body != call || seen.Path != "/mcp" || seen.Method != "POST" {
			t.Errorf("upstream saw %s %s %q", seen.Method, seen.Path, seen.Body)
		}
		if want := plainSrv.Listener.Addr().String(); seen.Host != want {
			t.Errorf("auto_host_rewrite: Host = %q, want %q", seen.Host, want)
		}
		if v := seen.Header.Get(wellknown.RouteHeader); v != "" {
			t.Errorf("upstream saw %s: %q", wellknown.RouteHeader, v)
		}
	})

	t.Run("body reply rewrites path, headers and body", func(t *testing.T) {
		resp, body := post(t, "/rewrite", call, "mcp-session-id", "client-session")
		if resp.StatusCode != 200 || !strings.Contains(body, `"from":"plain"`) {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		seen := plainUp.take()
		if seen == nil {
			t.Fatal("upstream saw nothing")
		}
		if seen.Path != rewrittenPath || seen.Body != rewrittenBody || seen.Header.Get("mcp-name") != "echo" ||
			seen.Header.Get("mcp-session-id") != "" || seen.Header.Get("content-length") != fmt.Sprint(len(rewrittenBody)) {
			t.Errorf("upstream saw %s %q headers %v", seen.Path, seen.Body, seen.Header)
		}
	})

	t.Run("route from body reply without clear_route_cache", func(t *testing.T) {
		resp, body := post(t, "/route-in-body", call)
		if resp.StatusCode != 200 || !strings.Contains(body, `"from":"sidecar"`) {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})

	t.Run("tls upstream", func(t *testing.T) {
		resp, body := post(t, "/tls", call)
		if resp.StatusCode != 200 || !strings.Contains(body, `"from":"tls"`) {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		if seen := tlsUp.take(); seen == nil || seen.Host != secure.URL.Host {
			t.Errorf("tls upstream saw %+v, want Host %q", seen, secure.URL.Host)
		}
	})

	t.Run("sse response streams unbuffered", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, base+"/sse", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("content-type") != "text/event-stream" {
			t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("content-type"))
		}
		line := make(chan string, 1)
		go func() {
			l, _ := bufio.NewReader(resp.Body).ReadString('\n')
			line <- l
		}()
		select {
		case l := <-line:
			if l != "event: message\n" {
				t.Errorf("first line %q", l)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("first SSE event not delivered while the stream is open")
		}
	})

	t.Run("body over limit gets 413 JSON-RPC", func(t *testing.T) {
		before := proc.bodies.Load()
		plainUp.take()
		big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"pad":"` + strings.Repeat("x", 8192) + `"}}`
		resp, body := post(t, "/mcp", big)
		e := wantJSONRPCError(t, resp, body, http.StatusRequestEntityTooLarge)
		if e.Error.Code != -32600 || e.Error.Message != "request body too large" {
			t.Errorf("error = %+v", e.Error)
		}
		if proc.bodies.Load() != before {
			t.Errorf("ext_proc saw the oversized body")
		}
		if plainUp.take() != nil {
			t.Errorf("oversized body reached the upstream")
		}
	})

	t.Run("body one byte over limit gets 413", func(t *testing.T) {
		pad := 4097 - len(`{"p":""}`)
		resp, body := post(t, "/mcp", `{"p":"`+strings.Repeat("x", pad)+`"}`)
		wantJSONRPCError(t, resp, body, http.StatusRequestEntityTooLarge)
	})

	t.Run("body at limit passes", func(t *testing.T) {
		pad := 4096 - len(`{"p":""}`)
		resp, body := post(t, "/mcp", `{"p":"`+strings.Repeat("x", pad)+`"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
	})

	for _, code := range []int{400, 413, 502, 503} {
		t.Run(fmt.Sprintf("ext_proc immediate %d kept as is", code), func(t *testing.T) {
			resp, body := post(t, fmt.Sprintf("/immediate/%d", code), call)
			if resp.StatusCode != code || body != immediateBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, code, immediateBody)
			}
			if ct := resp.Header.Get("content-type"); ct != "application/json" {
				t.Errorf("content-type = %q", ct)
			}
		})
	}

	t.Run("unknown cluster gets 503 JSON-RPC", func(t *testing.T) {
		resp, body := post(t, "/missing", call)
		e := wantJSONRPCError(t, resp, body, http.StatusServiceUnavailable)
		if e.Error.Code != -32603 || e.Error.Message != "gateway error: cluster_not_found" {
			t.Errorf("error = %+v", e.Error)
		}
	})

	t.Run("no cluster header gets 503 JSON-RPC", func(t *testing.T) {
		resp, body := post(t, "/no-cluster", call)
		e := wantJSONRPCError(t, resp, body, http.StatusServiceUnavailable)
		if e.Error.Code != -32603 {
			t.Errorf("error = %+v", e.Error)
		}
	})

	t.Run("ext_proc message timeout gets 504 JSON-RPC", func(t *testing.T) {
		resp, body := post(t, "/slow", call)
		e := wantJSONRPCError(t, resp, body, http.StatusGatewayTimeout)
		if e.Error.Code != -32603 || !strings.Contains(e.Error.Message, "timeout") {
			t.Errorf("error = %+v", e.Error)
		}
	})

	t.Run("access log names the upstream cluster, not the query", func(t *testing.T) {
		if resp, body := post(t, "/logged?token=s3cret", call); resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		deadline := time.Now().Add(5 * time.Second) // Envoy flushes about every second
		for {
			for _, e := range readAccessLog(t, logPath) {
				if e["path"] == "/logged" {
					if e["upstream_cluster"] != plain.Cluster || e["status"] != float64(200) || e["method"] != "POST" {
						t.Errorf("entry %v", e)
					}
					if b, _ := os.ReadFile(logPath); bytes.Contains(b, []byte("s3cret")) {
						t.Errorf("access log shows the query string:\n%s", b)
					}
					t.Logf("entry: %v", e)
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no entry for /logged in:\n%v", readAccessLog(t, logPath))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// Last: without the ext_proc service nothing may pass.
	t.Run("ext_proc down fails closed with JSON-RPC 5xx", func(t *testing.T) {
		procSrv.Stop()
		plainUp.take()
		resp, body := post(t, "/mcp", call)
		e := wantJSONRPCError(t, resp, body, http.StatusInternalServerError)
		if e.Error.Code != -32603 || !strings.HasPrefix(e.Error.Message, "gateway error: ext_proc_error") {
			t.Errorf("error = %+v", e.Error)
		}
		if plainUp.take() != nil {
			t.Errorf("request reached the upstream without ext_proc")
		}
	})
}

func upstream(t *testing.T, alias, rawURL string) *upstreams.Upstream {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: u, Cluster: upstreams.ClusterName(alias)}
}

func wantJSONRPCError(t *testing.T, resp *http.Response, body string, status int) rpcErrorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("content-type"); ct != "application/json" {
		t.Errorf("content-type = %q, want application/json", ct)
	}
	t.Logf("%d %s: %s", resp.StatusCode, resp.Header.Get("content-type"), body)
	var e rpcErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body is not JSON: %q", body)
	}
	if e.JSONRPC != "2.0" || string(e.ID) != "null" {
		t.Errorf("not a JSON-RPC error with id null: %q", body)
	}
	return e
}

func readAccessLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("access log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}
