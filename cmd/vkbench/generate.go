package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vkseq/vkseq/models"
	"github.com/vkseq/vkseq/ops"
)

// generateResult is the -json output of vkbench generate.
type generateResult struct {
	Model          string  `json:"model"`
	PromptIDs      []int32 `json:"prompt_ids"`
	NewIDs         []int32 `json:"new_ids"`
	PrefillMS      float64 `json:"prefill_ms"`
	DecodeTokensPS float64 `json:"decode_tokens_per_s"`
}

// cmdGenerate samples new tokens after a prompt: a chunked prefill of the prompt, then per token a
// replay of the sampler and the decode step recorded once (models.Generator): one submit and a
// read-back of the one sampled id.
func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", stderr)
	model := fs.String("model", "", "checkpoint folder or published NAME")
	prompt := fs.String("prompt-ids", "", "comma-separated prompt token ids")
	maxNew := fs.Int("max-new-tokens", 16, "number of tokens to generate")
	temp := fs.Float64("temperature", 0, "sampling temperature (0: greedy)")
	topP := fs.Float64("top-p", 1, "nucleus sampling threshold (1: off)")
	seed := fs.Uint64("seed", 0, "random seed")
	dtype := fs.String("dtype", "f32", "weight storage: f32 or f16")
	sel := fs.String("device", "", "device index or name substring")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	var ids []int32
	for _, p := range splitList(*prompt) {
		v, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			return fmt.Errorf("-prompt-ids: %q is not a token id", p)
		}
		ids = append(ids, int32(v))
	}
	if len(ids) == 0 {
		return fmt.Errorf("-prompt-ids is required (e.g. 1,2,3)")
	}
	if *maxNew < 0 {
		return fmt.Errorf("-max-new-tokens %d: want ≥ 0", *maxNew)
	}
	if *temp < 0 || *topP < 0 || *topP > 1 {
		return fmt.Errorf("-temperature %g, -top-p %g: want temperature ≥ 0 and 0 ≤ top-p ≤ 1", *temp, *topP)
	}
	dt, err := parseDType(*dtype)
	if err != nil {
		return err
	}
	d, err := openDevice(*sel)
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := openLM(d, *model, dt, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	V := m.Info().Vocab
	for i, id := range ids {
		if id < 0 || int(id) >= V {
			return fmt.Errorf("-prompt-ids: id %d at position %d is outside the vocabulary [0, %d)", id, i, V)
		}
	}
	c, err := m.NewCache(1)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := d.NewStream()
	if err != nil {
		return err
	}
	defer s.Close()
	t0 := time.Now()
	if err := m.Prefill(ctx, s, c, ids, len(ids), nil, nil); err != nil {
		return err
	}
	prefill := time.Since(t0)
	// One token per call: the sampler and the decode step, recorded once and replayed (one submit,
	// a read-back of the one sampled id).
	gen, err := models.NewGenerator(m, c, ops.SampleOptions{Temperature: float32(*temp), TopP: float32(*topP), Seed: *seed,
		VocabLimit: m.Info().VocabSize})
	if err != nil {
		return err
	}
	defer gen.Close()
	out := make([]int32, *maxNew)
	t1 := time.Now()
	for i := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := gen.Next(out[i : i+1]); err != nil {
			return err
		}
	}
	dec := time.Since(t1)
	if err := validationErrors(); err != nil {
		return err
	}
	res := generateResult{Model: *model, PromptIDs: ids, NewIDs: out, PrefillMS: float64(prefill.Microseconds()) / 1e3}
	if len(out) > 0 {
		res.DecodeTokensPS = float64(len(out)) / dec.Seconds()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(res)
	}
	strs := make([]string, len(out))
	for i, v := range out {
		strs[i] = strconv.Itoa(int(v))
	}
	fmt.Fprintln(stdout, strings.Join(strs, ","))
	fmt.Fprintf(stderr, "prefill %d tokens: %.1f ms; decode %d tokens: %.1f tokens/s\n", len(ids), res.PrefillMS, len(out), res.DecodeTokensPS)
	return nil
}
