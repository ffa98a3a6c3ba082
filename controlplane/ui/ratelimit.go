package ui

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/mcpgw/mcpgw/controlplane/authlimit"
)

// Failed sign-ins are limited per client address and in all, each by a
// token bucket: burst failures at once, then one more every interval.
// A limited client is answered 429 before its key is looked at, so the
// limit cannot be used to test keys faster.
var (
	signinPerClient = authlimit.Limit{Burst: 5, Every: time.Minute}
	signinAll       = authlimit.Limit{Burst: 100, Every: 6 * time.Second}
)

// maxSigninClients bounds the per-client table.
const maxSigninClients = 10000

func newSigninLimiter(now func() time.Time) *authlimit.Limiter {
	return authlimit.New(now, signinPerClient, signinAll, maxSigninClients)
}

// clientAddress is who is signing in (authlimit.ClientAddress).
func clientAddress(r *http.Request) string { return authlimit.ClientAddress(r) }

// tooManySignins is the 429 of a limited sign-in: the login page, with
// Retry-After in whole seconds.
func (h *Handler) tooManySignins(w http.ResponseWriter, p *page, client string, wait time.Duration, all bool) {
	secs := int(math.Ceil(wait.Seconds()))
	h.log.Warn("ui sign-in rate limited", "client", client, "global", all, "retry_after_s", secs)
	who := "from your address"
	if all {
		who = "to this gateway (from all addresses)"
	}
	p.Error = fmt.Sprintf("Too many failed sign-ins %s: try again in %d seconds.", who, secs)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	h.render(w, http.StatusTooManyRequests, "login", p)
}
