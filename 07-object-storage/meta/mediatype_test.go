package meta_test

import (
	"encoding/binary"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

func TestValidateContentType(t *testing.T) {
	for _, good := range []string{
		"", // none
		"image/png",
		"text/plain; charset=utf-8",
		`multipart/form-data; boundary="a b"`,
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"text/plain; charset=" + strings.Repeat("x", meta.MaxContentTypeLen-len("text/plain; charset=")),
	} {
		assert.NoError(t, meta.ValidateContentType(good), "%q", good)
	}
	for name, bad := range map[string]string{
		"no subtype":         "image",
		"no type":            "/png",
		"empty parameter":    "text/plain; =x",
		"too long":           "text/plain; charset=" + strings.Repeat("x", meta.MaxContentTypeLen),
		"CR LF":              "text/html\r\nSet-Cookie: a=b",
		"tab":                "text/plain;\tcharset=utf-8",
		"escape":             "text/\x1b[31mred",
		"DEL":                "text/plain\x7f",
		"not ASCII":          "text/plain; charset=ütf-8",
		"invalid UTF-8":      "text/\xff",
		"spaces, no slash":   "   ",
		"two types":          "text/plain, text/html",
		"parameter no =":     "text/plain; charset",
		"unterminated quote": `text/plain; charset="utf-8`,
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, meta.ValidateContentType(bad), meta.ErrBadContentType)
		})
	}
}

// The type belongs to the version, not to the blob: the same bytes put
// under two keys, or twice under one, keep the type each put gave.
func TestContentTypeIsPerVersion(t *testing.T) {
	ns, _ := openNS(t)
	commits := []meta.CommitRequest{
		{Key: "k", Hash: h("one"), Size: 3, ContentType: "text/plain"},
		{Key: "k", Hash: h("two"), Size: 3, ContentType: "image/png"},
		{Key: "k", Hash: h("one"), Size: 3, ContentType: "application/json"}, // version 1's content
		{Key: "k", Hash: h("one"), Size: 3},                                  // and again with none
		{Key: "other", Hash: h("one"), Size: 3, ContentType: "text/csv"},
	}
	for _, c := range commits {
		v, err := ns.Commit(c, t0)
		require.NoError(t, err)
		assert.Equal(t, c.ContentType, v.ContentType, "what Commit returns, version %d of %s", v.Number, c.Key)
	}
	vs, err := ns.Versions("k")
	require.NoError(t, err)
	var got []string
	for _, v := range vs {
		got = append(got, v.ContentType)
	}
	if diff := cmp.Diff([]string{"text/plain", "image/png", "application/json", ""}, got); diff != "" {
		t.Errorf("types of k's versions (-want +got):\n%s", diff)
	}
	v, err := ns.Get("k", 1)
	require.NoError(t, err)
	assert.Equal(t, "text/plain", v.ContentType)
	v, err = ns.Get("other", 0)
	require.NoError(t, err)
	assert.Equal(t, "text/csv", v.ContentType)
	l, err := ns.List("", "", 10)
	require.NoError(t, err)
	require.Len(t, l.Objects, 2)
	assert.Equal(t, "", l.Objects[0].ContentType, "k's latest version has none")
	assert.Equal(t, "text/csv", l.Objects[1].ContentType)
}

// The type is on disk: a metadata server that restarts still has it.
func TestContentTypeSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ns, err := meta.OpenNamespace(path)
	require.NoError(t, err)
	_, err = ns.Commit(meta.CommitRequest{Key: "k", Hash: h("one"), Size: 3, ContentType: "image/png"}, t0)
	require.NoError(t, err)
	require.NoError(t, ns.Close())

	ns, err = meta.OpenNamespace(path)
	require.NoError(t, err)
	defer ns.Close()
	v, err := ns.Get("k", 0)
	require.NoError(t, err)
	assert.Equal(t, "image/png", v.ContentType)
}

// A version record written before versions had a type (JSON without
// "content_type") reads back as a version with none.
func TestRecordWithoutContentType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ns, err := meta.OpenNamespace(path) // creates the buckets
	require.NoError(t, err)
	require.NoError(t, ns.Close())

	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	// The "versions" bucket's layout (see Namespace): key, 0x00, the
	// version number as 8 bytes big-endian.
	k := binary.BigEndian.AppendUint64([]byte("old\x00"), 1)
	old := `{"hash":"` + string(h("one")) + `","size":3,"created":"2026-01-02T03:04:05Z"}`
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("versions")).Put(k, []byte(old))
	}))
	require.NoError(t, db.Close())

	ns, err = meta.OpenNamespace(path)
	require.NoError(t, err)
	defer ns.Close()
	v, err := ns.Get("old", 0)
	require.NoError(t, err)
	want := meta.Version{Key: "old", Number: 1, Hash: h("one"), Size: 3, Created: t0}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("an old record (-want +got):\n%s", diff)
	}
}

// A commit with a type that is not a media type is a 400, says why, and
// stores nothing; the namespace refuses it too.
func TestCommitBadContentTypeStoresNothing(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "content")
	code, body := f.do(t, http.MethodPost, "/commits", meta.CommitRequest{
		Key: "k", Hash: h("content"), Size: 7, Replicas: []string{a}, ContentType: "text/html\nX-Evil: 1"})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "bad content type")
	_, err := f.ns.Versions("k")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused commit stored something")

	_, err = f.ns.Commit(meta.CommitRequest{Key: "k", Hash: h("content"), Size: 7, ContentType: "no-slash"}, t0)
	assert.ErrorIs(t, err, meta.ErrBadContentType)
	_, err = f.ns.Versions("k")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused commit stored something")

	code, body = f.do(t, http.MethodPost, "/commits", meta.CommitRequest{
		Key: "k", Hash: h("content"), Size: 7, Replicas: []string{a}, ContentType: "text/plain; charset=utf-8"})
	require.Equal(t, http.StatusCreated, code, body)
	assert.Contains(t, body, `"content_type":"text/plain; charset=utf-8"`)
}
