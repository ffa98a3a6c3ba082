package policy

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mcpgw/mcpgw/identity"
)

// Grants: the first step of the decision (authz.rego). A principal's grant
// on a server says whether it may use the server and which tool rules bind
// it there; the rule reads nothing but input.principal, input.server and
// data, so a grant is computed once per principal, server and policy
// version and kept here. Each question then hands it in as input.grant,
// which leaves a few lookups to evaluate per question.

// GrantQuery is the rule evaluated once per principal and server.
const GrantQuery = "data.mcpgw.authz.grant"

// maxPrincipals bounds a version's principal cache; when full it starts
// over.
const maxPrincipals = 1 << 14

// principalEntry is what a version keeps of a principal: input.principal
// and its grants found so far (server alias → grant, false for none).
type principalEntry struct {
	term *ast.Term

	mu     sync.RWMutex
	grants map[string]*ast.Term
}

type principalCache struct {
	mu sync.RWMutex
	m  map[string]*principalEntry
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
	if c.m == nil || len(c.m) >= maxPrincipals {
		c.m = make(map[string]*principalEntry, 256)
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
	e.mu.Lock()
	e.grants[server] = g
	e.mu.Unlock()
	return g, nil
}

// evalGrant evaluates the grant rule for a principal (input.principal) on
// a server.
func (p *Prepared) evalGrant(ctx context.Context, principal *ast.Term, server string) (*ast.Term, error) {
	in := ast.NewObject(
		ast.Item(fieldTerm("principal"), principal),
		ast.Item(fieldTerm("server"), ast.StringTerm(server)),
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
		ast.Item(fieldTerm("id"), ast.StringTerm(pr.ID)),
		ast.Item(fieldTerm("team"), ast.StringTerm(pr.Team)),
		ast.Item(fieldTerm("org"), ast.StringTerm(pr.Org)),
		ast.Item(fieldTerm("groups"), ast.ArrayTerm(groups...)),
		ast.Item(fieldTerm("admin"), ast.InternedTerm(pr.Admin)),
		ast.Item(fieldTerm("anonymous"), ast.InternedTerm(pr.Anonymous)),
	)
}

// principalKey identifies a principal as input.principal shows it.
func principalKey(pr *identity.Principal) string {
	var b strings.Builder
	b.Grow(len(pr.ID) + len(pr.Team) + len(pr.Org) + 8)
	for _, s := range []string{pr.ID, pr.Team, pr.Org} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, g := range pr.Groups {
		b.WriteString(g)
		b.WriteByte(1)
	}
	b.WriteByte(0)
	b.WriteByte(flag(pr.Admin))
	b.WriteByte(flag(pr.Anonymous))
	return b.String()
}

func flag(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}
