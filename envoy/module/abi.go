//go:build cgo

package main

// The part of Envoy's dynamic module ABI (source/extensions/dynamic_modules
// /abi/abi.h, ABI v0.2.0 in Envoy 1.40) this module uses, declared here as
// Envoy 1.40's binary exports it: the callbacks Envoy implements, and the
// event hooks of an HTTP filter it calls (hooks.go). Envoy checks the
// version the module reports and loads a module of another with a
// warning only: docs/architecture.md says what to rebuild on an Envoy
// upgrade.

/*
// The callbacks are Envoy's: resolved when Envoy loads the module. (The
// flag lets go build ./... link this package as a program too.)
#cgo LDFLAGS: -Wl,--unresolved-symbols=ignore-all

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// envoy_dynamic_module_type_envoy_buffer / _module_buffer.
typedef struct { const char* ptr; size_t length; } mcpgw_buffer;
// envoy_dynamic_module_type_envoy_http_header.
typedef struct { const char* key_ptr; size_t key_length; const char* value_ptr; size_t value_length; } mcpgw_header;

#cgo noescape envoy_dynamic_module_callback_http_get_headers_size
#cgo nocallback envoy_dynamic_module_callback_http_get_headers_size
size_t envoy_dynamic_module_callback_http_get_headers_size(void* filter, int header_type);
#cgo noescape envoy_dynamic_module_callback_http_get_headers
#cgo nocallback envoy_dynamic_module_callback_http_get_headers
bool envoy_dynamic_module_callback_http_get_headers(void* filter, int header_type, mcpgw_header* result);
#cgo noescape envoy_dynamic_module_callback_http_get_header
#cgo nocallback envoy_dynamic_module_callback_http_get_header
bool envoy_dynamic_module_callback_http_get_header(void* filter, int header_type, mcpgw_buffer key, mcpgw_buffer* result, size_t index, size_t* count);
#cgo noescape envoy_dynamic_module_callback_http_set_header
#cgo nocallback envoy_dynamic_module_callback_http_set_header
bool envoy_dynamic_module_callback_http_set_header(void* filter, int header_type, mcpgw_buffer key, mcpgw_buffer value);
#cgo noescape envoy_dynamic_module_callback_http_get_body_chunks_size
#cgo nocallback envoy_dynamic_module_callback_http_get_body_chunks_size
size_t envoy_dynamic_module_callback_http_get_body_chunks_size(void* filter, int body_type);
#cgo noescape envoy_dynamic_module_callback_http_get_body_chunks
#cgo nocallback envoy_dynamic_module_callback_http_get_body_chunks
bool envoy_dynamic_module_callback_http_get_body_chunks(void* filter, int body_type, mcpgw_buffer* result);
#cgo noescape envoy_dynamic_module_callback_http_get_body_size
#cgo nocallback envoy_dynamic_module_callback_http_get_body_size
size_t envoy_dynamic_module_callback_http_get_body_size(void* filter, int body_type);
#cgo noescape envoy_dynamic_module_callback_http_drain_body
#cgo nocallback envoy_dynamic_module_callback_http_drain_body
bool envoy_dynamic_module_callback_http_drain_body(void* filter, int body_type, size_t n);
#cgo noescape envoy_dynamic_module_callback_http_append_body
#cgo nocallback envoy_dynamic_module_callback_http_append_body
bool envoy_dynamic_module_callback_http_append_body(void* filter, int body_type, mcpgw_buffer data);
#cgo noescape envoy_dynamic_module_callback_http_set_dynamic_metadata_string
#cgo nocallback envoy_dynamic_module_callback_http_set_dynamic_metadata_string
void envoy_dynamic_module_callback_http_set_dynamic_metadata_string(void* filter, mcpgw_buffer ns, mcpgw_buffer key, mcpgw_buffer value);
// (entries: envoy_dynamic_module_type_module_key_value_pair, laid out as a
// header is.)
#cgo noescape envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch
#cgo nocallback envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch
void envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(void* filter, mcpgw_buffer ns, mcpgw_header* entries, size_t n);
#cgo noescape envoy_dynamic_module_callback_http_set_dynamic_metadata_number
#cgo nocallback envoy_dynamic_module_callback_http_set_dynamic_metadata_number
void envoy_dynamic_module_callback_http_set_dynamic_metadata_number(void* filter, mcpgw_buffer ns, mcpgw_buffer key, double value);
#cgo nocallback envoy_dynamic_module_callback_http_clear_route_cache
void envoy_dynamic_module_callback_http_clear_route_cache(void* filter);
#cgo nocallback envoy_dynamic_module_callback_get_most_specific_route_config
uintptr_t envoy_dynamic_module_callback_get_most_specific_route_config(void* filter);
// (Envoy runs the reply through the filters at once: it calls back.)
void envoy_dynamic_module_callback_http_send_response(void* filter, uint32_t status, mcpgw_header* headers, size_t n, mcpgw_buffer body, mcpgw_buffer details);
*/
import "C"

import (
	"runtime"
	"unsafe"

	"github.com/mcpgw/mcpgw/envoy/fastpath"
)

// abiVersion is the ABI version the module was written against
// (ENVOY_DYNAMIC_MODULES_ABI_VERSION of Envoy 1.40).
var abiVersion = C.CString("v0.2.0")

// Header and body kinds (envoy_dynamic_module_type_http_header_type,
// envoy_dynamic_module_type_http_body_type).
const (
	requestHeaders  = 0
	responseHeaders = 2

	receivedRequestBody  = 0
	bufferedRequestBody  = 1
	receivedResponseBody = 2
	bufferedResponseBody = 3
)

// Filter statuses (envoy_dynamic_module_type_on_http_filter_*_status):
// the same numbers for headers and bodies, both ways.
const (
	statusContinue = 0
	// statusStop is StopIteration for headers, StopIterationAndBuffer for
	// a body.
	statusStop = 1
	// statusStopNoBuffer (bodies): hold the stream, keep nothing.
	statusStopNoBuffer = 3
)

// envoyFilter is Envoy's side of one stream's filter.
type envoyFilter struct{ p unsafe.Pointer }

// buffer lends s to Envoy for one call (Envoy copies what it keeps).
func buffer(s string) C.mcpgw_buffer {
	return C.mcpgw_buffer{ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(s))), length: C.size_t(len(s))}
}

func bytesBuffer(b []byte) C.mcpgw_buffer {
	return C.mcpgw_buffer{ptr: (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), length: C.size_t(len(b))}
}

// headers copies the request or response headers out of Envoy.
func (f envoyFilter) headers(kind int) fastpath.Headers {
	n := C.envoy_dynamic_module_callback_http_get_headers_size(f.p, C.int(kind))
	if n == 0 {
		return nil
	}
	raw := make([]C.mcpgw_header, n)
	if !C.envoy_dynamic_module_callback_http_get_headers(f.p, C.int(kind), &raw[0]) {
		return nil
	}
	h := make(fastpath.Headers, n)
	for i, x := range raw {
		h[i] = fastpath.Header{Name: C.GoStringN(x.key_ptr, C.int(x.key_length)), Value: C.GoStringN(x.value_ptr, C.int(x.value_length))}
	}
	return h
}

// header reads the first value of one header, and whether there is one.
func (f envoyFilter) header(kind int, name string) (string, bool) {
	var v C.mcpgw_buffer
	var n C.size_t
	C.envoy_dynamic_module_callback_http_get_header(f.p, C.int(kind), buffer(name), &v, 0, &n)
	if n == 0 || v.ptr == nil {
		return "", false
	}
	return C.GoStringN(v.ptr, C.int(v.length)), true
}

func (f envoyFilter) setHeader(kind int, name, value string) {
	C.envoy_dynamic_module_callback_http_set_header(f.p, C.int(kind), buffer(name), buffer(value))
}

// removeHeader removes every value of a header (set to no value).
func (f envoyFilter) removeHeader(kind int, name string) {
	C.envoy_dynamic_module_callback_http_set_header(f.p, C.int(kind), buffer(name), C.mcpgw_buffer{})
}

// body copies a body out of Envoy, of each kind in turn (what it
// buffered, then what came last).
func (f envoyFilter) body(kinds ...int) []byte {
	var out []byte
	for _, kind := range kinds {
		n := C.envoy_dynamic_module_callback_http_get_body_chunks_size(f.p, C.int(kind))
		if n == 0 {
			continue
		}
		chunks := make([]C.mcpgw_buffer, n)
		if !C.envoy_dynamic_module_callback_http_get_body_chunks(f.p, C.int(kind), &chunks[0]) {
			continue
		}
		for _, c := range chunks {
			out = append(out, unsafe.Slice((*byte)(unsafe.Pointer(c.ptr)), int(c.length))...)
		}
	}
	return out
}

// replaceBody makes b the whole body.
func (f envoyFilter) replaceBody(buffered, received int, b []byte) {
	f.dropBody(buffered)
	f.dropBody(received)
	f.appendBody(received, b)
}

// dropBody drops what Envoy holds of a body of that kind.
func (f envoyFilter) dropBody(kind int) {
	if n := C.envoy_dynamic_module_callback_http_get_body_size(f.p, C.int(kind)); n > 0 {
		C.envoy_dynamic_module_callback_http_drain_body(f.p, C.int(kind), n)
	}
}

// appendBody adds b to a body of that kind (to a buffered body Envoy has
// none of yet, as the end of the stream).
func (f envoyFilter) appendBody(kind int, b []byte) {
	C.envoy_dynamic_module_callback_http_append_body(f.p, C.int(kind), bytesBuffer(b))
}

// reply answers the request with status and no body of its own: Envoy's
// local-reply rules write the JSON-RPC error.
func (f envoyFilter) reply(status int, details string) {
	C.envoy_dynamic_module_callback_http_send_response(f.p, C.uint32_t(status), nil, 0, C.mcpgw_buffer{}, buffer(details))
}

func (f envoyFilter) setMetadata(ns, key, value string) {
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_string(f.p, buffer(ns), buffer(key), buffer(value))
}

// setMetadataBatch sets string metadata in one namespace, name-value
// pairs, in one call: Envoy merges them into the stream's metadata once.
func (f envoyFilter) setMetadataBatch(ns string, kv ...string) {
	n := len(kv) / 2
	if n == 0 {
		return
	}
	// One buffer for every name and value, pinned for the call: the
	// entries Envoy reads point into it.
	size := 0
	for _, s := range kv {
		size += len(s)
	}
	buf := make([]byte, 0, size+1)
	entries := make([]C.mcpgw_header, n)
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(unsafe.SliceData(buf))
	for i := range n {
		k, v := kv[2*i], kv[2*i+1]
		at := len(buf)
		buf = append(buf, k...)
		buf = append(buf, v...)
		base := unsafe.Pointer(unsafe.SliceData(buf))
		entries[i] = C.mcpgw_header{
			key_ptr: (*C.char)(unsafe.Add(base, at)), key_length: C.size_t(len(k)),
			value_ptr: (*C.char)(unsafe.Add(base, at+len(k))), value_length: C.size_t(len(v)),
		}
	}
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(f.p, buffer(ns), &entries[0], C.size_t(n))
}

func (f envoyFilter) setMetadataNumber(ns, key string, value float64) {
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_number(f.p, buffer(ns), buffer(key), C.double(value))
}

func (f envoyFilter) clearRouteCache() {
	C.envoy_dynamic_module_callback_http_clear_route_cache(f.p)
}

// routeConfig is the per-route configuration of the route the request
// matched (a handle made by the per-route config hook), or 0.
func (f envoyFilter) routeConfig() uintptr {
	return uintptr(C.envoy_dynamic_module_callback_get_most_specific_route_config(f.p))
}
