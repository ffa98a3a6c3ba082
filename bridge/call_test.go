package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// argumentCases: LiteLLM's _get_function_arguments, case by case (raw is
// what the model API sent as arguments).
var argumentCases = []struct {
	name, raw, want string
}{
	{"JSON string holding an object", `"{\"q\":\"x\",\"n\":1}"`, `{"n":1,"q":"x"}`},
	{"an object", `{"q":"x"}`, `{"q":"x"}`},
	{"missing", ``, `{}`},
	{"null", `null`, `{}`},
	{"empty string", `""`, `{}`},
	{"string that is not JSON", `"{q: x}"`, `{}`},
	{"string holding an array", `"[1,2]"`, `{}`},
	{"string holding null", `"null"`, `{}`},
	{"string holding a string holding an object", `"\"{}\""`, `{}`},
	{"a number", `5`, `{}`},
	{"an array", `[{"q":1}]`, `{}`},
	{"trailing data", `"{\"q\":1} x"`, `{}`},
	{"whitespace around", `" {\"q\":1} "`, `{"q":1}`},
	{"a member twice: the last wins", `"{\"q\":1,\"q\":2}"`, `{"q":2}`},
	{"numbers keep their digits", `"{\"id\":12345678901234567890,\"f\":1.50}"`, `{"f":1.50,"id":12345678901234567890}`},
	{"not JSON at all", `{q`, `{}`},
}

func TestArguments(t *testing.T) {
	for _, c := range argumentCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(Arguments(json.RawMessage(c.raw)))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("Arguments(%s) = %s, want %s", c.raw, got, c.want)
			}
		})
	}
}

func FuzzArguments(f *testing.F) {
	for _, s := range []string{`"{\"a\":1}"`, `{"a":[1,{"b":null}]}`, `null`, `"x"`, `1e999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		args := Arguments(json.RawMessage(raw))
		if args == nil {
			t.Fatal("nil arguments")
		}
		if _, err := json.Marshal(args); err != nil {
			t.Fatalf("arguments do not marshal: %v", err)
		}
	})
}

// connect serves srv in memory and returns a client session on it.
func connect(t testing.TB, srv *mcp.Server) *mcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

// recordingServer has tools that answer with the arguments they got;
// "fail" answers with an error result, "deny" with a JSON-RPC error as a
// gateway's policy does.
func recordingServer() *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "s", Version: "1"}, nil)
	echo := func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: req.Params.Name + " " + string(req.Params.Arguments)}}}, nil
	}
	for _, name := range []string{"fs.read", "search"} {
		srv.AddTool(&mcp.Tool{Name: name, InputSchema: json.RawMessage(`{"type":"object"}`)}, echo)
	}
	srv.AddTool(&mcp.Tool{Name: "fail", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "disk full"}}}, nil
		})
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && method == "tools/call" && p.Name == "deny" {
				return nil, &jsonrpc.Error{Code: -32043, Message: "Parameters ['limit'] are not allowed for tool deny. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."}
			}
			return next(ctx, method, req)
		}
	})
	return srv
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	ts, err := List(ctx, connect(t, recordingServer()), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("chat completions: renamed tool called by its MCP name, string arguments decoded", func(t *testing.T) {
		var name string
		for _, tool := range ts.ChatCompletionsTools() {
			if strings.HasPrefix(tool.Function.Name, "fs") {
				name = tool.Function.Name
			}
		}
		if name != "fs_read" {
			t.Fatalf("fs.read offered as %q", name)
		}
		msg, err := ts.RunChatCompletions(ctx, ChatCompletionsToolCall{ID: "call_1", Type: "function",
			Function: ChatCompletionsFunctionCall{Name: name, Arguments: json.RawMessage(`"{\"path\":\"/a\"}"`)}})
		if err != nil {
			t.Fatal(err)
		}
		want := ChatCompletionsToolMessage{Role: "tool", ToolCallID: "call_1", Content: `fs.read {"path":"/a"}`}
		if msg != want {
			t.Fatalf("got %+v, want %+v", msg, want)
		}
	})

	t.Run("chat completions: bad arguments become {}", func(t *testing.T) {
		msg, err := ts.RunChatCompletions(ctx, ChatCompletionsToolCall{ID: "c", Function: ChatCompletionsFunctionCall{Name: "search", Arguments: json.RawMessage(`"{oops"`)}})
		if err != nil || msg.Content != "search {}" {
			t.Fatalf("got %+v, %v", msg, err)
		}
	})

	t.Run("responses", func(t *testing.T) {
		out, err := ts.RunResponses(ctx, ResponsesFunctionCall{Type: "function_call", CallID: "fc_1", Name: "search", Arguments: json.RawMessage(`"{\"q\":1}"`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Type != "function_call_output" || out.CallID != "fc_1" || out.Output != `search {"q":1}` {
			t.Fatalf("got %+v", out)
		}
	})

	t.Run("anthropic: input object", func(t *testing.T) {
		out, err := ts.RunAnthropic(ctx, AnthropicToolUse{Type: "tool_use", ID: "toolu_1", Name: "fs_read", Input: json.RawMessage(`{"path":"/b"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Type != "tool_result" || out.ToolUseID != "toolu_1" || out.IsError || out.Content != `fs.read {"path":"/b"}` {
			t.Fatalf("got %+v", out)
		}
	})

	t.Run("an error result stays an error", func(t *testing.T) {
		msg, err := ts.RunChatCompletions(ctx, ChatCompletionsToolCall{ID: "c", Function: ChatCompletionsFunctionCall{Name: "fail"}})
		if err != nil || msg.Content != "Error: disk full" {
			t.Fatalf("chat: %+v, %v", msg, err)
		}
		res, err := ts.RunAnthropic(ctx, AnthropicToolUse{ID: "t", Name: "fail"})
		if err != nil || !res.IsError || res.Content != "disk full" {
			t.Fatalf("anthropic: %+v, %v", res, err)
		}
	})

	t.Run("a JSON-RPC error is the model's: an error result with LiteLLM's wording", func(t *testing.T) {
		const want = "Error: Parameters ['limit'] are not allowed for tool deny. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."
		msg, err := ts.RunChatCompletions(ctx, ChatCompletionsToolCall{ID: "c", Function: ChatCompletionsFunctionCall{Name: "deny", Arguments: json.RawMessage(`"{\"limit\":1}"`)}})
		if err != nil || msg.Content != want {
			t.Fatalf("chat: %+v, %v", msg, err)
		}
		res, err := ts.RunAnthropic(ctx, AnthropicToolUse{ID: "t", Name: "deny"})
		if err != nil || !res.IsError || res.Content != want {
			t.Fatalf("anthropic: %+v, %v", res, err)
		}
		// Unknown tools too: the model can correct itself.
		msg, err = ts.RunChatCompletions(ctx, ChatCompletionsToolCall{ID: "c", Function: ChatCompletionsFunctionCall{Name: "nosuch"}})
		if err != nil || !strings.HasPrefix(msg.Content, "Error: ") || !strings.Contains(msg.Content, "nosuch") {
			t.Fatalf("unknown tool: %+v, %v", msg, err)
		}
	})

	t.Run("a cancelled context is the caller's error", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := ts.RunChatCompletions(cctx, ChatCompletionsToolCall{ID: "c", Function: ChatCompletionsFunctionCall{Name: "search"}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	})
}
