package namespace

import "strings"

// URIScheme is the scheme of the resource URIs clients see on prefixed
// scopes (/mcp, /mcp/<servers>).
const URIScheme = "mcpgw"

const uriPrefix = URIScheme + "://"

// EncodeURI returns the URI clients see on prefixed scopes for an
// upstream's resource URI or URI template:
//
//	mcpgw://<alias>/<uri as the upstream wrote it>
//
// The alias is the authority (aliases are [A-Za-z0-9_-], so a valid RFC
// 3986 reg-name) and the upstream's URI follows the first "/" byte for
// byte, so:
//
//   - the result is a valid URI whenever the upstream's is: everything
//     legal in an absolute URI ("test://x/y?q#f") is legal in a path that
//     follows an authority, plus query and fragment;
//   - a URI template stays a template that expands to the encoding of what
//     the upstream's template expands to, because RFC 6570 copies literals
//     unchanged and the prefix has no expressions;
//   - dot-segment removal or empty-segment handling by a normalising
//     client can change only the upstream's part, never the alias.
//
// Encoded URIs nest: an upstream that is itself an mcpgw keeps its own
// prefix inside ours.
func (r *Registry) EncodeURI(alias, uri string) string { return uriPrefix + alias + "/" + uri }

// DecodeURI reverses EncodeURI: it returns the alias and the upstream's
// URI. ok is false when s is not mcpgw://<configured alias>/<non-empty
// rest>. The scheme is matched case-insensitively (RFC 3986 §3.1); the
// alias exactly, or else case-insensitively when that names exactly one
// configured alias (RFC 3986 lets normalisers lowercase the host).
func (r *Registry) DecodeURI(s string) (alias, uri string, ok bool) {
	if len(s) <= len(uriPrefix) || !strings.EqualFold(s[:len(uriPrefix)], uriPrefix) {
		return "", "", false
	}
	rest := s[len(uriPrefix):]
	i := strings.IndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	alias, uri = rest[:i], rest[i+1:]
	if r.Has(alias) {
		return alias, uri, true
	}
	match := ""
	for _, a := range r.ordered {
		if strings.EqualFold(a, alias) {
			if match != "" {
				return "", "", false // ambiguous
			}
			match = a
		}
	}
	if match == "" {
		return "", "", false
	}
	return match, uri, true
}
