package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"testing"
)

// EnvoyBin returns $ENVOY_BIN. Without it the test is skipped, or fails
// when MCPGW_REQUIRE_ENVOY=1 (make test, CI).
func EnvoyBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("ENVOY_BIN")
	if bin == "" {
		msg := "ENVOY_BIN is not set; run: ENVOY_BIN=$(scripts/ensure-envoy.sh) go test ..."
		if os.Getenv("MCPGW_REQUIRE_ENVOY") == "1" {
			t.Fatal(msg + " (MCPGW_REQUIRE_ENVOY=1)")
		}
		t.Skip(msg)
	}
	return bin
}

// FreePort returns a loopback TCP port that was free a moment ago
// (PickPort).
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Ports PickPort chooses among: below Linux's ephemeral range
// (32768-60999), where the kernel puts every port-0 listener and the
// local end of every outgoing connection. A port taken from that range
// (a port-0 listener closed at once) could be handed to any of those
// before the test's Envoy or server binds it, which then fails with
// "Address already in use"; up here only another PickPort can take it.
// scripts/ensure-postgres.sh's 25432 is above.
const (
	pickPortFirst = 10000
	pickPortCount = 15000
)

// PickPort returns a loopback TCP port that was free a moment ago, at
// random among the ports above.
func PickPort() (int, error) {
	var err error
	for range 50 {
		p := pickPortFirst + rand.IntN(pickPortCount)
		var l net.Listener
		if l, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port in 50 tries: %w", err)
}
