package configfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// maxFileSize bounds the config file Load reads.
const maxFileSize = 16 << 20

// Load reads the config file at path and parses it like Parse.
func Load(path string, env LookupEnv) (*config.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, config.Problems{{File: path, Message: fmt.Sprintf("file is larger than %d bytes", maxFileSize)}}
	}
	cfg, err := Parse(data, path, env)
	if err != nil {
		return nil, err
	}
	cfg.Path = path
	return cfg, nil
}

// Parse parses and validates a config file's contents. file names the
// file in messages. env resolves os.environ/ references and the MCP
// environment variables LiteLLM reads; nil means an empty environment.
//
// On failure the error is a Problems value listing every problem found.
func Parse(data []byte, file string, env LookupEnv) (*config.Config, error) {
	p := &parser{file: file, env: env, budget: nodeBudget}
	cfg := p.parse(data)
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, config.Problems(p.problems)
	}
	sortProblems(p.unsupported)
	sortProblems(p.ignored)
	sortProblems(p.warnings)
	cfg.Unsupported = p.unsupported
	cfg.Ignored = p.ignored
	cfg.Warnings = p.warnings
	return cfg, nil
}

// topLevelKeys are the sections Parse reads itself; the rest of LiteLLM's
// sections are in liteLLMSections.
var topLevelKeys = []string{"mcp_servers", "general_settings", "gateway", "access", "litellm_settings", "include"}

func (p *parser) parse(data []byte) *config.Config {
	cfg := &config.Config{Gateway: config.GatewaySettings{
		Port:                 config.DefaultPort,
		MaxRequestBodyBytes:  config.DefaultMaxRequestBodyBytes,
		MaxResponseBodyBytes: config.DefaultMaxResponseBodyBytes,
		RequestTimeout:       config.DefaultRequestTimeout,
		LogLevel:             config.DefaultLogLevel,
		SessionTTL:           config.DefaultSessionTTL,
		DrainTimeout:         config.DefaultDrainTimeout,
	}}
	root := p.decode(data)
	var sections map[string]pair
	if root != nil {
		sections = p.sections(root)
	}

	var gsrc generalSource
	var ssrc storeSource
	if s, ok := sections["general_settings"]; ok {
		gsrc = p.general(s.v, &cfg.General, &cfg.Store, &ssrc)
	}
	p.resolveGeneral(&cfg.General, gsrc)
	if s, ok := sections["gateway"]; ok {
		p.gateway(s.v, &cfg.Gateway, &cfg.Store)
	}
	var aliases []aliasEntry
	if s, ok := sections["litellm_settings"]; ok {
		aliases = p.litellmSettings(s.k, s.v)
	}
	if s, ok := sections["mcp_servers"]; ok {
		servers, sources := p.servers(s.v)
		p.applyAliases(servers, sources, aliases)
		p.validateServers(servers, sources, cfg.General.MCPToolPrefixSeparator)
		p.checkCredentials(servers, sources, cfg.General)
		cfg.Servers = servers
	} else {
		p.applyAliases(nil, nil, aliases)
		p.checkCredentials(nil, nil, cfg.General)
	}
	var asrc *accessSource
	if s, ok := sections["access"]; ok {
		asrc = p.access(s.v, &cfg.Access)
	}
	p.validateAccess(cfg, asrc)
	p.resolveStore(cfg, ssrc)
	return cfg
}

// decode parses the YAML text into a node tree and returns the top-level
// node, or nil for an empty file or on a syntax error (reported).
func (p *parser) decode(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on malformed input in the past; a config
		// file must never crash the gateway.
		if r := recover(); r != nil {
			p.errorf(nil, "", "invalid YAML")
			root = nil
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.problems = append(p.problems, p.yamlProblem(err))
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file: all defaults, no servers
	}
	top := deref(doc.Content[0])
	if isNull(top) {
		return nil
	}
	if top.Kind != yaml.MappingNode {
		p.errorf(top, "", "the file must be a mapping of sections (mcp_servers, general_settings, gateway, ...), got %s", kindName(top))
		return nil
	}
	return top
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlProblem turns a yaml.v3 syntax error into a Problem with a line.
func (p *parser) yamlProblem(err error) config.Problem {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if isParserError(m[2]) {
			line++ // yaml.v3 reports parser (not scanner) errors 0-based
		}
		return config.Problem{File: p.file, Line: line, Message: "invalid YAML: " + m[2]}
	}
	if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return config.Problem{File: p.file, Message: "invalid YAML: " + msg}
}

// isParserError reports whether a yaml.v3 message comes from its parser
// (parserc.go), whose line numbers are 0-based, rather than its scanner.
func isParserError(msg string) bool {
	for _, prefix := range []string{"did not find expected", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// sections checks the top-level keys and returns the ones Parse reads.
func (p *parser) sections(root *yaml.Node) map[string]pair {
	out := make(map[string]pair)
	for _, s := range p.pairs(root, "", 0) {
		switch {
		case s.key == "include":
			if !isNull(deref(s.v)) {
				p.notSupported(s.k, s.key, "included files are not read, so mcp_servers in them are missing")
			}
		case s.key == "mcp_servers", s.key == "general_settings", s.key == "gateway", s.key == "litellm_settings", s.key == "access":
			out[s.key] = s
		case liteLLMSections[s.key]:
			p.ignore(s.k, s.key, "not an MCP gateway setting")
		default:
			p.errorf(s.k, s.key, "unknown top-level section%s", suggest(s.key, slices.Concat(topLevelKeys, sortedKeys(liteLLMSections))))
		}
	}
	return out
}

// sortProblems orders problems by line, keeping discovery order within a
// line; problems without a line go last.
func sortProblems(ps []config.Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return lj == 0 && li != 0
		}
		return li < lj
	})
}
