package meta_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

type metaFixture struct {
	ids   map[string]string // data server address -> ID
	url   string
	clock *clock
	ns    *meta.Namespace
	s     *meta.Server
}

func newMeta(t *testing.T, opt meta.Options) *metaFixture {
	t.Helper()
	ns, _ := openNS(t)
	f := &metaFixture{clock: &clock{now: t0}, ns: ns, ids: map[string]string{}}
	opt.Namespace, opt.Now, opt.Log = ns, f.clock.Now, slog.New(slog.DiscardHandler)
	s, err := meta.NewServer(opt)
	require.NoError(t, err)
	// Cleanups run last first: the server stops taking requests, then the
	// checks of the reports it took end, then the namespace closes.
	t.Cleanup(s.WaitReports)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	f.url, f.s = srv.URL, s
	return f
}

func (f *metaFixture) do(t *testing.T, method, path string, in any) (int, string) {
	t.Helper()
	var body io.Reader
	if s, ok := in.(string); ok {
		body = strings.NewReader(s)
	} else if in != nil {
		b, err := json.Marshal(in)
		require.NoError(t, err)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.url+path, body)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dataServer starts a real data server holding the given contents and
// registers it with the metadata server.
func (f *metaFixture) dataServer(t *testing.T, contents ...string) string {
	t.Helper()
	d, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	for _, c := range contents {
		_, err := d.Put(blob.Sum([]byte(c)), strings.NewReader(c))
		require.NoError(t, err)
	}
	srv := httptest.NewServer(dataserver.New(dataserver.Options{Store: d}))
	t.Cleanup(srv.Close)
	f.ids[srv.URL] = d.ID()
	code, body := f.do(t, http.MethodPost, "/heartbeat", meta.Heartbeat{ID: d.ID(), Addr: srv.URL})
	require.Equal(t, http.StatusNoContent, code, body)
	return srv.URL
}

func TestNewServerChecksQuorum(t *testing.T) {
	ns, _ := openNS(t)
	_, err := meta.NewServer(meta.Options{Namespace: ns, Replicas: 2, Quorum: 3})
	assert.Error(t, err)
	_, err = meta.NewServer(meta.Options{})
	assert.Error(t, err)
}

func TestHeartbeatValidation(t *testing.T) {
	f := newMeta(t, meta.Options{})
	// The metadata server appends "/blobs/..." to an address: a query or
	// a fragment would turn that into a request for "/", user
	// information into credentials sent along.
	for _, addr := range []string{"", "127.0.0.1:80", "ftp://x", "http://", "http://x/path", "http://x/",
		"http://x?q", "http://x?", "http://x#f", "http://x#", "http://u:p@x", "http:x",
		"http://" + strings.Repeat("x", meta.MaxAddrLen)} {
		code, body := f.do(t, http.MethodPost, "/heartbeat", meta.Heartbeat{ID: "ds-1", Addr: addr})
		assert.Equal(t, http.StatusBadRequest, code, "addr %q", addr)
		assert.Contains(t, body, "not a base URL", "addr %q", addr)
	}
	for _, hb := range []meta.Heartbeat{{Capacity: -1}, {Free: -1}, {Blobs: -1}} {
		hb.ID, hb.Addr = "ds-1", "http://x"
		code, _ := f.do(t, http.MethodPost, "/heartbeat", hb)
		assert.Equal(t, http.StatusBadRequest, code, "%+v", hb)
	}
	for _, addr := range []string{"http://x", "https://x:1", "http://[::1]:9101"} {
		assert.NoError(t, meta.CheckAddr(addr), addr)
	}
	for _, id := range []string{"", "a b", "../x", strings.Repeat("i", 65)} {
		code, _ := f.do(t, http.MethodPost, "/heartbeat", meta.Heartbeat{ID: id, Addr: "http://x"})
		assert.Equal(t, http.StatusBadRequest, code, "id %q", id)
	}
	code, _ := f.do(t, http.MethodPost, "/heartbeat", `{"id": "ds-1", "addr": "http://x", "surprise": 1}`)
	assert.Equal(t, http.StatusBadRequest, code, "unknown fields are refused")
	code, body := f.do(t, http.MethodGet, "/dataservers", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "[]\n", body)
}

func TestPlacement(t *testing.T) {
	f := newMeta(t, meta.Options{Timeout: 10 * time.Second})
	a, b, c := f.dataServer(t), f.dataServer(t), f.dataServer(t)
	code, body := f.do(t, http.MethodGet, "/dataservers", nil)
	require.Equal(t, http.StatusOK, code)
	var live []meta.Heartbeat
	require.NoError(t, json.Unmarshal([]byte(body), &live))
	assert.Len(t, live, 3)
	code, body = f.do(t, http.MethodPost, "/writes", meta.WriteRequest{Key: "k", Hash: h("x"), Size: 1})
	require.Equal(t, http.StatusOK, code, body)
	var p meta.Placement
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	assert.ElementsMatch(t, []string{a, b, c}, p.Targets)
	assert.Equal(t, meta.Placement{Targets: p.Targets, Replicas: 2, Quorum: 2}, p)

	f.clock.Add(11 * time.Second) // everyone is silent: dead
	code, body = f.do(t, http.MethodPost, "/writes", meta.WriteRequest{Key: "k", Hash: h("x"), Size: 1})
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "0 live data servers")
}

func TestWriteRequestValidation(t *testing.T) {
	f := newMeta(t, meta.Options{})
	f.dataServer(t)
	f.dataServer(t)
	for name, req := range map[string]meta.WriteRequest{
		"bad key":       {Key: "a/../b", Hash: h("x")},
		"bad hash":      {Key: "k", Hash: "abc"},
		"negative size": {Key: "k", Hash: h("x"), Size: -1},
	} {
		code, _ := f.do(t, http.MethodPost, "/writes", req)
		assert.Equal(t, http.StatusBadRequest, code, name)
	}
	code, _ := f.do(t, http.MethodPost, "/writes", "{not json")
	assert.Equal(t, http.StatusBadRequest, code)
}

// A copy recorded under an ID whose address nobody knows (no heartbeat
// from it, none in the database) is not handed to readers as an empty
// address.
func TestACopyWithoutAnAddressIsNotListed(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "x")
	code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h("x"), Size: 1, Replicas: []string{a}})
	require.Equal(t, http.StatusCreated, code, body)
	require.NoError(t, f.ns.AddReplicas(h("x"), []string{"ds-nowhere"}))
	code, body = f.do(t, http.MethodGet, "/objects?key=k", nil)
	require.Equal(t, http.StatusOK, code, body)
	var v meta.Version
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	assert.Equal(t, []string{a}, v.Replicas)
}

// Only a negative size is refused: an empty object is placed, committed
// and given new copies as any other.
func TestAnEmptyObjectIsAnObject(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a, b := f.dataServer(t, ""), f.dataServer(t, "")
	code, body := f.do(t, http.MethodPost, "/writes", meta.WriteRequest{Key: "k", Hash: h(""), Size: 0})
	assert.Equal(t, http.StatusOK, code, "placement: %s", body)
	code, body = f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h(""), Size: 0, Replicas: []string{a}})
	assert.Equal(t, http.StatusCreated, code, "commit: %s", body)
	code, body = f.do(t, http.MethodPost, "/replicas", meta.ReplicaRequest{Hash: h(""), Size: 0, Replicas: []string{b}})
	assert.Equal(t, http.StatusNoContent, code, "new copy: %s", body)
	reps, err := f.ns.Replicas(h(""))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{f.ids[a], f.ids[b]}, reps)
}

// A commit needs W data servers that really hold the blob.
func TestCommitConfirmsReplicas(t *testing.T) {
	f := newMeta(t, meta.Options{})
	has := f.dataServer(t, "content")
	lacks := f.dataServer(t)
	req := meta.CommitRequest{Key: "k", Hash: h("content"), Size: 7, Replicas: []string{has, lacks}}
	code, body := f.do(t, http.MethodPost, "/commits", req)
	assert.Equal(t, http.StatusServiceUnavailable, code, "committed with one real replica of two")
	assert.Contains(t, body, "too few replicas")

	req.Replicas = []string{has, has}
	code, _ = f.do(t, http.MethodPost, "/commits", req)
	assert.Equal(t, http.StatusServiceUnavailable, code, "one server named twice is one replica")

	req.Replicas = []string{has, "http://unregistered.example"}
	code, _ = f.do(t, http.MethodPost, "/commits", req)
	assert.Equal(t, http.StatusServiceUnavailable, code, "an unregistered server confirmed a replica")

	_, err := f.ns.Get("k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused commit stored something")

	other := f.dataServer(t, "content")
	// An unregistered server is not asked, and does not stop the others
	// being asked: this one sorts before them.
	req.Replicas = []string{has, other, "http://0.unregistered.example"}
	req.Size = 8
	code, _ = f.do(t, http.MethodPost, "/commits", req)
	assert.Equal(t, http.StatusServiceUnavailable, code, "the size must match what the servers hold")
	req.Size = 7
	code, body = f.do(t, http.MethodPost, "/commits", req)
	require.Equal(t, http.StatusCreated, code, body)
	var v meta.Version
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	assert.Equal(t, uint64(1), v.Number)
	assert.ElementsMatch(t, []string{has, other}, v.Replicas)
	assert.Equal(t, t0, v.Created)
}

func TestCommitBadKeyStoresNothing(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "content")
	// Invalid UTF-8 in JSON would be read as U+FFFD, so the client
	// package checks keys before it sends them, and the server refuses a
	// body that is not UTF-8 (TestARequestThatIsNotUTF8IsRefused);
	// TestReadEndpoints sends one in a query string.
	for _, key := range []string{"", "a/../b", "a\x01", strings.Repeat("k", 1025)} {
		code, _ := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: key, Hash: h("content"), Size: 7, Replicas: []string{a}})
		assert.Equal(t, http.StatusBadRequest, code, "%q", key)
	}
	code, body := f.do(t, http.MethodGet, "/keys", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"objects": []}`, body)
}

// A commit whose hash is not one (64 lowercase hex digits) is a 400, as
// one with a bad key is: not a 503 "too few replicas", which a client
// would retry.
func TestCommitOfABadHashIs400(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "content")
	for _, hash := range []blob.Hash{"", "abc", blob.Hash(strings.ToUpper(string(h("content"))))} {
		code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: hash, Size: 7, Replicas: []string{a}})
		assert.Equal(t, http.StatusBadRequest, code, "%q: %s", hash, body)
	}
}

// A commit's chunk list is checked, then served by GET /chunks/{hash}.
func TestCommitChunks(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "content")
	req := meta.CommitRequest{Key: "k", Hash: h("content"), Size: 7, Replicas: []string{a},
		Chunks: &blob.Chunks{Size: 4, Hashes: []blob.Hash{h("cont")}}}
	code, body := f.do(t, http.MethodPost, "/commits", req)
	assert.Equal(t, http.StatusBadRequest, code, "one hash for two chunks")
	assert.Contains(t, body, "chunk hashes do not fit the blob")
	_, err := f.ns.Get("k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused commit stored something")

	code, _ = f.do(t, http.MethodGet, "/chunks/"+string(h("content")), nil)
	assert.Equal(t, http.StatusNotFound, code, "no list yet")
	code, _ = f.do(t, http.MethodGet, "/chunks/not-a-hash", nil)
	assert.Equal(t, http.StatusBadRequest, code)

	req.Chunks.Hashes = append(req.Chunks.Hashes, h("ent"))
	code, body = f.do(t, http.MethodPost, "/commits", req)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = f.do(t, http.MethodGet, "/chunks/"+string(h("content")), nil)
	require.Equal(t, http.StatusOK, code, body)
	var got blob.Chunks
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, *req.Chunks, got)

	code, _ = f.do(t, http.MethodDelete, "/chunks/"+string(h("content")), nil)
	assert.Equal(t, http.StatusNoContent, code)
	code, _ = f.do(t, http.MethodGet, "/chunks/"+string(h("content")), nil)
	assert.Equal(t, http.StatusNotFound, code, "dropped")

	// A list takes 67 bytes of JSON per MiB of blob: a commit may be far
	// larger than other messages. This one is decoded (then refused,
	// since no server holds a 20 GiB blob), not rejected as too big.
	huge := meta.CommitRequest{Key: "huge", Hash: h("content"), Size: 20 << 30, Replicas: []string{a},
		Chunks: &blob.Chunks{Size: blob.ChunkSize, Hashes: slices.Repeat([]blob.Hash{h("x")}, 20<<10)}}
	code, body = f.do(t, http.MethodPost, "/commits", huge)
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
}

func TestReadEndpoints(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "one", "two")
	for _, c := range []string{"one", "two"} {
		code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h(c), Size: 3, Replicas: []string{a}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "?" + v.Encode()
	}
	code, body := f.do(t, http.MethodGet, "/objects"+q("key", "k", "version", "1"), nil)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, string(h("one")))
	for _, bad := range []string{"0", "-1", "x", ""} {
		code, _ = f.do(t, http.MethodGet, "/objects"+q("key", "k", "version", bad), nil)
		assert.Equal(t, http.StatusBadRequest, code, "version=%s", bad)
	}
	code, _ = f.do(t, http.MethodGet, "/objects"+q("key", "missing"), nil)
	assert.Equal(t, http.StatusNotFound, code)
	for _, bad := range []string{"a/../k", "caf\xe9", ""} {
		code, _ = f.do(t, http.MethodGet, "/objects"+q("key", bad), nil)
		assert.Equal(t, http.StatusBadRequest, code, "key %q", bad)
	}

	code, _ = f.do(t, http.MethodDelete, "/objects"+q("key", "k"), nil)
	assert.Equal(t, http.StatusOK, code)
	code, body = f.do(t, http.MethodGet, "/objects"+q("key", "k"), nil)
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "deleted")

	code, body = f.do(t, http.MethodGet, "/versions"+q("key", "k"), nil)
	assert.Equal(t, http.StatusOK, code)
	var vs meta.VersionList
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	assert.Len(t, vs.Versions, 3)
	assert.Zero(t, vs.Next, "one page")

	// Versions come by pages, as keys do: two, then the third.
	code, body = f.do(t, http.MethodGet, "/versions"+q("key", "k", "limit", "2"), nil)
	require.Equal(t, http.StatusOK, code)
	vs = meta.VersionList{}
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Len(t, vs.Versions, 2, body)
	assert.Equal(t, uint64(2), vs.Next)
	code, body = f.do(t, http.MethodGet, "/versions"+q("key", "k", "limit", "2", "after", "2"), nil)
	require.Equal(t, http.StatusOK, code)
	vs = meta.VersionList{}
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	require.Len(t, vs.Versions, 1, body)
	assert.True(t, vs.Versions[0].Deleted, "the third is the delete marker")
	assert.Zero(t, vs.Next, "the last page")

	for _, bad := range []string{"0", "1001", "x"} {
		code, _ = f.do(t, http.MethodGet, "/keys"+q("limit", bad), nil)
		assert.Equal(t, http.StatusBadRequest, code, "limit=%s", bad)
		code, _ = f.do(t, http.MethodGet, "/versions"+q("key", "k", "limit", bad), nil)
		assert.Equal(t, http.StatusBadRequest, code, "versions limit=%s", bad)
	}
	for _, bad := range []string{"-1", "x", "18446744073709551616"} {
		code, _ = f.do(t, http.MethodGet, "/versions"+q("key", "k", "after", bad), nil)
		assert.Equal(t, http.StatusBadRequest, code, "versions after=%s", bad)
	}

	// A listing's replicas are addresses, as everywhere else in the API
	// (the namespace keeps IDs); and a prefix that runs into the 0x00
	// the database puts after a key matches no key.
	code, _ = f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k2", Hash: h("one"), Size: 3, Replicas: []string{a}})
	require.Equal(t, http.StatusCreated, code)
	code, body = f.do(t, http.MethodGet, "/keys"+q("prefix", "k"), nil)
	require.Equal(t, http.StatusOK, code)
	var l meta.Listing
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	require.Len(t, l.Objects, 1, body)
	assert.Equal(t, []string{a}, l.Objects[0].Replicas)
	for _, prefix := range []string{"k2\x00", "k2\x00\x00\x00\x00\x00\x00\x00\x00\x01"} {
		code, body = f.do(t, http.MethodGet, "/keys"+q("prefix", prefix), nil)
		assert.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"objects": []}`, body, "prefix %q", prefix)
	}
}

// Replicas of a silent server are listed last, so readers try live ones
// first.
func TestReplicasLiveFirst(t *testing.T) {
	f := newMeta(t, meta.Options{Timeout: 10 * time.Second})
	a := f.dataServer(t, "x")
	b := f.dataServer(t, "x")
	code, _ := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h("x"), Size: 1, Replicas: []string{a, b}})
	require.Equal(t, http.StatusCreated, code)
	// Replicas are stored in ID order: make the server whose ID sorts
	// first the dead one, so that live-first must reorder them.
	first, second := a, b
	if f.ids[a] < f.ids[b] {
		first, second = b, a
	}
	f.clock.Add(6 * time.Second)
	code, _ = f.do(t, http.MethodPost, "/heartbeat", meta.Heartbeat{ID: f.ids[first], Addr: first})
	require.Equal(t, http.StatusNoContent, code)
	f.clock.Add(6 * time.Second) // second is now silent for 12s
	code, body := f.do(t, http.MethodGet, "/objects?key=k", nil)
	require.Equal(t, http.StatusOK, code)
	var v meta.Version
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	assert.Equal(t, []string{first, second}, v.Replicas)
}

// POST /replicas adds confirmed copies of a known blob, and only those.
func TestAddReplicas(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "x")
	b := f.dataServer(t, "x")
	empty := f.dataServer(t)
	code, _ := f.do(t, http.MethodPost, "/replicas", meta.ReplicaRequest{Hash: h("x"), Size: 1, Replicas: []string{b}})
	assert.Equal(t, http.StatusNotFound, code, "copies of a blob no version uses")

	code, _ = f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h("x"), Size: 1, Replicas: []string{a}})
	require.Equal(t, http.StatusCreated, code)
	code, _ = f.do(t, http.MethodPost, "/replicas", meta.ReplicaRequest{Hash: h("x"), Size: 1, Replicas: []string{empty}})
	assert.Equal(t, http.StatusServiceUnavailable, code, "a server without the blob was added")
	code, _ = f.do(t, http.MethodPost, "/replicas", meta.ReplicaRequest{Hash: h("x"), Size: 1, Replicas: []string{b, empty}})
	assert.Equal(t, http.StatusNoContent, code)

	code, body := f.do(t, http.MethodGet, "/objects?key=k", nil)
	require.Equal(t, http.StatusOK, code)
	var v meta.Version
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	assert.ElementsMatch(t, []string{a, b}, v.Replicas)
}

// A commit or a replica request names a few data servers, each by a base
// URL; a longer list, or anything else in it, is a 400 that records
// nothing. (A commit may be 64 MiB for its chunk list: room for 16
// million names, each sorted and looked up.)
func TestNamedReplicasAreFewAndAddresses(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "x")
	b := f.dataServer(t, "x")
	tooMany := append([]string{a}, slices.Repeat([]string{"http://x"}, 100)...)
	for name, list := range map[string][]string{
		"101 names":       tooMany,
		"not a base URL":  {a, "x"},
		"a path in a URL": {a, b + "/elsewhere"},
	} {
		code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h("x"), Size: 1, Replicas: list})
		assert.Equal(t, http.StatusBadRequest, code, "commit, %s: %s", name, body)
	}
	_, err := f.ns.Get("k", 0)
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused commit stored something")

	code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h("x"), Size: 1, Replicas: []string{a}})
	require.Equal(t, http.StatusCreated, code, body)
	for name, list := range map[string][]string{
		"101 names":       append([]string{b}, tooMany[1:]...),
		"not a base URL":  {b, "x"},
		"a path in a URL": {b, a + "/elsewhere"},
	} {
		code, body := f.do(t, http.MethodPost, "/replicas", meta.ReplicaRequest{Hash: h("x"), Size: 1, Replicas: list})
		assert.Equal(t, http.StatusBadRequest, code, "replicas, %s: %s", name, body)
	}
	code, body = f.do(t, http.MethodPost, "/replicas", meta.ReplicaRequest{Hash: h("x"), Size: -1, Replicas: []string{b}})
	assert.Equal(t, http.StatusBadRequest, code, "negative size: %s", body)
	reps, err := f.ns.Replicas(h("x"))
	require.NoError(t, err)
	assert.Equal(t, []string{f.ids[a]}, reps, "a refused replica request recorded a copy")
}

// A DELETE adds a delete marker after the latest version; one that names
// a version is refused, not taken for a DELETE of the latest, which its
// caller did not ask for.
func TestDeleteTakesNoVersion(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "one", "two")
	for _, c := range []string{"one", "two"} {
		code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h(c), Size: 3, Replicas: []string{a}})
		require.Equal(t, http.StatusCreated, code, body)
	}
	for _, version := range []string{"1", "2", ""} {
		code, body := f.do(t, http.MethodDelete, "/objects?"+url.Values{"key": {"k"}, "version": {version}}.Encode(), nil)
		assert.Equal(t, http.StatusBadRequest, code, "version=%s", version)
		assert.Contains(t, body, "version=", "version=%s", version)
	}
	code, body := f.do(t, http.MethodGet, "/versions?key=k", nil)
	require.Equal(t, http.StatusOK, code, body)
	var vs meta.VersionList
	require.NoError(t, json.Unmarshal([]byte(body), &vs))
	assert.Len(t, vs.Versions, 2, "no delete marker was added")
}

// A JSON request is one value: anything after it is a 400, not ignored
// (two requests sent as one would lose the second). A body over the
// limit is a 413 that names the limit.
func TestJSONRequestIsOneValueWithinItsLimit(t *testing.T) {
	f := newMeta(t, meta.Options{})
	hb := `{"id": "ds-1", "addr": "http://x"}`
	for _, body := range []string{hb + ` {"id": "ds-2", "addr": "http://y"}`, hb + " garbage", hb + "}", hb + " 1"} {
		code, msg := f.do(t, http.MethodPost, "/heartbeat", body)
		assert.Equal(t, http.StatusBadRequest, code, "body %q", body)
		assert.Contains(t, msg, "bad JSON request", "body %q", body)
	}
	code, body := f.do(t, http.MethodGet, "/dataservers", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "[]\n", body, "no refused heartbeat was recorded")

	code, msg := f.do(t, http.MethodPost, "/heartbeat", hb+" \n\t")
	assert.Equal(t, http.StatusNoContent, code, "white space after the value is fine: %s", msg)

	big := `{"id": "ds-1", "addr": "http://x", "capacity": 1` + strings.Repeat(" ", 1<<20) + `}`
	code, msg = f.do(t, http.MethodPost, "/heartbeat", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, msg, "limit of 1048576 bytes")
}

// A placement lists the live data servers in the placer's order (the
// ring's, by default), and as Have, in the same order, those that hold
// the blob already: recorded in the namespace and confirmed by a HEAD
// now, since a client told a server has it sends that server no copy.
func TestPlacementIsInThePlacersOrderAndOffersOnlyConfirmedCopies(t *testing.T) {
	placer := &lastPlacer{}
	f := newMeta(t, meta.Options{Replicas: 1, Placer: placer})
	a, b, c := f.dataServer(t, "x"), f.dataServer(t, "x"), f.dataServer(t)
	placer.setLast(slices.Min([]string{f.ids[a], f.ids[b], f.ids[c]})) // never where sorting by ID puts it
	code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{Key: "k", Hash: h("x"), Size: 1, Replicas: []string{a, b}})
	require.Equal(t, http.StatusCreated, code, body)
	require.NoError(t, f.ns.AddReplicas(h("x"), []string{f.ids[c]}), "recorded, but c has no copy")

	code, body = f.do(t, http.MethodPost, "/writes", meta.WriteRequest{Key: "k2", Hash: h("x"), Size: 1})
	require.Equal(t, http.StatusOK, code, body)
	var p meta.Placement
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	addr := map[string]string{}
	for ad, id := range f.ids {
		addr[id] = ad
	}
	var targets, have []string
	for _, id := range placer.Place("", []string{f.ids[a], f.ids[b], f.ids[c]}) {
		targets = append(targets, addr[id])
		if addr[id] != c {
			have = append(have, addr[id])
		}
	}
	assert.Equal(t, targets, p.Targets, "the placer's order")
	assert.Equal(t, have, p.Have, "the copies a HEAD confirms, in the placer's order")
}

// Without limit=, a page of a key's versions holds MaxListLimit of them,
// as a page of keys does: nothing else bounds how many versions one key
// collects, nor so one answer.
func TestAVersionPageHoldsAtMostMaxListLimit(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	var wg sync.WaitGroup
	for range meta.MaxListLimit + 1 { // at once: they share transactions
		wg.Go(func() {
			_, err := f.ns.Commit(meta.CommitRequest{Key: "k", Hash: h("k"), Size: 1}, t0)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	page := func(query string) meta.VersionList {
		t.Helper()
		code, body := f.do(t, http.MethodGet, "/versions?key=k"+query, nil)
		require.Equal(t, http.StatusOK, code, body)
		var l meta.VersionList
		require.NoError(t, json.Unmarshal([]byte(body), &l))
		return l
	}
	first := page("")
	assert.Len(t, first.Versions, meta.MaxListLimit)
	assert.Equal(t, uint64(meta.MaxListLimit), first.Next)
	last := page(fmt.Sprintf("&after=%d", first.Next))
	require.Len(t, last.Versions, 1)
	assert.Equal(t, uint64(meta.MaxListLimit+1), last.Versions[0].Number)
	assert.Zero(t, last.Next)
}
