package ingest

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// ProgressLine prints a run's progress (height, rate, ETA, the share of
// time spent waiting on the source, a bulk load's commit): rewritten in
// place on a terminal, a line every 10 s otherwise.
type ProgressLine struct {
	w     io.Writer
	tty   bool
	last  time.Time
	every time.Duration
	shown bool
	// commitStart is when the bulk load's commit in progress started.
	commitStart time.Time
}

// NewProgressLine prints to w.
func NewProgressLine(w io.Writer) *ProgressLine {
	p := &ProgressLine{w: w, every: 10 * time.Second}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty, p.every = true, 200*time.Millisecond
	}
	return p
}

// Update shows a batch's progress; Options.Progress takes it.
func (p *ProgressLine) Update(pr Progress) {
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	line := fmt.Sprintf("%s: block %d", pr.Source, pr.Height)
	if pr.Target > 0 {
		line += fmt.Sprintf("/%d", pr.Target)
	}
	if pr.Fraction > 0 {
		line += fmt.Sprintf(" (%.1f%%)", 100*pr.Fraction)
	}
	line += fmt.Sprintf(", %.0f blocks/s, %.0f transfers/s", pr.BlocksPerSecond(), pr.TransfersPerSecond())
	if pr.Elapsed > 0 {
		line += fmt.Sprintf(", %.0f%% waiting on the source", 100*pr.SourceWait.Seconds()/pr.Elapsed.Seconds())
	}
	if eta := pr.ETA(); eta > 0 {
		line += ", ETA " + eta.Round(time.Second).String()
	}
	p.print(line)
}

// Commit shows a bulk load's commit merging its runs into the store;
// Options.CommitProgress takes it.
func (p *ProgressLine) Commit(merged, total int64) {
	now := time.Now()
	if p.commitStart.IsZero() || merged == 0 {
		p.commitStart = now
	}
	if now.Sub(p.last) < p.every && merged < total {
		return
	}
	p.last = now
	line := fmt.Sprintf("committing: %s of %s merged into the store", byteSize(merged), byteSize(total))
	if el := now.Sub(p.commitStart); merged > 0 && merged < total && el > 0 {
		eta := time.Duration(float64(el) * float64(total-merged) / float64(merged))
		line += fmt.Sprintf(", %.0f MB/s, ETA %s", float64(merged)/1e6/el.Seconds(), eta.Round(time.Second))
	}
	p.print(line)
	if merged >= total {
		p.commitStart = time.Time{}
	}
}

// byteSize is n bytes in MB or GB.
func byteSize(n int64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

func (p *ProgressLine) print(line string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.shown = true
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// Done ends the line on a terminal.
func (p *ProgressLine) Done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
