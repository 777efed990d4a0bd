#version 450
#include "delta_kk.glsl"
