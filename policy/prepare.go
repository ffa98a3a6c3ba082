package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Queries the gateway evaluates: AllowQuery for every question, and
// ExplainQuery to explain a denial (its reason and message). ExplainQuery
// is decision's refusal part: allow is already known to be false, so it
// is not evaluated twice. (data.mcpgw.authz.decision is the whole answer
// in one value, for policy authors' opa eval and the Rego tests.)
const (
	AllowQuery   = "data.mcpgw.authz.allow"
	ExplainQuery = "data.mcpgw.authz.first_denial"
)

// Prepared is everything one config and policy version decides with: the
// key index and the compiled, prepared Rego query over its data. It is
// immutable; Engine swaps whole Prepared values.
type Prepared struct {
	keys      *identity.Keyring
	allow     rego.PreparedEvalQuery
	explain   rego.PreparedEvalQuery
	grants    rego.PreparedEvalQuery // once per principal and server (grants.go)
	txn       storage.Transaction    // a read transaction every evaluation shares
	never     topdown.Cancel         // never cancelled (evaluations are not)
	sep       string
	headers   []string
	servers   int
	argValues bool
	policyDir string
	custom    int            // modules from policyDir (custom rules)
	cfg       *config.Config // what this version was built from
	print     [32]byte       // Fingerprint of its policy files

	use        inputUse // input fields the policy reads
	cacheable  bool     // decisions and grants may be reused (see cache.go)
	cache      decisionCache
	principals principalCache
}

// denied builtins: a policy must not reach the network or the runtime, and
// an evaluation must not wait on anything.
var deniedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "trace"}

// Prepare compiles the shipped policy and access.policy_dir's files over
// the data document built from cfg and prepares the decision query. The
// error lists every problem with its file and line.
func Prepare(ctx context.Context, cfg *config.Config) (*Prepared, error) {
	keys, err := keyring(cfg)
	if err != nil {
		return nil, err
	}
	// Taken before the files are read: an edit racing with this load is
	// seen as a change by a watcher comparing Fingerprints.
	files := Fingerprint(cfg.Access.PolicyDir)
	mods, err := modules(cfg.Access.PolicyDir)
	if err != nil {
		return nil, err
	}
	data, err := dataDocument(cfg)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromASTObject(data)
	allow, err := prepareQuery(ctx, AllowQuery, store, mods)
	if err != nil {
		return nil, err
	}
	explain, err := prepareQuery(ctx, ExplainQuery, store, mods)
	if err != nil {
		return nil, err
	}
	grants, err := prepareQuery(ctx, GrantQuery, store, mods)
	if err != nil {
		return nil, err
	}
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy: open the data store: %w", err)
	}
	use, cacheable := analyze(mods)
	return &Prepared{
		use:       use,
		cacheable: cacheable,
		keys:      keys,
		allow:     allow,
		explain:   explain,
		grants:    grants,
		txn:       txn,
		never:     topdown.NewCancel(),
		sep:       cfg.General.MCPToolPrefixSeparator,
		headers:   slices.Clone(cfg.Access.InputHeaders),
		servers:   len(cfg.Servers),
		argValues: cfg.Access.DecisionLog.ArgumentValues,
		policyDir: cfg.Access.PolicyDir,
		custom:    len(mods) - shippedModules,
		cfg:       cfg,
		print:     files,
	}, nil
}

func prepareQuery(ctx context.Context, query string, store storage.Store, mods []*ast.Module) (rego.PreparedEvalQuery, error) {
	opts := []func(*rego.Rego){
		rego.Query(query),
		rego.Store(store),
		rego.Capabilities(capabilities()),
		rego.SetRegoVersion(ast.RegoV1),
		// A builtin that fails (a bad regex, a type error) fails the
		// evaluation, which denies: never undefined, which could allow.
		rego.StrictBuiltinErrors(true),
	}
	for _, m := range mods {
		opts = append(opts, rego.ParsedModule(m))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return pq, compileProblems(err, query)
	}
	return pq, nil
}

func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	c.Builtins = slices.DeleteFunc(slices.Clone(c.Builtins), func(b *ast.Builtin) bool {
		return slices.Contains(deniedBuiltins, b.Name)
	})
	return c
}

func compileProblems(err error, query string) error {
	var errs ast.Errors
	if errors.As(err, &errs) {
		return problemsOf(errs, "policy")
	}
	return fmt.Errorf("policy: prepare %s: %w", query, err)
}

// Keys is the key index of this version.
func (p *Prepared) Keys() *identity.Keyring { return p.keys }

// PolicyDir is the access.policy_dir this version was loaded from.
func (p *Prepared) PolicyDir() string { return p.policyDir }

// Config is the config this version was built from.
func (p *Prepared) Config() *config.Config { return p.cfg }

// Fingerprint is the Fingerprint of PolicyDir's files, taken before this
// version read them: a watcher reloads when Fingerprint(PolicyDir())
// differs from it.
func (p *Prepared) Fingerprint() [sha256.Size]byte { return p.print }
