package meta_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// lastPlacer orders servers by ID, with last (if set) moved to the end:
// a test chooses which copy a repair round finds surplus.
type lastPlacer struct {
	mu   sync.Mutex
	last string
}

func (p *lastPlacer) Place(_ string, servers []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	order := slices.Sorted(slices.Values(servers))
	if i := slices.Index(order, p.last); i >= 0 {
		order = append(slices.Delete(order, i, i+1), p.last)
	}
	return order
}

func (p *lastPlacer) setLast(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = id
}

// surplus stores a blob on two of three data servers (R = 2, the first
// two by ID) and puts a third copy, not recorded, on the third: the
// stray. The next repair round adopts the stray's copy after a verify,
// and trims the copy of the server placer puts last (the stray's,
// unless the test says otherwise).
func surplus(t *testing.T, rt http.RoundTripper) (*storetest.Cluster, *client.Client, *lastPlacer, meta.Version, *storetest.DataNode) {
	t.Helper()
	placer := &lastPlacer{}
	cl, c := store(t, 3, meta.Options{Placer: placer, Client: &http.Client{Transport: rt}})
	const data = "one copy too many"
	v, err := c.Put(bg, "k", strings.NewReader(data))
	require.NoError(t, err)
	var stray *storetest.DataNode
	for _, d := range cl.Data {
		if !d.Has(v.Hash) {
			stray = d
		}
	}
	require.NotNil(t, stray)
	_, err = stray.Store.Put(v.Hash, strings.NewReader(data))
	require.NoError(t, err)
	placer.setLast(stray.Store.ID())
	return cl, c, placer, v, stray
}

// recorded reports whether d's copy of h is on record.
func recorded(t *testing.T, cl *storetest.Cluster, h blob.Hash, d *storetest.DataNode) bool {
	t.Helper()
	ids, err := cl.Namespace().Replicas(h)
	require.NoError(t, err)
	return slices.Contains(ids, d.Store.ID())
}

// stampWatch records, for one blob, the stamp each data server's answer
// to a verify or a confirming HEAD named, and each DELETE's StampHeader
// and answer. With
// strip, answers name no stamp: a data server from before stamps on
// answers.
type stampWatch struct {
	hash  blob.Hash
	strip bool
	next  http.RoundTripper // nil: http.DefaultTransport

	mu       sync.Mutex
	verified map[string]string // host: the stamp its last verify or confirming HEAD named
	deletes  []string          // "host stamp code" of each DELETE
}

func (w *stampWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	next := w.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil || w.hash == "" || !strings.Contains(req.URL.Path, string(w.hash)) {
		return resp, err
	}
	if w.strip {
		resp.Header.Del(meta.StampHeader)
	}
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/verify"),
		req.Method == http.MethodHead && req.Header.Get(meta.ConfirmHeader) != "":
		w.verified[req.URL.Host] = resp.Header.Get(meta.StampHeader)
	case req.Method == http.MethodDelete:
		w.deletes = append(w.deletes, req.URL.Host+" "+req.Header.Get(meta.StampHeader)+" "+strconv.Itoa(resp.StatusCode))
	}
	return resp, err
}

// unlisted leaves one blob out of one data server's next inventory, as
// when the copy arrived just after the listing.
type unlisted struct {
	next http.RoundTripper

	mu   sync.Mutex
	host string
	hash blob.Hash
}

func (u *unlisted) set(host string, h blob.Hash) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.host, u.hash = host, h
}

func (u *unlisted) RoundTrip(req *http.Request) (*http.Response, error) {
	u.mu.Lock()
	hide := req.Method == http.MethodGet && req.URL.Path == "/blobs" && req.URL.Host == u.host
	h := u.hash
	if hide {
		u.host = ""
	}
	u.mu.Unlock()
	resp, err := u.next.RoundTrip(req)
	if err != nil || !hide {
		return resp, err
	}
	defer resp.Body.Close()
	var list []meta.Stored
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	list = slices.DeleteFunc(list, func(st meta.Stored) bool { return st.Hash == h })
	body, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func host(d *storetest.DataNode) string { return strings.TrimPrefix(d.URL(), "http://") }

// A trim's DELETE names the last stamp the round saw for the copy it
// removes: the one its own verify named, for a copy it has just adopted,
// or its confirming HEAD, for a recorded copy the inventory missed (the
// inventory's is out of date, or absent); the inventory's, for a copy
// already on record and listed. With nothing counting the copy since,
// the DELETE removes it and the round counts it, and the R keepers stay.
func TestTrimSendsTheLastStampSeen(t *testing.T) {
	for _, how := range []string{"adopted", "listed", "confirmed"} {
		t.Run(how, func(t *testing.T) {
			watch := &stampWatch{verified: map[string]string{}}
			hide := &unlisted{next: watch}
			cl, _, placer, v, stray := surplus(t, hide)
			victim := stray // the copy trimmed
			if how != "adopted" {
				victim = cl.Node(v.Replicas[0])
				placer.setLast(victim.Store.ID())
			}
			listed, err := victim.Store.Stamp(v.Hash) // what the round's inventory lists, or would
			require.NoError(t, err)
			if how == "confirmed" {
				hide.set(host(victim), v.Hash)
			}
			watch.mu.Lock()
			watch.hash = v.Hash
			watch.mu.Unlock()

			rep := round(t, cl)
			assert.Equal(t, 1, rep.Adopted)
			assert.Equal(t, 1, rep.Trimmed)
			watch.mu.Lock()
			want := strconv.FormatInt(listed, 10)
			if how != "listed" {
				want = watch.verified[host(victim)]
				assert.NotEmpty(t, want, "no stamp named by the round's verify or HEAD of the copy")
				assert.NotEqual(t, strconv.FormatInt(listed, 10), want, "the round's verify or HEAD did not move the stamp")
			}
			assert.Equal(t, []string{host(victim) + " " + want + " 204"}, watch.deletes, "the trim's DELETE: host, stamp, answer")
			watch.mu.Unlock()
			assert.False(t, victim.Has(v.Hash), "the surplus copy")
			assert.False(t, recorded(t, cl, v.Hash, victim))
			assert.Len(t, intact(t, cl, v.Hash), 2, "the keepers")
		})
	}
}

// An older data server names no stamp in its verify's answer. Its
// adopted copy's inventory stamp is out of date, so the trim sends no
// stamp, as before stamps on answers, and the copy is removed.
func TestTrimOfACopyFromAnOlderDataServer(t *testing.T) {
	watch := &stampWatch{verified: map[string]string{}, strip: true}
	cl, _, _, v, stray := surplus(t, watch)
	watch.mu.Lock()
	watch.hash = v.Hash
	watch.mu.Unlock()

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Adopted)
	assert.Equal(t, 1, rep.Trimmed)
	watch.mu.Lock()
	assert.Equal(t, []string{host(stray) + "  204"}, watch.deletes, "the trim's DELETE: host, stamp (none), answer")
	watch.mu.Unlock()
	assert.False(t, stray.Has(v.Hash))
	assert.Len(t, intact(t, cl, v.Hash), 2)
}

// A trim's DELETE that the data server carries out after the round gave
// up on it (held here past its deadline) is refused if a commit has
// confirmed the copy meanwhile: the copy stays, on the disk and on
// record, and the next round trims it.
func TestTrimLateDeleteSparesACopyACommitConfirms(t *testing.T) {
	late := &lateDeletes{}
	cl, _, _, v, stray := surplus(t, late)
	late.hash = v.Hash
	rep := round(t, cl)
	require.Equal(t, 1, rep.Adopted)
	require.Zero(t, rep.Trimmed, "no DELETE answered in time")
	late.mu.Lock()
	require.Len(t, late.held, 1)
	require.Equal(t, host(stray), late.held[0].URL.Host)
	late.mu.Unlock()

	var all []string
	for _, d := range cl.Data {
		all = append(all, d.URL())
	}
	body, _ := json.Marshal(meta.CommitRequest{Key: "k2", Hash: v.Hash, Size: v.Size, Replicas: all})
	resp, err := http.Post(cl.MetaURL+"/commits", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "the commit")

	assert.Equal(t, []int{http.StatusPreconditionFailed}, late.release(t), "the late DELETE's answer")
	assert.True(t, stray.Has(v.Hash), "the copy the commit counted")
	assert.True(t, recorded(t, cl, v.Hash, stray), "the copy the commit counted is not on record")

	late.hash = ""
	rep = round(t, cl)
	assert.Equal(t, 1, rep.Trimmed, "trimmed by the next round")
	assert.False(t, stray.Has(v.Hash))
	assert.Len(t, intact(t, cl, v.Hash), 2)
}

// A copy confirmed between the round's look at it and its DELETE (a
// commit's confirming HEAD, before the trim forgot the copy) makes the
// DELETE a 412 in time: the round counts it as kept, neither trimmed
// nor failed, and records it again, since the trim had forgotten it
// and the commit's record of it came before.
func TestTrimKeepsACopyConfirmedBeforeItsDelete(t *testing.T) {
	var h blob.Hash // whose DELETEs are preceded by a confirming HEAD
	var mu sync.Mutex
	confirmFirst := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		hash := h
		mu.Unlock()
		if req.Method == http.MethodDelete && hash != "" && strings.HasSuffix(req.URL.Path, "/"+string(hash)) {
			head, _ := http.NewRequest(http.MethodHead, "http://"+req.URL.Host+req.URL.Path, nil)
			head.Header.Set(meta.ConfirmHeader, "1")
			resp, err := http.DefaultTransport.RoundTrip(head)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	cl, _, _, v, stray := surplus(t, confirmFirst)
	mu.Lock()
	h = v.Hash
	mu.Unlock()
	rep := round(t, cl)
	assert.Equal(t, 1, rep.Adopted)
	assert.Zero(t, rep.Trimmed, "a copy kept counted as trimmed")
	assert.Zero(t, rep.Failed)
	assert.True(t, stray.Has(v.Hash), "the copy confirmed")
	assert.True(t, recorded(t, cl, v.Hash, stray), "the copy kept is not on record")
	assert.Len(t, intact(t, cl, v.Hash), 3)
}
