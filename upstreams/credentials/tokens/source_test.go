package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const secret = "cs-very-secret-value"

// endpoint is a real local token endpoint that counts requests and can be
// told how to answer.
type endpoint struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	answer   func(w http.ResponseWriter, r *http.Request, n int64)
	last     *http.Request
	lastBody string
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.answer = func(w http.ResponseWriter, _ *http.Request, n int64) {
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": 3600})
	}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.requests.Add(1)
		r.ParseForm()
		e.mu.Lock()
		e.last, e.lastBody = r, r.PostForm.Encode()
		answer := e.answer
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		answer(w, r, n)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) setAnswer(f func(w http.ResponseWriter, r *http.Request, n int64)) {
	e.mu.Lock()
	e.answer = f
	e.mu.Unlock()
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newSource(t *testing.T, e *endpoint, c *clock, mod ...func(*Config, *Options)) *Source {
	t.Helper()
	cfg := Config{Server: "billing", TokenURL: e.URL, ClientID: "gw-client", ClientSecret: secret, Scopes: []string{"mcp.read", "mcp.call"}}
	opts := Options{}
	if c != nil {
		opts.Now = c.Now
	}
	for _, m := range mod {
		m(&cfg, &opts)
	}
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenIsCached(t *testing.T) {
	e := newEndpoint(t)
	s := newSource(t, e, nil)
	for range 50 {
		tok, err := s.Token(t.Context())
		if err != nil || tok != "tok-1" {
			t.Fatalf("Token() = %q, %v", tok, err)
		}
	}
	if n := e.requests.Load(); n != 1 {
		t.Errorf("token endpoint saw %d requests for 50 calls, want 1", n)
	}
	// client_secret_post, as LiteLLM: everything in the form body.
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, want := range []string{"grant_type=client_credentials", "client_id=gw-client", "client_secret=" + secret, "scope=mcp.read+mcp.call"} {
		if !strings.Contains(e.lastBody, want) {
			t.Errorf("token request body %q lacks %q", e.lastBody, want)
		}
	}
	if e.last.Header.Get("Authorization") != "" {
		t.Error("client_secret_post request carried an Authorization header")
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	e := newEndpoint(t)
	release := make(chan struct{})
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, n int64) {
		<-release
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "expires_in": 3600})
	})
	s := newSource(t, e, nil)
	var wg sync.WaitGroup
	got := make([]string, 100)
	errs := make([]error, 100)
	for i := range 100 {
		wg.Go(func() { got[i], errs[i] = s.Token(t.Context()) })
	}
	time.Sleep(50 * time.Millisecond) // let them all queue up
	close(release)
	wg.Wait()
	for i := range got {
		if got[i] != "tok-1" || errs[i] != nil {
			t.Fatalf("caller %d got %q, %v", i, got[i], errs[i])
		}
	}
	if n := e.requests.Load(); n != 1 {
		t.Errorf("token endpoint saw %d requests for 100 concurrent callers, want 1", n)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	e := newEndpoint(t)
	c := &clock{now: time.Unix(1_000_000, 0)}
	s := newSource(t, e, c)
	mustToken(t, s, "tok-1")

	c.Add(3600*time.Second - DefaultRefreshBefore - time.Second)
	mustToken(t, s, "tok-1")
	if n := e.requests.Load(); n != 1 {
		t.Fatalf("refetched %v before the refresh window", n)
	}

	// In the refresh window: the old token at once, one background fetch
	// (held until the 20 calls are answered: a refresh done sooner would
	// rightly hand out tok-2).
	release := make(chan struct{})
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, n int64) {
		<-release
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": 3600})
	})
	c.Add(2 * time.Second)
	for range 20 {
		mustToken(t, s, "tok-1")
	}
	close(release)
	waitFor(t, func() bool { tok, _ := s.Token(t.Context()); return tok == "tok-2" })
	if n := e.requests.Load(); n != 2 {
		t.Errorf("token endpoint saw %d requests, want 2 (one refresh)", n)
	}
}

func TestExpiredTokenIsNotUsed(t *testing.T) {
	e := newEndpoint(t)
	c := &clock{now: time.Unix(1_000_000, 0)}
	s := newSource(t, e, c)
	mustToken(t, s, "tok-1")
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, _ int64) { w.WriteHeader(http.StatusServiceUnavailable) })
	c.Add(3601 * time.Second)
	if tok, err := s.Token(t.Context()); err == nil {
		t.Fatalf("Token() = %q after expiry with a failing endpoint, want an error", tok)
	}
}

func TestShortLivedTokenRefreshedHalfway(t *testing.T) {
	e := newEndpoint(t)
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, n int64) {
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "expires_in": 60})
	})
	c := &clock{now: time.Unix(1_000_000, 0)}
	s := newSource(t, e, c)
	mustToken(t, s, "tok-1")
	c.Add(29 * time.Second)
	mustToken(t, s, "tok-1")
	if n := e.requests.Load(); n != 1 {
		t.Fatalf("%d requests before halfway", n)
	}
	c.Add(2 * time.Second)
	s.Token(t.Context())
	waitFor(t, func() bool { tok, _ := s.Token(t.Context()); return tok == "tok-2" })
}

func TestMissingExpiresInMeansAnHour(t *testing.T) {
	e := newEndpoint(t)
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, n int64) {
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n)})
	})
	c := &clock{now: time.Unix(1_000_000, 0)}
	s := newSource(t, e, c)
	mustToken(t, s, "tok-1")
	c.Add(DefaultLifetime - DefaultRefreshBefore - time.Second)
	mustToken(t, s, "tok-1")
	if n := e.requests.Load(); n != 1 {
		t.Errorf("%d requests within the default lifetime, want 1", n)
	}
}

// TestFailureNamesServerNotSecrets: the endpoint refuses and echoes the
// request (client secret included) in its body and error_description;
// none of that may reach the error.
func TestFailureNamesServerNotSecrets(t *testing.T) {
	e := newEndpoint(t)
	e.setAnswer(func(w http.ResponseWriter, r *http.Request, _ int64) {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{
			"error": "invalid_client", "error_description": "bad secret " + r.PostForm.Get("client_secret"),
			"echo": r.PostForm.Encode(),
		})
	})
	c := &clock{now: time.Unix(1_000_000, 0)}
	s := newSource(t, e, c)
	_, err := s.Token(t.Context())
	if err == nil {
		t.Fatal("no error from a refusing token endpoint")
	}
	msg := err.Error()
	for _, want := range []string{`"billing"`, "HTTP 401", "invalid_client"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, leak := range []string{secret, "bad secret", "client_secret", "gw-client"} {
		if strings.Contains(msg, leak) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), leak) {
			t.Errorf("error leaks %q: %q", leak, msg)
		}
	}
	var te *Error
	if !errors.As(err, &te) || te.Server != "billing" {
		t.Errorf("error %T is not a *tokens.Error for billing", err)
	}
	// The failure is remembered for a moment: no request per caller.
	for range 10 {
		if _, err := s.Token(t.Context()); err == nil {
			t.Fatal("a remembered failure returned a token")
		}
	}
	if n := e.requests.Load(); n != 1 {
		t.Errorf("failing endpoint asked %d times within RetryAfter, want 1", n)
	}
	c.Add(DefaultRetryAfter + time.Millisecond)
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, n int64) {
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "expires_in": 3600})
	})
	mustToken(t, s, "tok-2")
}

func TestFailureReasons(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, r *http.Request, n int64)
		want    string
		outcome string // what Fetches counts
	}{
		{"no access_token", func(w http.ResponseWriter, _ *http.Request, _ int64) { w.Write([]byte(`{"token_type":"Bearer"}`)) }, "without an access_token", FetchInvalid},
		{"not json", func(w http.ResponseWriter, _ *http.Request, _ int64) { w.Write([]byte(`<html>` + secret)) }, "not a token", FetchInvalid},
		{"server error with an odd error code", func(w http.ResponseWriter, _ *http.Request, _ int64) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":"Echo ` + secret + `"}`))
		}, "HTTP 500", FetchRefused},
		{"invalid client", func(w http.ResponseWriter, _ *http.Request, _ int64) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"invalid_client"}`))
		}, "HTTP 401 (invalid_client)", FetchRefused},
		{"too slow", func(w http.ResponseWriter, r *http.Request, _ int64) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, "did not answer in time", FetchTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEndpoint(t)
			e.setAnswer(tt.answer)
			s := newSource(t, e, nil, func(_ *Config, o *Options) { o.Timeout = 200 * time.Millisecond })
			_, err := s.Token(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), secret) {
				t.Errorf("error = %v, want one saying %q and not the secret", err, tt.want)
			}
			checkFetches(t, s, tt.outcome)
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		e := newEndpoint(t)
		e.Close()
		s := newSource(t, e, nil)
		if _, err := s.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Errorf("error = %v, want unreachable", err)
		}
		checkFetches(t, s, FetchUnreachable)
	})
	t.Run("ok", func(t *testing.T) {
		s := newSource(t, newEndpoint(t), nil)
		mustToken(t, s, "tok-1")
		mustToken(t, s, "tok-1") // cached: no second request
		checkFetches(t, s, FetchOK)
	})
}

// checkFetches wants s to have counted one request, with outcome.
func checkFetches(t *testing.T, s *Source, outcome string) {
	t.Helper()
	got := s.Fetches()
	for _, o := range fetchOutcomes {
		want := uint64(0)
		if o == outcome {
			want = 1
		}
		if got[o] != want {
			t.Errorf("Fetches()[%s] = %d, want %d (all: %v)", o, got[o], want, got)
		}
	}
}

func TestClientSecretBasic(t *testing.T) {
	e := newEndpoint(t)
	s := newSource(t, e, nil, func(c *Config, _ *Options) { c.AuthMethod = ClientSecretBasic })
	mustToken(t, s, "tok-1")
	e.mu.Lock()
	defer e.mu.Unlock()
	user, pass, ok := e.last.BasicAuth()
	if !ok || user != "gw-client" || pass != secret {
		t.Errorf("Basic auth = %q, %q, %v", user, pass, ok)
	}
	if strings.Contains(e.lastBody, "client_secret") {
		t.Errorf("client_secret_basic also sent the secret in the body: %q", e.lastBody)
	}
}

// TestWaitingCallerMayGiveUp: a caller whose context ends stops waiting;
// the fetch goes on for the others.
func TestWaitingCallerMayGiveUp(t *testing.T) {
	e := newEndpoint(t)
	release := make(chan struct{})
	e.setAnswer(func(w http.ResponseWriter, _ *http.Request, n int64) {
		<-release
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "expires_in": 3600})
	})
	s := newSource(t, e, nil)
	patient := make(chan string)
	go func() { tok, _ := s.Token(context.Background()); patient <- tok }()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "billing") {
		t.Errorf("impatient caller got %v, want a deadline error naming the server", err)
	}
	close(release)
	if tok := <-patient; tok != "tok-1" {
		t.Errorf("patient caller got %q", tok)
	}
	if n := e.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestInvalidate(t *testing.T) {
	e := newEndpoint(t)
	s := newSource(t, e, nil)
	mustToken(t, s, "tok-1")
	s.Invalidate()
	mustToken(t, s, "tok-2")
}

func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Server: "a", ClientID: "i", ClientSecret: "s"},
		{Server: "a", TokenURL: "http://x", ClientSecret: "s"},
		{Server: "a", TokenURL: "http://x", ClientID: "i"},
		{Server: "a", TokenURL: "http://x", ClientID: "i", ClientSecret: "s", AuthMethod: "private_key_jwt"},
	} {
		_, err := New(cfg, Options{})
		if err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), "s\"") && cfg.ClientSecret != "" {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
}

func mustToken(t *testing.T, s *Source, want string) {
	t.Helper()
	tok, err := s.Token(t.Context())
	if err != nil || tok != want {
		t.Fatalf("Token() = %q, %v; want %q", tok, err, want)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
