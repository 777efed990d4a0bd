#version 450
#define GLA_F16 1
#define DELTA_TEXEL 1
#include "delta_rec.glsl"
