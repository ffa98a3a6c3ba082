package aggregate

import (
	"encoding/binary"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
)

// maxToolLists bounds the filtered lists kept; when full the cache starts
// over (callers are few next to the tools each list holds).
const maxToolLists = 256

// toolLists keeps the tool lists callers were shown, filtered by the
// policy, so the pages of one list, and the next lists of the same
// caller, do not ask the policy about every tool again. An entry holds
// for one policy version and what the policy reads of the caller
// (policy.Engine.ListKey), one scope, one server set and one catalog
// version: a reload, a store write, a server change or a tools change
// makes it stale.
type toolLists struct {
	mu sync.Mutex
	m  map[string]*toolList
}

// toolList is one caller's filtered list. Its tools are shared: never
// modify them.
type toolList struct {
	set     *servers
	catalog uint64
	tools   []*mcp.Tool
	hidden  int

	mu    sync.Mutex
	pages map[int][]byte // first tool's offset → the page's result, encoded (toolspage.go)
}

func (c *toolLists) get(key string, set *servers, catalog uint64) (*toolList, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[key]
	if !ok || l.set != set || l.catalog != catalog {
		return nil, false
	}
	return l, true
}

func (c *toolLists) put(key string, l *toolList) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxToolLists {
		c.m = make(map[string]*toolList)
	}
	c.m[key] = l
}

// scopeKey adds the scope to a policy list key: the servers a list draws
// from, and whether names are prefixed.
func scopeKey(key string, sc namespace.Scope) string {
	b := []byte(key)
	b = binary.AppendUvarint(b, uint64(len(sc.Single)))
	b = append(b, sc.Single...)
	b = binary.AppendUvarint(b, uint64(len(sc.Servers)))
	for _, s := range sc.Servers {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(b)
}
