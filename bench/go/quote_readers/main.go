// Command quote_readers is the Go twin of bench/quote_readers.py: quote subscribers in a
// process of their own for the benchmarks, cheap enough per message that the bench measures the
// server rather than its readers (not a benchmark alone).
//
//	quote_readers TARGET SUBSCRIBERS SECONDS [--symbols AAPL,MSFT,...] [--ready-limit S] [--latencies]
//
// It opens SUBSCRIBERS StreamQuotes streams at once on one connection, each for every symbol,
// and prints JSON lines to stdout: {"ready": seconds until every stream had a quote of every
// contract} (or {"error": ...}), then, after SECONDS of reading, {"deliveries": quotes received,
// "seconds": ..., "p50_ms"/"p99_ms": tick-to-subscriber latency (Quote.update_time is stamped by
// the server)}; with --latencies that line also holds "latencies": about 20,000 evenly spaced
// samples of the sorted latencies (ms). Bounded: at most --ready-limit s (60, at most 300) to get
// ready, then SECONDS (at most 120); loopback only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkr_broker/v1"
)

const (
	maxSamplesPerStream = 20000 // as quote_readers.py
	printedSamples      = 20000 // --latencies prints about this many
	drainLimit          = 10 * time.Second
)

type config struct {
	target      string
	subscribers int
	seconds     time.Duration
	symbols     []string
	readyLimit  time.Duration
	latencies   bool
}

func main() {
	cfg, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "quote_readers:", err)
		os.Exit(2)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// One core, like the Python reader: the other is the server's, and one scheduler
		// thread spares the cross-thread wake-ups (a third less system time at 100 streams).
		runtime.GOMAXPROCS(1)
	}
	os.Exit(run(cfg))
}

// parseArgs takes flags before, between or after the three positional arguments, as argparse.
func parseArgs(args []string) (config, error) {
	fs := flag.NewFlagSet("quote_readers", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	symbols := fs.String("symbols", "AAPL,MSFT,SPY,QQQ,AMZN,GOOGL,TSLA,NVDA,META,IWM", "")
	readyLimit := fs.Float64("ready-limit", 60, "")
	latencies := fs.Bool("latencies", false, "")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return config{}, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 3 {
		return config{}, fmt.Errorf("usage: quote_readers TARGET SUBSCRIBERS SECONDS " +
			"[--symbols A,B,...] [--ready-limit S] [--latencies]")
	}
	n, err := strconv.Atoi(positional[1])
	if err != nil || n < 1 {
		return config{}, fmt.Errorf("SUBSCRIBERS must be a positive whole number, not %q", positional[1])
	}
	seconds, err := strconv.ParseFloat(positional[2], 64)
	if err != nil || !(seconds >= 0) {
		return config{}, fmt.Errorf("SECONDS must be a number >= 0, not %q", positional[2])
	}
	if !(*readyLimit > 0) {
		return config{}, fmt.Errorf("--ready-limit must be a number > 0, not %v", *readyLimit)
	}
	return config{
		target:      positional[0],
		subscribers: n,
		seconds:     asDuration(math.Min(seconds, 120)),
		symbols:     strings.Split(*symbols, ","),
		readyLimit:  asDuration(math.Min(*readyLimit, 300)),
		latencies:   *latencies,
	}, nil
}

func asDuration(seconds float64) time.Duration {
	return time.Duration(seconds * float64(time.Second))
}

// shared is what every stream's goroutine and main see.
type shared struct {
	wanted    int
	measuring int32 // 1 while the measurement window is open (atomic)
	pending   int64 // streams without a quote of every contract yet (atomic)
	ready     chan struct{}
	failed    chan error
}

func (sh *shared) fail(err error) {
	select {
	case sh.failed <- err:
	default: // the first failure is the one reported
	}
}

// stream is one StreamQuotes subscriber's figures; mu guards them while the window is open.
type stream struct {
	mu         sync.Mutex
	deliveries int
	latencies  []float64
}

func (s *stream) read(ctx context.Context, client v1.BrokerServiceClient,
	req *v1.StreamQuotesRequest, sh *shared) {
	call, err := client.StreamQuotes(ctx, req, grpc.ForceCodec(frameCodec{}))
	if err != nil {
		sh.fail(err)
		return
	}
	seen := make(map[int64]struct{}, sh.wanted)
	var msg frame
	var quotes []stamp
	for {
		if err := call.RecvMsg(&msg); err != nil {
			if ctx.Err() == nil && status.Code(err) != codes.Canceled {
				sh.fail(err)
			}
			return
		}
		now := time.Now().UnixNano()
		if quotes, err = appendQuotes(quotes[:0], msg.data); err != nil {
			sh.fail(fmt.Errorf("a StreamQuotesResponse that does not parse: %w", err))
			return
		}
		if len(quotes) == 0 {
			continue
		}
		if len(seen) < sh.wanted {
			for _, q := range quotes {
				seen[q.conID] = struct{}{}
			}
			if len(seen) >= sh.wanted && atomic.AddInt64(&sh.pending, -1) == 0 {
				close(sh.ready)
			}
		}
		if atomic.LoadInt32(&sh.measuring) == 1 {
			s.record(now, quotes)
		}
	}
}

func (s *stream) record(now int64, quotes []stamp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries += len(quotes)
	for _, q := range quotes {
		if len(s.latencies) >= maxSamplesPerStream {
			return
		}
		s.latencies = append(s.latencies, float64(now-q.nanos)/1e6)
	}
}

func run(cfg config) int {
	contracts := make([]*v1.Contract, len(cfg.symbols))
	for i, symbol := range cfg.symbols {
		contracts[i] = &v1.Contract{SecurityType: v1.SecurityType_SECURITY_TYPE_STOCK, Symbol: symbol}
	}
	t0 := time.Now()
	// One connection for every stream, like the Python reader. Fixed flow-control windows
	// (which turn off grpc-go's BDP estimate) so that the reader's window, not the server,
	// never caps a burst to 500 streams: 1 MiB per stream, 64 MiB for the connection.
	conn, err := grpc.Dial(cfg.target, grpc.WithInsecure(),
		grpc.WithInitialWindowSize(1<<20), grpc.WithInitialConnWindowSize(1<<26))
	if err != nil {
		printError(fmt.Sprintf("cannot dial %s: %v", cfg.target, err))
		return 1
	}
	defer conn.Close()
	client := v1.NewBrokerServiceClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sh := &shared{wanted: len(contracts), pending: int64(cfg.subscribers),
		ready: make(chan struct{}), failed: make(chan error, 1)}
	req := &v1.StreamQuotesRequest{Contracts: contracts}
	streams := make([]*stream, cfg.subscribers)
	var wg sync.WaitGroup
	for i := range streams {
		streams[i] = &stream{}
		wg.Add(1)
		go func(s *stream) {
			defer wg.Done()
			s.read(ctx, client, req, sh)
		}(streams[i])
	}
	defer drain(cancel, &wg)
	if !awaitReady(cfg, sh, t0) {
		return 0 // the error line is the answer, as quote_readers.py
	}
	atomic.StoreInt32(&sh.measuring, 1)
	start := time.Now()
	time.Sleep(cfg.seconds) // the measurement window
	atomic.StoreInt32(&sh.measuring, 0)
	printFigures(streams, time.Since(start).Seconds(), cfg.latencies)
	select {
	case err := <-sh.failed:
		fmt.Fprintln(os.Stderr, "quote_readers: a stream failed while measuring:", err)
	default:
	}
	return 0
}

// awaitReady prints the first line: {"ready": s}, or {"error": ...} when a stream failed or
// the streams were not all ready within the limit.
func awaitReady(cfg config, sh *shared, t0 time.Time) bool {
	timer := time.NewTimer(cfg.readyLimit - time.Since(t0))
	defer timer.Stop()
	select {
	case <-sh.ready:
		fmt.Printf("{\"ready\": %s}\n", number(time.Since(t0).Seconds()))
		return true
	case err := <-sh.failed:
		printError(fmt.Sprintf("a stream failed before every stream was ready: %v", err))
	case <-timer.C:
		got := int64(cfg.subscribers) - atomic.LoadInt64(&sh.pending)
		printError(fmt.Sprintf("%d of %d streams had every quote after %.0f s", got,
			cfg.subscribers, cfg.readyLimit.Seconds()))
	}
	return false
}

func printFigures(streams []*stream, seconds float64, withSamples bool) {
	deliveries := 0
	var latencies []float64
	for _, s := range streams {
		s.mu.Lock()
		deliveries += s.deliveries
		latencies = append(latencies, s.latencies...)
		s.mu.Unlock()
	}
	sort.Float64s(latencies)
	line := fmt.Sprintf("{\"deliveries\": %d, \"seconds\": %s, \"p50_ms\": %s, \"p99_ms\": %s",
		deliveries, number(seconds), number(pct(latencies, 50)), number(pct(latencies, 99)))
	if withSamples {
		step := len(latencies) / printedSamples // every step-th, as bench_bus.py took them
		if step < 1 {
			step = 1
		}
		picked := make([]string, 0, len(latencies)/step+1)
		for i := 0; i < len(latencies); i += step {
			picked = append(picked, number(latencies[i]))
		}
		line += ", \"latencies\": [" + strings.Join(picked, ", ") + "]"
	}
	fmt.Println(line + "}")
}

// pct is quote_readers.py's percentile of sorted values (NaN when there are none).
func pct(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(q / 100 * float64(len(sorted)))
	if i > len(sorted)-1 {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// number is a float as Python's json.dumps writes it (NaN for no value).
func number(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func printError(message string) {
	text, _ := json.Marshal(message) // a string always marshals
	fmt.Printf("{\"error\": %s}\n", text)
}

// drain cancels every stream and waits for their goroutines, at most drainLimit.
func drain(cancel context.CancelFunc, wg *sync.WaitGroup) {
	cancel()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drainLimit):
		fmt.Fprintln(os.Stderr, "quote_readers: streams still open after cancelling them")
	}
}
