package aggregate

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// serveEvents writes an SSE stream: the preamble (may be empty), then one
// `message` event per item of msgs, and keep-alive comments, until the
// client or the sidecar (done) goes away.
func serveEvents(w http.ResponseWriter, r *http.Request, done <-chan struct{}, preamble string, msgs <-chan []byte) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, preamble)
	flusher.Flush()
	tick := time.NewTicker(keepAliveEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case <-tick.C:
			io.WriteString(w, ": keep-alive\n\n")
		case msg := <-msgs:
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", msg)
		}
		flusher.Flush()
	}
}
