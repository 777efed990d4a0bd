#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_vote : require
#define TAB_TEXEL 0
#include "fft_reg_body.glsl"
