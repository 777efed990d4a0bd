// Numerically careful scalar functions shared by the shaders.

// log1p(u) for u >= 0, accurate for small u (GLSL has none): log(1+u) * u / ((1+u) - 1).
float log1p_pos(float u) {
    float w = 1.0 + u;
    return w == 1.0 ? u : log(w) * u / (w - 1.0);
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
