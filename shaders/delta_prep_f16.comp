#version 450
#define GLA_F16 1
#include "delta_prep.glsl"
