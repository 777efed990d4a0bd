#version 450
#extension GL_EXT_control_flow_attributes : require
#define ACT_F16 1
#include "linear_gemv.glsl"
