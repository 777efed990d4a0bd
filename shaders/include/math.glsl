// Numerically careful scalar functions shared by the shaders.

// log1p(u) for 0 <= u <= 1, to float32 precision without relying on the driver's log (whose
// absolute error near 1 is too large for small u on some devices, lavapipe among them):
// log1p(u) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = u / (2 + u) <= 1/3; the terms up to
// s^19 leave a relative error below 1e-10.
float log1p_pos(float u) {
    float s = u / (2.0 + u);
    float s2 = s * s;
    float p = 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return 2.0 * s * p;
}

// softplus(x) = log(1 + exp(x)), and x itself above 20 (torch's threshold).
float softplus(float x) {
    return x > 20.0 ? x : (x > 0.0 ? x + log1p_pos(exp(-x)) : log1p_pos(exp(x)));
}

float sigmoid(float x) {
    return 1.0 / (1.0 + exp(-x));
}

float silu(float x) {
    return x * sigmoid(x);
}

// erfc(a/√2) for a >= 0 (twice the normal tail Φ(−a)), relative error about 2e-7 wherever the
// result is a normal float: Numerical Recipes' erfcc Chebyshev fit (t = 1/(1 + z/2), z = a/√2,
// fractional error below 1.2e-7), erfc(z) = t·exp(−z² + P(t)). In the tail −z² reaches −88, where
// rounding it (or z) to float32 would cost up to 1e-5 of relative error, so z² = a²/2 is kept
// exactly as a head (a cut to 12 significant bits, squared exactly) plus a small tail, and exp is
// taken as 2^n·exp(r) with r reduced against ln 2 in two parts (Cody and Waite).
float erfc_pos_sqrt2(float a) {
    if (a > 14.0) return 0.0; // below 1e-43: nothing float32 holds (and keeps +inf finite)
    float z = a * 0.70710678118654752;
    float t = 1.0 / (1.0 + 0.5 * z);
    float poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                 t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                 t * (-0.82215223 + t * 0.17087277))))))));
    float ah = uintBitsToFloat(floatBitsToUint(a) & 0xFFFFF000u);
    float head = -0.5 * (ah * ah);                     // exact
    float tail = -0.5 * ((a - ah) * (a + ah)) + poly; // small
    float n = floor((head + tail) * 1.44269504088896341 + 0.5);
    float r = (head - n * 0.693145751953125) - n * 1.42860682030941723e-6 + tail;
    // exp(r), |r| ≤ ln2/2 (plus rounding), by its Taylor series to r^7 (relative error below 1e-8),
    // and 2^n (−142 ≤ n ≤ 1) as two normal powers of two built from their bits.
    float e = 1.0 / 5040.0;
    e = e * r + 1.0 / 720.0;
    e = e * r + 1.0 / 120.0;
    e = e * r + 1.0 / 24.0;
    e = e * r + 1.0 / 6.0;
    e = e * r + 0.5;
    e = e * r + 1.0;
    e = e * r + 1.0;
    int ni = int(n), n1 = ni / 2;
    return (t * e) * intBitsToFloat((n1 + 127) << 23) * intBitsToFloat((ni - n1 + 127) << 23);
}

// Exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), written as x/2·erfc(−x/√2) so that both tails keep
// their relative precision.
float gelu(float x) {
    float c = erfc_pos_sqrt2(abs(x));
    return 0.5 * x * (x >= 0.0 ? 2.0 - c : c);
}
