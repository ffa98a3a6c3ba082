// Package httpstatus records the status an HTTP handler answered with,
// for the middlewares that report it (a span, a metric) after the
// handler has served.
package httpstatus

import "net/http"

// Writer passes everything to the ResponseWriter it wraps and remembers
// the status of the answer: 200 unless the handler wrote another header
// first. It flushes as the wrapped writer does (event streams) and
// unwraps for http.ResponseController.
type Writer struct {
	http.ResponseWriter
	status int
	wrote  bool
}

// Wrap returns a Writer over w.
func Wrap(w http.ResponseWriter) *Writer {
	return &Writer{ResponseWriter: w, status: http.StatusOK}
}

// Status is the status the answer was given (200 if none was written).
func (w *Writer) Status() int { return w.status }

func (w *Writer) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush passes on, for event streams.
func (w *Writer) Flush() {
	w.wrote = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
