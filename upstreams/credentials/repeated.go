package credentials

import (
	"slices"
	"strings"
)

// A credential header sent twice reaches the gateway as one value: Envoy
// joins a repeated Authorization into "Bearer a,Bearer b", and the
// ext_proc adapter joins other repeated headers with ", ". Which of the
// two a key check, a policy or an upstream would then read is anyone's
// guess, so such a request is refused (as LiteLLM refuses it).

// RepeatedCredential returns the name of a credential header of the
// client request (lower-case names) that carries more than one
// credential, or "" when there is none. The credential headers are
// Authorization, the gateway key header, the legacy client credential
// header and x-mcp-<alias>-authorization. A gateway key never holds a
// comma; an Authorization value is one credential ("scheme token" or
// "scheme param=value, param=value", RFC 9110 §11.6.2), so a comma
// followed by anything but another param starts a second one.
func (r *Rewriter) RepeatedCredential(client map[string]string) string {
	var bad []string
	for name, v := range client {
		switch {
		case name == r.key:
			if strings.Contains(v, ",") || !OneCredential(v) {
				bad = append(bad, name)
			}
		case name == "authorization" || name == r.legacy:
			if !OneCredential(v) {
				bad = append(bad, name)
			}
		case strings.HasPrefix(name, ClientHeaderPrefix):
			if _, h, ok := r.aliases.Parse(name); ok && h == "authorization" && !OneCredential(v) {
				bad = append(bad, name)
			}
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return slices.Min(bad) // the same answer whatever the map order
}

// OneCredential reports whether an Authorization-style header value holds
// at most one credential: every comma outside a quoted string must be
// followed by an auth-param (token "=" ...), never by a new scheme, a
// bare token or nothing.
func OneCredential(v string) bool {
	first := true
	for elem := range listElements(v) {
		if first {
			first = false
			if strings.Trim(elem, " \t") == "" && len(elem) < len(v) {
				return false // ",Bearer a": an empty value joined to another
			}
			continue
		}
		if !startsWithParam(strings.TrimLeft(elem, " \t")) {
			return false
		}
	}
	return true
}

// listElements yields the comma-separated elements of v; commas inside
// quoted strings (with backslash escapes) do not separate.
func listElements(v string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		start, quoted := 0, false
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case c == ',' && !quoted:
				if !yield(v[start:i]) {
					return
				}
				start = i + 1
			}
		}
		yield(v[start:])
	}
}

// startsWithParam reports whether s starts with an auth-param's name and
// "=". The grammar allows spaces before "=" (BWS, which senders must not
// send); they are refused here, or "Bearer =x" would pass for a param.
func startsWithParam(s string) bool {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return i > 0 && i < len(s) && s[i] == '='
}
