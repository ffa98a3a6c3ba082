// Command agent runs the whole tool loop of a model against the gateway:
// it lists the gateway's tools for a key, asks an OpenAI-compatible chat
// completions endpoint, runs the tool calls the model makes through the
// gateway, and feeds the results back until the model answers.
//
//	OPENAI_API_KEY=sk-... MCPGW_KEY=sk-gateway-key \
//	  go run ./examples/agent -model gpt-4o-mini "What is 2 + 40? Use the tools."
//
// The answer goes to stdout; each tool call and its result to stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/bridge"
)

func main() {
	gateway := flag.String("gateway", envOr("MCPGW_URL", "http://localhost:4000/mcp"), "the gateway's MCP endpoint ($MCPGW_URL)")
	modelURL := flag.String("model-url", envOr("OPENAI_BASE_URL", "https://api.openai.com/v1"), "base URL of an OpenAI-compatible API ($OPENAI_BASE_URL); /chat/completions is appended")
	model := flag.String("model", envOr("OPENAI_MODEL", "gpt-4o-mini"), "model name ($OPENAI_MODEL)")
	maxTurns := flag.Int("max-turns", 10, "model calls before giving up")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: agent [flags] PROMPT\n\nThe gateway key is read from $MCPGW_KEY, the model API key from $OPENAI_API_KEY.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	prompt := strings.Join(flag.Args(), " ")
	if prompt == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a := &agent{
		gatewayURL: *gateway,
		gatewayKey: os.Getenv("MCPGW_KEY"),
		chatURL:    strings.TrimSuffix(*modelURL, "/") + "/chat/completions",
		apiKey:     os.Getenv("OPENAI_API_KEY"),
		model:      *model,
		maxTurns:   *maxTurns,
		log:        slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	answer, err := a.run(ctx, prompt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
	fmt.Println(answer)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

type agent struct {
	gatewayURL, gatewayKey string
	chatURL, apiKey, model string
	maxTurns               int
	log                    *slog.Logger
}

// keyTransport sends the gateway key with every MCP request.
type keyTransport struct{ key string }

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("x-litellm-api-key", k.key)
	return http.DefaultTransport.RoundTrip(r)
}

func (a *agent) run(ctx context.Context, prompt string) (string, error) {
	transport := &mcp.StreamableClientTransport{Endpoint: a.gatewayURL}
	if a.gatewayKey != "" {
		transport.HTTPClient = &http.Client{Transport: keyTransport{a.gatewayKey}}
	}
	session, err := mcp.NewClient(&mcp.Implementation{Name: "mcpgw-example-agent", Version: "1"}, nil).Connect(ctx, transport, nil)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", a.gatewayURL, err)
	}
	defer session.Close()
	tools, err := bridge.List(ctx, session, &bridge.ListOptions{Logger: a.log})
	if err != nil {
		return "", fmt.Errorf("list tools: %w", err)
	}
	a.log.Info("tools", "count", len(tools.Tools()))

	user, _ := json.Marshal(map[string]string{"role": "user", "content": prompt})
	messages := []json.RawMessage{user}
	for range a.maxTurns {
		reply, err := a.complete(ctx, messages, tools.ChatCompletionsTools())
		if err != nil {
			return "", err
		}
		var msg struct {
			Content   *string                          `json:"content"`
			ToolCalls []bridge.ChatCompletionsToolCall `json:"tool_calls"`
		}
		if err := json.Unmarshal(reply, &msg); err != nil {
			return "", fmt.Errorf("model message: %w", err)
		}
		if len(msg.ToolCalls) == 0 {
			if msg.Content == nil {
				return "", errors.New("the model answered with neither content nor tool calls")
			}
			return *msg.Content, nil
		}
		// The assistant message goes back as the model sent it.
		messages = append(messages, reply)
		for _, call := range msg.ToolCalls {
			out, err := tools.RunChatCompletions(ctx, call)
			if err != nil {
				if ctx.Err() != nil {
					return "", err
				}
				// Every call needs an answer; the model hears of the failure.
				out = bridge.ChatCompletionsToolMessage{Role: "tool", ToolCallID: call.ID, Content: "Error: " + err.Error()}
			}
			a.log.Info("tool call", "name", call.Function.Name, "arguments", string(call.Function.Arguments), "result", out.Content)
			data, _ := json.Marshal(out)
			messages = append(messages, data)
		}
	}
	return "", fmt.Errorf("no answer after %d model calls", a.maxTurns)
}

// complete posts one chat completions request and returns
// choices[0].message as the API sent it.
func (a *agent) complete(ctx context.Context, messages []json.RawMessage, tools []bridge.ChatCompletionsTool) (json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"model": a.model, "messages": messages, "tools": tools})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.chatURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+a.apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("chat completions: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("chat completions: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("chat completions: %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var completion struct {
		Choices []struct {
			Message json.RawMessage `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(data, &completion); err != nil || len(completion.Choices) == 0 || len(completion.Choices[0].Message) == 0 {
		return nil, fmt.Errorf("chat completions: no choices[0].message in %.200s", data)
	}
	return completion.Choices[0].Message, nil
}
