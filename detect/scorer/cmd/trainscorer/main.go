// Command trainscorer retrains the embedded illicit-account scorer from the
// Ethereum fraud data set and writes the model and its training report:
//
//	go run ./detect/scorer/cmd/trainscorer -data ../shared/data/detection/eth-fraud/train.csv
//
// It first runs the 10-fold stratified, address-grouped cross-validation
// (skip it with -folds 0), then fits the final model on every row.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/tracehound/tracehound/detect/scorer"
)

func main() {
	def := scorer.DefaultParams()
	data := flag.String("data", "../shared/data/detection/eth-fraud/train.csv", "training CSV in the Ethereum fraud layout")
	out := flag.String("out", "detect/scorer/model", "directory for ethfraud.json and its report")
	folds := flag.Int("folds", 10, "cross-validation folds (0 skips the CV)")
	rounds := flag.Int("rounds", def.Rounds, "trees")
	lr := flag.Float64("lr", def.LearningRate, "learning rate")
	depth := flag.Int("depth", def.MaxDepth, "max tree depth")
	seed := flag.Uint64("seed", def.Seed, "random seed")
	flag.Parse()
	p := def
	p.Rounds, p.LearningRate, p.MaxDepth, p.Seed = *rounds, *lr, *depth, *seed
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := scorer.Retrain(ctx, scorer.RetrainConfig{Data: *data, OutDir: *out, Folds: *folds, Params: p, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "trainscorer:", err)
		os.Exit(1)
	}
	if rep.CV != nil {
		fmt.Printf("CV %d-fold: AUC %.4f ± %.4f, F1 %.4f ± %.4f, accuracy %.4f ± %.4f\n", rep.CV.K,
			rep.CV.Mean["auc"].Mean, rep.CV.Mean["auc"].SD, rep.CV.Mean["f1"].Mean, rep.CV.Mean["f1"].SD,
			rep.CV.Mean["accuracy"].Mean, rep.CV.Mean["accuracy"].SD)
	}
}
