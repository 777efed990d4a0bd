#version 450
#define ACT_F16 1
#include "scan_dec.glsl"
