#version 450
#extension GL_EXT_control_flow_attributes : require
#define GEMM_TEXEL 1
#include "gemm.glsl"
