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
		cc.Sampling = &mcp.SamplingCapabilities{}
	}
	if c&clientsession.CapRoots != 0 {
		cc.RootsV2 = &mcp.RootCapabilities{}
	}
	return cc
}
