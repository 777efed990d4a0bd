package suite

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/tensorio"
)

// TestSTFTBeyondMemory asks the stft, istft and mel_fbanks bench and run paths for more memory
// than the machine has (the B=4096 n_fft=512 batch of 60 s signals first): each must
// return an error naming the size and the limit, before allocating.
func TestSTFTBeyondMemory(t *testing.T) {
	d := openDevice(t)
	b := &Bencher{Device: d, Runs: 1}
	ctx := context.Background()
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrMemory) || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%s: %v, want an error wrapping ErrMemory naming the size and the limit", what, err)
		} else {
			t.Logf("%s: %v", what, err)
		}
	}
	check("bench stft B=4096 n_fft=512", benchSTFT(ctx, b, Params{"B": "4096", "n_fft": "512"}))
	check("bench istft B=4096 n_fft=512", benchISTFT(ctx, b, Params{"B": "4096", "n_fft": "512"}))
	check("bench stft rfft", benchSTFT(ctx, b, Params{"variant": "rfft", "B": "4000000000", "n_fft": "512"}))
	check("bench mel_fbanks", benchMel(ctx, b, Params{"B": "100000"}))
	_, err := runMelFBanks(ctx, d, nil, Params{"n_freqs": "2000000000", "n_mels": "80", "sample_rate": "16000"})
	check("run mel_fbanks n_freqs 2e9", err)

	// run: a small signal whose spectrum is far larger than the device (hop 1, n_fft 65536)
	x := tensorio.Tensor{Name: "x", DType: tensorio.F32, Shape: []int{1, 400000}, F32: make([]float32, 400000)}
	in := fileOf(t, x)
	_, err = runSTFT(ctx, d, in, Params{"n_fft": "65536", "hop_length": "1"})
	check("run stft hop 1", err)
	spec := tensorio.Tensor{Name: "spec", DType: tensorio.F32, Shape: []int{1, 9, 3, 2}, F32: make([]float32, 54)}
	_, err = runISTFT(ctx, d, fileOf(t, spec), Params{"n_fft": "16", "hop_length": "4", "length": "1000000000000"})
	check("run istft length 1e12", err)

	// the device limit: lowered to 1 MiB, a 16 MB spectrum is refused naming the device heap
	testDevLimit = 1 << 20
	err = benchSTFT(ctx, b, Params{"B": "1", "L": "1000000", "n_fft": "512"})
	testDevLimit = 0
	check("bench stft past a 1 MiB device heap", err)
	if err == nil || !strings.Contains(err.Error(), "device memory") {
		t.Errorf("the device limit's error does not name device memory: %v", err)
	}

	// the limits themselves: a request under them passes
	if err := (stftMem{host: 1 << 20, dev: 1 << 20}).check("small", d); err != nil {
		t.Errorf("a 1 MiB request: %v", err)
	}
}

// fileOf returns the tensors as a read safetensors file.
func fileOf(t *testing.T, ts ...tensorio.Tensor) *tensorio.File {
	t.Helper()
	var buf bytes.Buffer
	if err := tensorio.Write(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	f, err := tensorio.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
