#version 450
#include "delta_rec.glsl"
