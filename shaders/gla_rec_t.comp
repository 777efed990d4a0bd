#version 450
#define GLA_TEXEL 1
#include "gla_rec.glsl"
