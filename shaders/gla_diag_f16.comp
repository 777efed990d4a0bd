#version 450
#define GLA_F16 1
#include "gla_diag.glsl"
