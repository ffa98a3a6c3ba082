// Package openapi serves the operations of a REST API described by an
// OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML) as MCP tools.
//
// [Convert] turns a document into tools: one per operation, named after
// its operationId (lowercased and reduced to MCP's tool-name characters),
// with an input schema holding the path, query, header and cookie
// parameters and the request body, every $ref resolved. Operations it
// cannot serve are reported in [Spec.Skipped] with the reason; a document
// never makes it panic. [API.Call] performs one call: arguments become
// the HTTP request (path values escaped so they stay one path segment),
// and the response becomes the tool result (JSON as text plus
// structuredContent, other text as text, binary as a base64 resource,
// HTTP errors as isError results with the status and a body excerpt).
//
// The mapping rules are documented for users in docs/adapters.md.
package openapi
