package policy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// maxLoggedNames is how many argument names a decision line lists; a
// call with more also gets argument_count.
const maxLoggedNames = 32

// decisionLogger writes decision lines as JSON; nil w discards them.
func decisionLogger(w io.Writer) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewJSONHandler(w, nil)).With("log", "mcpgw.decision")
}

// logDecision writes one line: who, what, the verdict, why and how long
// it took. Argument values are left out unless
// access.decision_log.argument_values is set: only their names appear.
func (e *Engine) logDecision(p *Prepared, req Request, d Decision, elapsed time.Duration) {
	if !e.dlog.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 13)
	attrs = append(attrs, requestIDAttr(req.Header))
	attrs = append(attrs, principalAttrs(req)...)
	attrs = append(attrs,
		slog.String("method", req.Method),
		slog.String("server", req.Server),
		slog.String("tool", req.Name),
		slog.String("decision", verdict(d)),
		slog.String("reason", d.Reason),
		slog.Float64("latency_us", float64(elapsed.Nanoseconds())/1e3),
	)
	if len(req.Arguments) > 0 {
		if p.argValues {
			attrs = append(attrs, slog.Any("arguments", json.RawMessage(req.Arguments)))
		} else if names, err := req.argumentNames(); err == nil {
			if len(names) > maxLoggedNames {
				// The line stays short whatever a client sends.
				attrs = append(attrs, slog.Int("argument_count", len(names)))
				names = names[:maxLoggedNames]
			}
			attrs = append(attrs, slog.Any("argument_names", names))
		}
	}
	e.dlog.LogAttrs(context.Background(), slog.LevelInfo, "decision", attrs...)
}

// DecidedByEnvoy is the decided_by of a decision line for a call Envoy's
// fast path decided (wellknown.FastPathDecidedBy); lines the engine
// decided have no decided_by.
const DecidedByEnvoy = wellknown.FastPathDecidedBy

// LogDecidedByEnvoy writes the line of, and counts (Observe), a tools/call
// Envoy's fast path allowed from a grant this policy computed: the line a
// routed call's allow gets, with decided_by "envoy". req has the
// principal's ID (the grant's key_alias), Method, Server, Name and the
// request id in Header; what Envoy sends is logged as it came, decides
// nothing. The line has no latency_us (Envoy does not time its
// decision), no argument_names (Envoy does not send the body), and team
// and org only when req's principal has them.
func (e *Engine) LogDecidedByEnvoy(req Request) {
	d := Decision{Allow: true, Reason: "allowed"}
	if e.dlog.Enabled(context.Background(), slog.LevelInfo) {
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs, requestIDAttr(req.Header))
		if p := req.Principal; p != nil {
			attrs = append(attrs, slog.String("principal", p.ID))
			if p.Team != "" {
				attrs = append(attrs, slog.String("team", p.Team))
			}
			if p.Org != "" {
				attrs = append(attrs, slog.String("org", p.Org))
			}
		} else {
			attrs = append(attrs, slog.String("principal", ""))
		}
		attrs = append(attrs,
			slog.String("method", req.Method),
			slog.String("server", req.Server),
			slog.String("tool", req.Name),
			slog.String("decision", verdict(d)),
			slog.String("reason", d.Reason),
			slog.String("decided_by", DecidedByEnvoy),
		)
		e.dlog.LogAttrs(context.Background(), slog.LevelInfo, "decision", attrs...)
	}
	if f := e.observe.Load(); f != nil {
		(*f)(d)
	}
}

// LogList writes one line for a listing: how many items the principal was
// shown and how many the policy hid.
func (e *Engine) LogList(req Request, shown, hidden int, elapsed time.Duration) {
	attrs := append(principalAttrs(req),
		requestIDAttr(req.Header),
		slog.String("method", req.Method),
		slog.String("decision", "filter"),
		slog.Int("shown", shown),
		slog.Int("hidden", hidden),
		slog.Float64("latency_us", float64(elapsed.Nanoseconds())/1e3),
	)
	e.dlog.LogAttrs(context.Background(), slog.LevelInfo, "decision", attrs...)
}

// RequestIDHeader is the header Envoy's request id arrives in; decision
// lines carry it as request_id, the key Envoy's access log has it under,
// so the two logs join on it.
const RequestIDHeader = "x-request-id"

// requestIDAttr is the request_id of a decision line ("" when header is
// nil: a question asked outside a request).
func requestIDAttr(header func(name string) string) slog.Attr {
	if header == nil {
		return slog.String("request_id", "")
	}
	return slog.String("request_id", header(RequestIDHeader))
}

func principalAttrs(req Request) []slog.Attr {
	p := req.Principal
	if p == nil {
		return []slog.Attr{slog.String("principal", "")}
	}
	id := p.ID
	if p.Anonymous {
		id = "anonymous"
	}
	return []slog.Attr{slog.String("principal", id), slog.String("team", p.Team), slog.String("org", p.Org)}
}

func verdict(d Decision) string {
	if d.Allow {
		return "allow"
	}
	return "deny"
}
