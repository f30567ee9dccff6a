package meta

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// RepairReport says what one repair round did.
type RepairReport struct {
	Blobs           int `json:"blobs"`            // referenced blobs examined
	UnderReplicated int `json:"under_replicated"` // fewer than R counted copies when examined
	Copied          int `json:"copied"`           // new copies made, verified and recorded
	Adopted         int `json:"adopted"`          // intact copies found on a server but not recorded
	Trimmed         int `json:"trimmed"`          // surplus copies removed (forgotten and deleted)
	Dropped         int `json:"dropped"`          // recorded copies found bad or missing, and forgotten
	Lost            int `json:"lost"`             // no copy on a live server to copy from
	Failed          int `json:"failed"`           // still short of R after the round
}

// RepairRound brings every referenced blob back to R good copies, as far
// as the live data servers allow. For each blob it
//
//  1. forgets recorded copies that a live server no longer has, and
//     adopts intact copies that a live server has but that are not
//     recorded (a server that came back, a copy made by a read repair
//     whose report was lost);
//  2. counts the copies on servers that are not dead (a suspect's
//     copies still count: see State) and, if there are fewer than R, has the
//     ring's next live servers pull the blob from a live holder. A
//     location is recorded only after the target stored the bytes,
//     checked against the hash, and a HEAD confirms them;
//  3. if more than R live servers hold it, verifies the R that the ring
//     prefers and only then removes the others: a surplus copy is never
//     removed on the word of a copy that may itself be bad. Each DELETE
//     names the last stamp the round saw for its copy, so a copy that a
//     commit has counted since is kept (see StampHeader).
//
// At most Options.RepairConcurrency blobs are repaired at once; each
// data server paces its own pulls (dataserver.Options.CopyLimiter) and
// gets one pull or verify at a time (oneJob), each with a deadline that
// grows with the blob's size at Options.RepairRate (transferTimeout).
// Tests call RepairRound directly; programs call Run.
func (s *Server) RepairRound(ctx context.Context) (RepairReport, error) {
	refs, err := s.ns.Referenced()
	if err != nil {
		return RepairReport{}, err
	}
	records, err := s.ns.Blobs()
	if err != nil {
		return RepairReport{}, err
	}
	live := s.registry.Live()
	inv, cannotList := s.inventories(ctx, live)
	var (
		mu  sync.Mutex
		rep RepairReport
		wg  sync.WaitGroup
		sem = make(chan struct{}, s.opt.RepairConcurrency)
	)
	for _, h := range slices.Sorted(maps.Keys(records)) {
		size, ok := refs[h]
		if !ok {
			continue // garbage: GC's business
		}
		select {
		case sem <- struct{}{}:
		default: // RepairConcurrency blobs in hand: wait for one
			s.hooks.repairWaits()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return rep, ctx.Err()
			}
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r := s.repairBlob(ctx, h, size, records[h], live, inv, cannotList)
			mu.Lock()
			defer mu.Unlock()
			rep.add(r)
		})
	}
	wg.Wait()
	s.mu.Lock()
	s.stats.repair(rep)
	s.mu.Unlock()
	return rep, ctx.Err()
}

func (r *RepairReport) add(o RepairReport) {
	r.Blobs += o.Blobs
	r.UnderReplicated += o.UnderReplicated
	r.Copied += o.Copied
	r.Adopted += o.Adopted
	r.Trimmed += o.Trimmed
	r.Dropped += o.Dropped
	r.Lost += o.Lost
	r.Failed += o.Failed
}

func (s *Server) repairBlob(ctx context.Context, h blob.Hash, size int64, holders []string, live []Heartbeat, inv map[string]map[blob.Hash]Stored, cannotList map[string]bool) RepairReport {
	rep := RepairReport{Blobs: 1}
	addr := map[string]string{}
	beats := map[string]Heartbeat{}
	var ids []string
	for _, hb := range live {
		addr[hb.ID] = hb.Addr
		beats[hb.ID] = hb
		ids = append(ids, hb.ID)
	}
	holding := map[string]bool{}
	for _, id := range holders {
		holding[id] = true
	}
	drop := func(id string) {
		if err := s.ns.DropReplica(h, id); err == nil {
			delete(holding, id)
			rep.Dropped++
		}
	}
	// Live servers, ring order, those with no room for a copy last: a
	// missing copy goes to a server with room, and a surplus one is
	// trimmed from a full server first.
	order := roomFirst(s.opt.Placer.Place(string(h), ids), beats, size)
	// The last stamp this round saw for each server's copy: the
	// inventory's, unless this round's own confirming HEAD or verify has
	// moved it since, and then the one that answer named. A trim's DELETE
	// sends it: nil (no stamp known) sends a plain DELETE.
	stamps := map[string]*int64{}
	// Copies this round has seen no stamp for, on a server that keeps
	// stamps as far as it knows: no inventory from the server, or a HEAD
	// that said nothing. A plain DELETE carried out late could remove
	// such a copy after a commit counted it, so it is not trimmed.
	unsure := map[string]bool{}

	// 1. Make the record match what live servers hold.
	for _, id := range order {
		has, known := inv[id]
		if !known {
			unsure[id] = !cannotList[id]
			continue // no inventory from it this round: judge nothing
		}
		st, listed := has[h]
		stamps[id] = st.Stamp
		switch {
		case holding[id] && !listed:
			ok, stamp, err := s.holds(ctx, id, addr[id], h, size)
			stamps[id] = stamp
			switch {
			case err != nil:
				// No answer, or an error: nothing known about the copy.
				s.opt.Log.Warn("repair: cannot confirm a copy", "blob", h.Short(), "server", id, "err", err)
				unsure[id] = true
			case !ok:
				drop(id) // gone (quarantined by a scrub, a wiped disk)
			}
		case !holding[id] && listed:
			ok, stamp, err := s.verifyCopy(ctx, id, addr[id], h, size)
			if err != nil {
				s.opt.Log.Warn("repair: cannot verify a copy", "blob", h.Short(), "server", id, "err", err)
			}
			stamps[id] = stamp
			if ok && s.ns.AddReplicas(h, []string{id}) == nil {
				holding[id] = true
				rep.Adopted++
			}
		}
	}

	// 2. Count, and copy what is missing.
	var sources []string // live holders, ring order
	for _, id := range order {
		if holding[id] {
			sources = append(sources, id)
		}
	}
	// A holder that is not live but not dead either still counts: a
	// suspect, or one not heard from since this metadata server started
	// (judged from the start: see Registry.State).
	counted := len(sources)
	for id := range holding {
		if !slices.Contains(sources, id) && s.registry.State(id) != Dead {
			counted++
		}
	}
	if counted < s.opt.Replicas {
		rep.UnderReplicated++
		if len(sources) == 0 {
			rep.Lost++
			s.opt.Log.Warn("repair: no live copy to copy from", "blob", h.Short())
			return rep
		}
		need := s.opt.Replicas - counted
		for _, target := range order {
			if need == 0 || len(sources) == 0 {
				break
			}
			if holding[target] {
				continue
			}
			if s.copyTo(ctx, h, size, target, addr, &sources, drop) {
				holding[target] = true
				rep.Copied++
				need--
			}
		}
		if need > 0 {
			rep.Failed++
		}
		return rep
	}

	// 3. Remove surplus copies, only after verifying the keepers.
	if len(sources) > s.opt.Replicas {
		keep, surplus := sources[:s.opt.Replicas], sources[s.opt.Replicas:]
		for _, id := range keep {
			if ok, _, err := s.verifyCopy(ctx, id, addr[id], h, size); !ok {
				if err == nil {
					drop(id) // damaged or gone: the next round copies again
				} else {
					s.opt.Log.Warn("repair: cannot verify a copy", "blob", h.Short(), "server", id, "err", err)
				}
				return rep
			}
		}
		for _, id := range surplus {
			if unsure[id] {
				continue // a later round trims it, fenced
			}
			// Forget first, delete second: a reader may still be sent to a
			// copy that is gone (it then tries the next), never to none.
			if err := s.ns.DropReplica(h, id); err != nil {
				continue
			}
			// Fenced by the last stamp this round saw for the copy: if a
			// commit has confirmed it since, even after the DELETE's
			// deadline, the data server refuses (412) and the copy stays.
			switch err := s.deleteCopy(ctx, id, addr[id], h, stamps[id]); {
			case errors.Is(err, errKept):
				// Counted again: on the disk and on record, as the commit
				// that counted it expects. A later round trims it.
				if err := s.ns.AddReplicas(h, []string{id}); err != nil {
					s.opt.Log.Warn("repair: could not record a surplus copy kept", "blob", h.Short(), "server", id, "err", err)
				}
			case errors.Is(err, errGone):
				// Removed since this round saw it (set aside as damaged,
				// say): off the record already, and not trimmed by us.
			case err != nil:
				// Still on the disk: a later round adopts it and trims it
				// again, and counts it then.
				s.opt.Log.Warn("repair: could not remove a surplus copy", "blob", h.Short(), "server", id, "err", err)
			default:
				rep.Trimmed++
			}
		}
	}
	return rep
}

// copyTo has target pull h from the first source that serves good bytes,
// trying each source once. A source that serves bad bytes is forgotten
// (drop) and removed from sources; one that serves nothing goes to the
// end of sources, so that the next target asks another first. It
// returns whether target now holds a recorded copy.
func (s *Server) copyTo(ctx context.Context, h blob.Hash, size int64, target string, addr map[string]string, sources *[]string, drop func(string)) bool {
	for tries := len(*sources); tries > 0 && len(*sources) > 0; tries-- {
		src := (*sources)[0]
		done := s.oneJob(addr[target])
		code, msg, err := s.sendWithin(ctx, transferTimeout(size, s.opt.RepairRate), target, http.MethodPost, addr[target]+"/pull", Pull{Hash: h, From: addr[src]})
		done()
		switch {
		case err != nil:
			// No answer from the target: try the next target.
			s.opt.Log.Warn("repair: copy failed", "blob", h.Short(), "from", src, "to", target, "err", err)
			return false
		case code == http.StatusBadGateway:
			// The source did not serve the blob (or the target could not
			// store it): try the next source. A live holder that lists
			// its copy but cannot serve it must not keep the blob short
			// of R, round after round, beside a holder that can.
			s.opt.Log.Warn("repair: copy failed", "blob", h.Short(), "from", src, "to", target, "code", code, "msg", msg)
			*sources = append(slices.Clone((*sources)[1:]), src)
			continue
		case code == http.StatusUnprocessableEntity:
			s.opt.Log.Warn("repair: source copy is bad", "blob", h.Short(), "server", src)
			drop(src)
			*sources = (*sources)[1:]
			continue
		case code/100 != 2:
			s.opt.Log.Warn("repair: copy refused", "blob", h.Short(), "to", target, "code", code, "msg", msg)
			return false
		}
		if ok, _, err := s.holds(ctx, target, addr[target], h, size); !ok {
			if err != nil {
				s.opt.Log.Warn("repair: cannot confirm a copy", "blob", h.Short(), "server", target, "err", err)
			}
			return false
		}
		return s.addReplicas(h, []string{target}) == nil
	}
	return false
}

// holds reports whether server id, at addr, answers a confirming HEAD
// (ConfirmHeader) for h with the right size, and returns the stamp the
// HEAD moved the copy to (nil if the server names none). An error means
// the HEAD said nothing about the copy: no answer, or one other than 200
// or 404.
func (s *Server) holds(ctx context.Context, id, addr string, h blob.Hash, size int64) (bool, *int64, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, addr+"/blobs/"+string(h), nil)
	if err != nil {
		return false, nil, err
	}
	req.Header.Set(ConfirmHeader, "1") // a copy about to be counted: see StampHeader
	resp, err := s.do(req, id)
	if err != nil {
		return false, nil, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.ContentLength == size, stampIn(resp.Header), nil
	case http.StatusNotFound:
		return false, nil, nil
	}
	return false, nil, fmt.Errorf("HEAD on %s: %s", addr, resp.Status)
}

// Run runs a repair round on every tick of repair and a garbage
// collection on every tick of gc, until ctx is done. Pass the channels of
// time.Tickers; tests call RepairRound and GC themselves.
func (s *Server) Run(ctx context.Context, repair, gc <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-repair:
			rep, err := s.RepairRound(ctx)
			if err != nil && ctx.Err() == nil {
				s.opt.Log.Warn("repair round failed", "err", err)
			} else if rep.UnderReplicated+rep.Trimmed+rep.Dropped+rep.Adopted > 0 {
				s.opt.Log.Info("repair round", "blobs", rep.Blobs, "under", rep.UnderReplicated, "copied", rep.Copied,
					"adopted", rep.Adopted, "trimmed", rep.Trimmed, "dropped", rep.Dropped, "lost", rep.Lost, "failed", rep.Failed)
			}
		case <-gc:
			rep, err := s.GC(ctx)
			if err != nil && ctx.Err() == nil {
				s.opt.Log.Warn("garbage collection failed", "err", err)
			} else if rep.Pruned+rep.Deleted > 0 {
				s.opt.Log.Info("garbage collection", "pruned", rep.Pruned, "garbage", rep.Garbage, "deleted", rep.Deleted, "copies", rep.Copies)
			}
		}
	}
}
