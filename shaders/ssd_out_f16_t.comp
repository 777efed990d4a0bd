#version 450
#extension GL_EXT_control_flow_attributes : require
#define ACT_F16 1
#define TEXEL_IO 1
#include "ssd_out.glsl"
