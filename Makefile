# vkseq: the two commands of the README, and a few helpers.
#   make bench   install a Vulkan driver if none is usable (lavapipe), then benchmark every op (-quick)
#   make test    the same plus the validation layer, GLFW's build dependencies and Xvfb, then the whole
#                test suite with validation on (window tests under Xvfb when no display server runs)
GO        ?= go
VKBENCH   := bin/vkbench
TESTFLAGS ?=
TIMEOUT   ?= 14m

.PHONY: all build bench bench-full test test-long verify fuzz shaders check-shaders vet clean

all: build

build:
	$(GO) build -o $(VKBENCH) ./cmd/vkbench

bench: build
	tools/ensure-vulkan.sh $(VKBENCH)
	$(VKBENCH) bench -quick

# Every op at all its default sizes and sweeps (long on a CPU device).
bench-full: build
	tools/ensure-vulkan.sh $(VKBENCH)
	$(VKBENCH) bench

# Every test with VK_LAYER_KHRONOS_validation on: any validation message fails the run.
# tools/with-display.sh starts Xvfb when there is no display server, for the window tests.
test: build
	tools/ensure-vulkan.sh $(VKBENCH) --validation --display
	VKSEQ_VALIDATE=1 VKSEQ_REQUIRE_DEVICE=1 tools/with-display.sh $(GO) test -timeout $(TIMEOUT) $(TESTFLAGS) ./...

# The longest shapes too (what `vkbench verify -long` checks).
test-long: build
	tools/ensure-vulkan.sh $(VKBENCH) --validation
	VKSEQ_VALIDATE=1 VKSEQ_REQUIRE_DEVICE=1 $(GO) test -timeout 60m ./ops/ -args -long

verify: build
	tools/ensure-vulkan.sh $(VKBENCH)
	$(VKBENCH) verify

# Coverage-guided fuzzing: the safetensors reader, then every op's run path (suite.FuzzRun, the
# code behind `vkbench run`) for FUZZTIME per op family. FUZZ_OPS must list every registered op
# (suite's TestMakeFuzzCoversEveryOp checks it).
FUZZTIME ?= 60s
FUZZ_OPS ?= gemm eltwise rows gla delta_rule selective_scan ssd causal_conv1d stft istft mel_fbanks conv1d depthwise_conv1d layer_norm linear embedding swiglu norms activation transpose sample
fuzz:
	$(GO) test ./tensorio -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME)
	set -e; for op in $(FUZZ_OPS); do \
		echo "== fuzz $$op"; \
		VKSEQ_FUZZ_OP=$$op VKSEQ_REQUIRE_DEVICE=1 $(GO) test ./suite -run '^$$' -fuzz '^FuzzRun$$' -fuzztime $(FUZZTIME) -parallel 1; \
	done

# Recompile shaders/*.comp into the committed shaders/spv/*.spv (needs glslc).
shaders:
	tools/glslc.sh

# Fast: recompiles only what shaders/spv.sha256 does not vouch for (--check-full: everything).
check-shaders:
	tools/glslc.sh --check

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt would change the files above"; exit 1; }

clean:
	rm -rf bin
