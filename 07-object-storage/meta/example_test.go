package meta_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// The life of a copy, on a store of four data servers (ds-00 to ds-03)
// with R=2, suspect after 10s of silence, dead 30s later, one version
// kept per key, and garbage deleted after an hour. The clock is moved by
// hand; the data servers that are up beat after every move.
func Example_lifeOfACopy() {
	tb := new(storetest.Standalone)
	defer tb.Close()
	cl := storetest.New(tb, 4, meta.Options{
		Replicas: 2, Timeout: 10 * time.Second, Grace: 30 * time.Second,
		KeepVersions: 1, GCGrace: time.Hour,
	})
	c := client.New(client.Options{MetaURL: cl.MetaURL, TempDir: tb.TempDir(), Now: cl.Clock.Now, Log: storetest.Quiet})
	ctx := context.Background()
	later := func(d time.Duration) { cl.Clock.Add(d); cl.Beat() }
	repair := func() {
		rep, err := cl.Meta().RepairRound(ctx)
		check(err)
		fmt.Printf("repair round: %+v\n", rep)
	}
	gc := func() {
		rep, err := cl.Meta().GC(ctx)
		check(err)
		fmt.Printf("gc: %+v\n", rep)
	}

	v1, err := c.Put(ctx, "photo", strings.NewReader("a photo, version 1"))
	check(err)
	h := v1.Hash
	fmt.Println("put photo v1")
	show(cl, h)

	victim := copies(cl, h)[0]
	cl.Kill(index(cl, victim))
	fmt.Println("\nkill", victim, "and wait 15s")
	later(15 * time.Second)
	status(cl)
	repair()

	fmt.Println("\nwait 30s more")
	later(30 * time.Second)
	metrics(cl, `state="dead"} 1`)
	repair()
	show(cl, h)

	fmt.Println("\n" + victim + " comes back: one copy too many")
	cl.Restart(index(cl, victim))
	show(cl, h)
	repair()
	show(cl, h)

	rotten := copies(cl, h)[0]
	fmt.Println("\nflip a byte in", rotten+"'s copy, and scrub", rotten)
	d := cl.ByID(rotten)
	d.Corrupt(tb, h)
	scrub, err := d.Server.Scrub(ctx)
	check(err)
	cl.Meta().WaitReports() // the metadata server checks a report after answering it
	fmt.Printf("scrub: checked %d, damaged %v, unsent reports %d\n", scrub.Checked, short(scrub.Damaged), scrub.Unsent)
	q, err := d.Store.Quarantined()
	check(err)
	fmt.Println(rotten, "quarantine:", short(q))
	show(cl, h)
	repair()
	show(cl, h)

	v2, err := c.Put(ctx, "photo", strings.NewReader("a photo, version 2"))
	check(err)
	fmt.Println("\nput photo v2")
	show(cl, v2.Hash)
	gc()
	show(cl, h) // v1's blob is garbage now, in its grace period
	fmt.Println("wait an hour")
	later(time.Hour)
	gc()
	show(cl, h)

	// Output:
	// put photo v1
	// blob d9f4745f4dc4: recorded [ds-00, ds-02], on disk [ds-00, ds-02]
	//
	// kill ds-00 and wait 15s
	// GET /status:
	//   ds-00 suspect
	//   ds-01 alive
	//   ds-02 alive
	//   ds-03 alive
	// repair round: {Blobs:1 UnderReplicated:0 Copied:0 Adopted:0 Trimmed:0 Dropped:0 Lost:0 Failed:0}
	//
	// wait 30s more
	// GET /metrics | grep 'state="dead"} 1':
	//   objectstore_dataserver_state{id="ds-00",state="dead"} 1
	// repair round: {Blobs:1 UnderReplicated:1 Copied:1 Adopted:0 Trimmed:0 Dropped:0 Lost:0 Failed:0}
	// blob d9f4745f4dc4: recorded [ds-00 (dead), ds-02, ds-03], on disk [ds-00, ds-02, ds-03]
	//
	// ds-00 comes back: one copy too many
	// blob d9f4745f4dc4: recorded [ds-00, ds-02, ds-03], on disk [ds-00, ds-02, ds-03]
	// repair round: {Blobs:1 UnderReplicated:0 Copied:0 Adopted:0 Trimmed:1 Dropped:0 Lost:0 Failed:0}
	// blob d9f4745f4dc4: recorded [ds-00, ds-02], on disk [ds-00, ds-02]
	//
	// flip a byte in ds-00's copy, and scrub ds-00
	// scrub: checked 1, damaged [d9f4745f4dc4], unsent reports 0
	// ds-00 quarantine: [d9f4745f4dc4]
	// blob d9f4745f4dc4: recorded [ds-02], on disk [ds-02]
	// repair round: {Blobs:1 UnderReplicated:1 Copied:1 Adopted:0 Trimmed:0 Dropped:0 Lost:0 Failed:0}
	// blob d9f4745f4dc4: recorded [ds-00, ds-02], on disk [ds-00, ds-02]
	//
	// put photo v2
	// blob f7a3e7ae5333: recorded [ds-00, ds-01], on disk [ds-00, ds-01]
	// gc: {Pruned:1 Garbage:1 Deleted:0 Copies:0}
	// blob d9f4745f4dc4: recorded [ds-00, ds-02], on disk [ds-00, ds-02]
	// wait an hour
	// gc: {Pruned:0 Garbage:1 Deleted:1 Copies:2}
	// blob d9f4745f4dc4: recorded [], on disk []
}

// copies lists the data servers the metadata server records for h.
func copies(cl *storetest.Cluster, h blob.Hash) []string {
	ids, err := cl.Namespace().Replicas(h)
	check(err)
	return ids
}

// show prints where the metadata server records copies of h (a server
// that is not alive is marked with its state: its ID stays on record)
// and, the ground truth, which data servers hold h in their blobs/.
func show(cl *storetest.Cluster, h blob.Hash) {
	var recorded, onDisk []string
	for _, id := range copies(cl, h) {
		if st := cl.Meta().Registry().State(id); st != meta.Alive {
			id += " (" + string(st) + ")"
		}
		recorded = append(recorded, id)
	}
	for _, d := range cl.Data {
		if d.Has(h) {
			onDisk = append(onDisk, d.Store.ID())
		}
	}
	fmt.Printf("blob %s: recorded [%s], on disk [%s]\n", h.Short(), strings.Join(recorded, ", "), strings.Join(onDisk, ", "))
}

// status prints each data server's state, as GET /status reports it.
func status(cl *storetest.Cluster) {
	resp, err := http.Get(cl.MetaURL + "/status")
	check(err)
	defer resp.Body.Close()
	var st meta.StatusReport
	check(json.NewDecoder(resp.Body).Decode(&st))
	fmt.Println("GET /status:")
	for _, s := range st.Servers {
		fmt.Printf("  %s %s\n", s.ID, s.State)
	}
}

// metrics prints the lines of GET /metrics that contain match.
func metrics(cl *storetest.Cluster, match string) {
	resp, err := http.Get(cl.MetaURL + "/metrics")
	check(err)
	defer resp.Body.Close()
	fmt.Printf("GET /metrics | grep '%s':\n", match)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), match) {
			fmt.Println(" ", sc.Text())
		}
	}
	check(sc.Err())
}

// index returns the position in cl.Data of the data server named id.
func index(cl *storetest.Cluster, id string) int {
	for i, d := range cl.Data {
		if d.Store.ID() == id {
			return i
		}
	}
	panic("no data server " + id)
}

func short(hs []blob.Hash) []string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Short())
	}
	return s
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
