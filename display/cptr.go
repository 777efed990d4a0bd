package display

/*
#include <stdint.h>
// vkd_ptr turns a Vulkan handle passed as an integer back into a pointer (C memory, not Go's).
static void* vkd_ptr(uint64_t p) { return (void*)(uintptr_t)p; }
*/
import "C"

import "unsafe"

// ptr converts a raw handle from gpu.Handles or Tensor.Buffer to the pointer the binding's handle
// types hold.
func ptr[T ~uintptr | ~uint64](h T) unsafe.Pointer { return C.vkd_ptr(C.uint64_t(h)) }
