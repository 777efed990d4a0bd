#version 450
#include "delta_prep.glsl"
