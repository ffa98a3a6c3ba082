package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// The admin API (LiteLLM's /v1/mcp/server, /key/*, /team/*,
// /organization/*) takes JSON bodies whose fields are LiteLLM's. They are
// checked here by the very parser the config file goes through, so a
// mistake gets the same message in both places: the body is turned into
// the node tree of one config entry (API field names renamed to config
// keys where they differ), parsed and validated as an entry, and each
// problem's dotted path is mapped back to a JSON pointer into the body.
// Checks across entries (a name or alias another server has, a duplicate
// key_alias) are the caller's: it knows the other objects.

// JSONOptions are what parsing one admin-API body needs to know about the
// rest of the gateway.
type JSONOptions struct {
	// Separator is the tool prefix separator (server names and aliases
	// must not contain it); "" means DefaultToolPrefixSeparator.
	Separator string
	// KeyHeader is the gateway key header, which a server may not forward
	// or set; "" means DefaultKeyHeader.
	KeyHeader string
	// MasterKeyHash is general_settings.master_key's digest: a key equal
	// to it is refused. "" skips the check.
	MasterKeyHash string
	// Now is the time a key's duration counts from; zero means the
	// current time.
	Now time.Time
	// References, when not nil, are the names object_permission,
	// team_id and organization_id may refer to; each reference is checked
	// against them. nil skips those checks.
	References *References
}

// References are the servers, access groups, teams and organizations an
// admin-API body may refer to: those of the config file and the store.
type References struct {
	// Servers maps each server's name, alias and server_id to its alias
	// (what access lists resolve to).
	Servers map[string]string
	// AccessGroups are every server's access_groups. Not checked: an
	// API body may grant a group no server has joined yet.
	AccessGroups map[string]bool
	// Teams and Organizations are the team_ids and organization_ids.
	Teams         map[string]bool
	Organizations map[string]bool
}

// Report is what parsing one admin-API body found. Every Problem carries
// a Pointer into the body.
type Report struct {
	// Errors refuse the body.
	Errors config.Problems
	// Notes are settings accepted but not acted on yet, or without effect
	// (the config file's Config.Unsupported, Ignored and Warnings).
	Notes config.Problems
}

// OK reports whether the body has no errors.
func (r Report) OK() bool { return len(r.Errors) == 0 }

// maxJSONDepth bounds the nesting of an admin-API body.
const maxJSONDepth = 32

// API field names of a server (LiteLLM's NewMCPServerRequest) that differ
// from the config file's keys.
const (
	apiServerName   = "server_name"
	apiAccessGroups = "mcp_access_groups"
	apiCredentials  = "credentials"
)

// CredentialKeys are the keys of LiteLLM's MCPCredentials that are server
// keys of the config file: the API nests them under credentials, the file
// has them at the top of the entry. A server body may carry them either
// way (not both).
var CredentialKeys = []string{
	"auth_value", "client_id", "client_secret", "scopes",
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_region_name",
	"aws_service_name", "aws_role_name", "aws_session_name",
	"audience", "token_exchange_endpoint", "subject_token_type", "token_exchange_profile",
	"id_jag_resource_token_endpoint", "id_jag_resource", "upstream_resource", "upstream_token_header",
	"client_private_key", "client_private_key_id", "client_assertion_signing_alg",
	"token_endpoint_auth_method",
}

// credentialOnly are MCPCredentials keys without a config key.
var credentialOnly = setOf("redirect_uris")

// ServerReadOnlyFields are the fields of LiteLLM's LiteLLM_MCPServerTable
// that the gateway sets (or LiteLLM's UI shows) and a client cannot: a
// body that carries them, as a GET answer sent back does, is accepted
// and they are ignored.
var ServerReadOnlyFields = []string{
	"created_at", "created_by", "updated_at", "updated_by", "teams", "status",
	"last_health_check", "health_check_error", "approval_status", "submitted_by",
	"submitted_at", "reviewed_at", "review_notes", "has_user_credential", "connected_app_reachable",
}

// serverAPIOnly are NewMCPServerRequest fields that have no config key;
// accepted, kept and reported as not supported yet.
var serverAPIOnly = setOf("tool_name_to_display_name", "tool_name_to_description", "is_byok",
	"byok_description", "byok_api_key_help_url", "source_url", "header_variables")

// serverAPIFieldNames is every field a server body may have, for hints.
var serverAPIFieldNames = func() []string {
	names := slices.Concat(serverKeyNames, []string{apiServerName, apiAccessGroups, apiCredentials},
		ServerReadOnlyFields, sortedKeys(serverAPIOnly))
	slices.Sort(names)
	return slices.Compact(names)
}()

func (o JSONOptions) separator() string {
	if o.Separator == "" {
		return config.DefaultToolPrefixSeparator
	}
	return o.Separator
}

func (o JSONOptions) keyHeader() string {
	if o.KeyHeader == "" {
		return config.DefaultKeyHeader
	}
	return strings.ToLower(o.KeyHeader)
}

// newAPIParser returns a parser for one admin-API body.
func newAPIParser() *parser {
	return &parser{api: true, budget: nodeBudget}
}

// ParseServerJSON parses a LiteLLM admin-API server body (NewMCPServerRequest,
// UpdateMCPServerRequest or a LiteLLM_MCPServerTable as GET returns it)
// with the config file's rules. server_name is the entry's name (alias
// stands in when it is missing), mcp_access_groups its access_groups, and
// credentials' keys (auth_value, client_id, client_secret, scopes, ...)
// are read as the entry's own; transport is as LiteLLM spells it (http,
// sse, stdio). The Server is meaningful only when the report is OK.
func ParseServerJSON(body []byte, opts JSONOptions) (config.Server, Report) {
	p := newAPIParser()
	top := p.decodeJSON(body)
	if top == nil {
		return config.Server{}, p.report(nil)
	}
	entry, name, names := p.serverEntry(top)
	if name == "" {
		return config.Server{}, p.report(names)
	}
	keyNode := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
	s, src := p.server(pair{key: name, k: keyNode, v: entry})
	servers, sources := []config.Server{s}, []serverSource{src}
	p.validateServers(servers, sources, opts.separator())
	g := config.GeneralSettings{MCPToolPrefixSeparator: opts.separator(), KeyHeaderName: opts.keyHeader(), MCPClientSideAuthHeaderName: config.DefaultClientSideAuthHeader}
	p.checkCredentials(servers, sources, g)
	return servers[0], p.report(names)
}

// keyDuration replaces a key body's duration (LiteLLM's "30s", "15m",
// "8h", "30d", "2w", "1mo"; null for none) with the expires it means.
func (p *parser) keyDuration(top *yaml.Node, now time.Time) {
	if now.IsZero() {
		now = time.Now()
	}
	var dur, expires *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		switch top.Content[i].Value {
		case "duration":
			dur = top.Content[i+1]
			top.Content = slices.Delete(top.Content, i, i+2)
			i -= 2
		case "expires":
			expires = top.Content[i+1]
		}
	}
	if isNull(dur) {
		return
	}
	v, ok := p.str(dur, "duration")
	if !ok {
		return
	}
	d, err := parseKeyDuration(v)
	if err != nil {
		p.problems = append(p.problems, config.Problem{Path: "duration", Pointer: "/duration", Message: err.Error()})
		return
	}
	if !isNull(expires) {
		p.problems = append(p.problems, config.Problem{Path: "duration", Pointer: "/duration", Message: "set duration or expires, not both"})
		return
	}
	at := now.Add(d).UTC().Format(time.RFC3339)
	top.Content = append(top.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "expires"},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: at})
}

// parseKeyDuration reads LiteLLM's key duration: a whole number and a unit
// (s, m, h, d, w, mo).
func parseKeyDuration(v string) (time.Duration, error) {
	bad := errors.New(`must be a whole number and a unit: s, m, h, d, w or mo (e.g. "30d")`)
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return 0, bad
	}
	n, err := strconv.ParseInt(v[:i], 10, 32)
	if err != nil || n <= 0 {
		return 0, bad
	}
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "mo": 30 * 24 * time.Hour}[v[i:]]
	if unit == 0 {
		return 0, bad
	}
	if time.Duration(n) > (100*365*24*time.Hour)/unit {
		return 0, errors.New("must be at most 100 years")
	}
	return time.Duration(n) * unit, nil
}

// ParseKeyJSON parses a LiteLLM key body (/key/generate, /key/update) with
// the rules of an access.keys entry: key (the key itself, hashed at once)
// or token (its SHA-256 hex), key_alias, team_id, blocked, expires and
// object_permission; LiteLLM's other key fields are noted as ignored.
// duration ("30d", LiteLLM's) is read as expires from now; see
// KeyDuration. The Key is meaningful only when the report is OK.
func ParseKeyJSON(body []byte, opts JSONOptions) (config.Key, Report) {
	p := newAPIParser()
	top := p.decodeJSON(body)
	if top == nil {
		return config.Key{}, p.report(nil)
	}
	const path = "access.keys[0]"
	p.keyDuration(top, opts.Now)
	var a config.AccessSettings
	src := &accessSource{}
	p.accessKey(top, path, &a, src)
	k := a.Keys[0]
	if k.Alias == "master_key" {
		p.errorf(top, join(path, "key_alias"), "master_key names general_settings.master_key in logs and policy; choose another alias")
	}
	if opts.MasterKeyHash != "" && k.Token == opts.MasterKeyHash {
		p.errorf(top, path, "same key as general_settings.master_key")
	}
	p.checkRefs(src, opts.References, &k.Permission)
	k.Line = 0
	return k, p.report(nil)
}

// ParseTeamJSON parses a LiteLLM team body (/team/new, /team/update) with
// the rules of an access.teams entry.
func ParseTeamJSON(body []byte, opts JSONOptions) (config.Team, Report) {
	p := newAPIParser()
	top := p.decodeJSON(body)
	if top == nil {
		return config.Team{}, p.report(nil)
	}
	var a config.AccessSettings
	src := &accessSource{}
	p.accessTeam(top, "access.teams[0]", &a, src)
	t := a.Teams[0]
	p.checkRefs(src, opts.References, &t.Permission)
	t.Line = 0
	return t, p.report(nil)
}

// ParseOrganizationJSON parses a LiteLLM organization body
// (/organization/new, /organization/update) with the rules of an
// access.organizations entry.
func ParseOrganizationJSON(body []byte, opts JSONOptions) (config.Organization, Report) {
	p := newAPIParser()
	top := p.decodeJSON(body)
	if top == nil {
		return config.Organization{}, p.report(nil)
	}
	var a config.AccessSettings
	src := &accessSource{}
	p.accessOrg(top, "access.organizations[0]", &a, src)
	o := a.Organizations[0]
	p.checkRefs(src, opts.References, &o.Permission)
	o.Line = 0
	return o, p.report(nil)
}

// checkRefs checks the references of one entry and resolves its server
// names to aliases, when refs is given.
func (p *parser) checkRefs(src *accessSource, refs *References, perm *config.ObjectPermission) {
	if refs == nil {
		return
	}
	for _, r := range src.refs {
		// Through the API an access group may be granted before any
		// server joins it (LiteLLM does not check; scripts create teams
		// and keys first): it grants nothing until one does.
		if r.kind == "group" {
			continue
		}
		p.checkRef(r, refs.Servers, refs.AccessGroups, refs.Teams, refs.Organizations)
	}
	resolveServers(perm, refs.Servers)
}

// serverEntry turns a server body into the mapping of a config entry and
// returns it with the entry's name. names maps config keys to the API
// pointers they came from, where those differ.
func (p *parser) serverEntry(top *yaml.Node) (entry *yaml.Node, name string, names map[string]string) {
	entry = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	names = map[string]string{}
	from := map[string]string{} // config key → the pointer that set it
	add := func(key, ptr string, k, v *yaml.Node) {
		if first, dup := from[key]; dup {
			p.problems = append(p.problems, config.Problem{Path: key, Pointer: ptr, Message: fmt.Sprintf("also set at %s; set it once", first)})
			return
		}
		from[key] = ptr
		if ptr != "/"+escapePointer(key) {
			names[key] = ptr
		}
		entry.Content = append(entry.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: k.Line}, v)
	}
	var alias string
	var nameSet bool
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		key := k.Value
		ptr := "/" + escapePointer(key)
		switch {
		case key == apiServerName:
			if s, ok := p.str(v, key); ok && s != "" {
				name, nameSet = s, true
			}
		case key == apiAccessGroups:
			add("access_groups", ptr, k, v)
		case key == apiCredentials:
			pairs, _ := p.mapping(v, key)
			for _, c := range pairs {
				cptr := ptr + "/" + escapePointer(c.key)
				switch {
				case slices.Contains(CredentialKeys, c.key):
					add(c.key, cptr, c.k, c.v)
				case credentialOnly[c.key]:
					p.ignore(c.k, join(key, c.key), "not used by this gateway")
				default:
					p.errorf(c.k, join(key, c.key), "unknown key%s", suggest(c.key, CredentialKeys))
				}
			}
		case slices.Contains(ServerReadOnlyFields, key):
			// Set by the gateway; a GET answer sent back carries them.
		case serverAPIOnly[key]:
			if !isNull(v) {
				p.notSupported(k, key, "")
			}
		case key == "alias":
			if d := deref(v); d != nil && d.Kind == yaml.ScalarNode && d.ShortTag() == "!!str" {
				alias = d.Value // checked as the entry's alias
			}
			add(key, ptr, k, v)
		default:
			if _, known := serverKeys[key]; !known {
				// The entry's parser reports unknown keys (and remembers
				// what it hinted), unless the nearest field is an API name.
				if hint := didYouMean(key, serverAPIFieldNames); hint != "" {
					if _, config := serverKeys[hint]; !config {
						p.errorf(k, key, "unknown key%s", suggest(key, serverAPIFieldNames))
						continue
					}
				}
			}
			add(key, ptr, k, v)
		}
	}
	if !nameSet {
		name = alias
		names[""] = "/alias"
	} else {
		names[""] = "/" + apiServerName
	}
	if name == "" {
		p.errorf(top, apiServerName, "is required: the server's name (and its tool prefix unless alias is set)")
	}
	return entry, name, names
}

// decodeJSON reads body, which must be one JSON object, into a node tree
// (without going through YAML text, so JSON's escapes and numbers are read
// as JSON defines them). It returns nil after reporting a problem.
func (p *parser) decodeJSON(body []byte) *yaml.Node {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	n, err := p.jsonValue(dec, "", 0)
	if err != nil && p.broke {
		return nil // too large, reported
	}
	if err != nil {
		p.problems = append(p.problems, config.Problem{Message: "invalid JSON: " + jsonErrorText(err)})
		return nil
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		p.problems = append(p.problems, config.Problem{Message: "invalid JSON: more than one value in the body"})
		return nil
	}
	if n == nil {
		return nil // too deep, reported
	}
	if n.Kind != yaml.MappingNode {
		p.problems = append(p.problems, config.Problem{Message: fmt.Sprintf("the body must be a JSON object, got %s", kindName(n))})
		return nil
	}
	return n
}

// jsonErrorText describes a JSON syntax error without quoting the body.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of the body"
	}
	return "malformed body"
}

// jsonValue reads one JSON value as a node. Duplicate object keys are
// reported (the later one is dropped).
func (p *parser) jsonValue(dec *json.Decoder, ptr string, depth int) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if !p.spend(nil, 1) {
		return nil, errors.New("too large")
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			p.problems = append(p.problems, config.Problem{Pointer: ptr, Message: fmt.Sprintf("nested more than %d levels deep", maxJSONDepth)})
			return nil, skipRest(dec)
		}
		if t == '[' {
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for i := 0; dec.More(); i++ {
				v, err := p.jsonValue(dec, ptr+"/"+strconv.Itoa(i), depth+1)
				if err != nil {
					return nil, err
				}
				if v == nil {
					v = nullNode()
				}
				n.Content = append(n.Content, v)
			}
			_, err := dec.Token() // ]
			return n, err
		}
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string)
			kptr := ptr + "/" + escapePointer(key)
			v, err := p.jsonValue(dec, kptr, depth+1)
			if err != nil {
				return nil, err
			}
			if seen[key] {
				p.problems = append(p.problems, config.Problem{Pointer: kptr, Message: "duplicate key"})
				continue
			}
			seen[key] = true
			if v == nil {
				v = nullNode()
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
		}
		_, err := dec.Token() // }
		return n, err
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	default: // nil
		return nullNode(), nil
	}
}

func nullNode() *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"} }

// skipRest consumes the rest of the array or object just opened.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if t, ok := tok.(json.Delim); ok {
			if t == '[' || t == '{' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// report collects the parser's findings with their JSON pointers. names
// maps a server entry's config keys to the API pointers they came from.
func (p *parser) report(names map[string]string) Report {
	var r Report
	for _, pr := range p.problems {
		r.Errors = append(r.Errors, apiProblem(pr, names))
	}
	for _, list := range [][]config.Problem{p.unsupported, p.ignored, p.warnings} {
		for _, pr := range list {
			r.Notes = append(r.Notes, apiProblem(pr, names))
		}
	}
	return r
}

// entryPrefixes are the dotted paths of the one entry a body is parsed as.
var entryPrefixes = []string{"access.keys[0]", "access.teams[0]", "access.organizations[0]"}

// apiProblem gives pr a JSON pointer (unless it has one) and strips what
// only makes sense in a file: the line and the path of the entry.
func apiProblem(pr config.Problem, names map[string]string) config.Problem {
	pr.Line = 0
	if pr.Pointer != "" || pr.Path == "" {
		return pr
	}
	rest, entry := pr.Path, false
	for _, pre := range entryPrefixes {
		if r, ok := cutPathPrefix(pr.Path, pre); ok {
			rest, entry = r, true
			break
		}
	}
	if !entry && names != nil {
		if r, ok := cutPathPrefix(pr.Path, "mcp_servers"); ok {
			// Drop the entry's name: the first segment of r.
			segs := splitPath(r)
			if len(segs) > 0 {
				segs = segs[1:]
			}
			if len(segs) == 0 {
				pr.Pointer = entryPointer(pr.Message, names)
				pr.Path = ""
				return pr
			}
			if to, ok := names[segs[0]]; ok {
				pr.Pointer = to + pointerOf(segs[1:])
			} else {
				pr.Pointer = pointerOf(segs)
			}
			pr.Path = strings.Join(segs, ".")
			return pr
		}
	}
	pr.Pointer = pointerOf(splitPath(rest))
	pr.Path = rest
	return pr
}

// entryPointer is the pointer of a problem reported on a server entry as
// a whole: its name's field for a problem with the name, else the body.
func entryPointer(msg string, names map[string]string) string {
	for _, prefix := range []string{"alias must be", "alias contains", "server name contains", "alias \""} {
		if strings.HasPrefix(msg, prefix) {
			return names[""]
		}
	}
	return ""
}

// cutPathPrefix removes prefix (a whole number of segments) from path.
func cutPathPrefix(path, prefix string) (string, bool) {
	if path == prefix {
		return "", true
	}
	if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && (rest[0] == '.' || rest[0] == '[') {
		return strings.TrimPrefix(rest, "."), true
	}
	return "", false
}

// splitPath splits a dotted path as join and index write it
// (`a."b.c"[2].d`) into its segments (a, b.c, 2, d).
func splitPath(path string) []string {
	var segs []string
	for i := 0; i < len(path); {
		switch c := path[i]; {
		case c == '.':
			i++
		case c == '"':
			q, err := strconv.QuotedPrefix(path[i:])
			if err != nil {
				return append(segs, path[i:])
			}
			s, _ := strconv.Unquote(q)
			segs = append(segs, s)
			i += len(q)
		case c == '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return append(segs, path[i:])
			}
			segs = append(segs, path[i+1:i+end])
			i += end + 1
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				return append(segs, path[i:])
			}
			segs = append(segs, path[i:i+end])
			i += end
		}
	}
	return segs
}

func pointerOf(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(escapePointer(s))
	}
	return b.String()
}

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
