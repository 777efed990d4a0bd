#version 450
#include "delta_state.glsl"
