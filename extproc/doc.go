// Package extproc is the Envoy external processing (ext_proc) gRPC service.
// It only translates: Envoy's ProcessingRequest messages become plain
// router inputs, and router decisions become ProcessingResponse messages.
// All decisions live in package router.
package extproc
