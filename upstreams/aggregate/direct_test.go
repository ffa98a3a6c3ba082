package aggregate

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// fakeDecider stands for extproc.Server.DecideDirect.
type fakeDecider struct {
	serve  bool
	body   string // the body it was given
	header string // the direct-list header it saw
	status int    // passed to done
	calls  int
}

func (f *fakeDecider) DecideDirect(w http.ResponseWriter, r *http.Request, body []byte) (bool, func(int)) {
	f.calls++
	f.body, f.header = string(body), r.Header.Get(wellknown.DirectListHeader)
	if !f.serve {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "refused")
		return false, nil
	}
	return true, func(status int) { f.status = status }
}

// TestWithDirect: only a request with the token is decided here; its
// body still reaches the handler; the handler never runs for a refused
// one; done gets the status the handler answered with.
func TestWithDirect(t *testing.T) {
	for _, c := range []struct {
		name        string
		header      string // "" = none; "a\x00b" = two values
		serve       bool
		answer      int // the handler's WriteHeader; 0 = none (200)
		wantDecided bool
		wantServed  bool
		wantStatus  int // the client's
	}{
		{name: "no header: decided by ext_proc already", wantServed: true, wantStatus: 200},
		{name: "another token: nobody decided it", header: "guess", wantStatus: 500},
		{name: "the token twice", header: "tok\x00tok", wantStatus: 500},
		{name: "the token, refused", header: "tok", wantDecided: true, wantStatus: 401},
		{name: "the token, served", header: "tok", serve: true, wantDecided: true, wantServed: true, wantStatus: 200},
		{name: "the token, served with 404", header: "tok", serve: true, answer: 404, wantDecided: true, wantServed: true, wantStatus: 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &fakeDecider{serve: c.serve}
			var served bool
			var sawHeader, sawBody string
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served = true
				sawHeader = r.Header.Get(wellknown.DirectListHeader)
				b, _ := io.ReadAll(r.Body)
				sawBody = string(b)
				if c.answer != 0 {
					w.WriteHeader(c.answer)
				}
				io.WriteString(w, "answer")
			})
			r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{"list":1}`))
			for i, v := range strings.Split(c.header, "\x00") {
				if v == "" {
					continue
				}
				if i == 0 {
					r.Header.Set(wellknown.DirectListHeader, v)
				} else {
					r.Header.Add(wellknown.DirectListHeader, v)
				}
			}
			w := httptest.NewRecorder()
			withDirect(d, "tok", next).ServeHTTP(w, r)
			if (d.calls == 1) != c.wantDecided || served != c.wantServed || w.Code != c.wantStatus {
				t.Fatalf("decided %v served %v status %d, want %v %v %d", d.calls == 1, served, w.Code, c.wantDecided, c.wantServed, c.wantStatus)
			}
			if served && (sawHeader != "" || sawBody != `{"list":1}`) {
				t.Errorf("the handler saw header %q body %q", sawHeader, sawBody)
			}
			if c.wantDecided && (d.body != `{"list":1}` || d.header != "") {
				t.Errorf("the decider saw body %q header %q", d.body, d.header)
			}
			if c.wantDecided && c.serve && d.status != c.wantStatus {
				t.Errorf("done(%d), want %d", d.status, c.wantStatus)
			}
		})
	}
	// Without a decider (direct lists off) the header means nothing.
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{}`))
	r.Header.Set(wellknown.DirectListHeader, "tok")
	w := httptest.NewRecorder()
	withDirect(nil, "tok", http.NotFoundHandler()).ServeHTTP(w, r)
	if w.Code != http.StatusNotFound {
		t.Errorf("without a decider: %d, want the handler's 404", w.Code)
	}
}
