#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_vote : require
// fft_reg.comp reading its table (binding 1) through a uniform texel buffer (ops/fft.go).
#define TAB_TEXEL 1
#include "fft_reg_body.glsl"
