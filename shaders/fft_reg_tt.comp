#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_vote : require
// fft_reg.comp reading its table (binding 1) and its input (binding 0: the signal, or the
// spectrum of the inverse) through uniform texel buffers (ops/fft.go).
#define TAB_TEXEL 1
#define IN_TEXEL 1
#include "fft_reg_body.glsl"
