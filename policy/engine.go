package policy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Options configure an Engine.
type Options struct {
	// DecisionLog receives one JSON line per decision; nil discards them.
	DecisionLog io.Writer
	// Now is the clock that decides key expiry; nil means time.Now.
	Now func() time.Time
}

// Engine authenticates requests and answers access questions with the
// current Prepared version. It is safe for concurrent use; Swap replaces
// the version atomically.
type Engine struct {
	cur  atomic.Pointer[Prepared]
	gen  atomic.Uint64
	dlog *slog.Logger
	now  func() time.Time
	// observe, when set, sees every decision Decide makes (metrics).
	observe atomic.Pointer[func(Decision)]
}

// Observe makes f see every decision Decide makes from now on (the
// gateway's metrics count them); f must be quick and must not block.
func (e *Engine) Observe(f func(Decision)) { e.observe.Store(&f) }

// New prepares cfg's policy and returns an engine deciding with it.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Engine, error) {
	p, err := Prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e := &Engine{now: opts.Now, dlog: decisionLogger(opts.DecisionLog)}
	if e.now == nil {
		e.now = time.Now
	}
	e.Swap(p)
	return e, nil
}

// Swap makes p the version every later request decides with; requests in
// flight finish with the one they loaded.
func (e *Engine) Swap(p *Prepared) {
	e.cur.Store(p)
	e.gen.Add(1)
}

// Reload prepares cfg and swaps it in. On error the current version stays.
func (e *Engine) Reload(ctx context.Context, cfg *config.Config) error {
	p, err := Prepare(ctx, cfg)
	if err != nil {
		return err
	}
	e.Swap(p)
	return nil
}

// Current is the version requests decide with now.
func (e *Engine) Current() *Prepared { return e.cur.Load() }

// Generation counts swaps: 1 after New, +1 per reload.
func (e *Engine) Generation() uint64 { return e.gen.Load() }

// KeyHeader is the lower-case header the gateway key is read from. It must
// never be forwarded to an upstream.
func (e *Engine) KeyHeader() string { return e.cur.Load().keys.Header() }

// AuthRequired reports whether requests need a gateway key (any key or a
// master key is configured).
func (e *Engine) AuthRequired() bool { return e.cur.Load().keys.Required() }

// Authenticate finds the request's principal from its headers (header
// reads one by lower-case name). Failures are *identity.AuthError values
// and are written to the decision log.
func (e *Engine) Authenticate(header func(name string) string) (*identity.Principal, error) {
	p, err := e.cur.Load().keys.Authenticate(header, e.now())
	if err != nil {
		var ae *identity.AuthError
		if errors.As(err, &ae) {
			e.dlog.LogAttrs(context.Background(), slog.LevelInfo, "decision", requestIDAttr(header),
				slog.String("principal", ae.KeyID), slog.String("decision", "deny"),
				slog.Int("status", 401), slog.String("reason", "authentication: "+ae.Reason))
		}
	}
	return p, err
}

// AuthenticateToken is Authenticate for the key whose SHA-256
// (lower-case hex, the admin API's token) is token, without a request:
// what the admin UI asks to show a key's effective access. It logs
// nothing (no request was refused).
func (e *Engine) AuthenticateToken(token string) (*identity.Principal, error) {
	d, err := identity.ParseDigest(token)
	if err != nil {
		return nil, &identity.AuthError{Reason: identity.ReasonMalformed}
	}
	return e.cur.Load().keys.AuthenticateDigest(d, e.now())
}

// Decide answers req and writes it to the decision log. It fails closed:
// an evaluation error or an undefined decision denies.
func (e *Engine) Decide(req Request) Decision {
	start := time.Now()
	if len(req.Arguments) > 0 {
		req.parsed = &parsedArgs{}
	}
	p := e.cur.Load()
	d := p.decide(req)
	e.logDecision(p, req, d, time.Since(start))
	if f := e.observe.Load(); f != nil {
		(*f)(d)
	}
	return d
}

// Visible answers req like Decide without logging it: listing asks it for
// every item, then logs once with LogList.
func (e *Engine) Visible(req Request) bool { return e.cur.Load().decide(req).Allow }

// decide answers req from the cache or by evaluating the policy.
func (p *Prepared) decide(req Request) Decision {
	if req.Principal == nil {
		return Decision{Hidden: true, Reason: "no principal", Message: "Access denied"}
	}
	if !p.cacheable {
		return p.evaluate(req)
	}
	k, ok := p.cacheKey(req)
	if !ok {
		return p.evaluate(req)
	}
	if d, hit := p.cache.get(k); hit {
		return d
	}
	d := p.evaluate(req)
	p.cache.put(k, d)
	return d
}

// evaluate runs the prepared queries for req.
func (p *Prepared) evaluate(req Request) Decision {
	ctx := context.Background()
	in, err := p.input(ctx, req)
	var ee *evalError
	if errors.As(err, &ee) {
		return evalFailure(ee.err)
	}
	if err != nil {
		// Arguments that are not an object or over the limits: the
		// question cannot be asked, whatever the policy says.
		return Decision{Invalid: true, Reason: "invalid request: " + err.Error(), Message: "invalid params: " + err.Error()}
	}
	v, err := p.evalTerm(ctx, p.allow, in)
	if err != nil {
		return evalFailure(err)
	}
	if b, ok := v.(ast.Boolean); ok && bool(b) {
		return Decision{Allow: true, Reason: "allowed"}
	}
	// Denied: ask why. Whatever the explanation says, the verdict stands.
	v, err = p.evalTerm(ctx, p.explain, in)
	if err != nil {
		return evalFailure(err)
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return evalFailure(errors.New("the decision is not an object"))
	}
	d := Decision{Hidden: boolField(obj, "hidden"), Reason: stringField(obj, "reason"), Message: stringField(obj, "message")}
	if d.Reason == "" {
		d.Reason = "denied (allow is false; decision gives no reason)"
	}
	if d.Message == "" {
		d.Message = "Access denied"
	}
	return d
}

// evalTerm evaluates a prepared query to its single value, as AST.
func (p *Prepared) evalTerm(ctx context.Context, pq rego.PreparedEvalQuery, in ast.Value) (ast.Value, error) {
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(in),
		// No metrics are read, so none are kept (the default allocates a
		// set per evaluation); the result stays an AST term (asTerm).
		rego.EvalMetrics(noMetrics), rego.EvalGenerateJSON(asTerm),
		// The store is never written (a version's data is fixed), so one
		// read transaction serves every evaluation, and an evaluation is
		// not cancelled: without these each one opens a transaction and
		// starts a goroutine to watch ctx.
		rego.EvalTransaction(p.txn), rego.EvalExternalCancel(p.never))
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errUndefined
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, errors.New("the policy produced no decision")
	}
	t, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return nil, errors.New("the policy produced no decision")
	}
	return t.Value, nil
}

// errUndefined is an evaluation without a result.
var errUndefined = errors.New("the policy produced no decision (undefined)")

var noMetrics = metrics.NoOp()

// asTerm keeps the result as an AST term instead of converting it to Go.
func asTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

func boolField(obj ast.Object, key string) bool {
	if v := obj.Get(ast.InternedTerm(key)); v != nil {
		b, _ := v.Value.(ast.Boolean)
		return bool(b)
	}
	return false
}

func stringField(obj ast.Object, key string) string {
	if v := obj.Get(ast.InternedTerm(key)); v != nil {
		if s, ok := v.Value.(ast.String); ok {
			return string(s)
		}
	}
	return ""
}

// evalError is a failure to evaluate the policy while building the input.
type evalError struct{ err error }

func (e *evalError) Error() string { return e.err.Error() }

func evalFailure(err error) Decision {
	return Decision{
		Reason:  "policy evaluation failed: " + err.Error(),
		Message: "Access denied: the gateway could not evaluate its access policy",
	}
}
