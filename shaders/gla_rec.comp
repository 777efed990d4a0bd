#version 450
#include "gla_rec.glsl"
