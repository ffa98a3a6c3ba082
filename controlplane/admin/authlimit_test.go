package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/controlplane/authlimit"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// from sends GET /v1/mcp/server with key as the client Envoy names
// (through its loopback peer), or, from "in process", as the UI does.
func (e *env) from(ctx context.Context, client, key string) (int, string, http.Header) {
	e.t.Helper()
	req := httptest.NewRequestWithContext(ctx, "GET", "/v1/mcp/server", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set(wellknown.ClientAddressHeader, client)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

// try is one request of an auth limit test.
type try struct {
	client, key string
	n           int           // times (default 1)
	inProcess   bool          // marked as the UI's in-process call
	sleep       time.Duration // before
	want        int
}

func TestAuthRateLimit(t *testing.T) {
	burst := int(authLimit.Burst)
	wrong := func(client string, n int) try {
		return try{client: client, key: "sk-wrong", n: n, want: http.StatusUnauthorized}
	}
	for _, c := range []struct {
		name  string
		tries []try
	}{
		{"a burst of wrong keys, then 429 even for the master key", []try{
			wrong("203.0.113.7", burst),
			{client: "203.0.113.7", key: master, want: http.StatusTooManyRequests},
			{client: "203.0.113.7", key: userKey, want: http.StatusTooManyRequests},
			{client: "203.0.113.7", key: "sk-wrong", want: http.StatusTooManyRequests},
		}},
		{"the master key from another address while one is limited", []try{
			wrong("203.0.113.7", burst),
			{client: "203.0.113.8", key: master, want: http.StatusOK},
			{client: "203.0.113.8", key: "sk-wrong", want: http.StatusUnauthorized},
			{client: "2001:db8::1", key: master, want: http.StatusOK},
		}},
		{"one more try after the interval", []try{
			wrong("203.0.113.7", burst),
			{client: "203.0.113.7", key: master, sleep: authLimit.Every - time.Second, want: http.StatusTooManyRequests},
			{client: "203.0.113.7", key: master, sleep: time.Second, want: http.StatusOK},
			wrong("203.0.113.7", 1),
			{client: "203.0.113.7", key: master, want: http.StatusTooManyRequests},
		}},
		{"successes are not counted", []try{
			wrong("203.0.113.7", burst-1),
			{client: "203.0.113.7", key: master, n: 3 * burst, want: http.StatusOK},
			{client: "203.0.113.7", key: userKey, n: 3 * burst, want: http.StatusForbidden}, // a good key, not the master key
			{client: "203.0.113.7", key: "", n: 3 * burst, want: http.StatusUnauthorized},   // no key: no guess
			wrong("203.0.113.7", 1),
			{client: "203.0.113.7", key: master, want: http.StatusTooManyRequests},
		}},
		{"a success does not forget the failures", []try{
			wrong("203.0.113.7", burst-1),
			{client: "203.0.113.7", key: master, want: http.StatusOK},
			wrong("203.0.113.7", 1),
			{client: "203.0.113.7", key: master, want: http.StatusTooManyRequests},
		}},
		{"an IPv6 client by its /64", []try{
			wrong("2001:db8::1", burst/2), wrong("2001:db8::2", burst-burst/2),
			{client: "2001:db8::beef", key: master, want: http.StatusTooManyRequests},
			{client: "2001:db8:0:1::1", key: master, want: http.StatusOK},
		}},
		{"the UI's in-process calls are limited by the UI", []try{
			{client: "", key: "sk-wrong", inProcess: true, n: 3 * burst, want: http.StatusUnauthorized},
			{client: "", key: master, inProcess: true, want: http.StatusOK},
			wrong("", burst),
			{client: "", key: master, inProcess: true, want: http.StatusOK},
			{client: "", key: master, want: http.StatusTooManyRequests},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1000, 0))
			e := newEnv(t, func(o *Options) { o.Now = clk.Now })
			for i, tr := range c.tries {
				clk.Add(tr.sleep)
				ctx := context.Background()
				if tr.inProcess {
					ctx = authlimit.LimitedByCaller(ctx)
				}
				for j := range max(tr.n, 1) {
					code, body, hdr := e.from(ctx, tr.client, tr.key)
					if code != tr.want {
						t.Fatalf("try %d.%d (%s, %.6s): %d, want %d: %s", i, j, tr.client, tr.key, code, tr.want, body)
					}
					if code == http.StatusTooManyRequests {
						checkTooMany(t, body, hdr)
					}
				}
			}
		})
	}
}

// checkTooMany checks a 429: Retry-After, the admin API's error shape,
// the reason named, no key.
func checkTooMany(t *testing.T, body string, hdr http.Header) {
	t.Helper()
	var v struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("429 body is not JSON: %q", body)
	}
	ra := hdr.Get("Retry-After")
	if ra == "" || ra == "0" || v.Error.Type != "rate_limit_error" || v.Error.Code != "429" ||
		!strings.HasPrefix(v.Error.Message, "Too many failed authentications (invalid keys) from your address: try again in "+ra+" seconds") {
		t.Errorf("429: Retry-After %q, body %s", ra, body)
	}
	for _, s := range []string{master, userKey, "sk-wrong"} {
		if strings.Contains(body, s) {
			t.Errorf("429 body names a key: %s", body)
		}
	}
}

// Refused tries are logged once a while per address, not once each.
func TestAuthRateLimitLogsOnce(t *testing.T) {
	clk := testutil.NewClock(time.Unix(1000, 0))
	e := newEnv(t, func(o *Options) { o.Now = clk.Now })
	for range int(authLimit.Burst) + 20 {
		e.from(context.Background(), "203.0.113.7", "sk-wrong")
	}
	for range 5 {
		e.from(context.Background(), "203.0.113.8", "sk-wrong")
	}
	e.mu.Lock()
	logs := e.logs.String()
	e.mu.Unlock()
	if n := strings.Count(logs, "admin API authentication rate limited"); n != 1 || !strings.Contains(logs, "client=203.0.113.7") {
		t.Errorf("%d lines for 20 refused tries from one address, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "sk-wrong") {
		t.Errorf("the key is logged:\n%s", logs)
	}
}

// blockingKeys is a KeyChecker whose checks wait for release.
type blockingKeys struct {
	mu      sync.Mutex
	checked int
	release chan struct{}
}

func (b *blockingKeys) CheckKey(_ context.Context, key string) (Caller, bool) {
	b.mu.Lock()
	b.checked++
	b.mu.Unlock()
	<-b.release
	return Caller{}, false
}

func (b *blockingKeys) count() int { b.mu.Lock(); defer b.mu.Unlock(); return b.checked }

// Wrong keys sent at once from one address are limited like wrong keys
// sent one after another: no more than the burst reach the key check
// (each is counted from its start), the others are 429.
func TestAuthRateLimitConcurrent(t *testing.T) {
	burst := int(authLimit.Burst)
	tries := 3 * burst
	keys := &blockingKeys{release: make(chan struct{})}
	e := newEnv(t, func(o *Options) { o.Keys = keys })
	statuses := make(chan int, tries)
	for range tries {
		go func() {
			code, _, _ := e.from(context.Background(), "203.0.113.9", "sk-wrong")
			statuses <- code
		}()
	}
	// Wait until every try is either at the key check or refused.
	var got []int
	for keys.count()+len(got) < tries {
		select {
		case s := <-statuses:
			got = append(got, s)
		case <-time.After(10 * time.Millisecond): // a try may be on its way to the check
		}
	}
	close(keys.release)
	for len(got) < tries {
		got = append(got, <-statuses)
	}
	count := map[int]int{}
	for _, s := range got {
		count[s]++
	}
	if keys.count() != burst || count[http.StatusUnauthorized] != burst || count[http.StatusTooManyRequests] != tries-burst {
		t.Errorf("%d wrong keys at once: %d checked, statuses %v; want %d checked and 401, the rest 429", tries, keys.count(), count, burst)
	}
	// Still limited after the tries are done; another address is not.
	if code, _, _ := e.from(context.Background(), "203.0.113.9", master); code != http.StatusTooManyRequests {
		t.Errorf("the master key from the limited address: %d, want 429", code)
	}
	if code, _, _ := e.from(context.Background(), "203.0.113.10", master); code != http.StatusOK {
		t.Errorf("the master key from another address: %d, want 200", code)
	}
}
