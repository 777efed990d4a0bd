#version 450
#include "delta_inv.glsl"
