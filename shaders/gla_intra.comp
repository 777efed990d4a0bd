#version 450
#include "gla_intra.glsl"
