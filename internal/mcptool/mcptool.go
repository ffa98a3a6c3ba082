// Package mcptool serves tools, resources and resource templates that come
// from outside (an upstream server, a process, a spec) on a go-sdk server
// without letting their input crash it: go-sdk panics on what it rejects.
package mcptool

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CheckInputSchema enforces what go-sdk's AddTool requires (and would
// panic on): an input schema that is a JSON object of type "object".
func CheckInputSchema(schema any) error {
	if schema == nil {
		return errors.New("no input schema")
	}
	data, err := json.Marshal(schema)
	if err != nil {
		return fmt.Errorf("input schema: %w", err)
	}
	var s struct {
		Type any `json:"type"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("input schema is not a JSON object")
	}
	if s.Type != "object" {
		return fmt.Errorf(`input schema type is %v, not "object"`, s.Type)
	}
	return nil
}

// Add adds t, turning a go-sdk panic over a tool it rejects into an
// error. go-sdk panics before it changes anything, so the server stays
// consistent.
func Add(srv *mcp.Server, t *mcp.Tool, h mcp.ToolHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rejected by go-sdk: %v", r)
		}
	}()
	srv.AddTool(t, h)
	return nil
}

// AddResource adds r like Add adds a tool (go-sdk panics on a URI it
// cannot parse).
func AddResource(srv *mcp.Server, r *mcp.Resource, h mcp.ResourceHandler) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("rejected by go-sdk: %v", rec)
		}
	}()
	srv.AddResource(r, h)
	return nil
}

// AddResourceTemplate adds t like Add adds a tool (go-sdk panics on an
// invalid URI template).
func AddResourceTemplate(srv *mcp.Server, t *mcp.ResourceTemplate, h mcp.ResourceHandler) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("rejected by go-sdk: %v", rec)
		}
	}()
	srv.AddResourceTemplate(t, h)
	return nil
}
