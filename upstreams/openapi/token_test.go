package openapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams/openapi/petstore"
)

// fakeTokens hands out t1, t2, ... and counts invalidations.
type fakeTokens struct {
	n, invalidated atomic.Int64
	fail           error
}

func (f *fakeTokens) Token(context.Context) (string, error) {
	if f.fail != nil {
		return "", f.fail
	}
	return fmt.Sprintf("t%d", f.n.Load()+1), nil
}

func (f *fakeTokens) Invalidate() { f.invalidated.Add(1); f.n.Add(1) }

// An OAuth2 token goes on every API request, in the configured header,
// over a static header of the same name; a 401 invalidates it; a token
// that cannot be had fails the call before the API is called.
func TestOAuth2Token(t *testing.T) {
	store := petstore.New()
	tokens := &fakeTokens{}
	api := loadAgainst(t, "testdata/petstore-openapi3.yaml", "/api/v3", store, func(o *Options) {
		o.Headers = map[string]string{"Authorization": "Bearer static", "X-Api-Key": "k"}
		o.Token = tokens
	})
	call(t, api, "getpetbyid", `{"petId": "1"}`)
	if h := store.Last().Header; h.Get("Authorization") != "Bearer t1" || h.Get("X-Api-Key") != "k" {
		t.Fatalf("API got Authorization %q, X-Api-Key %q", h.Get("Authorization"), h.Get("X-Api-Key"))
	}

	// A 401 from the API: the token is invalidated, the next call has a new one.
	refusing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer t1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		store.ServeHTTP(w, r)
	})
	tokens = &fakeTokens{}
	api = loadAgainst(t, "testdata/petstore-openapi3.yaml", "/api/v3", refusing, func(o *Options) {
		o.Token = tokens
		o.TokenHeader = "X-Auth"
	})
	// With TokenHeader X-Auth the token goes there, and Authorization
	// stays unset (this API refuses only Authorization: Bearer t1).
	call(t, api, "getpetbyid", `{"petId": "1"}`)
	if h := store.Last().Header; h.Get("X-Auth") != "Bearer t1" || h.Get("Authorization") != "" {
		t.Fatalf("token header: X-Auth %q, Authorization %q", h.Get("X-Auth"), h.Get("Authorization"))
	}
	tokens = &fakeTokens{}
	api = loadAgainst(t, "testdata/petstore-openapi3.yaml", "/api/v3", refusing, func(o *Options) { o.Token = tokens })
	if res := call(t, api, "getpetbyid", `{"petId": "1"}`); !res.IsError || tokens.invalidated.Load() != 1 {
		t.Fatalf("401: result %+v, invalidated %d", res, tokens.invalidated.Load())
	}
	if res := call(t, api, "getpetbyid", `{"petId": "1"}`); res.IsError || store.Last().Header.Get("Authorization") != "Bearer t2" {
		t.Fatalf("after the 401: %+v, Authorization %q", res, store.Last().Header.Get("Authorization"))
	}

	// No token: no request.
	before := len(store.Requests())
	api = loadAgainst(t, "testdata/petstore-openapi3.yaml", "/api/v3", store, func(o *Options) {
		o.Token = &fakeTokens{fail: errors.New("fetch token for server pets: token endpoint answered 401")}
	})
	if _, err := api.Call(context.Background(), "getpetbyid", []byte(`{"petId": "1"}`)); err == nil {
		t.Fatal("a call without a token succeeded")
	}
	if len(store.Requests()) != before {
		t.Fatal("the API was called without a token")
	}
}

// An API that redirects to another host does not get the credentials sent
// there: the redirect is the answer.
func TestCredentialsDoNotFollowRedirectsAway(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-Api-Key") + r.Header.Get("Authorization"))
	}))
	defer other.Close()
	away := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	})
	api := loadAgainst(t, "testdata/petstore-openapi3.yaml", "/api/v3", away, func(o *Options) {
		o.Headers = map[string]string{"X-Api-Key": "k"}
		o.Token = &fakeTokens{}
	})
	res := call(t, api, "getpetbyid", `{"petId": "1"}`)
	if leaked.Load() != nil || !res.IsError || !strings.Contains(text(res), "HTTP 302 Found, a redirect to another host (not followed)") {
		t.Fatalf("result %q; the other host got %v", text(res), leaked.Load())
	}
}
