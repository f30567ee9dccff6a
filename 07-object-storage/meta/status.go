package meta

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// stats remembers what maintenance did, for /status and /metrics.
type stats struct {
	lastRepair *RepairReport
	lastGC     *GCReport
	repairs    int // rounds run
	copied     int // totals since start
	trimmed    int
	dropped    int
	gcs        int
	pruned     int
	deleted    int
}

func (st *stats) repair(r RepairReport) {
	st.lastRepair = &r
	st.repairs++
	st.copied += r.Copied
	st.trimmed += r.Trimmed
	st.dropped += r.Dropped
}

func (st *stats) collected(r GCReport) {
	st.lastGC = &r
	st.gcs++
	st.pruned += r.Pruned
	st.deleted += r.Deleted
}

// StatusReport is the metadata server's answer to GET /status.
type StatusReport struct {
	Replicas   int           `json:"replicas"`
	Servers    []Status      `json:"servers"`
	LastRepair *RepairReport `json:"last_repair,omitempty"`
	LastGC     *GCReport     `json:"last_gc,omitempty"`
}

// Status returns every data server the metadata server knows of, live
// or not, with its state, and the last repair round's and GC's reports.
// A server known only from the database (it has not beaten since this
// metadata server started) is listed with its recorded address.
func (s *Server) Status() StatusReport {
	servers := s.registry.Servers()
	known, _ := s.ns.Servers()
	for id, addr := range known {
		if !slices.ContainsFunc(servers, func(st Status) bool { return st.ID == id }) {
			servers = append(servers, Status{Heartbeat: Heartbeat{ID: id, Addr: addr}, State: s.registry.State(id)})
		}
	}
	slices.SortFunc(servers, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	if servers == nil {
		servers = []Status{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return StatusReport{Replicas: s.opt.Replicas, Servers: servers, LastRepair: s.stats.lastRepair, LastGC: s.stats.lastGC}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Status())
}

// metrics writes the Prometheus text exposition format by hand: a few
// gauges and counters do not need a client library. Each data server has
// one series per state, 1 for the state it is in and 0 for the others,
// so that a query such as sum by (state) (objectstore_dataserver_state)
// counts servers by state.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	st := s.Status()
	s.mu.Lock()
	counts := s.stats
	s.mu.Unlock()
	var b strings.Builder
	metric := func(name, kind, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	metric("objectstore_dataserver_state", "gauge", "1 if the data server is in this state (alive, suspect, dead).")
	for _, srv := range st.Servers {
		// IDs are letters, digits, '.', '_' and '-' (validID): nothing to escape.
		for _, state := range []State{Alive, Suspect, Dead} {
			v := 0
			if srv.State == state {
				v = 1
			}
			fmt.Fprintf(&b, "objectstore_dataserver_state{id=%q,state=%q} %d\n", srv.ID, state, v)
		}
	}
	metric("objectstore_dataserver_blobs", "gauge", "Blobs the data server reported in its last heartbeat.")
	for _, srv := range st.Servers {
		fmt.Fprintf(&b, "objectstore_dataserver_blobs{id=%q} %d\n", srv.ID, srv.Blobs)
	}
	if st.LastRepair != nil {
		metric("objectstore_blobs_under_replicated", "gauge", "Blobs with fewer than R copies in the last repair round.")
		fmt.Fprintf(&b, "objectstore_blobs_under_replicated %d\n", st.LastRepair.UnderReplicated)
		metric("objectstore_blobs_lost", "gauge", "Blobs with no copy on a live server in the last repair round.")
		fmt.Fprintf(&b, "objectstore_blobs_lost %d\n", st.LastRepair.Lost)
	}
	for _, c := range []struct {
		name, help string
		v          int
	}{
		{"objectstore_repair_rounds_total", "Repair rounds run.", counts.repairs},
		{"objectstore_repair_copies_total", "Copies made by repair rounds.", counts.copied},
		{"objectstore_repair_trimmed_total", "Surplus copies removed by repair rounds.", counts.trimmed},
		{"objectstore_repair_dropped_total", "Bad or missing copies forgotten by repair rounds.", counts.dropped},
		{"objectstore_gc_runs_total", "Garbage collections run.", counts.gcs},
		{"objectstore_gc_versions_pruned_total", "Version records removed by the keep policy.", counts.pruned},
		{"objectstore_gc_blobs_deleted_total", "Unreferenced blobs deleted.", counts.deleted},
	} {
		metric(c.name, "counter", c.help)
		fmt.Fprintf(&b, "%s %d\n", c.name, c.v)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprint(w, b.String())
}
