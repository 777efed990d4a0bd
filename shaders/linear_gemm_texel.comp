#version 450
#extension GL_EXT_control_flow_attributes : require
#define LINEAR_BIAS 1
#define GEMM_TEXEL 1
#include "gemm.glsl"
