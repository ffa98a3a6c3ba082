package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// Defaults, as in LiteLLM (MCP_OAUTH2_TOKEN_CACHE_DEFAULT_TTL,
// MCP_OAUTH2_TOKEN_EXPIRY_BUFFER_SECONDS), plus this package's own.
const (
	// DefaultLifetime is assumed when the token endpoint gives no expires_in.
	DefaultLifetime = time.Hour
	// DefaultRefreshBefore is how long before expiry a token is refreshed.
	DefaultRefreshBefore = time.Minute
	// DefaultTimeout bounds one request to the token endpoint.
	DefaultTimeout = 10 * time.Second
	// DefaultRetryAfter is how long a failure is remembered before the
	// token endpoint is asked again.
	DefaultRetryAfter = 2 * time.Second
)

// AuthMethod is how the client authenticates to the token endpoint
// (token_endpoint_auth_method).
type AuthMethod string

// Auth methods. LiteLLM's default is client_secret_post.
const (
	ClientSecretPost  AuthMethod = "client_secret_post"
	ClientSecretBasic AuthMethod = "client_secret_basic"
)

// Config describes one server's client-credentials grant.
type Config struct {
	// Server names the upstream in errors.
	Server string
	// TokenURL, ClientID and ClientSecret are required. ClientSecret is a
	// secret.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scopes are sent space-separated; none means no scope parameter.
	Scopes []string
	// AuthMethod defaults to ClientSecretPost.
	AuthMethod AuthMethod
}

// Options tune a Source. The zero value uses the defaults.
type Options struct {
	// HTTPClient sends the token requests; nil means a client over
	// http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds one token request; zero means DefaultTimeout.
	Timeout time.Duration
	// RefreshBefore is how long before expiry a token is refreshed; zero
	// means DefaultRefreshBefore.
	RefreshBefore time.Duration
	// RetryAfter is how long a failed fetch is remembered; zero means
	// DefaultRetryAfter.
	RetryAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Source hands out one server's token. It is safe for concurrent use.
type Source struct {
	cfg    clientcredentials.Config
	server string
	opts   Options

	mu        sync.Mutex
	token     string
	refreshAt time.Time // refresh from here on, in the background
	expiry    time.Time // never use the token from here on
	failed    error     // the last fetch's error, until retryAt
	retryAt   time.Time
	flight    *flight // the fetch under way, if any
	// fetches counts token requests by outcome (fetchOutcomes' order).
	fetches [len(fetchOutcomes)]atomic.Uint64
}

// Outcomes of a token request, as Fetches names them.
const (
	FetchOK          = "ok"
	FetchRefused     = "refused"     // the endpoint answered an OAuth2 error (or a non-2xx status)
	FetchTimeout     = "timeout"     // no answer in time
	FetchUnreachable = "unreachable" // no connection
	FetchInvalid     = "invalid"     // an answer that is not a token
	FetchError       = "error"       // anything else
)

var fetchOutcomes = [...]string{FetchOK, FetchRefused, FetchTimeout, FetchUnreachable, FetchInvalid, FetchError}

// Fetches returns how many requests the source sent its token endpoint,
// by outcome (every outcome, zeros included), for metrics.
func (s *Source) Fetches() map[string]uint64 {
	out := make(map[string]uint64, len(fetchOutcomes))
	for i, o := range fetchOutcomes {
		out[o] = s.fetches[i].Load()
	}
	return out
}

// Server is the name of the server the source fetches tokens for.
func (s *Source) Server() string { return s.server }

func (s *Source) count(outcome string) {
	for i, o := range fetchOutcomes {
		if o == outcome {
			s.fetches[i].Add(1)
			return
		}
	}
}

// flight is one fetch that callers wait on.
type flight struct {
	done  chan struct{}
	token string
	err   error
}

var _ credentials.TokenSource = (*Source)(nil)

// New returns a source for cfg. Nothing is fetched until Token is called.
func New(cfg Config, opts Options) (*Source, error) {
	switch {
	case cfg.TokenURL == "":
		return nil, fmt.Errorf("tokens: server %q: no token_url", cfg.Server)
	case cfg.ClientID == "":
		return nil, fmt.Errorf("tokens: server %q: no client_id", cfg.Server)
	case cfg.ClientSecret == "":
		return nil, fmt.Errorf("tokens: server %q: no client_secret", cfg.Server)
	}
	style := oauth2.AuthStyleInParams
	switch cfg.AuthMethod {
	case "", ClientSecretPost:
	case ClientSecretBasic:
		style = oauth2.AuthStyleInHeader
	default:
		return nil, fmt.Errorf("tokens: server %q: unknown token_endpoint_auth_method %q", cfg.Server, cfg.AuthMethod)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = DefaultRefreshBefore
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Source{
		cfg: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       cfg.Scopes,
			// An explicit style: auto-detection would send a second
			// request after every failure.
			AuthStyle: style,
		},
		server: cfg.Server,
		opts:   opts,
	}, nil
}

// Token returns a valid access token, fetching one when there is none or
// it has expired. While a token is valid but due for refresh, callers get
// it at once and one background fetch replaces it. Concurrent callers
// share one fetch; a caller whose ctx ends stops waiting (the fetch goes
// on for the others). After a failure, callers get the same error without
// a new request until RetryAfter has passed.
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	now := s.opts.Now()
	valid := s.token != "" && now.Before(s.expiry)
	if valid && now.Before(s.refreshAt) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	f := s.flight
	failing := s.failed != nil && now.Before(s.retryAt)
	if f == nil && !failing {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		go s.fetch(f)
	}
	if valid {
		// Due for refresh but not expired: use it while a fetch runs (or
		// until the endpoint may be asked again).
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	if f == nil {
		err := s.failed
		s.mu.Unlock()
		return "", err
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", &Error{Server: s.server, Reason: "gave up waiting for a token", cause: ctx.Err()}
	}
}

// Invalidate drops the cached token (say, after the upstream answered 401
// to it), so the next Token fetches a new one.
func (s *Source) Invalidate() {
	s.mu.Lock()
	s.token = ""
	s.mu.Unlock()
}

// fetch asks the token endpoint once and publishes the result. It runs on
// its own context: callers that stop waiting do not cancel it.
func (s *Source) fetch(f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient)
	start := s.opts.Now()
	t, err := s.cfg.Token(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		err = context.DeadlineExceeded // x/oauth2 does not wrap it
	case err == nil && (t == nil || t.AccessToken == ""):
		err = errNoAccessToken
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flight = nil
	if err != nil {
		e := newError(s.server, err)
		s.count(e.outcome)
		f.err = e
		s.failed, s.retryAt = f.err, s.opts.Now().Add(s.opts.RetryAfter)
		close(f.done)
		return
	}
	lifetime := DefaultLifetime
	if !t.Expiry.IsZero() {
		// x/oauth2 turned expires_in into a time on the wall clock (its
		// ExpiresIn field stays 0 here); measure the lifetime on that
		// clock and count it from our start.
		lifetime = max(time.Until(t.Expiry), 0)
	}
	s.count(FetchOK)
	s.token, s.failed = t.AccessToken, nil
	s.expiry = start.Add(lifetime)
	if lifetime > 2*s.opts.RefreshBefore {
		s.refreshAt = s.expiry.Add(-s.opts.RefreshBefore)
	} else {
		// Short-lived tokens: refresh halfway.
		s.refreshAt = start.Add(lifetime / 2)
	}
	f.token = s.token
	close(f.done)
}

var errNoAccessToken = errors.New("no access_token in the answer")

// Error is a failure to get a server's token. Its message names the
// server and the kind of failure only: never the client secret, a token
// or the token endpoint's response body (x/oauth2's own error strings
// include the body, which some endpoints fill with the request).
type Error struct {
	Server string
	Reason string
	cause  error
	// outcome is the failure's Fetch* outcome.
	outcome string
}

func (e *Error) Error() string {
	return fmt.Sprintf("OAuth2 token for upstream %q: %s", e.Server, e.Reason)
}

// Unwrap returns context errors only (for errors.Is); other causes may
// carry secrets and stay hidden.
func (e *Error) Unwrap() error {
	if errors.Is(e.cause, context.Canceled) || errors.Is(e.cause, context.DeadlineExceeded) {
		return e.cause
	}
	return nil
}

func newError(server string, err error) *Error {
	e := &Error{Server: server, cause: err, outcome: FetchError}
	var re *oauth2.RetrieveError
	var ue *url.Error
	switch {
	case errors.As(err, &re):
		e.outcome = FetchRefused
		e.Reason = "token endpoint refused"
		if re.Response != nil {
			e.Reason = fmt.Sprintf("token endpoint answered HTTP %d", re.Response.StatusCode)
		}
		if safeCode(re.ErrorCode) {
			e.Reason += " (" + re.ErrorCode + ")"
		}
	case errors.Is(err, context.DeadlineExceeded):
		e.outcome = FetchTimeout
		e.Reason = "token endpoint did not answer in time"
	case errors.Is(err, errNoAccessToken), strings.Contains(err.Error(), "missing access_token"):
		e.outcome = FetchInvalid
		e.Reason = "token endpoint answered without an access_token"
	case errors.As(err, &ue) && ue.Timeout():
		e.outcome = FetchTimeout
		e.Reason = "token endpoint did not answer in time"
	case errors.As(err, &ue), strings.Contains(err.Error(), "cannot fetch token"):
		// The *url.Error names the token URL; it is not repeated.
		e.outcome = FetchUnreachable
		e.Reason = "token endpoint unreachable"
	case strings.Contains(err.Error(), "cannot parse"):
		e.outcome = FetchInvalid
		e.Reason = "token endpoint answered something that is not a token"
	default:
		e.Reason = "token request failed"
	}
	return e
}

// safeCode reports whether an OAuth error code looks like RFC 6749's
// (invalid_client, ...): short, lower-case letters and '_'. Anything else
// may be the endpoint echoing input, and is not repeated.
func safeCode(c string) bool {
	if c == "" || len(c) > 40 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if (c[i] < 'a' || c[i] > 'z') && c[i] != '_' {
			return false
		}
	}
	return true
}
