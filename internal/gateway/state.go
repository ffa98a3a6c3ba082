package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

// Stored is what the store held at one revision.
type Stored struct {
	Revision int64
	Objects  map[controlplane.Kind][]controlplane.Object
}

// LoadStored reads every object the config says to load from st.
func LoadStored(ctx context.Context, st controlplane.Store, cfg *config.Config) (Stored, error) {
	rev, err := st.Revision(ctx)
	if err != nil {
		return Stored{}, err
	}
	out := Stored{Revision: rev, Objects: map[controlplane.Kind][]controlplane.Object{}}
	for _, k := range controlplane.Kinds {
		if k == controlplane.KindServer && !cfg.Store.LoadsServers() {
			continue
		}
		objs, err := st.List(ctx, k)
		if err != nil {
			return Stored{}, fmt.Errorf("read %s objects: %w", k, err)
		}
		out.Objects[k] = objs
	}
	return out, nil
}

// Merge returns the config file's objects plus the stored ones: the state
// every replica serves. A stored object whose name or alias the config
// file already uses is left out (the file wins, and the admin API refuses
// to create such objects); one that no longer validates is left out too.
// Each left-out object is one problem in the returned list, naming it.
func Merge(file *config.Config, st Stored) (*config.Config, []string) {
	return merge(file, st, nil)
}

// merge is Merge, parsing each stored object through cache (nil: none).
func merge(file *config.Config, st Stored, cache *parsedObjects) (*config.Config, []string) {
	merged := *file
	merged.Servers = slices.Clone(file.Servers)
	merged.Access.Keys = slices.Clone(file.Access.Keys)
	merged.Access.Teams = slices.Clone(file.Access.Teams)
	merged.Access.Organizations = slices.Clone(file.Access.Organizations)
	var problems []string
	skip := func(o controlplane.Object, why string) {
		problems = append(problems, fmt.Sprintf("stored %s %s (%s) is not served: %s", o.Kind, o.ID, o.Name, why))
	}

	opts := configfile.JSONOptions{Separator: file.General.MCPToolPrefixSeparator, KeyHeader: file.General.KeyHeaderName}
	cache = cache.begin(opts)
	defer cache.end()
	taken := map[string]bool{}
	for _, s := range file.Servers {
		taken[s.Name], taken[s.Alias] = true, true
	}
	for _, o := range st.Objects[controlplane.KindServer] {
		s, err := parseCached(cache, o, opts, configfile.ParseServerJSON)
		switch {
		case err != nil:
			skip(o, err.Error())
		case taken[s.Name] || taken[s.Alias]:
			skip(o, "the config file has a server of that name or alias")
		default:
			taken[s.Name], taken[s.Alias] = true, true
			merged.Servers = append(merged.Servers, s)
		}
	}

	orgs := map[string]bool{}
	for _, o := range file.Access.Organizations {
		orgs[o.ID] = true
	}
	for _, o := range st.Objects[controlplane.KindOrganization] {
		org, err := parseCached(cache, o, opts, configfile.ParseOrganizationJSON)
		switch {
		case err != nil:
			skip(o, err.Error())
		case orgs[org.ID]:
			skip(o, "the config file has an organization with that id")
		default:
			orgs[org.ID] = true
			merged.Access.Organizations = append(merged.Access.Organizations, org)
		}
	}
	teams := map[string]bool{}
	for _, t := range file.Access.Teams {
		teams[t.ID] = true
	}
	for _, o := range st.Objects[controlplane.KindTeam] {
		t, err := parseCached(cache, o, opts, configfile.ParseTeamJSON)
		switch {
		case err != nil:
			skip(o, err.Error())
		case teams[t.ID]:
			skip(o, "the config file has a team with that id")
		default:
			teams[t.ID] = true
			merged.Access.Teams = append(merged.Access.Teams, t)
		}
	}
	keys := map[string]bool{}
	for _, k := range file.Access.Keys {
		keys[k.Token] = true
	}
	for _, o := range st.Objects[controlplane.KindKey] {
		k, err := parseCached(cache, o, opts, configfile.ParseKeyJSON)
		switch {
		case err != nil:
			skip(o, err.Error())
		case keys[k.Token]:
			skip(o, "the config file has the same key")
		default:
			keys[k.Token] = true
			merged.Access.Keys = append(merged.Access.Keys, k)
		}
	}
	return &merged, problems
}

// Follower keeps a running gateway serving the config file merged with
// the store: on every change of either it merges again and applies the
// result. While the store cannot be read, the last state it loaded keeps
// being served.
type Follower struct {
	store controlplane.Store
	apply func(context.Context, *config.Config) error
	log   *slog.Logger

	// failed gets a value when a Refresh fails (whoever called it), so
	// that Run retries it.
	failed chan struct{}

	mu      sync.Mutex // serializes refreshes; guards the fields below
	file    *config.Config
	stored  Stored
	failing bool // the last read failed (logged once until it recovers)
	// parsed keeps each stored object as last parsed: every write makes
	// the follower merge every object again, and validating 10,000 keys
	// anew took seconds per write (make bench, control plane at scale).
	parsed parsedObjects
}

// Bounds of the wait before Run retries a failed Refresh, doubled on
// each failure in a row.
const (
	minRefreshRetry = 500 * time.Millisecond
	maxRefreshRetry = 30 * time.Second
)

// NewFollower returns a Follower that has applied file merged with stored.
func NewFollower(st controlplane.Store, file *config.Config, stored Stored, apply func(context.Context, *config.Config) error, log *slog.Logger) *Follower {
	return &Follower{store: st, apply: apply, log: log, file: file, stored: stored, failed: make(chan struct{}, 1)}
}

// File is the config file the state was last merged from.
func (f *Follower) File() *config.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.file
}

// Run follows the store until ctx ends. Changed reports only revisions
// after the one it reads when called, so Run refreshes once after
// subscribing: a write made since the state was loaded (while the
// gateway started) is applied too. A Refresh that failed (the store
// unreadable, or a state that did not apply, say Envoy not acknowledging
// in time) is retried with backoff until one succeeds: the store's
// revision does not move again by itself, and until then this replica
// would serve an old state (a deleted key, say) with nothing to end it.
func (f *Follower) Run(ctx context.Context) {
	changed := f.store.Changed(ctx)
	retry := time.NewTimer(0)
	if !retry.Stop() {
		<-retry.C
	}
	defer retry.Stop()
	armed, backoff := false, minRefreshRetry
	refresh := func() {
		if f.Refresh(ctx) == nil { // logged when it fails
			backoff = minRefreshRetry
		}
	}
	refresh()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changed:
			if !ok {
				return
			}
			refresh()
		case <-f.failed:
			if !armed {
				armed = true
				retry.Reset(backoff)
				backoff = min(2*backoff, maxRefreshRetry)
			}
		case <-retry.C:
			armed = false
			refresh()
		}
	}
}

// Refresh reads the store's revision and, when it moved, the objects, and
// applies the merged state. It returns once the state is applied, so an
// admin write that calls it answers only when this replica serves it.
// When it fails, Run retries it.
func (f *Follower) Refresh(ctx context.Context) (err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer func() {
		// Also when ctx ended (an admin write's refresh past
		// refreshTimeout): the write is stored, and Run retries with its
		// own context.
		if err != nil {
			select {
			case f.failed <- struct{}{}:
			default:
			}
		}
	}()
	rev, err := f.store.Revision(ctx)
	if err == nil && rev == f.stored.Revision {
		f.recovered()
		return nil
	}
	var st Stored
	if err == nil {
		st, err = LoadStored(ctx, f.store, f.file)
	}
	if err != nil {
		if !f.failing {
			f.failing = true
			f.log.Error("store unreadable: serving the state last loaded", "revision", f.stored.Revision, "err", err)
		}
		return err
	}
	f.recovered()
	if err := f.applyLocked(ctx, f.file, st); err != nil {
		return err
	}
	return nil
}

// SetFile applies a reloaded config file, merged with the stored objects.
func (f *Follower) SetFile(ctx context.Context, file *config.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applyLocked(ctx, file, f.stored)
}

// watchApply is what the config watcher applies with (ConfigSource.Apply)
// when the gateway's config file is configPath. Without a file ("") the
// watcher passes the running config, which is the merged one: the file
// the state was merged from is merged again instead, or every stored
// object would become the file's (read-only in the admin API, and served
// after it is deleted from the store).
func (f *Follower) watchApply(configPath string) func(context.Context, *config.Config) error {
	if configPath != "" {
		return f.SetFile
	}
	return func(ctx context.Context, _ *config.Config) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.applyLocked(ctx, f.file, f.stored)
	}
}

func (f *Follower) applyLocked(ctx context.Context, file *config.Config, st Stored) error {
	merged, problems := merge(file, st, &f.parsed)
	for _, p := range problems {
		f.log.Warn(p)
	}
	if err := f.apply(ctx, merged); err != nil {
		f.log.Error("new state not applied: serving the previous one", "revision", st.Revision, "err", err)
		return err
	}
	f.file, f.stored = file, st
	f.log.Info("state applied", "revision", st.Revision, "servers", len(merged.Servers), "keys", len(merged.Access.Keys))
	return nil
}

func (f *Follower) recovered() {
	if f.failing {
		f.failing = false
		f.log.Info("store readable again")
	}
}

// parseStored checks a stored object with the validator the admin API
// wrote it with (a stored object may no longer pass after an upgrade).
func parseStored[T any](o controlplane.Object, opts configfile.JSONOptions, parse func([]byte, configfile.JSONOptions) (T, configfile.Report)) (T, error) {
	var zero T
	body, err := o.Body()
	if err != nil {
		return zero, err
	}
	v, rep := parse(body, opts)
	if !rep.OK() {
		return zero, rep.Errors
	}
	return v, nil
}

// parsedObjects remembers what parseStored made of each stored object,
// by kind and id, with the bytes it was made from: an object whose Doc
// and Secret are unchanged is not parsed again. One merge at a time
// (the Follower's lock); entries of objects a merge did not see are
// dropped at its end.
type parsedObjects struct {
	opts configfile.JSONOptions
	last map[parsedID]parsedObject // as of the previous merge
	next map[parsedID]parsedObject // this merge's, replacing last at end
}

type parsedID struct {
	kind controlplane.Kind
	id   string
}

type parsedObject struct {
	doc, secret json.RawMessage
	value       any // the parsed value (config.Server, config.Key, ...)
	err         error
}

// begin starts a merge with opts; entries parsed with other options are
// not reused. A nil cache stays nil (no caching).
func (c *parsedObjects) begin(opts configfile.JSONOptions) *parsedObjects {
	if c == nil {
		return nil
	}
	if c.opts != opts {
		c.opts, c.last = opts, nil
	}
	c.next = make(map[parsedID]parsedObject, len(c.last))
	return c
}

func (c *parsedObjects) end() {
	if c != nil {
		c.last, c.next = c.next, nil
	}
}

// parseCached is parseStored through cache (nil: no cache). The value
// is shared with later merges that reuse it, as the config file's
// objects are: nothing downstream changes a merged config in place.
func parseCached[T any](cache *parsedObjects, o controlplane.Object, opts configfile.JSONOptions, parse func([]byte, configfile.JSONOptions) (T, configfile.Report)) (T, error) {
	if cache == nil {
		return parseStored(o, opts, parse)
	}
	id := parsedID{o.Kind, o.ID}
	if p, ok := cache.last[id]; ok && bytes.Equal(p.doc, o.Doc) && bytes.Equal(p.secret, o.Secret) {
		if v, ok := p.value.(T); ok {
			cache.next[id] = p
			return v, p.err
		}
	}
	v, err := parseStored(o, opts, parse)
	cache.next[id] = parsedObject{doc: o.Doc, secret: o.Secret, value: v, err: err}
	return v, err
}
