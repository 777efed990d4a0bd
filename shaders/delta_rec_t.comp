#version 450
#define DELTA_TEXEL 1
#include "delta_rec.glsl"
