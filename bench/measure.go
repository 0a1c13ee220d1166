package main

import (
	"bytes"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// meter takes process-wide readings at the start and end of a measured
// section. Both ends of every connection live in this process, so CPU,
// allocations and write syscalls are those of the whole exchange.
type meter struct {
	wall   time.Time
	cpu    time.Duration
	allocs uint64
	writes int64 // -1 when /proc/self/io is unreadable
	reads  int64
}

// reading is what happened between start and stop.
type reading struct {
	wall, cpu time.Duration
	allocs    uint64
	writes    int64 // write-class syscalls (write, writev, ...); -1 unknown
	reads     int64 // read-class syscalls; -1 unknown
}

func startMeter() meter {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w, r := ioSyscalls()
	return meter{writes: w, reads: r, allocs: ms.Mallocs, cpu: cpuTime(), wall: time.Now()}
}

func (m meter) stop() reading {
	wall := time.Since(m.wall)
	cpu := cpuTime() - m.cpu
	w, rd := ioSyscalls()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := reading{wall: wall, cpu: cpu, allocs: ms.Mallocs - m.allocs, writes: -1, reads: -1}
	if w >= 0 && m.writes >= 0 {
		r.writes = w - m.writes
	}
	if rd >= 0 && m.reads >= 0 {
		r.reads = rd - m.reads
	}
	return r
}

// cpuTime is user + system time of the process (getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ioSyscalls reads syscw and syscr from /proc/self/io: the numbers of
// write-class and read-class system calls the process has made (-1 if
// unreadable). Counting in the kernel rather than by
// wrapping the connection keeps writev (net.Buffers) paths intact. It reads
// with raw system calls into a stack buffer so that taking a reading
// allocates nothing: allocations per MiB are reported too.
func ioSyscalls() (writes, reads int64) {
	fd := procIOFD()
	if fd < 0 {
		return -1, -1
	}
	var buf [512]byte
	n, err := syscall.Pread(fd, buf[:], 0)
	if err != nil || n <= 0 {
		return -1, -1
	}
	return parseIOField(buf[:n], "\nsyscw: "), parseIOField(buf[:n], "\nsyscr: ")
}

// procIOFD is /proc/self/io, opened once for the life of the process (it
// is re-read with pread; opening it each time would allocate).
var procIOFD = sync.OnceValue(func() int {
	fd, err := syscall.Open("/proc/self/io", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
})

// parseIOField finds the number after key (e.g. "\nsyscw: ") in the
// contents of /proc/<pid>/io.
func parseIOField(b []byte, key string) int64 {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return -1
	}
	var v int64 = -1
	for _, c := range b[i+len(key):] {
		if c < '0' || c > '9' {
			break
		}
		if v < 0 {
			v = 0
		}
		v = v*10 + int64(c-'0')
	}
	return v
}

// heapAfterGC is the live heap after two collections (the second one frees
// what finalizers released in the first).
func heapAfterGC() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

// heapPeak samples the heap-object bytes every few milliseconds until
// stopped and reports the largest sample.
type heapPeak struct {
	stopCh chan struct{}
	wg     sync.WaitGroup
	peak   atomic.Uint64
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{stopCh: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > h.peak.Load() {
			h.peak.Store(v)
		}
	}
	read()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read()
			case <-h.stopCh:
				read()
				return
			}
		}
	}()
	return h
}

func (h *heapPeak) stop() uint64 {
	close(h.stopCh)
	h.wg.Wait()
	return h.peak.Load()
}

// raiseFileLimit lifts the soft descriptor limit to the hard one and
// returns the result; raw scenarios with thousands of connections need it.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}
