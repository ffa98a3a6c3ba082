package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLocalHost(t *testing.T) {
	for bind, want := range map[string]string{
		"0.0.0.0":   "127.0.0.1",
		"::":        "::1",
		"127.0.0.1": "127.0.0.1",
		"10.1.2.3":  "10.1.2.3",
		"::1":       "::1",
	} {
		if got := localHost(bind); got != want {
			t.Errorf("localHost(%q) = %q, want %q", bind, got, want)
		}
	}
}

// A port something listens on is refused with a message naming the
// address; the wildcard address conflicts with a loopback listener too.
func TestCheckPortFree(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for _, bind := range []string{"127.0.0.1", "0.0.0.0"} {
		err := checkPortFree(bind, port)
		if err == nil || !strings.Contains(err.Error(), "is already in use") || !strings.Contains(err.Error(), bind) {
			t.Errorf("checkPortFree(%s, %d) = %v", bind, port, err)
		}
	}
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()
	if err := checkPortFree("127.0.0.1", freePort); err != nil {
		t.Errorf("free port: %v", err)
	}
}

func TestTailWriterLastLine(t *testing.T) {
	w := &tailWriter{max: 16}
	w.Write([]byte("[critical] a long line that is cut\n"))
	w.Write([]byte("cannot bind\n\n"))
	if got := w.lastLine(); got != "cannot bind" {
		t.Errorf("lastLine = %q", got)
	}
	if got := (&tailWriter{max: 16}).lastLine(); got != "" {
		t.Errorf("empty lastLine = %q", got)
	}
}

// Readiness asks /server_info and takes only this Envoy's LIVE for ready:
// an admin interface naming another bootstrap is an error.
func TestEnvoyLiveIsOurs(t *testing.T) {
	for _, tc := range []struct {
		name, configPath, state string
		live                    bool
		err                     string
	}{
		{"ours, live", "/work/a/envoy.yaml", "LIVE", true, ""},
		{"ours, starting", "/work/a/envoy.yaml", "INITIALIZING", false, ""},
		{"another Envoy", "/work/b/envoy.yaml", "LIVE", false, "is another Envoy's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/server_info" {
					http.NotFound(w, r)
					return
				}
				fmt.Fprintf(w, `{"state":%q,"command_line_options":{"config_path":%q}}`, tc.state, tc.configPath)
			}))
			defer srv.Close()
			e := &Envoy{configPath: "/work/a/envoy.yaml", adminAddr: strings.TrimPrefix(srv.URL, "http://")}
			live, err := e.live(context.Background(), srv.Client())
			if live != tc.live || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("live = %v, %v; want %v, %q", live, err, tc.live, tc.err)
			}
		})
	}
}
