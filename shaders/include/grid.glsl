// Grid helpers shared by the shaders. A 1-D problem larger than maxComputeWorkGroupCount.x is
// folded into a 2-D grid of workgroups; linear_group() undoes the fold.
uint linear_group() {
    return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
}
