// Complex arithmetic and in-register DFT butterflies of radix 2, 3, 4, 5, 7 and 8 for the FFT
// shaders (forward sign: e^{-2πi jk/R}; inverses use conj(DFT(conj x))). A complex value is a vec2
// (re, im). The constants are the float64 values rounded to float32.

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
vec2 conjc(vec2 a) { return vec2(a.x, -a.y); }
// -i·a
vec2 mul_mi(vec2 a) { return vec2(a.y, -a.x); }

void dft2(inout vec2 a[2]) {
    vec2 t = a[0] - a[1];
    a[0] += a[1];
    a[1] = t;
}

void dft3(inout vec2 a[3]) {
    const float s = 0.86602540378443864676; // sin(2π/3)
    vec2 t = a[1] + a[2];
    vec2 m = a[0] - 0.5 * t;
    vec2 d = mul_mi(a[1] - a[2]) * s;
    a[0] += t;
    a[1] = m + d;
    a[2] = m - d;
}

void dft4(inout vec2 a[4]) {
    vec2 t0 = a[0] + a[2], t1 = a[0] - a[2];
    vec2 t2 = a[1] + a[3], t3 = mul_mi(a[1] - a[3]);
    a[0] = t0 + t2;
    a[2] = t0 - t2;
    a[1] = t1 + t3;
    a[3] = t1 - t3;
}

void dft5(inout vec2 a[5]) {
    const float c1 = 0.30901699437494742410, c2 = -0.80901699437494742410; // cos(2π/5), cos(4π/5)
    const float s1 = 0.95105651629515357212, s2 = 0.58778525229247312917; // sin(2π/5), sin(4π/5)
    vec2 p1 = a[1] + a[4], m1 = a[1] - a[4];
    vec2 p2 = a[2] + a[3], m2 = a[2] - a[3];
    vec2 r1 = a[0] + c1 * p1 + c2 * p2;
    vec2 r2 = a[0] + c2 * p1 + c1 * p2;
    vec2 i1 = mul_mi(s1 * m1 + s2 * m2);
    vec2 i2 = mul_mi(s2 * m1 - s1 * m2);
    a[0] += p1 + p2;
    a[1] = r1 + i1;
    a[4] = r1 - i1;
    a[2] = r2 + i2;
    a[3] = r2 - i2;
}

void dft7(inout vec2 a[7]) {
    const float c1 = 0.62348980185873353053, c2 = -0.22252093395631440429, c3 = -0.90096886790241912624;
    const float s1 = 0.78183148246802980871, s2 = 0.97492791218182360702, s3 = 0.43388373911755812048;
    vec2 p1 = a[1] + a[6], m1 = a[1] - a[6];
    vec2 p2 = a[2] + a[5], m2 = a[2] - a[5];
    vec2 p3 = a[3] + a[4], m3 = a[3] - a[4];
    vec2 r1 = a[0] + c1 * p1 + c2 * p2 + c3 * p3;
    vec2 r2 = a[0] + c2 * p1 + c3 * p2 + c1 * p3;
    vec2 r3 = a[0] + c3 * p1 + c1 * p2 + c2 * p3;
    vec2 i1 = mul_mi(s1 * m1 + s2 * m2 + s3 * m3);
    vec2 i2 = mul_mi(s2 * m1 - s3 * m2 - s1 * m3);
    vec2 i3 = mul_mi(s3 * m1 - s1 * m2 + s2 * m3);
    a[0] += p1 + p2 + p3;
    a[1] = r1 + i1;
    a[6] = r1 - i1;
    a[2] = r2 + i2;
    a[5] = r2 - i2;
    a[3] = r3 + i3;
    a[4] = r3 - i3;
}

void dft8(inout vec2 a[8]) {
    const float h = 0.70710678118654752440; // sqrt(1/2)
    vec2 e[4] = vec2[4](a[0], a[2], a[4], a[6]);
    vec2 o[4] = vec2[4](a[1], a[3], a[5], a[7]);
    dft4(e);
    dft4(o);
    // o[k] *= e^{-2πik/8}
    o[1] = h * vec2(o[1].x + o[1].y, o[1].y - o[1].x);
    o[2] = mul_mi(o[2]);
    o[3] = h * vec2(o[3].y - o[3].x, -o[3].x - o[3].y);
    for (int k = 0; k < 4; k++) {
        a[k] = e[k] + o[k];
        a[k + 4] = e[k] - o[k];
    }
}
