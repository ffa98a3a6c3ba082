package bridge

import (
	"strings"
	"testing"
)

func TestNameMap(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, c := range []struct {
		name  string
		in    []string
		max   int
		model []string // what the model sees, in order
	}{
		{"valid names unchanged", []string{"wiki-search", "get_ticket", "A-1"}, openAINameMax, []string{"wiki-search", "get_ticket", "A-1"}},
		{"dots and slashes", []string{"fs.read", "actions/download-logs"}, openAINameMax, []string{"fs_read", "actions_download-logs"}},
		{"non-ASCII: one _ per character", []string{"café"}, openAINameMax, []string{"caf_"}},
		{"a valid name keeps its slot, the renamed one moves", []string{"a.b", "a_b"}, openAINameMax, []string{"a_b_2", "a_b"}},
		{"two renamed names clash", []string{"a.b", "a/b", "a:b"}, openAINameMax, []string{"a_b", "a_b_2", "a_b_3"}},
		{"too long for OpenAI, cut to 64", []string{long}, openAINameMax, []string{long[:64]}},
		{"too long, cut, clashing: suffix within 64", []string{long, long + "b"}, openAINameMax, []string{long[:64], long[:62] + "_2"}},
		{"long names fit Anthropic's 128", []string{long}, anthropicNameMax, []string{long}},
		{"empty name", []string{""}, openAINameMax, []string{"_"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newNameMap(c.in, c.max)
			for i, n := range c.in {
				got := m.model(n)
				if got != c.model[i] {
					t.Errorf("model(%q) = %q, want %q", n, got, c.model[i])
				}
				if !validName(got, c.max) {
					t.Errorf("model(%q) = %q is not a valid name", n, got)
				}
				if back := m.mcp(got); back != n {
					t.Errorf("mcp(%q) = %q, want %q", got, back, n)
				}
			}
		})
	}
	// A name the model makes up passes unchanged (the server answers
	// "Unknown tool").
	if got := newNameMap([]string{"a.b"}, openAINameMax).mcp("nosuch"); got != "nosuch" {
		t.Errorf("unknown name mapped to %q", got)
	}
}
