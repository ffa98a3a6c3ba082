package ui

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// fakeClock is a test clock, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limStep is one step of a limiter test.
type limStep struct {
	op     string // "fail", "ok", "wait", "sleep", "begin", "undo"
	client string
	d      time.Duration // sleep: how long; wait: the wait expected
	all    bool          // wait: the global limit expected
}

func TestSigninLimiter(t *testing.T) {
	fail := func(c string, n int) []limStep {
		var out []limStep
		for range n {
			out = append(out, limStep{op: "fail", client: c})
		}
		return out
	}
	for _, c := range []struct {
		name  string
		steps []limStep
	}{
		{"four failures: not yet", append(fail("a", 4), limStep{op: "wait", client: "a"})},
		{"five failures: a minute", append(fail("a", 5), limStep{op: "wait", client: "a", d: time.Minute}, limStep{op: "wait", client: "b"})},
		{"the bucket refills", append(fail("a", 5), limStep{op: "sleep", d: 30 * time.Second}, limStep{op: "wait", client: "a", d: 30 * time.Second},
			limStep{op: "sleep", d: 30 * time.Second}, limStep{op: "wait", client: "a"}, limStep{op: "fail", client: "a"}, limStep{op: "wait", client: "a", d: time.Minute})},
		{"a sign-in forgets the failures", append(fail("a", 5), limStep{op: "ok", client: "a"}, limStep{op: "wait", client: "a"})},
		{"tries in flight count", append(begin("a", 5), limStep{op: "begin", client: "a", d: time.Minute})},
		{"undo hands a try back", append(begin("a", 5), limStep{op: "undo", client: "a"}, limStep{op: "begin", client: "a"},
			limStep{op: "begin", client: "a", d: time.Minute})},
		{"the global cap", append(manyClients(100), limStep{op: "wait", client: "new", d: 6 * time.Second, all: true},
			limStep{op: "sleep", d: 6 * time.Second}, limStep{op: "wait", client: "new"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1000, 0)}
			l := newSigninLimiter(clk.now)
			for i, s := range c.steps {
				switch s.op {
				case "fail":
					l.failed(s.client)
				case "ok":
					l.succeeded(s.client)
				case "begin":
					if d, all := l.begin(s.client); d != s.d || all != s.all {
						t.Errorf("step %d: begin(%s) = %v, %v; want %v, %v", i, s.client, d, all, s.d, s.all)
					}
				case "undo":
					l.undo(s.client)
				case "sleep":
					clk.add(s.d)
				case "wait":
					if d, all := l.wait(s.client); d != s.d || all != s.all {
						t.Errorf("step %d: wait(%s) = %v, %v; want %v, %v", i, s.client, d, all, s.d, s.all)
					}
				}
			}
		})
	}
}

func begin(c string, n int) []limStep {
	out := make([]limStep, n)
	for i := range out {
		out[i] = limStep{op: "begin", client: c}
	}
	return out
}

func manyClients(n int) []limStep {
	out := make([]limStep, n)
	for i := range out {
		out[i] = limStep{op: "fail", client: fmt.Sprintf("10.0.0.%d", i)}
	}
	return out
}

// The table of clients is bounded; a full table evicts refilled buckets,
// then the least limited client, never a limited one.
func TestSigninLimiterBounded(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newSigninLimiter(clk.now)
	l.max = 3
	for range 5 {
		l.failed("attacker")
	}
	for i := range 50 {
		l.failed(fmt.Sprintf("c%d", i))
		if len(l.clients) > l.max {
			t.Fatalf("%d clients kept, max %d", len(l.clients), l.max)
		}
	}
	if d, _ := l.wait("attacker"); d != time.Minute {
		t.Errorf("the limited client was evicted: wait %v", d)
	}
	clk.add(5 * time.Minute) // everyone refills
	l.failed("late")
	if len(l.clients) != 1 {
		t.Errorf("refilled buckets kept: %d", len(l.clients))
	}
}

func TestClientAddress(t *testing.T) {
	for _, c := range []struct {
		remote, header, want string
	}{
		{"127.0.0.1:5000", "203.0.113.7", "203.0.113.7"},
		// IPv6 clients by their /64: a host's other addresses are the same client.
		{"[::1]:5000", "2001:db8::1", "2001:db8::/64"},
		{"127.0.0.1:5000", "2001:db8::ffff:1234", "2001:db8::/64"},
		{"127.0.0.1:5000", "2001:db8:0:1::1", "2001:db8:0:1::/64"},
		{"[2001:db8::7]:5000", "", "2001:db8::/64"},
		{"127.0.0.1:5000", "::ffff:203.0.113.7", "203.0.113.7"},
		{"127.0.0.1:5000", "fe80::1%eth0", "fe80::/64"},
		{"127.0.0.1:5000", "", "127.0.0.1"},
		{"198.51.100.2:5000", "203.0.113.7", "198.51.100.2"}, // not from Envoy: the header is not trusted
		{"127.0.0.1:5000", strings.Repeat("x", 100), strings.Repeat("x", maxClientAddress)},
	} {
		r := httptest.NewRequest("POST", "/ui/login", nil)
		r.RemoteAddr = c.remote
		if c.header != "" {
			r.Header.Set(wellknown.ClientAddressHeader, c.header)
		}
		if got := clientAddress(r); got != c.want {
			t.Errorf("%s with %q: %q, want %q", c.remote, c.header, got, c.want)
		}
	}
}

// loginFrom signs in with key as the client Envoy names from.
func (e *env) loginFrom(from, key string) (*http.Response, string) {
	e.t.Helper()
	_, page := e.do("GET", "/ui/login", nil)
	form := url.Values{"csrf": {csrfOf(e.t, page)}, "key": {key}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(wellknown.ClientAddressHeader, from)
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestSigninRateLimit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	e := newEnvWith(t, func(o *Options) { o.Now = clk.now })
	for i := range 5 {
		key := "sk-wrong"
		if i%2 == 1 {
			key = userKey // a gateway key is a failure too
		}
		if resp, _ := e.loginFrom("203.0.113.7", key); resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	// Limited, even with the right key: the key is not looked at.
	resp, page := e.loginFrom("203.0.113.7", master)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" ||
		!strings.Contains(page, "Too many failed sign-ins from your address: try again in 60 seconds.") || strings.Contains(page, master) {
		t.Fatalf("the sixth try: %d, Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}
	// Another address is not limited.
	if resp, _ := e.loginFrom("203.0.113.8", master); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another client: %d, want 303", resp.StatusCode)
	}
	e.c.Jar.(*jar).cookies = map[string]*http.Cookie{} // a new browser
	clk.add(time.Minute)
	if resp, _ := e.loginFrom("203.0.113.7", master); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a minute: %d, want 303", resp.StatusCode)
	}
}

// Wrong keys sent at once from one address are limited like wrong keys
// sent one after another: each try is counted before its key is checked,
// so no more than the burst reach the check while the others wait.
func TestSigninRateLimitConcurrent(t *testing.T) {
	burst := int(signinPerClient.burst)
	tries := burst + 3
	var (
		mu      sync.Mutex
		checked int
		release = make(chan struct{})
	)
	e := newEnvWith(t, func(o *Options) {
		api := o.API
		o.API = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer sk-wrong" {
				mu.Lock()
				checked++
				mu.Unlock()
				<-release // the key check takes a while
			}
			api.ServeHTTP(w, r)
		})
	})
	_, page := e.do("GET", "/ui/login", nil)
	form := url.Values{"csrf": {csrfOf(t, page)}, "key": {"sk-wrong"}}.Encode()
	var cookies []string
	for _, c := range e.c.Jar.(*jar).cookies {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	statuses := make(chan int, tries)
	for range tries {
		go func() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/ui/login", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", strings.Join(cookies, "; "))
			req.Header.Set(wellknown.ClientAddressHeader, "203.0.113.9")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// Wait until every try is either at the key check or refused.
	var got []int
	for {
		mu.Lock()
		n := checked
		mu.Unlock()
		if n+len(got) == tries {
			break
		}
		select {
		case s := <-statuses:
			got = append(got, s)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(release)
	for len(got) < tries {
		got = append(got, <-statuses)
	}
	if checked > burst {
		t.Errorf("%d wrong keys sent at once reached the key check, want at most %d; statuses %v", checked, burst, got)
	}
}

// Wrong keys from five addresses of one IPv6 /64 count as one client's.
func TestSigninRateLimitIPv6Prefix(t *testing.T) {
	e := newEnvWith(t, nil)
	for i := 1; i <= int(signinPerClient.burst); i++ {
		if resp, _ := e.loginFrom(fmt.Sprintf("2001:db8::%x", i), "sk-wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := e.loginFrom("2001:db8::beef", "sk-wrong"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("another address of the same /64: %d, want 429", resp.StatusCode)
	}
	if resp, _ := e.loginFrom("2001:db8:0:1::1", "sk-wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("another /64: %d, want 401", resp.StatusCode)
	}
}
