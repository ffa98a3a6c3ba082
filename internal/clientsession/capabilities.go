package clientsession

import "encoding/json"

// Capabilities are the client capabilities an upstream must know of to
// send the client requests of its own (elicitation, sampling, roots). The
// gateway answers the client's initialize itself, so it carries them, in
// the sealed session id, to the upstream sessions it opens for the client.
type Capabilities uint8

const (
	CapElicitationForm Capabilities = 1 << iota
	CapElicitationURL
	CapSampling
	CapRoots
)

// CapabilitiesOf reads the capabilities of an initialize request's
// params.capabilities. Anything unreadable counts as none.
func CapabilitiesOf(initializeBody []byte) Capabilities {
	var m struct {
		Params struct {
			Capabilities struct {
				Elicitation *struct {
					Form *json.RawMessage `json:"form"`
					URL  *json.RawMessage `json:"url"`
				} `json:"elicitation"`
				Sampling *json.RawMessage `json:"sampling"`
				Roots    *json.RawMessage `json:"roots"`
			} `json:"capabilities"`
		} `json:"params"`
	}
	if json.Unmarshal(initializeBody, &m) != nil {
		return 0
	}
	c := m.Params.Capabilities
	var caps Capabilities
	if e := c.Elicitation; e != nil {
		// An empty elicitation object means form mode (2025-06-18).
		if e.Form != nil || e.URL == nil {
			caps |= CapElicitationForm
		}
		if e.URL != nil {
			caps |= CapElicitationURL
		}
	}
	if c.Sampling != nil {
		caps |= CapSampling
	}
	if c.Roots != nil {
		caps |= CapRoots
	}
	return caps
}
