package dataserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// Heartbeat is what this server would say about itself now.
func (s *Server) Heartbeat() (meta.Heartbeat, error) {
	s.room.Lock()
	defer s.room.Unlock()
	u, err := s.opt.Store.Usage()
	if err != nil {
		return meta.Heartbeat{}, err
	}
	free, err := s.free() // uploads under way have taken theirs
	if err != nil {
		return meta.Heartbeat{}, err
	}
	return meta.Heartbeat{
		ID:       s.opt.ID,
		Addr:     s.opt.Addr,
		Capacity: s.opt.Capacity,
		Free:     free,
		Blobs:    u.Blobs,
	}, nil
}

// Beat sends one heartbeat to the metadata server.
func (s *Server) Beat(ctx context.Context) error {
	hb, err := s.Heartbeat()
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	body, _ := json.Marshal(hb)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opt.MetaURL+"/heartbeat", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("heartbeat: metadata server answered %s", resp.Status)
	}
	return nil
}

// Run sends a heartbeat at once and then on every tick until ctx is
// done. A failed beat is logged, not fatal: the metadata server may just
// be restarting. Pass time.NewTicker(d).C; tests pass a channel they feed.
func (s *Server) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		if err := s.Beat(ctx); err != nil && ctx.Err() == nil {
			s.opt.Log.Warn("heartbeat failed", "addr", s.opt.Addr, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}
