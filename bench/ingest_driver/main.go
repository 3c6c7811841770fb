// The load driver of bench/ingest.py: a Go program (standard library only) because a
// Python HTTP client tops out near 1-2k requests/s on a 2-core machine and would measure
// itself instead of the service.
//
// Two modes, each printing one JSON object on stdout:
//
//	-mode throughput: closed loop, -conns keep-alive connections each POSTing batches of
//	  -batch events back to back for -seconds; reports events/s acknowledged with 202.
//	-mode rate: open loop, -rps requests/s of one event each, sent on a fixed schedule
//	  whatever the answers do; latency is measured from each request's *scheduled* send
//	  time, so a stalled server shows up as latency instead of as fewer requests sent
//	  (no coordinated omission). A -warmup second at the same rate is not recorded.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	url, key, mode         string
	batch, conns, rps      int
	seconds, warmupSeconds float64
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:38080/v1/events", "POST target")
	flag.StringVar(&o.key, "key", "", "tenant API key")
	flag.StringVar(&o.mode, "mode", "throughput", "throughput or rate")
	flag.IntVar(&o.batch, "batch", 1, "events per request (throughput mode)")
	flag.IntVar(&o.conns, "conns", 32, "connections (throughput mode)")
	flag.IntVar(&o.rps, "rps", 2000, "offered requests/s (rate mode)")
	flag.Float64Var(&o.seconds, "seconds", 5, "measured duration")
	flag.Float64Var(&o.warmupSeconds, "warmup", 1, "unrecorded warm-up (rate mode)")
	flag.Parse()
	var result any
	switch o.mode {
	case "throughput":
		result = throughput(o)
	case "rate":
		result = rate(o)
	default:
		fmt.Fprintln(os.Stderr, "unknown -mode", o.mode)
		os.Exit(2)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		panic(err)
	}
}

func client(maxConns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     maxConns,
			MaxIdleConns:        maxConns,
			MaxIdleConnsPerHost: maxConns,
			IdleConnTimeout:     60 * time.Second,
			DisableCompression:  true,
		},
	}
}

// events builds one request body in the shape bench/ingest.py gives the raw producer:
// an object for one event, an array for several. Ids are unique per body.
func body(n int) []byte {
	prefix := make([]byte, 8)
	if _, err := rand.Read(prefix); err != nil {
		panic(err)
	}
	p := hex.EncodeToString(prefix)
	var b bytes.Buffer
	if n > 1 {
		b.WriteByte('[')
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"specversion":"1.0","id":"%s-%d","source":"bench","type":"api_call",`+
			`"subject":"customer-%d","data":{"tokens":%d,"model":"m1"}}`, p, i, i%50, i%1000)
	}
	if n > 1 {
		b.WriteByte(']')
	}
	return b.Bytes()
}

type outcome struct {
	status int
	err    error
}

func post(c *http.Client, o options, payload []byte) outcome {
	req, err := http.NewRequest(http.MethodPost, o.url, bytes.NewReader(payload))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+o.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	// Read to the end so the connection goes back to the pool (keep-alive).
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return outcome{status: resp.StatusCode}
}

type statusCounts struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *statusCounts) add(r outcome) {
	key := fmt.Sprint(r.status)
	if r.err != nil {
		key = "error"
	}
	s.mu.Lock()
	s.counts[key]++
	s.mu.Unlock()
}

func throughput(o options) map[string]any {
	c := client(o.conns)
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = body(o.batch)
	}
	statuses := &statusCounts{counts: map[string]int{}}
	var accepted atomic.Int64
	started := time.Now()
	deadline := started.Add(time.Duration(o.seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for w := 0; w < o.conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i++ {
				r := post(c, o, bodies[i%len(bodies)])
				statuses.add(r)
				if r.err == nil && r.status == http.StatusAccepted {
					accepted.Add(int64(o.batch))
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	return map[string]any{"batch": o.batch, "conns": o.conns, "seconds": elapsed,
		"events_per_s": float64(accepted.Load()) / elapsed, "statuses": statuses.counts}
}

func rate(o options) map[string]any {
	// Enough connections that the driver never waits for one: a request that cannot get a
	// connection would still count its wait as latency, but the limit is the server's job.
	c := client(4096)
	bodies := make([][]byte, 4096)
	for i := range bodies {
		bodies[i] = body(1)
	}
	interval := time.Duration(float64(time.Second) / float64(o.rps))
	warmup := int(o.warmupSeconds * float64(o.rps))
	total := warmup + int(o.seconds*float64(o.rps))
	latencies := make([]time.Duration, total) // index i written by request i only
	ok := make([]bool, total)
	statuses := &statusCounts{counts: map[string]int{}}
	var wg sync.WaitGroup
	start := time.Now().Add(50 * time.Millisecond)
	maxLag := time.Duration(0)
	for i := 0; i < total; i++ {
		scheduled := start.Add(time.Duration(i) * interval)
		if wait := time.Until(scheduled); wait > 0 {
			time.Sleep(wait)
		} else if -wait > maxLag {
			maxLag = -wait
		}
		wg.Add(1)
		go func(i int, scheduled time.Time) {
			defer wg.Done()
			r := post(c, o, bodies[i%len(bodies)])
			latencies[i] = time.Since(scheduled)
			ok[i] = r.err == nil && r.status == http.StatusAccepted
			if i >= warmup {
				statuses.add(r)
			}
		}(i, scheduled)
	}
	sendEnd := time.Now()
	wg.Wait()
	var all []time.Duration
	failed, acceptedTotal := 0, 0
	for i := 0; i < total; i++ {
		if ok[i] {
			acceptedTotal++ // warm-up included: what the server did while it was measured for CPU
		}
	}
	for i := warmup; i < total; i++ {
		// A refused or failed request counts in the percentiles with its latency, and as
		// failed: dropping it would flatter the figures.
		all = append(all, latencies[i])
		if !ok[i] {
			failed++
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	pick := func(q float64) float64 {
		i := int(q * float64(len(all)))
		if i >= len(all) {
			i = len(all) - 1
		}
		return float64(all[i].Microseconds()) / 1000
	}
	measured := sendEnd.Sub(start.Add(time.Duration(warmup) * interval)).Seconds()
	return map[string]any{"offered_rps": o.rps, "sent_rps": float64(total-warmup) / measured,
		"requests": len(all), "failed": failed, "statuses": statuses.counts, "accepted_with_warmup": acceptedTotal,
		"p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99), "max_ms": pick(1.0),
		"max_send_lag_ms": float64(maxLag.Microseconds()) / 1000}
}
