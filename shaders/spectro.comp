#version 450
// Scrolling spectrogram for cmd/vkscope (one shader family, two modes by specialization constant 0):
//   MODE 0 (push):   ring[(head + j) % cols, m] = x[m, left + j] for j < n, from frames
//                    x [mels, width] (ring [cols, mels]: one column of mel values per frame).
//   MODE 1 (render): out [height, width] packed 8-bit pixels: the plot rectangle [left, width) ×
//                    [0, height - bottom) shows the ring oldest (left) to newest (right), mel bin 0
//                    at the bottom, through the colour map lut [256] (0xRRGGBB) with values
//                    clamped to [vmin, vmax]; the margins (x < left or y >= height - bottom) show
//                    the overlay (axes, ticks, labels: 0xRRGGBB | 1<<24) where it is non-zero,
//                    else the background.
// Pixels are written as R | G<<8 | B<<16 | 0xff<<24, or with R and B swapped when bgra != 0.
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const uint MODE = 0;
layout(std430, binding = 0) buffer Ring { float ring[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };       // MODE 0: new frames
layout(std430, binding = 2) readonly buffer Lut { uint lut[]; };      // MODE 1
layout(std430, binding = 3) readonly buffer Overlay { uint overlay[]; }; // MODE 1: [height, width]
layout(std430, binding = 4) writeonly buffer Out { uint img[]; };     // MODE 1: [height, width]
layout(push_constant) uniform P {
    uint cols, mels, head, n;        // ring size, its head, new frames (MODE 0)
    uint width, height, left, bottom; // image and plot rectangle (MODE 1)
    float vmin, vmax;
    uint bgra, background;
} p;

uint pack(uint rgb) {
    uint r = (rgb >> 16) & 0xffu, g = (rgb >> 8) & 0xffu, b = rgb & 0xffu;
    if (p.bgra != 0u) return b | (g << 8) | (r << 16) | 0xff000000u;
    return r | (g << 8) | (b << 16) | 0xff000000u;
}

// a / b rounded down, without an integer division (which CPU devices do one lane at a time):
// the float quotient is within one of the exact one for a < 2^24, and one step corrects it.
uint divfloor(uint a, uint b) {
    uint q = uint(float(a) / float(b));
    if (q * b > a) q--;
    else if ((q + 1u) * b <= a) q++;
    return q;
}

void main() {
    uint gx = gl_GlobalInvocationID.x, gy = gl_GlobalInvocationID.y;
    if (MODE == 0u) {
        if (gx >= p.n || gy >= p.mels) return;
        ring[((p.head + gx) % p.cols) * p.mels + gy] = x[gy * p.width + p.left + gx];
        return;
    }
    if (gx >= p.width || gy >= p.height) return;
    uint i = gy * p.width + gx;
    uint ph = p.height - p.bottom, pw = p.width - p.left;
    if (gx < p.left || gy >= ph) { // the margins: axes and labels (the overlay is empty elsewhere)
        uint ov = overlay[i];
        img[i] = pack(ov != 0u ? ov & 0xffffffu : p.background);
        return;
    }
    uint c = divfloor((gx - p.left) * p.cols, pw); // oldest .. newest
    uint m = divfloor((ph - 1u - gy) * p.mels, ph); // low bins at the bottom
    uint col = p.head + c;
    if (col >= p.cols) col -= p.cols;
    float v = ring[col * p.mels + m];
    float t = clamp((v - p.vmin) / (p.vmax - p.vmin), 0.0, 1.0);
    if (isnan(v)) t = 0.0;
    img[i] = pack(lut[uint(t * 255.0 + 0.5)]);
}
