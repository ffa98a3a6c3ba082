package testutil

import (
	"net"
	"os"
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

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
