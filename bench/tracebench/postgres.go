package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The PostgreSQL side: the same transfers in a table with the index an
// analyst would create, and the recursive query an analyst would write
// for a forward trace: every address reachable from the thief in at most
// six hops, each hop no earlier than the one before, stopping at the
// exchanges' hot wallets. It computes reachability (poison) only; the
// haircut amounts tracehound computes on top have no simple SQL form.

const pgQuery = `EXPLAIN (ANALYZE, TIMING OFF)
WITH RECURSIVE flow(addr, hop, t) AS (
    SELECT '%s'::text, 0, 0::bigint
  UNION
    SELECT tr.to_addr, f.hop + 1, tr.ts
    FROM flow f JOIN transfers tr ON tr.from_addr = f.addr AND tr.ts >= f.t
    WHERE f.hop < 6 AND f.addr NOT IN (%s)
)
SELECT count(DISTINCT addr) FROM flow`

// postgres is a throwaway server run as the postgres user.
type postgres struct {
	bin, dir, sock string
	port           int
}

func startPostgres(ctx context.Context, bin string, port int) (pg *postgres, err error) {
	dir, err := os.MkdirTemp("", "tracebench-pg")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := exec.Command("chown", "-R", "postgres", dir).Run(); err != nil {
		return nil, fmt.Errorf("chown %s: %w", dir, err)
	}
	pg = &postgres{bin: bin, dir: dir, sock: dir, port: port}
	if out, err := pg.asPostgres(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses='' -c shared_buffers=1GB -c work_mem=256MB -c maintenance_work_mem=1GB -c max_wal_size=8GB -c fsync=off -c synchronous_commit=off -c full_page_writes=off", dir, port)
	if out, err := pg.asPostgres(ctx, filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return pg, nil
}

func (pg *postgres) asPostgres(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--"}, args...)...).CombinedOutput()
	return string(out), err
}

func (pg *postgres) psql(ctx context.Context, sql string) (string, error) {
	out, err := exec.CommandContext(ctx, "psql", "-h", pg.sock, "-p", strconv.Itoa(pg.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("psql: %v: %s", err, out)
	}
	return string(out), nil
}

func (pg *postgres) stop(ctx context.Context) {
	pg.asPostgres(ctx, filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "stop")
	os.RemoveAll(pg.dir)
}

// loadPostgres writes the same stream as build to CSV and copies it in.
func (pg *postgres) load(ctx context.Context, background, pool int, thief string, hot []string) (time.Duration, error) {
	start := time.Now()
	csvPath := filepath.Join(pg.dir, "transfers.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = build(ctx, nil, background, pool, thief, hot, func(from, to string, amount uint64, at time.Time) error {
		_, err := fmt.Fprintf(w, "%s,%s,%d,%d\n", from, to, amount, at.Unix())
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	f.Close()
	if err != nil {
		return 0, err
	}
	exec.Command("chown", "postgres", csvPath).Run()
	for _, sql := range []string{
		"CREATE TABLE transfers (from_addr text NOT NULL, to_addr text NOT NULL, amount numeric(78,0) NOT NULL, ts bigint NOT NULL)",
		fmt.Sprintf("COPY transfers FROM '%s' WITH (FORMAT csv)", csvPath),
		"CREATE INDEX transfers_from ON transfers (from_addr, ts)",
		"ANALYZE transfers",
	} {
		if _, err := pg.psql(ctx, sql); err != nil {
			return 0, err
		}
	}
	os.Remove(csvPath)
	return time.Since(start), nil
}

var execTime = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)

// trace runs the recursive query runs times and returns the execution
// times the server reports, and the addresses reached.
func (pg *postgres) trace(ctx context.Context, thief string, hot []string, runs int) ([]time.Duration, string, error) {
	quoted := make([]string, len(hot))
	for i, h := range hot {
		quoted[i] = "'" + h + "'"
	}
	q := fmt.Sprintf(pgQuery, thief, strings.Join(quoted, ","))
	var ds []time.Duration
	for range runs {
		out, err := pg.psql(ctx, q)
		if err != nil {
			return nil, "", err
		}
		m := execTime.FindStringSubmatch(out)
		if m == nil {
			return nil, "", fmt.Errorf("no execution time in:\n%s", out)
		}
		ms, _ := strconv.ParseFloat(m[1], 64)
		ds = append(ds, time.Duration(ms*float64(time.Millisecond)))
	}
	count, err := pg.psql(ctx, strings.TrimPrefix(q, "EXPLAIN (ANALYZE, TIMING OFF)\n"))
	slices.Sort(ds)
	return ds, strings.TrimSpace(count), err
}
