package gateway

import (
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/extproc"
)

// A routed call's set-up happens inside one ext_proc message: the
// gateway's own bounds on it must end before Envoy's, with room for the
// rest of the message's work.
func TestCallSetUpFitsTheMessageTimeout(t *testing.T) {
	if setUp := extproc.TokenWait + SessionOpenTimeout; setUp+time.Second > envoy.DefaultMessageTimeout {
		t.Fatalf("token wait %v + session open %v = %v; Envoy's message timeout is %v",
			extproc.TokenWait, SessionOpenTimeout, setUp, envoy.DefaultMessageTimeout)
	}
}
