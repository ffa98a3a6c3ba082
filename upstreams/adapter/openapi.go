package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/openapi"
)

// specRetry is how long a failed spec load is remembered before the next
// attempt.
const specRetry = 5 * time.Second

// openapiBackend serves the operations of an OpenAPI document. The
// document is loaded at start (in the background) or on first need, and
// loading is retried when it failed.
type openapiBackend struct {
	alias   string
	opts    openapi.Options
	changed func()

	mu       sync.Mutex
	api      *openapi.API
	lastErr  error
	failedAt time.Time
}

func newOpenAPIBackend(alias string, a *upstreams.Adapter, o *Options, log *slog.Logger, changed func()) *openapiBackend {
	return &openapiBackend{alias: alias, changed: changed, opts: openapi.Options{
		Alias:       alias,
		SpecPath:    a.SpecPath,
		BaseURL:     a.Source,
		Headers:     a.Headers,
		Token:       a.Token,
		TokenHeader: a.TokenHeader,
		Timeout:     a.Timeout,
		HTTPClient:  o.HTTPClient,
		Logger:      log,
	}}
}

func (b *openapiBackend) start(context.Context) error {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := b.load(ctx); err == nil {
			b.changed()
		}
	}()
	return nil
}

// load returns the loaded API, loading it if needed (at most once per
// specRetry after a failure).
func (b *openapiBackend) load(ctx context.Context) (*openapi.API, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.api != nil {
		return b.api, nil
	}
	if b.lastErr != nil && time.Since(b.failedAt) < specRetry {
		return nil, b.lastErr
	}
	api, err := openapi.Load(ctx, b.opts)
	if err != nil {
		b.lastErr, b.failedAt = err, time.Now()
		b.opts.Logger.Error("openapi spec not loaded", "error", err)
		return nil, err
	}
	b.api, b.lastErr = api, nil
	return api, nil
}

func (b *openapiBackend) list(ctx context.Context) (listing, error) {
	api, err := b.load(ctx)
	if err != nil {
		return listing{}, err
	}
	tools := make([]*mcp.Tool, 0, len(api.Tools()))
	for _, t := range api.Tools() {
		tools = append(tools, &mcp.Tool{
			Name:        t.Name,
			Title:       t.Title,
			Description: t.Description,
			InputSchema: t.InputSchema,
			Annotations: annotations(t.Method),
		})
	}
	return listing{tools: tools}, nil
}

// annotations are the hints HTTP semantics give: GET and HEAD only read,
// PUT and DELETE replace or remove (destructive) and are idempotent;
// every API is outside the gateway (open world).
func annotations(method string) *mcp.ToolAnnotations {
	a := &mcp.ToolAnnotations{OpenWorldHint: ptr(true)}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		a.ReadOnlyHint = true
	case http.MethodDelete, http.MethodPut:
		a.DestructiveHint = ptr(true)
		a.IdempotentHint = true
	default:
		a.DestructiveHint = ptr(false)
	}
	return a
}

func ptr[T any](v T) *T { return &v }

func (b *openapiBackend) call(ctx context.Context, _, name string, args json.RawMessage, _ mcp.Meta) (*mcp.CallToolResult, error) {
	api, err := b.load(ctx)
	if err != nil {
		return nil, err
	}
	res, err := api.Call(ctx, name, args)
	if errors.Is(err, openapi.ErrUnknownTool) {
		return nil, fmt.Errorf("openapi server %s: %w", b.alias, err)
	}
	return res, err
}

func (b *openapiBackend) endSession(string) {}

func (b *openapiBackend) close() error {
	if c := b.opts.HTTPClient; c != nil {
		c.CloseIdleConnections()
	}
	return nil
}
