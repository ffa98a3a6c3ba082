package admin

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
)

// memStore is an in-memory controlplane.Store for handler tests.
type memStore struct {
	mu      sync.Mutex
	objs    map[controlplane.Kind]map[string]controlplane.Object
	audit   []controlplane.AuditEntry
	health  map[string]controlplane.Health
	rev     int64
	failAll error // every call fails with it when set
	// failWrites: Create, Update and Delete fail with it when set, reads
	// work (a database lost between the read and the write of an update).
	failWrites error
}

func newMemStore() *memStore {
	return &memStore{objs: map[controlplane.Kind]map[string]controlplane.Object{}, health: map[string]controlplane.Health{}}
}

func (s *memStore) List(_ context.Context, kind controlplane.Kind) ([]controlplane.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAll != nil {
		return nil, s.failAll
	}
	var out []controlplane.Object
	for _, o := range s.objs[kind] {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *memStore) Get(_ context.Context, kind controlplane.Kind, id string) (controlplane.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAll != nil {
		return controlplane.Object{}, s.failAll
	}
	o, ok := s.objs[kind][id]
	if !ok {
		return o, controlplane.ErrNotFound
	}
	return o, nil
}

func (s *memStore) nameTaken(kind controlplane.Kind, name, id string) bool {
	for _, o := range s.objs[kind] {
		if name != "" && o.Name == name && o.ID != id {
			return true
		}
	}
	return false
}

func (s *memStore) Create(_ context.Context, o controlplane.Object, actor string) (controlplane.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAll != nil {
		return o, s.failAll
	}
	if s.failWrites != nil {
		return o, s.failWrites
	}
	if s.objs[o.Kind] == nil {
		s.objs[o.Kind] = map[string]controlplane.Object{}
	}
	if _, dup := s.objs[o.Kind][o.ID]; dup || s.nameTaken(o.Kind, o.Name, o.ID) {
		return o, controlplane.ErrConflict
	}
	now := time.Now()
	o.Version, o.CreatedAt, o.UpdatedAt, o.CreatedBy, o.UpdatedBy = 1, now, now, actor, actor
	s.objs[o.Kind][o.ID] = o
	s.record(actor, "create", o.Kind, o.ID, nil, o.Doc)
	return o, nil
}

func (s *memStore) Update(_ context.Context, o controlplane.Object, actor string) (controlplane.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAll != nil {
		return o, s.failAll
	}
	if s.failWrites != nil {
		return o, s.failWrites
	}
	cur, ok := s.objs[o.Kind][o.ID]
	if !ok {
		return o, controlplane.ErrNotFound
	}
	if cur.Version != o.Version {
		return o, controlplane.ErrStale
	}
	if s.nameTaken(o.Kind, o.Name, o.ID) {
		return o, controlplane.ErrConflict
	}
	o.Version, o.CreatedAt, o.CreatedBy, o.UpdatedAt, o.UpdatedBy = cur.Version+1, cur.CreatedAt, cur.CreatedBy, time.Now(), actor
	s.objs[o.Kind][o.ID] = o
	s.record(actor, "update", o.Kind, o.ID, cur.Doc, o.Doc)
	return o, nil
}

func (s *memStore) Delete(_ context.Context, kind controlplane.Kind, id, actor string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAll != nil {
		return false, s.failAll
	}
	if s.failWrites != nil {
		return false, s.failWrites
	}
	cur, ok := s.objs[kind][id]
	if !ok {
		return false, nil
	}
	delete(s.objs[kind], id)
	s.record(actor, "delete", kind, id, cur.Doc, nil)
	return true, nil
}

func (s *memStore) record(actor, action string, kind controlplane.Kind, id string, before, after json.RawMessage) {
	s.rev++
	s.audit = append(s.audit, controlplane.AuditEntry{ID: int64(len(s.audit) + 1), At: time.Now(), Actor: actor, Action: action, Kind: kind, ObjectID: id, Before: before, After: after})
}

func (s *memStore) Audit(_ context.Context, q controlplane.AuditQuery) ([]controlplane.AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []controlplane.AuditEntry
	for i := len(s.audit) - 1; i >= 0; i-- {
		e := s.audit[i]
		if (q.Kind == "" || e.Kind == q.Kind) && (q.ObjectID == "" || e.ObjectID == q.ObjectID) && (q.BeforeID == 0 || e.ID < q.BeforeID) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) SetHealth(_ context.Context, id string, h controlplane.Health) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health[id] = h
	return nil
}

func (s *memStore) Health(context.Context) (map[string]controlplane.Health, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]controlplane.Health{}
	for k, v := range s.health {
		out[k] = v
	}
	return out, nil
}

func (s *memStore) Revision(context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev, nil
}

func (s *memStore) Changed(ctx context.Context) <-chan struct{} { return make(chan struct{}) }
func (s *memStore) Ping(context.Context) error                  { return nil }
func (s *memStore) Close() error                                { return nil }

var _ controlplane.Store = (*memStore)(nil)
