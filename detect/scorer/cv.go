package scorer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Folds assigns the labelled rows of d to k folds, stratified by label,
// with every row of one address in the same fold: an address listed twice
// must not be trained on in one fold and scored in another. It returns the
// row indices of each fold.
func Folds(d *Dataset, k int, seed uint64) ([][]int, error) {
	if k < 2 {
		return nil, fmt.Errorf("folds: k = %d, want at least 2", k)
	}
	groups := map[string][]int{}
	var order []string
	for i, a := range d.Addresses {
		if d.Labels[i] < 0 {
			continue
		}
		if _, ok := groups[a]; !ok {
			order = append(order, a)
		}
		groups[a] = append(groups[a], i)
	}
	// A group's class is illicit if any of its rows is: an address flagged
	// once is illicit.
	var byClass [2][]string
	for _, a := range order {
		c := 0
		for _, i := range groups[a] {
			if d.Labels[i] == 1 {
				c = 1
			}
		}
		byClass[c] = append(byClass[c], a)
	}
	rng := rand.New(rand.NewPCG(seed, 0x666f6c6473))
	folds := make([][]int, k)
	next := 0
	for c := range byClass {
		g := byClass[c]
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		// Deal round robin, continuing where the other class stopped, so
		// fold sizes differ by at most one group per class.
		for _, a := range g {
			folds[next%k] = append(folds[next%k], groups[a]...)
			next++
		}
	}
	for _, f := range folds {
		slices.Sort(f)
	}
	return folds, nil
}

// Metrics are the binary classification figures of one evaluation, with
// illicit as the positive class and 0.5 as the threshold.
type Metrics struct {
	Rows      int     `json:"rows"`
	Illicit   int     `json:"illicit"`
	AUC       float64 `json:"auc"`
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	LogLoss   float64 `json:"log_loss"`
}

// Evaluate computes the metrics of scores against labels (0 or 1).
func Evaluate(scores []float64, labels []int8) Metrics {
	m := Metrics{Rows: len(scores)}
	var tp, fp, fn, tn int
	for i, s := range scores {
		y := labels[i]
		if y == 1 {
			m.Illicit++
		}
		p := min(max(s, 1e-15), 1-1e-15)
		if y == 1 {
			m.LogLoss -= math.Log(p)
		} else {
			m.LogLoss -= math.Log(1 - p)
		}
		switch {
		case s >= 0.5 && y == 1:
			tp++
		case s >= 0.5:
			fp++
		case y == 1:
			fn++
		default:
			tn++
		}
	}
	if m.Rows > 0 {
		m.LogLoss /= float64(m.Rows)
		m.Accuracy = float64(tp+tn) / float64(m.Rows)
	}
	if tp+fp > 0 {
		m.Precision = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		m.Recall = float64(tp) / float64(tp+fn)
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	m.AUC = AUC(scores, labels)
	return m
}

// AUC is the area under the ROC curve: the probability that a random
// illicit row scores above a random normal one, ties counting half
// (Mann-Whitney U with mid-ranks).
func AUC(scores []float64, labels []int8) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j
		for _, k := range idx[i:j] {
			if labels[k] == 1 {
				rankSum += mid
			}
		}
		i = j
	}
	for _, y := range labels {
		if y == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Summary is the mean and sample standard deviation of a figure over folds.
type Summary struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
}

func summarize(xs []float64) Summary {
	var s Summary
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		for _, x := range xs {
			s.SD += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(s.SD / float64(len(xs)-1))
	}
	return s
}

// CVResult is a k-fold cross-validation: the metrics of each held-out
// fold, their mean and standard deviation, and the metrics of all
// out-of-fold scores pooled.
type CVResult struct {
	K      int                `json:"k"`
	Seed   uint64             `json:"seed"`
	Folds  []Metrics          `json:"folds"`
	Mean   map[string]Summary `json:"mean_sd"`
	Pooled Metrics            `json:"pooled"`
	// OOF holds each labelled row's out-of-fold score (NaN for rows not
	// evaluated).
	OOF []float64 `json:"-"`
}

// CrossValidate runs stratified, address-grouped k-fold cross-validation.
func CrossValidate(ctx context.Context, d *Dataset, k int, p Params) (*CVResult, error) {
	folds, err := Folds(d, k, p.Seed)
	if err != nil {
		return nil, err
	}
	res := &CVResult{K: k, Seed: p.Seed, OOF: make([]float64, d.Len())}
	for i := range res.OOF {
		res.OOF[i] = math.NaN()
	}
	inFold := make([]int, d.Len())
	for f, rows := range folds {
		for _, i := range rows {
			inFold[i] = f
		}
	}
	var all []int
	for _, rows := range folds {
		all = append(all, rows...)
	}
	slices.Sort(all)
	for f, test := range folds {
		var train []int
		for _, i := range all {
			if inFold[i] != f {
				train = append(train, i)
			}
		}
		m, err := Train(ctx, d, train, p)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		scores := make([]float64, len(test))
		labels := make([]int8, len(test))
		for t, i := range test {
			scores[t] = m.Score(d.Row(i))
			labels[t] = d.Labels[i]
			res.OOF[i] = scores[t]
		}
		res.Folds = append(res.Folds, Evaluate(scores, labels))
	}
	pick := map[string]func(Metrics) float64{
		"auc":       func(m Metrics) float64 { return m.AUC },
		"accuracy":  func(m Metrics) float64 { return m.Accuracy },
		"precision": func(m Metrics) float64 { return m.Precision },
		"recall":    func(m Metrics) float64 { return m.Recall },
		"f1":        func(m Metrics) float64 { return m.F1 },
		"log_loss":  func(m Metrics) float64 { return m.LogLoss },
	}
	res.Mean = map[string]Summary{}
	for name, f := range pick {
		xs := make([]float64, len(res.Folds))
		for i, m := range res.Folds {
			xs[i] = f(m)
		}
		res.Mean[name] = summarize(xs)
	}
	scores := make([]float64, len(all))
	labels := make([]int8, len(all))
	for t, i := range all {
		scores[t] = res.OOF[i]
		labels[t] = d.Labels[i]
	}
	res.Pooled = Evaluate(scores, labels)
	return res, nil
}
