#version 450
#extension GL_EXT_control_flow_attributes : require
#define ACT_F16 1
#define SSD_TEXEL 1
#include "ssd_rec.glsl"
