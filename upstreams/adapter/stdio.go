package adapter

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/stdio"
)

// maxItems bounds one server's list of tools (prompts, resources,
// templates).
const maxItems = 10_000

// stdioBackend serves the tools of a supervised stdio process.
type stdioBackend struct {
	srv *stdio.Server
}

func newStdioBackend(alias string, a *upstreams.Adapter, o *Options, log *slog.Logger, changed func()) (*stdioBackend, error) {
	srv, err := stdio.New(stdio.Options{
		Alias:          alias,
		Command:        a.Command,
		Args:           a.Args,
		Env:            a.Env,
		Dir:            a.Dir,
		PerSession:     a.SessionMode == upstreams.SessionPerClient,
		Eager:          a.Startup == upstreams.StartupEager,
		IdleTimeout:    a.IdleTimeout,
		MaxProcesses:   a.MaxProcesses,
		MaxConcurrent:  a.MaxConcurrent,
		RetryMin:       o.RetryMin,
		RetryMax:       o.RetryMax,
		OnStarted:      changed,
		OnListChanged:  changed,
		LookupEnv:      o.LookupEnv,
		Logger:         log,
		Implementation: o.Implementation,
	})
	if err != nil {
		return nil, err
	}
	return &stdioBackend{srv: srv}, nil
}

func (b *stdioBackend) start(ctx context.Context) error { return b.srv.Start(ctx) }

func (b *stdioBackend) call(ctx context.Context, session, name string, args json.RawMessage, meta mcp.Meta) (*mcp.CallToolResult, error) {
	var res *mcp.CallToolResult
	err := b.srv.Do(ctx, session, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Meta: meta, Name: name, Arguments: rawArgs(args)})
		return err
	})
	return res, err
}

// list lists the process's tools and, as far as it declares them, its
// prompts, resources and resource templates, in one use of the listing
// session.
func (b *stdioBackend) list(ctx context.Context) (listing, error) {
	var l listing
	err := b.srv.List(ctx, func(ctx context.Context, cs *mcp.ClientSession) error {
		l = listing{}
		caps := &mcp.ServerCapabilities{}
		if res := cs.InitializeResult(); res != nil && res.Capabilities != nil {
			caps = res.Capabilities
		}
		l.completions = caps.Completions != nil
		var err error
		if l.tools, err = collect("tools", cs.Tools(ctx, nil)); err != nil {
			return err
		}
		if caps.Prompts != nil {
			if l.prompts, err = collect("prompts", cs.Prompts(ctx, nil)); err != nil {
				return err
			}
		}
		if caps.Resources != nil {
			if l.resources, err = collect("resources", cs.Resources(ctx, nil)); err != nil {
				return err
			}
			if l.templates, err = collect("resource templates", cs.ResourceTemplates(ctx, nil)); err != nil {
				return err
			}
		}
		return nil
	})
	return l, err
}

// collect reads a paginated list, up to maxItems.
func collect[T any](what string, seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for x, err := range seq {
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if len(out) == maxItems {
			return nil, fmt.Errorf("list %s: more than %d", what, maxItems)
		}
		out = append(out, x)
	}
	return out, nil
}

func (b *stdioBackend) getPrompt(ctx context.Context, session string, params *mcp.GetPromptParams) (*mcp.GetPromptResult, error) {
	var res *mcp.GetPromptResult
	err := b.srv.Do(ctx, session, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.GetPrompt(ctx, params)
		return err
	})
	return res, err
}

func (b *stdioBackend) readResource(ctx context.Context, session string, params *mcp.ReadResourceParams) (*mcp.ReadResourceResult, error) {
	var res *mcp.ReadResourceResult
	err := b.srv.Do(ctx, session, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.ReadResource(ctx, params)
		return err
	})
	return res, err
}

func (b *stdioBackend) complete(ctx context.Context, session string, params *mcp.CompleteParams) (*mcp.CompleteResult, error) {
	var res *mcp.CompleteResult
	err := b.srv.Do(ctx, session, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.Complete(ctx, params)
		return err
	})
	return res, err
}

func (b *stdioBackend) endSession(session string) { b.srv.EndSession(session) }

func (b *stdioBackend) close() error { return b.srv.Close() }

// rawArgs passes the caller's arguments through as they came; none means
// an empty object.
func rawArgs(args json.RawMessage) any {
	if len(args) == 0 {
		return nil
	}
	return args
}
