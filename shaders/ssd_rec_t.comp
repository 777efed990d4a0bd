#version 450
#extension GL_EXT_control_flow_attributes : require
#define SSD_TEXEL 1
#include "ssd_rec.glsl"
