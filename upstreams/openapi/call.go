package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrUnknownTool is returned by Call for a name the spec has no tool for.
var ErrUnknownTool = errors.New("unknown tool")

// argError is a problem with the caller's arguments: reported to the
// caller as a tool error, never as a protocol error.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func argErrorf(format string, a ...any) error { return &argError{fmt.Sprintf(format, a...)} }

// Call performs the operation behind tool name with args (a JSON object,
// or empty) and returns the result. Bad arguments, network failures and
// HTTP errors are tool results with isError set; only an unknown tool is
// an error.
func (a *API) Call(ctx context.Context, name string, args json.RawMessage) (*mcp.CallToolResult, error) {
	t := a.byName[name]
	if t == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownTool, name)
	}
	values, err := decodeArgs(args)
	if err != nil {
		return errorResult(err.Error()), nil
	}
	req, err := a.request(ctx, t, values)
	if err != nil {
		return errorResult(fmt.Sprintf("%s: %v", name, err)), nil
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	if a.opts.Token != nil {
		tok, err := a.opts.Token.Token(ctx)
		if err != nil {
			// The API was not called: a gateway failure, not a tool result.
			return nil, err
		}
		req.Header.Set(a.opts.TokenHeader, "Bearer "+tok)
	}
	resp, err := a.client.Do(req.WithContext(ctx))
	if err != nil {
		msg := unwrapURLError(err).Error()
		if ctx.Err() == context.DeadlineExceeded {
			msg = fmt.Sprintf("no response within %v", a.opts.Timeout)
		}
		a.log.Warn("openapi request failed", "tool", name, "method", t.Method, "path", t.Path, "error", msg)
		return errorResult(fmt.Sprintf("%s %s failed: %s", t.Method, t.Path, msg)), nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && a.opts.Token != nil {
		a.opts.Token.Invalidate() // the next call fetches a new token
	}
	return a.result(t, req.URL, resp)
}

// decodeArgs reads the arguments object, keeping numbers as written.
func decodeArgs(args json.RawMessage) (map[string]any, error) {
	if len(bytes.TrimSpace(args)) == 0 || string(bytes.TrimSpace(args)) == "null" {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("arguments must be a JSON object")
	}
	if v == nil {
		v = map[string]any{}
	}
	return v, nil
}

// request builds the HTTP request for t from the arguments.
func (a *API) request(ctx context.Context, t *Tool, args map[string]any) (*http.Request, error) {
	op := t.op
	path := op.path
	var query [][2]string
	header := http.Header{}
	var cookies []string
	for _, p := range op.params {
		v, ok := args[p.arg]
		if !ok || v == nil {
			if p.required {
				return nil, argErrorf("missing required argument %q (%s parameter %s)", p.arg, p.in, p.name)
			}
			continue
		}
		switch p.in {
		case "path":
			s, err := p.pathValue(v)
			if err != nil {
				return nil, argErrorf("argument %q: %v", p.arg, err)
			}
			if s == "" {
				return nil, argErrorf("argument %q: a path parameter must not be empty", p.arg)
			}
			path = strings.ReplaceAll(path, "{"+p.name+"}", s)
		case "query":
			pairs, err := p.queryPairs(v)
			if err != nil {
				return nil, argErrorf("argument %q: %v", p.arg, err)
			}
			query = append(query, pairs...)
		case "header":
			s, err := p.headerValue(v)
			if err != nil {
				return nil, argErrorf("argument %q: %v", p.arg, err)
			}
			header.Add(p.name, s)
		case "cookie":
			s, err := p.cookieValue(v)
			if err != nil {
				return nil, argErrorf("argument %q: %v", p.arg, err)
			}
			cookies = append(cookies, s)
		}
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}

	u := *a.base
	escaped := strings.TrimSuffix(a.base.EscapedPath(), "/") + path
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, argErrorf("bad path: %v", err)
	}
	u.Path, u.RawPath = unescaped, escaped
	if len(query) > 0 {
		var b strings.Builder
		b.WriteString(u.RawQuery)
		for _, kv := range query {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1]))
		}
		u.RawQuery = b.String()
	}

	var bodyReader io.Reader
	var contentType string
	if b := op.body; b != nil {
		v, ok := args[b.arg]
		switch {
		case ok && v != nil:
			r, ct, err := b.encode(v)
			if err != nil {
				return nil, argErrorf("argument %q: %v", b.arg, err)
			}
			bodyReader, contentType = r, ct
		case b.required:
			return nil, argErrorf("missing required argument %q (request body)", b.arg)
		}
	}
	req, err := http.NewRequestWithContext(ctx, op.method, u.String(), bodyReader)
	if err != nil {
		return nil, argErrorf("cannot build the request: %v", unwrapURLError(err))
	}
	req.URL = &u
	for k, vs := range header {
		req.Header[k] = vs
	}
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, */*;q=0.8")
	// Configured headers (credentials) win over header parameters.
	for k, v := range a.opts.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

// checkPath rejects a path whose segments a value turned into "." or
// "..": those would address another resource once normalized.
func checkPath(path string) error {
	for _, seg := range strings.Split(path, "/") {
		for _, part := range strings.Split(seg, ";") {
			dec, err := url.PathUnescape(part)
			if err != nil {
				dec = part
			}
			if dec == "." || dec == ".." {
				return argErrorf("a path parameter value must not be %q", dec)
			}
		}
	}
	return nil
}
