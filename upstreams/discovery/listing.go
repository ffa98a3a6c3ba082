package discovery

import (
	"context"
	"fmt"
	"iter"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Listing is what one upstream offers, as discovery last listed it. A
// published Listing is never modified; a change publishes a new one.
type Listing struct {
	// Capabilities are what the upstream advertised when its current
	// session was opened.
	Capabilities *mcp.ServerCapabilities `json:"capabilities,omitempty"`
	// Tools, Prompts, Resources and ResourceTemplates are every page of
	// the upstream's lists, in its order. They are empty (not nil) for a
	// list the upstream does not offer.
	Tools             []*mcp.Tool             `json:"tools"`
	Prompts           []*mcp.Prompt           `json:"prompts"`
	Resources         []*mcp.Resource         `json:"resources"`
	ResourceTemplates []*mcp.ResourceTemplate `json:"resourceTemplates"`
}

// listKind is a set of lists (a bit each).
type listKind uint32

const (
	kindTools listKind = 1 << iota
	kindPrompts
	kindResources // resources and resource templates: one list_changed covers both
	allKinds      = kindTools | kindPrompts | kindResources
)

// advertised is the lists caps say the upstream offers. Tools are always
// listed: a go-sdk server that had no tools when it was initialized
// advertises none, yet announces tools it adds later.
func advertised(caps *mcp.ServerCapabilities) listKind {
	k := kindTools
	if caps != nil && caps.Prompts != nil {
		k |= kindPrompts
	}
	if caps != nil && caps.Resources != nil {
		k |= kindResources
	}
	return k
}

// maxItems bounds each list of one upstream, so a server whose cursors
// never end cannot keep discovery paging forever.
const maxItems = 10_000

// collect reads every page of one list.
func collect[T any](seq iter.Seq2[T, error], what string) ([]T, error) {
	out := []T{}
	for item, err := range seq {
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if len(out) == maxItems {
			return nil, fmt.Errorf("list %s: more than %d", what, maxItems)
		}
		out = append(out, item)
	}
	return out, nil
}

// fetch lists the kinds asked for on cs and returns prev with those lists
// replaced. Tools failing is an error (the upstream is unusable), unless
// the upstream advertised no tools; any other list failing keeps its
// previous contents and is reported in errs, so a broken prompts/list
// never hides working tools.
func fetch(ctx context.Context, cs *mcp.ClientSession, prev *Listing, kinds listKind) (next *Listing, errs []error, err error) {
	next = &Listing{Tools: []*mcp.Tool{}, Prompts: []*mcp.Prompt{}, Resources: []*mcp.Resource{}, ResourceTemplates: []*mcp.ResourceTemplate{}}
	if prev != nil {
		*next = *prev
	}
	if ir := cs.InitializeResult(); ir != nil {
		next.Capabilities = ir.Capabilities
	}
	if kinds&kindTools != 0 {
		tools, err := collect(cs.Tools(ctx, nil), "tools")
		switch {
		case err == nil:
			next.Tools = tools
		case next.Capabilities == nil || next.Capabilities.Tools == nil:
			next.Tools = []*mcp.Tool{}
		default:
			return nil, nil, err
		}
	}
	if kinds&kindPrompts != 0 {
		if prompts, err := collect(cs.Prompts(ctx, nil), "prompts"); err != nil {
			errs = append(errs, err)
		} else {
			next.Prompts = prompts
		}
	}
	if kinds&kindResources != 0 {
		if res, err := collect(cs.Resources(ctx, nil), "resources"); err != nil {
			errs = append(errs, err)
		} else {
			next.Resources = res
		}
		if tmpl, err := collect(cs.ResourceTemplates(ctx, nil), "resource templates"); err != nil {
			errs = append(errs, err)
		} else {
			next.ResourceTemplates = tmpl
		}
	}
	return next, errs, nil
}
