package credentials

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// A client with credentials follows a redirect on its own host but not to
// another one, where the credential header would go along.
func TestSameHostRedirects(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked = r.Header.Get("X-Api-Key") }))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/x", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/done", http.StatusFound)
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer home.Close()
	c := &http.Client{CheckRedirect: SameHostRedirects}
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, home.URL+path, nil)
		req.Header.Set("X-Api-Key", "secret")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/here"); got != http.StatusTeapot {
		t.Errorf("same-host redirect: status %d, want it followed", got)
	}
	if got := get("/away"); got != http.StatusFound || leaked != "" {
		t.Errorf("cross-host redirect: status %d, other host got key %q", got, leaked)
	}
}
