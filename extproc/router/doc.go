// Package router decides, for one HTTP request on the gateway's listener,
// where it goes and how it is rewritten. It is pure: it takes plain values
// (headers, body) and returns a Decision; the ext_proc adapter turns that
// into Envoy messages. It never imports Envoy types.
package router
