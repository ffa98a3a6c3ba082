package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/bridge"
)

type addArgs struct {
	A int `json:"a" jsonschema:"first addend"`
	B int `json:"b" jsonschema:"second addend"`
}

// calculator connects to an in-memory MCP server with one tool, "add".
// With the gateway, connect to its endpoint instead
// (mcp.StreamableClientTransport{Endpoint: "http://localhost:4000/mcp"}).
func calculator(ctx context.Context) *mcp.ClientSession {
	srv := mcp.NewServer(&mcp.Implementation{Name: "calc", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "add", Description: "Adds two integers."},
		func(ctx context.Context, req *mcp.CallToolRequest, in addArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint(in.A + in.B)}}}, nil, nil
		})
	ct, st := mcp.NewInMemoryTransports()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		log.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		log.Fatal(err)
	}
	return cs
}

func printJSON(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
}

// One round of the tool loop with OpenAI Chat Completions: the tools go
// into the request, the assistant message's tool_calls run on the MCP
// session, and each answer goes back as a "tool" message.
func Example() {
	ctx := context.Background()
	session := calculator(ctx)
	defer session.Close()

	tools, err := bridge.List(ctx, session, nil)
	if err != nil {
		log.Fatal(err)
	}
	printJSON(tools.ChatCompletionsTools())

	// choices[0].message of the model's answer.
	var assistant struct {
		ToolCalls []bridge.ChatCompletionsToolCall `json:"tool_calls"`
	}
	answer := `{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":40}"}}]}`
	if err := json.Unmarshal([]byte(answer), &assistant); err != nil {
		log.Fatal(err)
	}
	for _, call := range assistant.ToolCalls {
		msg, err := tools.RunChatCompletions(ctx, call)
		if err != nil {
			log.Fatal(err)
		}
		printJSON(msg)
	}
	// Output:
	// [{"type":"function","function":{"name":"add","description":"Adds two integers.","parameters":{"additionalProperties":false,"properties":{"a":{"description":"first addend","type":"integer"},"b":{"description":"second addend","type":"integer"}},"required":["a","b"],"type":"object"},"strict":false}}]
	// {"role":"tool","tool_call_id":"call_1","content":"42"}
}

// Anthropic Messages: tools with input_schema, tool_use blocks answered by
// tool_result blocks; a failed call keeps is_error.
func ExampleToolset_RunAnthropic() {
	ctx := context.Background()
	session := calculator(ctx)
	defer session.Close()

	tools, err := bridge.List(ctx, session, nil)
	if err != nil {
		log.Fatal(err)
	}
	printJSON(tools.AnthropicTools())

	for _, block := range []string{
		`{"type":"tool_use","id":"toolu_1","name":"add","input":{"a":1,"b":2}}`,
		`{"type":"tool_use","id":"toolu_2","name":"add","input":{"a":"one"}}`,
	} {
		var use bridge.AnthropicToolUse
		if err := json.Unmarshal([]byte(block), &use); err != nil {
			log.Fatal(err)
		}
		result, err := tools.RunAnthropic(ctx, use)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(result.ToolUseID, result.IsError)
	}
	// Output:
	// [{"type":"custom","name":"add","description":"Adds two integers.","input_schema":{"additionalProperties":false,"properties":{"a":{"description":"first addend","type":"integer"},"b":{"description":"second addend","type":"integer"}},"required":["a","b"],"type":"object"}}]
	// toolu_1 false
	// toolu_2 true
}

// The OpenAI Responses API: function tools, function_call items answered
// by function_call_output items.
func ExampleToolset_RunResponses() {
	ctx := context.Background()
	session := calculator(ctx)
	defer session.Close()

	tools, err := bridge.List(ctx, session, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tools.ResponsesTools()[0].Name)

	var call bridge.ResponsesFunctionCall
	item := `{"type":"function_call","id":"fc_1","call_id":"call_9","name":"add","arguments":"{\"a\":20,\"b\":22}"}`
	if err := json.Unmarshal([]byte(item), &call); err != nil {
		log.Fatal(err)
	}
	out, err := tools.RunResponses(ctx, call)
	if err != nil {
		log.Fatal(err)
	}
	printJSON(out)
	// Output:
	// add
	// {"type":"function_call_output","call_id":"call_9","output":"42"}
}

// Arguments follows LiteLLM: a JSON string is decoded, and anything that
// is not then an object is {}.
func ExampleArguments() {
	for _, raw := range []string{`"{\"city\":\"Paris\"}"`, `{"city":"Paris"}`, `"{city: Paris}"`, `null`} {
		printJSON(bridge.Arguments(json.RawMessage(raw)))
	}
	// Output:
	// {"city":"Paris"}
	// {"city":"Paris"}
	// {}
	// {}
}
