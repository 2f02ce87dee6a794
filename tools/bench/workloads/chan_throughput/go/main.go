// chan_throughput: items per second through one buffered channel.
//
// Definition (identical in tools/bench/workloads/chan_throughput/gmpx.c):
//   - Arguments: --maxprocs=P (the runner uses 2), --items=N (default
//     10,000,000), --producers=K and --consumers=C (the runner uses 1 and 1,
//     and 4 and 4), --cap=B (the channel's capacity; default 1024).
//   - One channel of int64 with capacity B, made before the timed region.
//   - Timed region: main starts C consumers, then K producers, each with a
//     pointer to a shared struct; then it waits on the producers' WaitGroup,
//     closes the channel, and waits on the consumers' WaitGroup.
//     Producer p (0..K-1) sends the int64 values i for i in
//     [p*N/K, (p+1)*N/K), in order, then wg.Done(). A consumer receives
//     until the channel is closed and drained (for v := range ch), summing
//     the values and counting them locally, then adds its sum and count to
//     shared atomic totals and calls wg.Done().
//   - Report: ns_per_item = wall time of the timed region / N.
//   - Verify: total count == N, total sum == N*(N-1)/2, and no send or
//     receive failed (in Go neither can fail: a send on a closed channel
//     would panic).
//
// Output: {"workload":"chan_throughput","maxprocs":P,"items":N,"producers":K,"consumers":C,
// "cap":B,"wall_ns":...,"ns_per_item":...}
package main

import (
	"flag"
	"sync"
	"sync/atomic"

	"gmpxbench/internal/bench"
)

// defaultItems is the number of values sent (in all) in a full run.
const defaultItems = 10000000

// defaultCap is the capacity of the channel.
const defaultCap = 1024

// maxGoroutines bounds --producers and --consumers.
const maxGoroutines = 4096

type shared struct {
	items        int64
	producers    int64
	ch           chan int64
	nextProducer atomic.Int64 // hands each producer its index
	sum, count   atomic.Int64 // totals of the consumers, for verification
	producersWg  sync.WaitGroup
	consumersWg  sync.WaitGroup
}

func producer(s *shared) {
	p := s.nextProducer.Add(1) - 1
	lo := p * s.items / s.producers
	hi := (p + 1) * s.items / s.producers
	for i := lo; i < hi; i++ {
		s.ch <- i
	}
	s.producersWg.Done()
}

func consumer(s *shared) {
	var sum, count int64
	for v := range s.ch {
		sum += v
		count++
	}
	s.sum.Add(sum)
	s.count.Add(count)
	s.consumersWg.Done()
}

type report struct {
	Workload  string  `json:"workload"`
	Maxprocs  int     `json:"maxprocs"`
	Items     int64   `json:"items"`
	Producers int64   `json:"producers"`
	Consumers int     `json:"consumers"`
	Cap       int     `json:"cap"`
	WallNs    int64   `json:"wall_ns"`
	NsPerItem float64 `json:"ns_per_item"`
}

func main() {
	items := flag.Int64("items", defaultItems, "values sent in all")
	producers := flag.Int("producers", 1, "producer goroutines")
	consumers := flag.Int("consumers", 1, "consumer goroutines")
	capacity := flag.Int("cap", defaultCap, "capacity of the channel")
	bench.Init("chan_throughput")
	if *items <= 0 || *items > 3000000000 {
		bench.Fail("--items must be in [1, 3e9]")
	}
	if *producers <= 0 || *producers > maxGoroutines || *consumers <= 0 || *consumers > maxGoroutines {
		bench.Fail("--producers and --consumers must be in [1, %d]", maxGoroutines)
	}
	if *capacity <= 0 || *capacity > 1<<30 {
		bench.Fail("--cap must be in [1, 2^30]")
	}

	s := &shared{items: *items, producers: int64(*producers), ch: make(chan int64, *capacity)}
	start := bench.Now()
	s.consumersWg.Add(*consumers)
	for i := 0; i < *consumers; i++ {
		go consumer(s)
	}
	s.producersWg.Add(*producers)
	for i := 0; i < *producers; i++ {
		go producer(s)
	}
	s.producersWg.Wait()
	close(s.ch)
	s.consumersWg.Wait()
	wall := bench.Now() - start

	count, sum := s.count.Load(), s.sum.Load()
	wantSum := *items * (*items - 1) / 2
	if count != *items || sum != wantSum {
		bench.Fail("received %d values summing to %d, want %d summing to %d",
			count, sum, *items, wantSum)
	}
	bench.Emit(report{
		Workload:  "chan_throughput",
		Maxprocs:  *bench.Maxprocs,
		Items:     *items,
		Producers: int64(*producers),
		Consumers: *consumers,
		Cap:       *capacity,
		WallNs:    wall,
		NsPerItem: float64(wall) / float64(*items),
	})
}
