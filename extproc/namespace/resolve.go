package namespace

// ResolveName finds the upstream and its own name for a tool or prompt
// name a client sent in scope. Prefixed scopes need "<alias><sep><name>"
// with the alias in scope. A single server's endpoint takes the
// upstream's own name, and also accepts that server's prefix (which is
// then stripped).
func (r *Registry) ResolveName(scope Scope, name string) (alias, upstreamName string, ok bool) {
	a, n, ok := r.Split(name)
	if scope.Single != "" {
		if ok && a == scope.Single {
			return a, n, true
		}
		return scope.Single, name, name != ""
	}
	if !ok || !scope.Has(a) {
		return "", "", false
	}
	return a, n, true
}

// ResolveURI finds the upstream and its own URI for a resource URI a
// client sent in scope, with the same rules as names: prefixed scopes need
// an encoded URI whose alias is in scope; a single server's endpoint takes
// the upstream's own URI, and also accepts that server's encoding (which
// is then decoded).
func (r *Registry) ResolveURI(scope Scope, uri string) (alias, upstreamURI string, ok bool) {
	a, u, ok := r.DecodeURI(uri)
	if scope.Single != "" {
		if ok && a == scope.Single {
			return a, u, true
		}
		return scope.Single, uri, uri != ""
	}
	if !ok || !scope.Has(a) {
		return "", "", false
	}
	return a, u, true
}
