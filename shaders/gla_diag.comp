#version 450
#include "gla_diag.glsl"
