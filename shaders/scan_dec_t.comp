#version 450
#include "scan_dec.glsl"
