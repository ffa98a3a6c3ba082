package demo

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func connect(t *testing.T, stateless bool) *mcp.ClientSession {
	t.Helper()
	ts := httptest.NewServer(Handler(stateless))
	t.Cleanup(ts.Close)
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: ts.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func TestToolsListed(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		cs := connect(t, stateless)
		if got := cs.ID() == ""; got != stateless {
			t.Errorf("stateless=%v: session id %q", stateless, cs.ID())
		}
		res, err := cs.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"echo": true, "add": true, "word_count": true}
		for _, tool := range res.Tools {
			if !want[tool.Name] {
				t.Errorf("unexpected tool %q", tool.Name)
			}
			delete(want, tool.Name)
			if tool.Description == "" {
				t.Errorf("tool %q has no description", tool.Name)
			}
		}
		if len(want) > 0 {
			t.Errorf("missing tools %v", want)
		}
	}
}

func TestCalls(t *testing.T) {
	cs := connect(t, false)
	tests := []struct {
		tool       string
		args       any
		wantText   string
		wantStruct string // JSON, "" for none
	}{
		{"echo", map[string]any{"text": "hé llo"}, "hé llo", ""},
		{"add", map[string]any{"a": 1.5, "b": -4}, `{"sum":-2.5}`, `{"sum":-2.5}`},
		{"word_count", map[string]any{"text": "one two\nthree  "}, `{"chars":15,"lines":2,"words":3}`, `{"chars":15,"lines":2,"words":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tt.tool, Arguments: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError {
				t.Fatalf("tool error: %+v", res.Content)
			}
			if len(res.Content) != 1 {
				t.Fatalf("content = %d blocks, want 1", len(res.Content))
			}
			text := res.Content[0].(*mcp.TextContent).Text
			if tt.wantStruct != "" {
				text = canonical(t, text)
			}
			if text != tt.wantText {
				t.Errorf("text = %s, want %s", text, tt.wantText)
			}
			if tt.wantStruct == "" {
				if res.StructuredContent != nil {
					t.Errorf("unexpected structured content %v", res.StructuredContent)
				}
				return
			}
			b, _ := json.Marshal(res.StructuredContent)
			if got := canonical(t, string(b)); got != tt.wantStruct {
				t.Errorf("structured = %s, want %s", got, tt.wantStruct)
			}
		})
	}
}

func TestBadInputIsToolError(t *testing.T) {
	cs := connect(t, true)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": "x", "b": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError {
		t.Errorf("IsError = false for a string addend")
	}
}

func TestCountWords(t *testing.T) {
	tests := []struct {
		in   string
		want WordCountOutput
	}{
		{"", WordCountOutput{}},
		{"a", WordCountOutput{Words: 1, Lines: 1, Chars: 1}},
		{"a\n", WordCountOutput{Words: 1, Lines: 1, Chars: 2}},
		{"a b\nc", WordCountOutput{Words: 3, Lines: 2, Chars: 5}},
		{"  \n\n", WordCountOutput{Words: 0, Lines: 2, Chars: 4}},
		{"żółw ist", WordCountOutput{Words: 2, Lines: 1, Chars: 8}},
	}
	for _, tt := range tests {
		if got := countWords(tt.in); got != tt.want {
			t.Errorf("countWords(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// canonical re-encodes a JSON object with sorted keys.
func canonical(t *testing.T, s string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %s", s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
