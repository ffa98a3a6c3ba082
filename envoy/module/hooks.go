//go:build cgo

package main

/*
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef struct { const char* ptr; size_t length; } mcpgw_buffer;
*/
import "C"

import (
	"os"
	"runtime"
	"runtime/cgo"
	"runtime/debug"

	"github.com/mcpgw/mcpgw/envoy/fastpath"
	"unsafe"
)

// The event hooks of an HTTP filter Envoy calls (abi.h, "HTTP Filter").
// Configurations and streams are Go values Envoy holds by cgo.Handle. A
// panic in a hook would take Envoy down: each recovers. A request then
// goes on untouched, to ext_proc (the full path), or, once the module has
// begun changing it, is answered 500 (stream.failed).

//export envoy_dynamic_module_on_program_init
func envoy_dynamic_module_on_program_init() *C.char {
	tuneRuntime()
	return abiVersion
}

// tuneRuntime sets the Go runtime's defaults for life inside Envoy, where
// GOMAXPROCS or GOGC in Envoy's environment do not override them. Every
// hook runs on one of Envoy's threads and holds one of the runtime's Ps
// while it does: with Go's default, as many Ps as CPUs (as many as
// Envoy's workers), a worker's call could wait for a P that the decision
// log's goroutine or the garbage collector held. More Ps cost no CPU
// when idle. The heap is small (the grants, a request's body), so a GC
// at four times the live heap rather than twice costs a few MB and runs
// the collector less often (docs/fast-path-experiments.md, seventh
// session, for what make bench measured).
func tuneRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(max(8, 4*runtime.NumCPU()))
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

//export envoy_dynamic_module_on_http_filter_config_new
func envoy_dynamic_module_on_http_filter_config_new(envoyConfig unsafe.Pointer, name, config C.mcpgw_buffer) (h uintptr) {
	defer recoverTo(&h, 0)
	cfg, err := newFilterConfig(C.GoBytes(unsafe.Pointer(config.ptr), C.int(config.length)))
	if err != nil {
		return 0 // Envoy refuses the configuration
	}
	return uintptr(cgo.NewHandle(cfg))
}

//export envoy_dynamic_module_on_http_filter_config_destroy
func envoy_dynamic_module_on_http_filter_config_destroy(h uintptr) {
	defer func() { _ = recover() }()
	if h != 0 {
		cgo.Handle(h).Value().(*filterConfig).close()
	}
	deleteHandle(h)
}

//export envoy_dynamic_module_on_http_filter_per_route_config_new
func envoy_dynamic_module_on_http_filter_per_route_config_new(name, config C.mcpgw_buffer) (h uintptr) {
	defer recoverTo(&h, 0)
	r, err := newRouteConfig(C.GoBytes(unsafe.Pointer(config.ptr), C.int(config.length)))
	if err != nil {
		return 0 // Envoy refuses the route table
	}
	return uintptr(cgo.NewHandle(r))
}

//export envoy_dynamic_module_on_http_filter_per_route_config_destroy
func envoy_dynamic_module_on_http_filter_per_route_config_destroy(h uintptr) { deleteHandle(h) }

//export envoy_dynamic_module_on_http_filter_new
func envoy_dynamic_module_on_http_filter_new(config uintptr, filterEnvoy unsafe.Pointer) (h uintptr) {
	defer recoverTo(&h, 0) // (no filter: Envoy fails the stream)
	return uintptr(cgo.NewHandle(&stream{config: cgo.Handle(config).Value().(*filterConfig)}))
}

//export envoy_dynamic_module_on_http_filter_destroy
func envoy_dynamic_module_on_http_filter_destroy(h uintptr) {
	defer func() { _ = recover() }()
	if h == 0 {
		return
	}
	s := streamOf(h)
	deleteHandle(h)
	// The stream is over: this thread may yield (yielder).
	s.config.yield.maybeYield()
}

// deleteHandle frees what Envoy held by h (0: nothing was made).
func deleteHandle(h uintptr) {
	defer func() { _ = recover() }()
	if h != 0 {
		cgo.Handle(h).Delete()
	}
}

func streamOf(h uintptr) *stream { return cgo.Handle(h).Value().(*stream) }

//export envoy_dynamic_module_on_http_filter_request_headers
func envoy_dynamic_module_on_http_filter_request_headers(f unsafe.Pointer, h uintptr, endOfStream C.bool) (status C.int) {
	defer recoverStream(h, envoyFilter{f}, &status)
	return C.int(streamOf(h).requestHeaders(envoyFilter{f}, bool(endOfStream)))
}

//export envoy_dynamic_module_on_http_filter_request_body
func envoy_dynamic_module_on_http_filter_request_body(f unsafe.Pointer, h uintptr, endOfStream C.bool) (status C.int) {
	defer recoverStream(h, envoyFilter{f}, &status)
	return C.int(streamOf(h).requestBody(envoyFilter{f}, bool(endOfStream)))
}

//export envoy_dynamic_module_on_http_filter_response_headers
func envoy_dynamic_module_on_http_filter_response_headers(f unsafe.Pointer, h uintptr, endOfStream C.bool) (status C.int) {
	defer recoverStream(h, envoyFilter{f}, &status)
	return C.int(streamOf(h).responseHeaders(envoyFilter{f}, bool(endOfStream)))
}

//export envoy_dynamic_module_on_http_filter_response_body
func envoy_dynamic_module_on_http_filter_response_body(f unsafe.Pointer, h uintptr, endOfStream C.bool) (status C.int) {
	defer recoverStream(h, envoyFilter{f}, &status)
	return C.int(streamOf(h).responseBody(envoyFilter{f}, bool(endOfStream)))
}

//export envoy_dynamic_module_on_http_filter_request_trailers
func envoy_dynamic_module_on_http_filter_request_trailers(unsafe.Pointer, uintptr) C.int {
	return statusContinue
}

//export envoy_dynamic_module_on_http_filter_response_trailers
func envoy_dynamic_module_on_http_filter_response_trailers(f unsafe.Pointer, h uintptr) (status C.int) {
	defer recoverStream(h, envoyFilter{f}, &status)
	return C.int(streamOf(h).responseTrailers(envoyFilter{f}))
}

//export envoy_dynamic_module_on_http_filter_stream_complete
func envoy_dynamic_module_on_http_filter_stream_complete(unsafe.Pointer, uintptr) {}

// Hooks Envoy requires of every HTTP filter module, for features this
// one never uses (HTTP callouts and streams it starts, timers, flow
// control): never called with anything to do.

//export envoy_dynamic_module_on_http_filter_http_callout_done
func envoy_dynamic_module_on_http_filter_http_callout_done() {}

//export envoy_dynamic_module_on_http_filter_http_stream_headers
func envoy_dynamic_module_on_http_filter_http_stream_headers() {}

//export envoy_dynamic_module_on_http_filter_http_stream_data
func envoy_dynamic_module_on_http_filter_http_stream_data() {}

//export envoy_dynamic_module_on_http_filter_http_stream_trailers
func envoy_dynamic_module_on_http_filter_http_stream_trailers() {}

//export envoy_dynamic_module_on_http_filter_http_stream_complete
func envoy_dynamic_module_on_http_filter_http_stream_complete() {}

//export envoy_dynamic_module_on_http_filter_http_stream_reset
func envoy_dynamic_module_on_http_filter_http_stream_reset() {}

//export envoy_dynamic_module_on_http_filter_scheduled
func envoy_dynamic_module_on_http_filter_scheduled() {}

//export envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark
func envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark() {}

//export envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark
func envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark() {}

// recoverStream is a stream hook's recover: stream.failed says what then.
func recoverStream(h uintptr, f envoyFilter, status *C.int) {
	if recover() == nil {
		return
	}
	*status = statusContinue
	defer func() { _ = recover() }()
	*status = C.int(streamOf(h).failed(f))
}

// recoverTo sets *out to v if the hook panicked.
func recoverTo[T any](out *T, v T) {
	if recover() != nil {
		*out = v
	}
}

func routeOf(h uintptr) *fastpath.Route { return cgo.Handle(h).Value().(*fastpath.Route) }
