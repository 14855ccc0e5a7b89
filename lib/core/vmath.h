/* Vectorised row kernels for the softmaxes (LM head, attention).
 *
 * With AVX-512 (the build uses -march=native) exponentials are computed 16
 * at a time by a polynomial: x = n ln2 + r, |r| <= ln2/2, exp(r) by the
 * Cephes expf polynomial (degree 7, relative error about 1e-7, as expf),
 * times 2^n by vscalefps. Without AVX-512 the same functions are plain
 * loops over expf. Each function sums in a fixed order (16 lanes, then a
 * fixed reduction tree), so results depend only on the inputs, never on
 * threads.
 *
 * All pointers are rows of n floats; no alignment is required. */
#ifndef ES_CORE_VMATH_H
#define ES_CORE_VMATH_H

#include <math.h>

#ifdef __AVX512F__
#include <immintrin.h>

/* exp(x) for x <= 88; below -103 it flushes to 0 (as expf underflows). */
static inline __m512 es_exp16(__m512 x)
{
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    /* the bound first: max/min return their second operand when one is
     * NaN, so a NaN input stays NaN (and a broken loss stays visible) */
    x = _mm512_max_ps(_mm512_set1_ps(-103.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(88.5f), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
    r = _mm512_fnmadd_ps(n, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

static inline __mmask16 es_tail_mask(int left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }
#endif

/* max_i x[i] */
static inline float es_row_max(const float *x, int n)
{
#ifdef __AVX512F__
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = es_tail_mask(n - i);
        m = _mm512_max_ps(m, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + i));
    }
    return _mm512_reduce_max_ps(m);
#else
    float m = -INFINITY;
    for (int i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
#endif
}

/* y[i] = exp(x[i] - shift) (y may be x); returns sum_i y[i]. */
static inline float es_row_exp_sum(float *y, const float *x, float shift, int n)
{
#ifdef __AVX512F__
    __m512 s = _mm512_setzero_ps(), sh = _mm512_set1_ps(shift);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = es_tail_mask(n - i);
        __m512 e = es_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), sh));
        e = _mm512_maskz_mov_ps(k, e);
        _mm512_mask_storeu_ps(y + i, k, e);
        s = _mm512_add_ps(s, e);
    }
    return _mm512_reduce_add_ps(s);
#else
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        y[i] = expf(x[i] - shift);
        s += y[i];
    }
    return s;
#endif
}

/* sum_i exp(x[i] - shift), nothing written. */
static inline float es_row_sum_exp(const float *x, float shift, int n)
{
#ifdef __AVX512F__
    __m512 s = _mm512_setzero_ps(), sh = _mm512_set1_ps(shift);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = es_tail_mask(n - i);
        __m512 e = es_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), sh));
        s = _mm512_add_ps(s, _mm512_maskz_mov_ps(k, e));
    }
    return _mm512_reduce_add_ps(s);
#else
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += expf(x[i] - shift);
    return s;
#endif
}

/* x[i] *= a */
static inline void es_row_scale(float *x, float a, int n)
{
#ifdef __AVX512F__
    __m512 va = _mm512_set1_ps(a);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = es_tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), va));
    }
#else
    for (int i = 0; i < n; i++)
        x[i] *= a;
#endif
}

/* y[i] = p[i] * (y[i] - c): the softmax backward, given c = sum_i p[i] y[i] */
static inline void es_row_softmax_grad(float *y, const float *p, float c, int n)
{
#ifdef __AVX512F__
    __m512 vc = _mm512_set1_ps(c);
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = es_tail_mask(n - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, y + i), vc);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + i), d));
    }
#else
    for (int i = 0; i < n; i++)
        y[i] = p[i] * (y[i] - c);
#endif
}

/* sum_i x[i] * y[i] */
static inline float es_row_dot(const float *x, const float *y, int n)
{
#ifdef __AVX512F__
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = es_tail_mask(n - i);
        s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, y + i), s);
    }
    return _mm512_reduce_add_ps(s);
#else
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
#endif
}

#endif
