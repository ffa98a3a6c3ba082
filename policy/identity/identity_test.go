package identity

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeyFromHeader(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"sk-abc", "sk-abc", true},
		{"Bearer sk-abc", "sk-abc", true},
		{"bearer   sk-abc ", "sk-abc", true},
		{"BEARER\tsk-abc", "", false}, // scheme must be followed by a space
		{"  sk-abc\t", "sk-abc", true},
		{"", "", false},
		{"Bearer", "Bearer", true}, // a key that happens to read "Bearer"
		{"Bearer ", "Bearer", true},
		{"sk abc", "", false},
		{"Basic sk-abc", "", false},
		{"sk-\x00", "", false},
		{"sk-é", "sk-é", true},
		{strings.Repeat("k", MaxKeyLength), strings.Repeat("k", MaxKeyLength), true},
		{strings.Repeat("k", MaxKeyLength+1), "", false},
	}
	for _, tt := range tests {
		got, ok := KeyFromHeader(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("KeyFromHeader(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseDigest(t *testing.T) {
	d := Hash("sk-1234")
	for _, in := range []string{d.String(), "sha256:" + d.String()} {
		got, err := ParseDigest(in)
		if err != nil || got != d {
			t.Errorf("ParseDigest(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "abc", d.String()[:63] + "g", "md5:" + d.String()} {
		if _, err := ParseDigest(in); err == nil {
			t.Errorf("ParseDigest(%q) accepted", in)
		}
	}
	// LiteLLM's hash_token("sk-1234"), so config can take LiteLLM's tokens.
	if got := Hash("sk-1234").String(); got != "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b" {
		t.Errorf("Hash(sk-1234) = %s", got)
	}
}

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	master := Hash("sk-master")
	kr, err := NewKeyring(KeySource{}, &master, []Key{
		{Digest: Hash("sk-alice"), Principal: Principal{ID: "alice", Team: "eng", Org: "acme", Groups: []string{"docs"}}},
		{Digest: Hash("sk-old"), Principal: Principal{ID: "old"}, Blocked: true},
		{Digest: Hash("sk-temp"), Principal: Principal{ID: "temp"}, Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestAuthenticate(t *testing.T) {
	kr := testKeyring(t)
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		now    time.Time
		id     string // principal ID on success
		reason string // AuthError reason on failure
	}{
		{"key", map[string]string{"x-litellm-api-key": "sk-alice"}, now, "alice", ""},
		{"bearer key", map[string]string{"x-litellm-api-key": "Bearer sk-alice"}, now, "alice", ""},
		{"master", map[string]string{"x-litellm-api-key": "sk-master"}, now, MasterID, ""},
		{"missing", nil, now, "", ReasonMissing},
		{"blank", map[string]string{"x-litellm-api-key": "  "}, now, "", ReasonMissing},
		{"authorization is not a gateway key", map[string]string{"authorization": "Bearer sk-alice"}, now, "", ReasonMissing},
		{"unknown", map[string]string{"x-litellm-api-key": "sk-mallory"}, now, "", ReasonUnknown},
		{"malformed", map[string]string{"x-litellm-api-key": "sk alice"}, now, "", ReasonMalformed},
		{"blocked", map[string]string{"x-litellm-api-key": "sk-old"}, now, "", ReasonBlocked},
		{"not yet expired", map[string]string{"x-litellm-api-key": "sk-temp"}, now, "temp", ""},
		{"expired", map[string]string{"x-litellm-api-key": "sk-temp"}, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "", ReasonExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := kr.Authenticate(func(n string) string { return tt.header[n] }, tt.now)
			if tt.reason != "" {
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Reason != tt.reason {
					t.Fatalf("got %v, %v; want reason %s", p, err, tt.reason)
				}
				if strings.Contains(err.Error(), "sk-") {
					t.Fatalf("error echoes the key: %v", err)
				}
				return
			}
			if err != nil || p.ID != tt.id {
				t.Fatalf("got %+v, %v; want %s", p, err, tt.id)
			}
		})
	}
}

func TestAuthenticateCustomHeaderAndOpenGateway(t *testing.T) {
	kr, err := NewKeyring(KeySource{Header: "Authorization"}, nil, []Key{{Digest: Hash("sk-a"), Principal: Principal{ID: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := kr.Authenticate(func(n string) string { return map[string]string{"authorization": "Bearer sk-a"}[n] }, time.Now()); err != nil || p.ID != "a" {
		t.Fatalf("got %v %v", p, err)
	}
	_, err = kr.Authenticate(func(string) string { return "" }, time.Now())
	if err == nil || !strings.Contains(err.Error(), "authorization header") {
		t.Fatalf("missing-key error must name the header: %v", err)
	}

	open, _ := NewKeyring(KeySource{}, nil, nil)
	if p, err := open.Authenticate(nil, time.Now()); err != nil || !p.Anonymous || open.Required() {
		t.Fatalf("open gateway: %+v %v", p, err)
	}
}

func TestNewKeyringRejectsDuplicates(t *testing.T) {
	m := Hash("sk-m")
	if _, err := NewKeyring(KeySource{}, &m, []Key{{Digest: Hash("sk-m"), Principal: Principal{ID: "x"}}}); err == nil {
		t.Error("a key equal to the master key was accepted")
	}
	if _, err := NewKeyring(KeySource{}, nil, []Key{{Digest: Hash("k"), Principal: Principal{ID: "a"}}, {Digest: Hash("k"), Principal: Principal{ID: "b"}}}); err == nil {
		t.Error("the same key twice was accepted")
	}
}

// FuzzAuthenticate feeds arbitrary key header values (untrusted input):
// no panic, no key accepted but the configured ones, and only fixed error
// messages (never anything that repeats what was sent).
func FuzzAuthenticate(f *testing.F) {
	for _, s := range []string{"sk-alice", "Bearer sk-alice", "bearer ", "Bearer  Bearer x", "\x00", "sk-master ", strings.Repeat("a", 2000)} {
		f.Add(s)
	}
	master := Hash("sk-master")
	kr, _ := NewKeyring(KeySource{}, &master, []Key{{Digest: Hash("sk-alice"), Principal: Principal{ID: "alice"}}})
	fixed := map[string]bool{}
	for _, r := range []string{ReasonMissing, ReasonMalformed, ReasonUnknown, ReasonBlocked, ReasonExpired} {
		fixed[(&AuthError{Reason: r, Header: DefaultHeader}).Error()] = true
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, err := kr.Authenticate(func(string) string { return v }, time.Now())
		if err != nil {
			if p != nil {
				t.Fatal("principal with error")
			}
			if !fixed[err.Error()] {
				t.Fatalf("error %q is not one of the fixed messages", err)
			}
			return
		}
		key, _ := KeyFromHeader(v)
		if key != "sk-alice" && key != "sk-master" {
			t.Fatalf("accepted %q as %s", v, p.ID)
		}
	})
}

func TestKeySourceFor(t *testing.T) {
	fallback := KeySource{Header: "x-litellm-api-key", AuthorizationFallback: true}
	tests := []struct {
		name    string
		src     KeySource
		headers map[string]string
		want    string
	}{
		{"default", KeySource{}, nil, "x-litellm-api-key"},
		{"no fallback: Authorization is not a key", KeySource{}, map[string]string{"authorization": "Bearer sk-a"}, "x-litellm-api-key"},
		{"fallback", fallback, map[string]string{"authorization": "Bearer sk-a"}, "authorization"},
		{"key header wins", fallback, map[string]string{"x-litellm-api-key": "sk-a", "authorization": "Bearer up"}, "x-litellm-api-key"},
		{"blank key header", fallback, map[string]string{"x-litellm-api-key": " ", "authorization": "Bearer sk-a"}, "authorization"},
		{"neither", fallback, nil, "x-litellm-api-key"},
		{"blank authorization", fallback, map[string]string{"authorization": "\t"}, "x-litellm-api-key"},
		{"custom key header", KeySource{Header: "X-Key", AuthorizationFallback: true}, map[string]string{"authorization": "sk-a"}, "authorization"},
		{"key header is authorization", KeySource{Header: "Authorization", AuthorizationFallback: true}, map[string]string{"authorization": "sk-a"}, "authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.src.For(func(n string) string { return tt.headers[n] }); got != tt.want {
				t.Fatalf("For = %q, want %q", got, tt.want)
			}
		})
	}
}

// With access.key_from_authorization, LiteLLM's fallback: the key may come
// in Authorization when the key header is absent; a refused one is named
// as Authorization's (so the challenge is Bearer).
func TestAuthenticateAuthorizationFallback(t *testing.T) {
	keys := []Key{{Digest: Hash("sk-a"), Principal: Principal{ID: "a"}}}
	on, _ := NewKeyring(KeySource{AuthorizationFallback: true}, nil, keys)
	off, _ := NewKeyring(KeySource{}, nil, keys)
	hdr := func(m map[string]string) func(string) string { return func(n string) string { return m[n] } }
	if p, err := on.Authenticate(hdr(map[string]string{"authorization": "Bearer sk-a"}), time.Now()); err != nil || p.ID != "a" {
		t.Fatalf("fallback: %v %v", p, err)
	}
	if p, err := on.Authenticate(hdr(map[string]string{"x-litellm-api-key": "sk-a", "authorization": "Bearer upstream-token"}), time.Now()); err != nil || p.ID != "a" {
		t.Fatalf("key header first: %v %v", p, err)
	}
	var ae *AuthError
	if _, err := on.Authenticate(hdr(map[string]string{"authorization": "Bearer sk-nope"}), time.Now()); !errors.As(err, &ae) || ae.Reason != ReasonUnknown || ae.Header != "authorization" {
		t.Fatalf("unknown key in Authorization: %v", err)
	}
	if _, err := on.Authenticate(hdr(nil), time.Now()); !errors.As(err, &ae) || ae.Reason != ReasonMissing || ae.Header != "x-litellm-api-key" {
		t.Fatalf("no key: %v", err)
	}
	if _, err := off.Authenticate(hdr(map[string]string{"authorization": "Bearer sk-a"}), time.Now()); !errors.As(err, &ae) || ae.Reason != ReasonMissing {
		t.Fatalf("without the fallback Authorization is no key: %v", err)
	}
	if on.Source() != (KeySource{Header: "x-litellm-api-key", AuthorizationFallback: true}) {
		t.Fatalf("Source = %+v", on.Source())
	}
}
