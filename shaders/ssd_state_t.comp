#version 450
#extension GL_EXT_control_flow_attributes : require
#define TEXEL_IO 1
#include "ssd_state.glsl"
