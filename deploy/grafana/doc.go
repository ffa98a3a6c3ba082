// Package grafana holds no code: its test checks the dashboard in this
// directory (mcpgw.json) against the metrics the gateway exports.
package grafana
