package ui

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

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
	clk := testutil.NewClock(time.Unix(1000, 0))
	e := newEnvWith(t, func(o *Options) { o.Now = clk.Now })
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
	clk.Add(time.Minute)
	if resp, _ := e.loginFrom("203.0.113.7", master); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a minute: %d, want 303", resp.StatusCode)
	}
}

// Wrong keys sent at once from one address are limited like wrong keys
// sent one after another: each try is counted before its key is checked,
// so no more than the burst reach the check while the others wait.
func TestSigninRateLimitConcurrent(t *testing.T) {
	burst := int(signinPerClient.Burst)
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
	for i := 1; i <= int(signinPerClient.Burst); i++ {
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
