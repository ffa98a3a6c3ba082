package policy

import (
	"cmp"
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mcpgw/mcpgw/policy/identity"
)

// Grants: the first step of the decision (authz.rego). A principal's grant
// on a server says whether it may use the server and which tool rules bind
// it there; the rule reads nothing but input.principal, input.server and
// data, so a grant is computed once per principal, server and policy
// version and kept here. Each question then hands it in as input.grant,
// which leaves a few lookups to evaluate per question.

// GrantQuery is the rule evaluated once per principal and server.
const GrantQuery = "data.mcpgw.authz.grant"

// Bounds of a version's principal cache: principals, and grants over all
// of them (a principal asking about every server of a large gateway keeps
// one grant per server). When either is reached the cache starts over.
const (
	maxPrincipals = 1 << 14
	maxGrants     = 1 << 20
)

// principalEntry is what a version keeps of a principal: input.principal
// and its grants found so far (server alias → grant, false for none).
type principalEntry struct {
	term *ast.Term

	mu     sync.RWMutex
	grants map[string]*ast.Term
}

type principalCache struct {
	// bounds; zero means maxPrincipals and maxGrants (tests set less)
	maxPrincipals, maxGrants int

	mu     sync.RWMutex
	m      map[string]*principalEntry
	grants atomic.Int64 // kept in the entries of m

	// Distinct grants, by server and value: principals with the same
	// rules on a server (most of them) share one grant.
	internMu sync.Mutex
	interned map[string]*ast.Term
}

// entry returns pr's entry, adding it when missing.
func (c *principalCache) entry(pr *identity.Principal) *principalEntry {
	k := principalKey(pr)
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return e
	}
	e = &principalEntry{term: principalTerm(pr), grants: map[string]*ast.Term{}}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= cmp.Or(c.maxPrincipals, maxPrincipals) || c.grants.Load() >= int64(cmp.Or(c.maxGrants, maxGrants)) {
		c.m = make(map[string]*principalEntry, 256)
		c.grants.Store(0)
		c.internMu.Lock()
		c.interned = nil
		c.internMu.Unlock()
	}
	if prev, ok := c.m[k]; ok {
		e = prev
	} else {
		c.m[k] = e
	}
	c.mu.Unlock()
	return e
}

// grant returns the principal's grant on server (false for none).
func (p *Prepared) grant(ctx context.Context, e *principalEntry, server string) (*ast.Term, error) {
	e.mu.RLock()
	g, ok := e.grants[server]
	e.mu.RUnlock()
	if ok {
		return g, nil
	}
	g, err := p.evalGrant(ctx, e.term, server)
	if err != nil {
		return nil, err
	}
	g = p.principals.intern(server, g)
	e.mu.Lock()
	if _, dup := e.grants[server]; !dup {
		e.grants[server] = g
		p.principals.grants.Add(1)
	}
	e.mu.Unlock()
	return g, nil
}

// intern returns the grant on server equal to g that is kept already, or
// keeps g.
func (c *principalCache) intern(server string, g *ast.Term) *ast.Term {
	if _, ok := g.Value.(ast.Object); !ok {
		return g // false
	}
	k := server + "\x00" + g.String()
	c.internMu.Lock()
	defer c.internMu.Unlock()
	if kept, ok := c.interned[k]; ok {
		return kept
	}
	if c.interned == nil {
		c.interned = make(map[string]*ast.Term, 64)
	}
	c.interned[k] = g
	return g
}

// evalGrant evaluates the grant rule for a principal (input.principal) on
// a server.
func (p *Prepared) evalGrant(ctx context.Context, principal *ast.Term, server string) (*ast.Term, error) {
	in := ast.NewObject(
		ast.Item(commonTerm("principal"), principal),
		ast.Item(commonTerm("server"), ast.StringTerm(server)),
	)
	v, err := p.evalTerm(ctx, p.grants, in)
	if errors.Is(err, errUndefined) {
		return ast.InternedTerm(false), nil
	}
	if err != nil {
		return nil, err
	}
	if _, ok := v.(ast.Object); !ok {
		return nil, errors.New("grant is not an object")
	}
	return ast.NewTerm(v), nil
}

// principalTerm is input.principal.
func principalTerm(pr *identity.Principal) *ast.Term {
	groups := make([]*ast.Term, len(pr.Groups))
	for i, g := range pr.Groups {
		groups[i] = ast.StringTerm(g)
	}
	return ast.ObjectTerm(
		ast.Item(commonTerm("id"), ast.StringTerm(pr.ID)),
		ast.Item(commonTerm("team"), ast.StringTerm(pr.Team)),
		ast.Item(commonTerm("org"), ast.StringTerm(pr.Org)),
		ast.Item(commonTerm("groups"), ast.ArrayTerm(groups...)),
		ast.Item(commonTerm("admin"), ast.InternedTerm(pr.Admin)),
		ast.Item(commonTerm("anonymous"), ast.InternedTerm(pr.Anonymous)),
	)
}

// principalKey identifies a principal as input.principal shows it.
func principalKey(pr *identity.Principal) string {
	k := keyBuilder{b: make([]byte, 0, len(pr.ID)+len(pr.Team)+len(pr.Org)+16)}
	k.principal(pr)
	return string(k.b)
}
