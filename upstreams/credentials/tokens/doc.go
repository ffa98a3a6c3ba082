// Package tokens fetches OAuth 2.0 client-credentials tokens for upstream
// MCP servers (golang.org/x/oauth2/clientcredentials) and caches each
// until shortly before it expires. Concurrent callers share one fetch; a
// token about to expire is refreshed in the background while callers keep
// using it; a failing token endpoint is not asked again for a short
// while. Errors name the server and what went wrong, never the client
// secret, the token, or the token endpoint's response body.
package tokens
