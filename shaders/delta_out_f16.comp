#version 450
#define GLA_F16 1
#define GLA_V_F32 1
#include "gla_out.glsl"
