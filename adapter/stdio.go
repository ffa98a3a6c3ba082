package adapter

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/stdio"
)

// maxTools bounds one server's tool list.
const maxTools = 10_000

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
		OnToolsChanged: changed,
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

func (b *stdioBackend) list(ctx context.Context) ([]*mcp.Tool, error) {
	var tools []*mcp.Tool
	err := b.srv.List(ctx, func(ctx context.Context, cs *mcp.ClientSession) error {
		tools = tools[:0]
		for t, err := range cs.Tools(ctx, nil) {
			if err != nil {
				return fmt.Errorf("list tools: %w", err)
			}
			if len(tools) == maxTools {
				return fmt.Errorf("list tools: more than %d tools", maxTools)
			}
			tools = append(tools, t)
		}
		return nil
	})
	return tools, err
}

func (b *stdioBackend) call(ctx context.Context, session, name string, args json.RawMessage, meta mcp.Meta) (*mcp.CallToolResult, error) {
	var res *mcp.CallToolResult
	err := b.srv.Do(ctx, session, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Meta: meta, Name: name, Arguments: rawArgs(args)})
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
