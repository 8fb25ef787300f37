package scorer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Report is what a training run records beside its model.
type Report struct {
	Model       string       `json:"model"`
	Format      string       `json:"format"`
	Version     int          `json:"version"`
	Data        TrainInfo    `json:"data"`
	Params      Params       `json:"params"`
	CV          *CVResult    `json:"cv,omitempty"`
	Importances []Importance `json:"importances"`
	Features    []string     `json:"features"`
	// Machine and Seconds say where and how long the run took; they are
	// the only fields that differ between two runs of the same command.
	Machine string  `json:"machine"`
	Seconds float64 `json:"seconds"`
}

// RetrainConfig drives Retrain.
type RetrainConfig struct {
	Data   string // training CSV
	OutDir string // where ethfraud.json and ethfraud-report.{json,md} go
	Folds  int    // cross-validation folds; 0 skips the CV
	Params Params
	Log    io.Writer // progress, may be nil
}

// Retrain runs the cross-validation and fits the final model on all rows,
// writing the model and its report to cfg.OutDir.
func Retrain(ctx context.Context, cfg RetrainConfig) (*Report, error) {
	start := time.Now()
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", a...)
		}
	}
	raw, err := os.ReadFile(cfg.Data)
	if err != nil {
		return nil, err
	}
	d, err := ReadCSV(bytes.NewReader(raw), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Data, err)
	}
	sum := sha256.Sum256(raw)
	info := TrainInfo{Data: lastElems(cfg.Data, 2), SHA256: hex.EncodeToString(sum[:]), Rows: d.Len()}
	for _, l := range d.Labels {
		if l == 1 {
			info.Illicit++
		}
	}
	rep := &Report{Model: "ethfraud.json", Format: FormatName, Version: FormatVersion, Data: info,
		Params: cfg.Params, Features: d.Features,
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())}
	if cfg.Folds > 0 {
		logf("cross-validating, %d folds over %d rows", cfg.Folds, d.Len())
		cv, err := CrossValidate(ctx, d, cfg.Folds, cfg.Params)
		if err != nil {
			return nil, err
		}
		rep.CV = cv
		for i, f := range cv.Folds {
			logf("fold %2d: AUC %.4f F1 %.4f accuracy %.4f", i+1, f.AUC, f.F1, f.Accuracy)
		}
	}
	logf("training the final model on %d rows", d.Len())
	m, err := Train(ctx, d, nil, cfg.Params)
	if err != nil {
		return nil, err
	}
	m.Trained = info
	rep.Importances = m.Importances()
	rep.Seconds = time.Since(start).Seconds()
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	var mb bytes.Buffer
	if err := m.Save(&mb); err != nil {
		return nil, err
	}
	rb, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ethfraud.json":        mb.Bytes(),
		"ethfraud-report.json": append(rb, '\n'),
		"ethfraud-report.md":   []byte(rep.Markdown()),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(cfg.OutDir, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	logf("wrote %s (%d bytes) in %.1f s", filepath.Join(cfg.OutDir, "ethfraud.json"), mb.Len(), rep.Seconds)
	return rep, nil
}

func lastElems(path string, n int) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	return strings.Join(parts, "/")
}

// Markdown renders the report for people.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Illicit-account scorer: training report\n\n")
	fmt.Fprintf(&b, "Model `%s` (format %s v%d): %d trees, learning rate %g, depth %d, subsample %g, colsample %g, λ %g, seed %d.\n\n",
		r.Model, r.Format, r.Version, r.Params.Rounds, r.Params.LearningRate, r.Params.MaxDepth, r.Params.Subsample, r.Params.ColSample, r.Params.Lambda, r.Params.Seed)
	fmt.Fprintf(&b, "Data: `%s`, sha256 `%s`, %d rows, %d illicit (FLAG 1), %d features.\n\n", r.Data.Data, r.Data.SHA256, r.Data.Rows, r.Data.Illicit, len(r.Features))
	fmt.Fprintf(&b, "Reproduce: `go run ./detect/scorer/cmd/trainscorer -data ../shared/data/detection/eth-fraud/train.csv`\n\n")
	if cv := r.CV; cv != nil {
		fmt.Fprintf(&b, "## %d-fold cross-validation\n\nStratified by label; every row of an address in one fold; seed %d; threshold 0.5.\n\n", cv.K, cv.Seed)
		fmt.Fprintf(&b, "| fold | rows | illicit | ROC AUC | F1 (illicit) | precision | recall | accuracy | log loss |\n|---|---|---|---|---|---|---|---|---|\n")
		for i, f := range cv.Folds {
			fmt.Fprintf(&b, "| %d | %d | %d | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", i+1, f.Rows, f.Illicit, f.AUC, f.F1, f.Precision, f.Recall, f.Accuracy, f.LogLoss)
		}
		s := func(k string) string { return fmt.Sprintf("%.4f ± %.4f", cv.Mean[k].Mean, cv.Mean[k].SD) }
		fmt.Fprintf(&b, "| mean ± sd | | | %s | %s | %s | %s | %s | %s |\n", s("auc"), s("f1"), s("precision"), s("recall"), s("accuracy"), s("log_loss"))
		p := cv.Pooled
		fmt.Fprintf(&b, "| pooled out-of-fold | %d | %d | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n\n", p.Rows, p.Illicit, p.AUC, p.F1, p.Precision, p.Recall, p.Accuracy, p.LogLoss)
	}
	fmt.Fprintf(&b, "## Feature importances (total split gain, final model)\n\n| feature | gain | share | splits |\n|---|---|---|---|\n")
	var total float64
	for _, im := range r.Importances {
		total += im.Gain
	}
	for _, im := range r.Importances {
		share := 0.0
		if total > 0 {
			share = im.Gain / total
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.1f%% | %d |\n", im.Feature, im.Gain, 100*share, im.Splits)
	}
	fmt.Fprintf(&b, "\nRun on %s in %.0f s.\n", r.Machine, r.Seconds)
	return b.String()
}
