package authlimit

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// The UI's sign-in limits, as a test case's default.
var (
	perClient = Limit{Burst: 5, Every: time.Minute}
	all       = Limit{Burst: 100, Every: 6 * time.Second}
)

// step is one step of a limiter test.
type step struct {
	op     string // "fail", "ok", "wait", "sleep", "begin", "undo", "try", "tryGood"
	client string
	d      time.Duration // sleep: how long; wait, begin, try: the wait expected
	all    bool          // wait, begin, try: the global limit expected
	log    bool          // try: a refusal to log expected
}

func fails(c string, n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{op: "fail", client: c}
	}
	return out
}

func begins(c string, n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{op: "begin", client: c}
	}
	return out
}

func manyClients(n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{op: "fail", client: fmt.Sprintf("10.0.0.%d", i)}
	}
	return out
}

func steps(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			out = append(out, p)
		case []step:
			out = append(out, p...)
		}
	}
	return out
}

func TestLimiter(t *testing.T) {
	for _, c := range []struct {
		name  string
		all   Limit // the zero Limit: the UI's
		noAll bool  // no global cap
		steps []step
	}{
		{name: "four failures: not yet", steps: steps(fails("a", 4), step{op: "wait", client: "a"})},
		{name: "five failures: a minute", steps: steps(fails("a", 5), step{op: "wait", client: "a", d: time.Minute}, step{op: "wait", client: "b"})},
		{name: "the bucket refills", steps: steps(fails("a", 5), step{op: "sleep", d: 30 * time.Second}, step{op: "wait", client: "a", d: 30 * time.Second},
			step{op: "sleep", d: 30 * time.Second}, step{op: "wait", client: "a"}, step{op: "fail", client: "a"}, step{op: "wait", client: "a", d: time.Minute})},
		{name: "a success forgets the failures", steps: steps(fails("a", 5), step{op: "ok", client: "a"}, step{op: "wait", client: "a"})},
		{name: "tries in flight count", steps: steps(begins("a", 5), step{op: "begin", client: "a", d: time.Minute})},
		{name: "undo hands a try back", steps: steps(begins("a", 5), step{op: "undo", client: "a"}, step{op: "begin", client: "a"},
			step{op: "begin", client: "a", d: time.Minute})},
		{name: "the global cap", steps: steps(manyClients(100), step{op: "wait", client: "new", d: 6 * time.Second, all: true},
			step{op: "sleep", d: 6 * time.Second}, step{op: "wait", client: "new"})},
		{name: "no global cap", noAll: true, steps: steps(manyClients(1000), step{op: "wait", client: "new"}, step{op: "try", client: "new"})},
		// Try: a good key is not counted, a bad one is, a limited client's
		// key is not looked at.
		{name: "try: good keys are not counted", steps: steps(fails("a", 4), step{op: "tryGood", client: "a"}, step{op: "tryGood", client: "a"},
			step{op: "wait", client: "a"}, step{op: "try", client: "a"}, step{op: "wait", client: "a", d: time.Minute})},
		{name: "try: a limited client's good key is refused", steps: steps(fails("a", 5), step{op: "tryGood", client: "a", d: time.Minute, log: true})},
		{name: "try: a good key does not forget the failures", steps: steps(fails("a", 4), step{op: "tryGood", client: "a"}, step{op: "fail", client: "a"},
			step{op: "wait", client: "a", d: time.Minute})},
		{name: "try: refusals logged once a window", steps: steps(fails("a", 5),
			step{op: "try", client: "a", d: time.Minute, log: true}, step{op: "try", client: "a", d: time.Minute},
			step{op: "try", client: "b"},
			step{op: "sleep", d: 30 * time.Second}, step{op: "try", client: "a", d: 30 * time.Second},
			step{op: "sleep", d: 30 * time.Second}, step{op: "try", client: "a"},
			step{op: "try", client: "a", d: time.Minute, log: true})},
		{name: "try: undo", steps: steps(fails("a", 4), step{op: "try", client: "a"}, step{op: "undo", client: "a"}, step{op: "wait", client: "a"})},
		{name: "try: the global cap, logged once", steps: steps(manyClients(100),
			step{op: "try", client: "x", d: 6 * time.Second, all: true, log: true}, step{op: "try", client: "y", d: 6 * time.Second, all: true})},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1000, 0))
			a := all
			if c.noAll {
				a = Limit{}
			}
			l := New(clk.Now, perClient, a, 10000)
			for i, s := range c.steps {
				switch s.op {
				case "fail":
					l.Failed(s.client)
				case "ok":
					l.Succeeded(s.client)
				case "begin":
					if d, all := l.Begin(s.client); d != s.d || all != s.all {
						t.Errorf("step %d: Begin(%s) = %v, %v; want %v, %v", i, s.client, d, all, s.d, s.all)
					}
				case "undo":
					l.Undo(s.client)
				case "sleep":
					clk.Add(s.d)
				case "wait":
					if d, all := l.Wait(s.client); d != s.d || all != s.all {
						t.Errorf("step %d: Wait(%s) = %v, %v; want %v, %v", i, s.client, d, all, s.d, s.all)
					}
				case "try", "tryGood":
					good := s.op == "tryGood"
					called := false
					r := l.Try(s.client, func() bool { called = true; return good })
					want := Result{Wait: s.d, All: s.all, Log: s.log, Good: good && s.d == 0}
					if r != want {
						t.Errorf("step %d: Try(%s) = %+v; want %+v", i, s.client, r, want)
					}
					if called != (s.d == 0) {
						t.Errorf("step %d: key checked %v, want %v", i, called, s.d == 0)
					}
				}
			}
		})
	}
}

// The table of clients is bounded; a full table evicts refilled buckets,
// then the least limited client, never a limited one.
func TestLimiterBounded(t *testing.T) {
	clk := testutil.NewClock(time.Unix(1000, 0))
	l := New(clk.Now, perClient, all, 3)
	for range 5 {
		l.Failed("attacker")
	}
	for i := range 50 {
		l.Failed(fmt.Sprintf("c%d", i))
		if n := l.Clients(); n > 3 {
			t.Fatalf("%d clients kept, max 3", n)
		}
	}
	if d, _ := l.Wait("attacker"); d != time.Minute {
		t.Errorf("the limited client was evicted: wait %v", d)
	}
	clk.Add(5 * time.Minute) // everyone refills
	l.Failed("late")
	if n := l.Clients(); n != 1 {
		t.Errorf("refilled buckets kept: %d", n)
	}
}

// Tries sent at once: no more than the burst are counted as allowed.
func TestLimiterConcurrent(t *testing.T) {
	clk := testutil.NewClock(time.Unix(1000, 0))
	l := New(clk.Now, perClient, Limit{}, 100)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		checked int
	)
	for range 50 {
		wg.Go(func() {
			l.Try("a", func() bool { mu.Lock(); checked++; mu.Unlock(); return false })
		})
	}
	wg.Wait()
	if checked != 5 {
		t.Errorf("%d wrong keys checked, want 5", checked)
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
		{"127.0.0.1:5000", strings.Repeat("x", 100), strings.Repeat("x", MaxClientAddress)},
	} {
		r := httptest.NewRequest("POST", "/ui/login", nil)
		r.RemoteAddr = c.remote
		if c.header != "" {
			r.Header.Set(wellknown.ClientAddressHeader, c.header)
		}
		if got := ClientAddress(r); got != c.want {
			t.Errorf("%s with %q: %q, want %q", c.remote, c.header, got, c.want)
		}
	}
}
