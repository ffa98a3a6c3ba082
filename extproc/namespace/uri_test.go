package namespace

import (
	"net/url"
	"strings"
	"testing"

	"github.com/yosida95/uritemplate/v3"
)

func uriRegistry(t testing.TB) *Registry {
	t.Helper()
	reg, err := NewRegistry([]string{"ev", "fs", "my-server", "Wiki", "dup", "DUP"}, "-")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestEncodeURI(t *testing.T) {
	reg := uriRegistry(t)
	for _, tt := range []struct{ alias, uri, want string }{
		{"ev", "test://static-text", "mcpgw://ev/test://static-text"},
		{"fs", "file:///home/me/a%20b.txt", "mcpgw://fs/file:///home/me/a%20b.txt"},
		{"ev", "https://example.com/x?q=1#frag", "mcpgw://ev/https://example.com/x?q=1#frag"},
		{"ev", "urn:isbn:0451450523", "mcpgw://ev/urn:isbn:0451450523"},
		{"ev", "test://template/{id}/data", "mcpgw://ev/test://template/{id}/data"},
		{"ev", "mcpgw://inner/test://x", "mcpgw://ev/mcpgw://inner/test://x"}, // nested gateways
	} {
		if got := reg.EncodeURI(tt.alias, tt.uri); got != tt.want {
			t.Errorf("EncodeURI(%q, %q) = %q, want %q", tt.alias, tt.uri, got, tt.want)
		}
	}
}

func TestDecodeURI(t *testing.T) {
	reg := uriRegistry(t)
	for _, tt := range []struct {
		in, alias, uri string
		ok             bool
	}{
		{"mcpgw://ev/test://static-text", "ev", "test://static-text", true},
		{"mcpgw://my-server/file:///a/../b", "my-server", "file:///a/../b", true},
		{"mcpgw://ev/mcpgw://inner/test://x", "ev", "mcpgw://inner/test://x", true}, // one level only
		{"MCPGW://ev/test://x", "ev", "test://x", true},                             // scheme is case-insensitive
		{"mcpgw://wiki/page://home", "Wiki", "page://home", true},                   // a lowercasing normaliser
		{"mcpgw://Wiki/page://home", "Wiki", "page://home", true},
		{"mcpgw://dup/x://y", "dup", "x://y", true}, // exact match first
		{"mcpgw://Dup/x://y", "", "", false},        // ambiguous without case
		{"mcpgw://nope/test://x", "", "", false},
		{"mcpgw://ev/", "", "", false},
		{"mcpgw://ev", "", "", false},
		{"mcpgw:///test://x", "", "", false},
		{"mcpgw:ev/test://x", "", "", false},
		{"test://static-text", "", "", false},
		{"", "", "", false},
	} {
		alias, uri, ok := reg.DecodeURI(tt.in)
		if alias != tt.alias || uri != tt.uri || ok != tt.ok {
			t.Errorf("DecodeURI(%q) = %q, %q, %v; want %q, %q, %v", tt.in, alias, uri, ok, tt.alias, tt.uri, tt.ok)
		}
	}
}

// TestEncodedTemplatesExpand checks that an encoded URI template expands
// (RFC 6570, the library go-sdk uses) to the encoding of what the
// upstream's template expands to, so decoding gives the upstream exactly
// the URI it would have got from a direct client.
func TestEncodedTemplatesExpand(t *testing.T) {
	reg := uriRegistry(t)
	vals := uritemplate.Values{}
	vals.Set("id", uritemplate.String("a b/c?d"))
	vals.Set("path", uritemplate.String("dir/file.txt"))
	vals.Set("q", uritemplate.List("x", "y"))
	for _, tmpl := range []string{
		"test://template/{id}/data",
		"file:///{+path}",
		"https://api.example.com/search{?q,id}",
		"{+path}",
		"res://x{/id}{#path}",
	} {
		direct, err := uritemplate.New(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		want, err := direct.Expand(vals)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := uritemplate.New(reg.EncodeURI("ev", tmpl))
		if err != nil {
			t.Fatalf("encoded template %q does not parse: %v", tmpl, err)
		}
		got, err := enc.Expand(vals)
		if err != nil {
			t.Fatal(err)
		}
		alias, uri, ok := reg.DecodeURI(got)
		if !ok || alias != "ev" || uri != want {
			t.Errorf("template %q: encoded expansion %q decodes to %q, %q, %v; want %q", tmpl, got, alias, uri, ok, want)
		}
		if u, err := url.Parse(got); err != nil || u.Scheme != URIScheme || u.Host != "ev" {
			t.Errorf("expansion %q is not an mcpgw URI: %v", got, err)
		}
	}
}

func FuzzURI(f *testing.F) {
	for _, s := range []string{"test://x", "file:///a/../b", "mcpgw://ev/x://y", "urn:a:b", "x?y#z", "{+p}"} {
		f.Add("ev", s)
	}
	reg := uriRegistry(f)
	f.Fuzz(func(t *testing.T, alias, uri string) {
		// Decoding untrusted input: a hit is always a configured alias and
		// re-encodes to the input, up to the case of scheme and alias.
		if a, u, ok := reg.DecodeURI(alias + uri); ok {
			if !reg.Has(a) || u == "" || !strings.EqualFold(reg.EncodeURI(a, u), alias+uri) {
				t.Fatalf("DecodeURI(%q) = %q, %q", alias+uri, a, u)
			}
		}
		if !reg.Has(alias) || uri == "" {
			return
		}
		// Round trip for every upstream URI.
		enc := reg.EncodeURI(alias, uri)
		a, u, ok := reg.DecodeURI(enc)
		if !ok || a != alias || u != uri {
			t.Fatalf("DecodeURI(EncodeURI(%q, %q)) = %q, %q, %v", alias, uri, a, u, ok)
		}
		// A URI of RFC 3986 characters with a scheme gives one whose host
		// is the alias and whose path, query and fragment spell the URI.
		if absoluteURIChars(uri) {
			p, err := url.Parse(enc)
			if err != nil || p.Scheme != URIScheme || p.Host != alias || p.User != nil {
				t.Fatalf("EncodeURI(%q, %q) = %q parses as %+v, %v", alias, uri, enc, p, err)
			}
			back := strings.TrimPrefix(p.EscapedPath(), "/")
			if p.ForceQuery || p.RawQuery != "" {
				back += "?" + p.RawQuery
			}
			if strings.Contains(uri, "#") {
				back += "#" + p.EscapedFragment()
			}
			if back != uri {
				t.Fatalf("EncodeURI(%q, %q) = %q: path, query and fragment give %q", alias, uri, enc, back)
			}
		}
	})
}

// absoluteURIChars reports whether s has an RFC 3986 scheme and otherwise
// only characters a URI may hold (unreserved, reserved other than the
// IP-literal brackets, valid percent-encodings), with at most one "#".
func absoluteURIChars(s string) bool {
	i := strings.IndexByte(s, ':')
	if i < 1 || strings.Count(s, "#") > 1 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-._~:/?#@!$&'()*+,;=", c) >= 0:
		case c == '%' && j+2 < len(s) && ishex(s[j+1]) && ishex(s[j+2]):
			j += 2
		default:
			return false
		}
	}
	return true
}

func ishex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
