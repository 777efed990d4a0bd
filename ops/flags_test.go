package ops

import "flag"

var (
	long    = flag.Bool("long", false, "also run the longest shapes (as vkbench verify -long does)")
	explore = flag.Bool("explore", false, "run the tile-shape exploration benchmarks")
)
