package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A streamed object whose chunk 1 no copy has good reaches a client of
// the gateway as the API server sends it: a 200 whose body ends before
// its Content-Length, which the client sees as an error, with chunk 0 and
// nothing more. The gateway's proxy, which sees the API server's answer
// end early, aborts its own; it does not end it as if it were complete.
func TestACutShortAnswerIsCutShortThroughTheGateway(t *testing.T) {
	dir := t.TempDir()
	out := start(t, "-listen", "127.0.0.1:0", "-data", dir)
	c := gatewayClient{t, gatewayURL.FindStringSubmatch(out)[1]}
	data := make([]byte, 3<<20+1<<19) // above the client's 1 MiB: streamed
	rand.NewChaCha8([32]byte{7}).Read(data)
	put := c.do(http.MethodPut, "/objects/big", data)
	require.Equal(t, http.StatusCreated, put.status, put.body)
	var info struct{ SHA256 string }
	require.NoError(t, json.Unmarshal([]byte(put.body), &info))

	mid := len(data) / 2 // in chunk 1
	copies := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.Name() != info.SHA256 {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		b[mid] ^= 0x40
		copies++
		return os.WriteFile(path, b, 0o644)
	}))
	require.Equal(t, 2, copies, "every copy damaged")

	req, err := http.NewRequest(http.MethodGet, c.gw+"/objects/big", nil)
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "demo-key")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "chunk 0 was good: the answer began")
	got, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.True(t, bytes.HasPrefix(data, got), "the client got bytes that are not the object's")
	assert.LessOrEqual(t, len(got), 1<<20, "more than chunk 0")
}
