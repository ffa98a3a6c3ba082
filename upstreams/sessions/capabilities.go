package sessions

import (
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/clientsession"
)

// clientCapabilities returns the go-sdk client capabilities that declare c.
func clientCapabilities(c clientsession.Capabilities) *mcp.ClientCapabilities {
	cc := &mcp.ClientCapabilities{}
	if c&(clientsession.CapElicitationForm|clientsession.CapElicitationURL) != 0 {
		cc.Elicitation = &mcp.ElicitationCapabilities{}
		if c&clientsession.CapElicitationForm != 0 {
			cc.Elicitation.Form = &mcp.FormElicitationCapabilities{}
		}
		if c&clientsession.CapElicitationURL != 0 {
			cc.Elicitation.URL = &mcp.URLElicitationCapabilities{}
		}
	}
	if c&clientsession.CapSampling != 0 {
		//lint:ignore SA1019 sampling: still in the protocol versions before 2026-07-28 clients may declare
		cc.Sampling = &mcp.SamplingCapabilities{}
	}
	if c&clientsession.CapRoots != 0 {
		//lint:ignore SA1019 roots: still in the protocol versions before 2026-07-28 clients may declare
		cc.RootsV2 = &mcp.RootCapabilities{}
	}
	return cc
}
