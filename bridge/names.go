package bridge

import (
	"regexp"
	"strconv"
)

// Tool-name limits of the model APIs: OpenAI function names (Chat
// Completions and Responses) are 1–64 of [A-Za-z0-9_-]; Anthropic tool
// names 1–128. MCP names may also hold "." and be 128 long.
const (
	openAINameMax    = 64
	anthropicNameMax = 128
)

var invalidNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// nameMap renames the tools whose MCP names a model API refuses, and maps
// the model's names back. Names the API takes pass unchanged and are in
// neither map (LiteLLM's per-request Anthropic tool-name maps, applied to
// every format).
type nameMap struct {
	toModel map[string]string // MCP name → model name, renamed tools only
	toMCP   map[string]string // model name → MCP name, renamed tools only
}

func validName(name string, maxLen int) bool {
	return name != "" && len(name) <= maxLen && !invalidNameChars.MatchString(name)
}

// sanitizeName replaces each character outside [A-Za-z0-9_-] with "_" and
// cuts the result to maxLen.
func sanitizeName(name string, maxLen int) string {
	s := invalidNameChars.ReplaceAllString(name, "_")
	if s == "" {
		s = "_"
	}
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	return s
}

// newNameMap builds the maps for names, in order. Valid names are reserved
// first, so they never change; a sanitised name that clashes gets "_2",
// "_3", … (the head cut to keep within maxLen).
func newNameMap(names []string, maxLen int) nameMap {
	m := nameMap{toModel: map[string]string{}, toMCP: map[string]string{}}
	used := map[string]bool{}
	for _, n := range names {
		if validName(n, maxLen) {
			used[n] = true
		}
	}
	for _, n := range names {
		if validName(n, maxLen) {
			continue
		}
		if _, done := m.toModel[n]; done {
			continue
		}
		candidate := sanitizeName(n, maxLen)
		unique := candidate
		for i := 2; used[unique]; i++ {
			suffix := "_" + strconv.Itoa(i)
			head := candidate
			if len(head) > maxLen-len(suffix) {
				head = head[:maxLen-len(suffix)]
			}
			unique = head + suffix
		}
		used[unique] = true
		m.toModel[n] = unique
		m.toMCP[unique] = n
	}
	return m
}

// model is the name the model sees for an MCP tool.
func (m nameMap) model(mcpName string) string {
	if n, ok := m.toModel[mcpName]; ok {
		return n
	}
	return mcpName
}

// mcp is the MCP tool name for a name the model called; a name we did not
// rename passes unchanged (the server answers for names it does not know).
func (m nameMap) mcp(modelName string) string {
	if n, ok := m.toMCP[modelName]; ok {
		return n
	}
	return modelName
}
