#version 450
#define GLA_F16 1
#define GLA_TEXEL 1
#include "gla_rec.glsl"
