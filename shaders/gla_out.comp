#version 450
#include "gla_out.glsl"
