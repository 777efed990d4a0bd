#version 450
#include "gla_state.glsl"
