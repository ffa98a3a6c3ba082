// Package petstore is a small in-memory stand-in for the public Swagger
// Petstore API (petstore.swagger.io/v2 and petstore3.swagger.io/api/v3),
// for tests and demos: it implements a few of its operations and records
// the requests it gets. Mount it under the spec's base path with
// http.StripPrefix.
package petstore

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Pet is the Petstore's Pet schema.
type Pet struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Category  *Category `json:"category,omitempty"`
	PhotoURLs []string  `json:"photoUrls"`
	Tags      []Tag     `json:"tags,omitempty"`
	Status    string    `json:"status,omitempty"`
}

// Category and Tag are the Petstore's schemas of the same names.
type (
	Category struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	Tag struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
)

// Request is what the stand-in recorded about one request.
type Request struct {
	Method   string
	RawPath  string // escaped, as received
	RawQuery string
	Header   http.Header
	Body     string
}

// Store is the stand-in. The zero value is not usable; call New.
type Store struct {
	mux *http.ServeMux

	mu     sync.Mutex
	pets   map[int64]*Pet
	nextID int64
	reqs   []Request
}

// New returns a store with three pets: 1 doggie (available), 2 kitty
// (pending), 3 nemo (sold).
func New() *Store {
	s := &Store{pets: map[int64]*Pet{}, nextID: 4}
	for _, p := range []*Pet{
		{ID: 1, Name: "doggie", Category: &Category{1, "Dogs"}, PhotoURLs: []string{"https://example.com/doggie.png"}, Tags: []Tag{{1, "tag1"}}, Status: "available"},
		{ID: 2, Name: "kitty", Category: &Category{2, "Cats"}, PhotoURLs: []string{}, Tags: []Tag{{2, "tag2"}}, Status: "pending"},
		{ID: 3, Name: "nemo", Category: &Category{3, "Fish"}, PhotoURLs: []string{}, Status: "sold"},
	} {
		s.pets[p.ID] = p
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /pet/findByStatus", s.findByStatus)
	m.HandleFunc("GET /pet/findByTags", s.findByTags)
	m.HandleFunc("GET /pet/{petId}", s.getPet)
	m.HandleFunc("POST /pet/{petId}", s.updateWithForm)
	m.HandleFunc("DELETE /pet/{petId}", s.deletePet)
	m.HandleFunc("POST /pet/{petId}/uploadImage", s.upload)
	m.HandleFunc("POST /pet", s.savePet)
	m.HandleFunc("PUT /pet", s.savePet)
	m.HandleFunc("GET /store/inventory", s.inventory)
	m.HandleFunc("GET /user/login", s.login)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "no such operation in the stand-in")
	})
	s.mux = m
	return s
}

// ServeHTTP records the request and serves it.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	s.mu.Unlock()
	s.mux.ServeHTTP(w, r)
}

// Requests returns the requests received so far.
func (s *Store) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Last returns the last request received.
func (s *Store) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}
	}
	return s.reqs[len(s.reqs)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "type": "error", "message": msg})
}

func (s *Store) petID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("petId"), 10, 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, "Invalid ID supplied")
		return 0, false
	}
	return id, true
}

func (s *Store) getPet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.petID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	p := s.pets[id]
	s.mu.Unlock()
	if p == nil {
		apiError(w, http.StatusNotFound, "Pet not found")
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// values reads a query parameter sent exploded (status=a&status=b) or
// comma-separated (status=a,b).
func values(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

func (s *Store) findByStatus(w http.ResponseWriter, r *http.Request) {
	statuses := values(r, "status")
	for _, st := range statuses {
		if st != "available" && st != "pending" && st != "sold" {
			apiError(w, http.StatusBadRequest, "Input error: query parameter `status value `"+st+"` is not in the allowable values `[available, pending, sold]`")
			return
		}
	}
	writeJSON(w, http.StatusOK, s.filter(func(p *Pet) bool { return slices.Contains(statuses, p.Status) }))
}

func (s *Store) findByTags(w http.ResponseWriter, r *http.Request) {
	tags := values(r, "tags")
	writeJSON(w, http.StatusOK, s.filter(func(p *Pet) bool {
		return slices.ContainsFunc(p.Tags, func(t Tag) bool { return slices.Contains(tags, t.Name) })
	}))
}

func (s *Store) filter(keep func(*Pet) bool) []*Pet {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*Pet{}
	for _, p := range s.pets {
		if keep(p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *Pet) int { return int(a.ID - b.ID) })
	return out
}

func (s *Store) savePet(w http.ResponseWriter, r *http.Request) {
	var p Pet
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.ParseForm()
		p.Name, p.Status = r.PostForm.Get("name"), r.PostForm.Get("status")
		p.ID, _ = strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	} else if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		apiError(w, http.StatusBadRequest, "Invalid input: "+err.Error())
		return
	}
	if p.Name == "" {
		apiError(w, http.StatusUnprocessableEntity, "Validation exception: name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPut {
		if s.pets[p.ID] == nil {
			apiError(w, http.StatusNotFound, "Pet not found")
			return
		}
	} else if p.ID == 0 || s.pets[p.ID] != nil {
		p.ID = s.nextID
		s.nextID++
	}
	if p.PhotoURLs == nil {
		p.PhotoURLs = []string{}
	}
	s.pets[p.ID] = &p
	writeJSON(w, http.StatusOK, &p)
}

func (s *Store) updateWithForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.petID(w, r)
	if !ok {
		return
	}
	r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pets[id]
	if p == nil {
		apiError(w, http.StatusNotFound, "Pet not found")
		return
	}
	if v := r.Form.Get("name"); v != "" {
		p.Name = v
	}
	if v := r.Form.Get("status"); v != "" {
		p.Status = v
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Store) deletePet(w http.ResponseWriter, r *http.Request) {
	id, ok := s.petID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pets[id] == nil {
		apiError(w, http.StatusNotFound, "Pet not found")
		return
	}
	delete(s.pets, id)
	w.WriteHeader(http.StatusOK)
}

func (s *Store) upload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.petID(w, r)
	if !ok {
		return
	}
	data, _ := io.ReadAll(r.Body)
	msg := fmt.Sprintf("additionalMetadata: %s\nFile uploaded to ./upload, %d bytes", r.URL.Query().Get("additionalMetadata"), len(data))
	writeJSON(w, http.StatusOK, map[string]any{"code": 200, "type": "unknown", "message": msg, "petId": id})
}

func (s *Store) inventory(w http.ResponseWriter, _ *http.Request) {
	inv := map[string]int{}
	for _, p := range s.filter(func(*Pet) bool { return true }) {
		inv[p.Status]++
	}
	writeJSON(w, http.StatusOK, inv)
}

func (s *Store) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Rate-Limit", "5000")
	fmt.Fprintf(w, "Logged in user session: %s", r.URL.Query().Get("username"))
}

var _ http.Handler = (*Store)(nil)
