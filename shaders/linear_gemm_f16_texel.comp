#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_16bit_storage : require
#define B_F16 1
#define LINEAR_BIAS 1
#define GEMM_TEXEL 1
#include "gemm.glsl"
