package openapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// maxSpecBytes bounds a spec document read from a file or URL.
const maxSpecBytes = 32 << 20

// Options configure an API. Alias and SpecPath are required.
type Options struct {
	// Alias names the server in logs and errors.
	Alias string
	// SpecPath is the document: a file path or an http(s) URL.
	SpecPath string
	// BaseURL is the API's base URL; operation paths are appended to it.
	// "" means the document's first server URL (resolved against the
	// spec's URL when relative, with server variables at their defaults).
	BaseURL string
	// Headers are sent with every API request (the server's auth_type /
	// auth_value and static_headers); they win over header parameters of
	// the same name. Values are secrets: never logged.
	Headers map[string]string
	// Token, when set, supplies an OAuth2 access token for every API
	// request, sent as "<TokenHeader>: Bearer <token>" (TokenHeader ""
	// means Authorization). A 401 answer invalidates it. It wins over
	// Headers.
	Token       credentials.TokenSource
	TokenHeader string
	// Timeout bounds one API request, and fetching a spec URL. Zero means
	// 30s.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a client over a clone of
	// http.DefaultTransport. Its Timeout is not used (see Timeout).
	HTTPClient *http.Client
	// MaxResponseBytes bounds a response body read. Zero means 8 MiB.
	MaxResponseBytes int64
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

func (o *Options) applyDefaults() error {
	if o.Alias == "" || o.SpecPath == "" {
		return errors.New("openapi: alias and spec path are required")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if o.TokenHeader == "" {
		o.TokenHeader = "Authorization"
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// isURL reports whether specPath is an http(s) URL rather than a file.
func isURL(specPath string) bool {
	return strings.HasPrefix(specPath, "http://") || strings.HasPrefix(specPath, "https://")
}

// readSpec reads the document and returns it with its location, which
// relative $refs and a relative server URL are resolved against.
func readSpec(ctx context.Context, o *Options) ([]byte, *url.URL, error) {
	if isURL(o.SpecPath) {
		u, err := url.Parse(o.SpecPath)
		if err != nil {
			return nil, nil, fmt.Errorf("spec_path is not a valid URL")
		}
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
		resp, err := o.HTTPClient.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch spec: %w", unwrapURLError(err))
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, nil, fmt.Errorf("fetch spec: HTTP %s", resp.Status)
		}
		data, err := readLimited(resp.Body, maxSpecBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch spec: %w", err)
		}
		u.User = nil
		return data, u, nil
	}
	abs, err := filepath.Abs(o.SpecPath)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f, maxSpecBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read spec %s: %w", o.SpecPath, err)
	}
	return data, &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message quotes the
// URL (which may carry a key in its query).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}
