package httpstatus

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWriter: the status is the first one written, 200 when the handler
// only writes a body, and a later WriteHeader does not change it.
func TestWriter(t *testing.T) {
	for _, c := range []struct {
		name  string
		serve func(w http.ResponseWriter)
		want  int
	}{
		{"body only", func(w http.ResponseWriter) { io.WriteString(w, "x") }, 200},
		{"nothing", func(http.ResponseWriter) {}, 200},
		{"404", func(w http.ResponseWriter) { w.WriteHeader(404) }, 404},
		{"body, then a header too late", func(w http.ResponseWriter) { io.WriteString(w, "x"); w.WriteHeader(500) }, 200},
		{"flushed, then a header too late", func(w http.ResponseWriter) { w.(http.Flusher).Flush(); w.WriteHeader(500) }, 200},
		{"two headers", func(w http.ResponseWriter) { w.WriteHeader(401); w.WriteHeader(500) }, 401},
	} {
		rec := httptest.NewRecorder()
		w := Wrap(rec)
		c.serve(w)
		if w.Status() != c.want || rec.Code != c.want {
			t.Errorf("%s: status %d (recorder %d), want %d", c.name, w.Status(), rec.Code, c.want)
		}
	}
	if http.NewResponseController(Wrap(httptest.NewRecorder())).Flush() != nil {
		t.Error("a ResponseController cannot flush through the Writer")
	}
}
