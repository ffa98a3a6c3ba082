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
	log  *slog.Logger
	opts Options

	mu       sync.Mutex          // guards adapters, order, ups, closed; Update swaps them
	update   sync.Mutex          // one Update at a time
	adapters map[string]*adapter // by alias
	ups      map[string]*upstreams.Upstream
	order    []string
	closed   bool
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
	s := &Set{log: opts.Logger, opts: opts, adapters: map[string]*adapter{}, ups: map[string]*upstreams.Upstream{}}
	built, err := s.buildAll(opts.Upstreams, nil)
	if err != nil {
		return nil, err
	}
	for _, up := range opts.Upstreams {
		if a := built[up.Alias]; a != nil {
			s.adapters[up.Alias], s.ups[up.Alias] = a, up
			s.order = append(s.order, up.Alias)
		}
	}
	return s, nil
}

// buildAll builds an adapter for every adapted upstream in ups that keep
// does not already serve as it is, by alias; on error it closes what it
// built.
func (s *Set) buildAll(ups []*upstreams.Upstream, keep func(*upstreams.Upstream) bool) (map[string]*adapter, error) {
	built := map[string]*adapter{}
	fail := func(err error) (map[string]*adapter, error) {
		for _, a := range built {
			a.close()
		}
		return nil, err
	}
	seen := map[string]bool{}
	for _, up := range ups {
		if up == nil || up.Adapter == nil {
			continue
		}
		if seen[up.Alias] {
			return fail(fmt.Errorf("adapter: duplicate alias %q", up.Alias))
		}
		seen[up.Alias] = true
		if keep != nil && keep(up) {
			continue
		}
		a, err := build(up, &s.opts)
		if err != nil {
			return fail(err)
		}
		built[up.Alias] = a
	}
	return built, nil
}

// Update makes the adapted upstreams of ups the ones the set serves, while
// it serves: new ones get an endpoint and are started (as Start does),
// removed ones are closed (stdio processes stopped), and ones whose
// settings changed (see upstreams.SameConnection) are replaced; the others
// keep their endpoint, backend and sessions. It returns once the new
// backends are started and the old ones closed. An error building an
// adapter changes nothing; an error starting one is returned after the
// update (the adapter stays, as Start leaves it).
func (s *Set) Update(ctx context.Context, ups []*upstreams.Upstream) error {
	s.update.Lock()
	defer s.update.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("adapter: set closed")
	}
	cur := s.ups
	s.mu.Unlock()
	built, err := s.buildAll(ups, func(up *upstreams.Upstream) bool {
		return upstreams.SameConnection(cur[up.Alias], up)
	})
	if err != nil {
		return err
	}
	adapters := map[string]*adapter{}
	byAlias := map[string]*upstreams.Upstream{}
	var order []string
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		for _, a := range built {
			a.close()
		}
		return fmt.Errorf("adapter: set closed")
	}
	for _, up := range ups {
		if up == nil || up.Adapter == nil {
			continue
		}
		a := built[up.Alias]
		if a == nil {
			a = s.adapters[up.Alias]
		}
		adapters[up.Alias], byAlias[up.Alias] = a, up
		order = append(order, up.Alias)
	}
	var retired []*adapter
	for alias, a := range s.adapters {
		if adapters[alias] != a {
			retired = append(retired, a)
		}
	}
	s.adapters, s.ups, s.order = adapters, byAlias, order
	s.mu.Unlock()
	var errs []error
	for alias, a := range built {
		if err := a.be.start(ctx); err != nil {
			errs = append(errs, fmt.Errorf("adapter %s: %w", alias, err))
		}
		s.log.Info("adapter added", "upstream", alias)
	}
	closeAll(retired)
	for _, a := range retired {
		s.log.Info("adapter removed", "upstream", a.alias)
	}
	return errors.Join(errs...)
}

// closeAll closes adapters in parallel: a stdio process may take a while
// to stop.
func closeAll(adapters []*adapter) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, a := range adapters {
		wg.Go(func() {
			if err := a.close(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// get returns alias's adapter, nil when there is none.
func (s *Set) get(alias string) *adapter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adapters[alias]
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
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.adapters)
}

// Handler serves every endpoint at upstreams.AdapterPath(alias); other
// paths are not its (404).
func (s *Set) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(upstreams.AdapterPathPrefix+"{alias}/mcp", func(w http.ResponseWriter, r *http.Request) {
		a := s.get(r.PathValue("alias"))
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
	s.mu.Lock()
	order, adapters := s.order, s.adapters
	s.mu.Unlock()
	var errs []error
	for _, alias := range order {
		if err := adapters[alias].be.start(ctx); err != nil {
			errs = append(errs, fmt.Errorf("adapter %s: %w", alias, err))
		}
	}
	return errors.Join(errs...)
}

// Close ends every endpoint's sessions and backend: stdio processes are
// stopped with their process groups. Safe to call more than once.
func (s *Set) Close() error {
	var err error
	s.once.Do(func() {
		// After an Update in progress: it may be starting backends.
		s.update.Lock()
		defer s.update.Unlock()
		s.mu.Lock()
		s.closed = true
		all := make([]*adapter, 0, len(s.adapters))
		for _, a := range s.adapters {
			all = append(all, a)
		}
		s.mu.Unlock()
		err = closeAll(all)
	})
	return err
}

var _ io.Closer = (*Set)(nil)
