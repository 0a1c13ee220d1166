package main

import (
	"fmt"
	"time"
)

// formatBytes prints a byte count in binary units, as iperf3 prints
// transfers.
func formatBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.2f %s", n, units[i])
}

// formatBitrate prints bits per second in decimal units, as iperf3 prints
// bitrates.
func formatBitrate(bps float64) string {
	units := []string{"bit/s", "Kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"}
	i := 0
	for bps >= 1000 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	return fmt.Sprintf("%.2f %s", bps, units[i])
}

// formatMillis prints a duration in milliseconds with enough digits for
// loopback round trips, as ping(8) does.
func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", millis(d))
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rate is bits per second for n bytes in d.
func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) * 8 / d.Seconds()
}
