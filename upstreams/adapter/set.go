package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Options configure a Set. The zero value works (and serves nothing).
type Options struct {
	// Upstreams are the configured servers; those with an Adapter get an
	// endpoint, the others are ignored.
	Upstreams []*upstreams.Upstream
	// Logger receives structured logs, tagged per server; nil discards
	// them.
	Logger *slog.Logger
	// Implementation is the client info sent to stdio and legacy SSE
	// servers; nil means mcpgw.
	Implementation *mcp.Implementation
	// LookupEnv reads the gateway's environment for the base variables
	// stdio children inherit; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// HTTPClient carries OpenAPI requests; nil means a private client.
	HTTPClient *http.Client
	// RetryMin and RetryMax bound restart and reconnect backoff (stdio
	// processes, legacy SSE sessions). Zero means the packages' defaults.
	RetryMin, RetryMax time.Duration
	// SSETimeout bounds connecting to a legacy SSE server and listing its
	// tools. Zero means 5s.
	SSETimeout time.Duration
}

// Set is the adapter endpoints of one sidecar.
type Set struct {
	log      *slog.Logger
	adapters map[string]*adapter
	order    []string
	once     sync.Once
}

// New builds an endpoint for every adapted upstream. Nothing starts until
// Start (or a request).
func New(opts Options) (*Set, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Implementation == nil {
		opts.Implementation = &mcp.Implementation{Name: "mcpgw", Version: "0.1.0"}
	}
	s := &Set{log: opts.Logger, adapters: map[string]*adapter{}}
	for _, up := range opts.Upstreams {
		if up == nil || up.Adapter == nil {
			continue
		}
		if _, dup := s.adapters[up.Alias]; dup {
			s.Close()
			return nil, fmt.Errorf("adapter: duplicate alias %q", up.Alias)
		}
		a, err := build(up, &opts)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.adapters[up.Alias] = a
		s.order = append(s.order, up.Alias)
	}
	return s, nil
}

// build makes one server's adapter and backend.
func build(up *upstreams.Upstream, o *Options) (*adapter, error) {
	spec := up.Adapter
	// The stdio supervisor and the SSE bridge tag their logs with the
	// alias themselves.
	beLog := o.Logger.With("adapter", string(spec.Kind))
	log := beLog.With("upstream", up.Alias)
	var (
		a   *adapter
		be  backend
		err error
	)
	// The backend reports changes to the adapter, which exists only once
	// the backend does: the callback goes through this variable.
	changed := func() {
		if a != nil {
			a.changed()
		}
	}
	timeout := spec.Timeout
	switch spec.Kind {
	case upstreams.AdapterStdio:
		be, err = newStdioBackend(up.Alias, spec, o, beLog, changed)
	case upstreams.AdapterSSE:
		be, err = newSSEBackend(up.Alias, spec, o, beLog, changed)
	case upstreams.AdapterOpenAPI:
		be = newOpenAPIBackend(up.Alias, spec, o, beLog, changed)
		timeout = 0 // the API client applies it per request
	default:
		err = fmt.Errorf("adapter %s: unknown kind %q", up.Alias, spec.Kind)
	}
	if err != nil {
		return nil, err
	}
	a = newAdapter(up.Alias, string(spec.Kind), be, timeout, log)
	a.watchSessions = spec.Kind == upstreams.AdapterStdio && spec.SessionMode == upstreams.SessionPerClient
	return a, nil
}

// Len is the number of endpoints.
func (s *Set) Len() int { return len(s.adapters) }

// Handler serves every endpoint at upstreams.AdapterPath(alias); other
// paths are not its (404).
func (s *Set) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(upstreams.AdapterPathPrefix+"{alias}/mcp", func(w http.ResponseWriter, r *http.Request) {
		a := s.adapters[r.PathValue("alias")]
		if a == nil {
			http.Error(w, "no such adapter", http.StatusNotFound)
			return
		}
		a.handler.ServeHTTP(w, r)
	})
	return mux
}

// Start starts the backends: eager stdio processes, spec downloads and
// legacy SSE sessions, in the background where they may be slow. Lazy
// stdio servers start when their tools are first listed (the sidecar's
// discovery does that at once). Start returns once each backend has been
// started or has failed.
func (s *Set) Start(ctx context.Context) error {
	var errs []error
	for _, alias := range s.order {
		if err := s.adapters[alias].be.start(ctx); err != nil {
			errs = append(errs, fmt.Errorf("adapter %s: %w", alias, err))
		}
	}
	return errors.Join(errs...)
}

// Close ends every endpoint's sessions and backend: stdio processes are
// stopped with their process groups. Safe to call more than once.
func (s *Set) Close() error {
	var errs []error
	s.once.Do(func() {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, a := range s.adapters {
			wg.Go(func() {
				if err := a.close(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
	return errors.Join(errs...)
}

var _ io.Closer = (*Set)(nil)
