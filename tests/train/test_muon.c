/* Tests of lib/train/muon: Newton-Schulz against the SVD (GSL, double),
 * which matrices Muon owns, and Muon steps on a tiny model against a
 * straightforward double-precision reimplementation written here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/parallel.h"
#include "train/muon.h"
#include "train/optimizer.h"

static gsl_rng *rng;

static int setup(void **state)
{
    (void)state;
    es_threads_set(2);
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gsl_rng_free(rng);
    return 0;
}

/* Thin SVD of x[rows, cols] in double: x = U diag(s) V^T with U [rows, k],
 * V [cols, k], k = min(rows, cols), s descending. */
static void svd(const double *x, int rows, int cols, gsl_matrix **u, gsl_vector **s, gsl_matrix **v)
{
    int tall = rows >= cols, M = tall ? rows : cols, N = tall ? cols : rows;
    gsl_matrix *a = gsl_matrix_alloc((size_t)M, (size_t)N);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            gsl_matrix_set(a, tall ? (size_t)r : (size_t)c, tall ? (size_t)c : (size_t)r, x[(size_t)r * cols + c]);
    gsl_matrix *vv = gsl_matrix_alloc((size_t)N, (size_t)N);
    gsl_vector *ss = gsl_vector_alloc((size_t)N), *work = gsl_vector_alloc((size_t)N);
    assert_int_equal(gsl_linalg_SV_decomp(a, vv, ss, work), 0);
    gsl_vector_free(work);
    /* a now holds the left vectors of the (possibly transposed) matrix */
    *s = ss;
    *u = tall ? a : vv;
    *v = tall ? vv : a;
}

static double quintic5(double s)
{
    for (int i = 0; i < 5; i++)
        s = 3.4445 * s - 4.7750 * s * s * s + 2.0315 * s * s * s * s * s;
    return s;
}

static void test_ns5_is_a_polynomial_of_the_singular_values(void **state)
{
    (void)state;
    /* NS5 maps X = U S V^T to U p5(S/||X||_F) V^T exactly in exact
     * arithmetic; check the float SGEMM version against that built from
     * GSL's SVD in double, for square, wide and tall shapes; then check the
     * output's singular values land in NS5's band, i.e. the output is the
     * polar factor U V^T up to singular values in [0.68, 1.14]. */
    const int shapes[][2] = {{8, 8}, {12, 20}, {24, 10}, {64, 64}, {64, 16}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int rows = shapes[k][0], cols = shapes[k][1], n = rows * cols;
        float *x = malloc(sizeof(float) * (size_t)n);
        double *xd = malloc(sizeof(double) * (size_t)n), *out = malloc(sizeof(double) * (size_t)n);
        double fro = 0.0;
        for (int i = 0; i < n; i++) {
            x[i] = (float)gsl_ran_gaussian(rng, 1.0);
            xd[i] = x[i];
            fro += xd[i] * xd[i];
        }
        fro = sqrt(fro);
        float *scratch = malloc(sizeof(float) * muon_ns5_scratch(rows, cols));
        muon_ns5(x, rows, cols, scratch);
        gsl_matrix *u, *v;
        gsl_vector *s;
        svd(xd, rows, cols, &u, &s, &v);
        int kk = rows < cols ? rows : cols;
        double min_sv = gsl_vector_get(s, (size_t)kk - 1) / fro;
        double err = 0.0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                double ref = 0.0;
                for (int j = 0; j < kk; j++)
                    ref += gsl_matrix_get(u, (size_t)r, (size_t)j) * gsl_matrix_get(v, (size_t)c, (size_t)j) *
                           quintic5(gsl_vector_get(s, (size_t)j) / fro);
                double d = fabs(x[(size_t)r * cols + c] - ref);
                err = d > err ? d : err;
                out[(size_t)r * cols + c] = x[(size_t)r * cols + c];
            }
        assert_true(err < 2e-4);
        gsl_matrix_free(u);
        gsl_matrix_free(v);
        gsl_vector_free(s);
        /* the singular values of NS5's output */
        svd(out, rows, cols, &u, &s, &v);
        double lo, hi;
        muon_ns5_band(min_sv * 0.999, &lo, &hi);
        double smin = gsl_vector_get(s, (size_t)kk - 1), smax = gsl_vector_get(s, 0);
        fprintf(stderr, "NS5 %dx%d: input sv/||X||_F >= %.4f, output sv in [%.4f, %.4f], band [%.4f, %.4f], "
                        "max |NS5 - U p5(S) V^T| = %.2g\n",
                rows, cols, min_sv, smin, smax, lo, hi, err);
        assert_true(smin >= lo - 1e-4 && smax <= hi + 1e-4);
        /* a near-orthogonal output: every singular value within 0.35 of 1 */
        assert_true(smin > 0.65 && smax < 1.35);
        gsl_matrix_free(u);
        gsl_matrix_free(v);
        gsl_vector_free(s);
        free(x);
        free(xd);
        free(out);
        free(scratch);
    }
}

static void test_ns5_band(void **state)
{
    (void)state;
    /* the band of the reference implementation's coefficients: inputs from
     * 1e-2 of the Frobenius norm upward end within about [0.68, 1.2]; from
     * 1e-3, five iterations lift them to about 0.47 */
    double lo, hi;
    muon_ns5_band(1e-2, &lo, &hi);
    fprintf(stderr, "NS5 band for sv in [1e-2, 1]: [%.4f, %.4f]\n", lo, hi);
    assert_true(lo > 0.65 && lo < 0.8);
    assert_true(hi > 1.0 && hi < 1.25);
    muon_ns5_band(1e-3, &lo, &hi);
    fprintf(stderr, "NS5 band for sv in [1e-3, 1]: [%.4f, %.4f]\n", lo, hi);
    assert_true(lo > 0.4 && lo < 0.6);
    /* a tiny singular value is not lifted: NS5 is not the exact polar factor */
    muon_ns5_band(1e-6, &lo, &hi);
    assert_true(lo < 0.01);
}

/* The tensors a tiny MoE + Engram model gives Muon, by name suffix, and
 * the number of matrices each splits into: written out here independently
 * of muon.c. */
static int expected_blocks(const char *name, int experts)
{
    if (strstr(name, ".attn.wqkv"))
        return 3;
    if (strstr(name, ".attn.wo") || strstr(name, ".engram.wk") || strstr(name, ".engram.wv") ||
        strstr(name, ".moe.shared.w2"))
        return 1;
    if (strstr(name, ".moe.shared.w13"))
        return 2;
    if (strstr(name, ".moe.experts.w13"))
        return 2 * experts;
    if (strstr(name, ".moe.experts.w2"))
        return experts;
    return 0;
}

/* Reference NS5 in double on the [rows, cols] orientation as given. */
static void ns5_double(double *x, int rows, int cols)
{
    size_t n = (size_t)rows * cols;
    double fro = 0.0;
    for (size_t i = 0; i < n; i++)
        fro += x[i] * x[i];
    fro = sqrt(fro) + 1e-7;
    for (size_t i = 0; i < n; i++)
        x[i] /= fro;
    double *a = calloc((size_t)rows * rows, sizeof(double)), *b = calloc((size_t)rows * rows, sizeof(double)),
           *y = calloc(n, sizeof(double));
    for (int it = 0; it < 5; it++) {
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < rows; j++) {
                double d = 0.0;
                for (int k = 0; k < cols; k++)
                    d += x[(size_t)i * cols + k] * x[(size_t)j * cols + k];
                a[(size_t)i * rows + j] = d;
            }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < rows; j++) {
                double d = 0.0;
                for (int k = 0; k < rows; k++)
                    d += a[(size_t)i * rows + k] * a[(size_t)k * rows + j];
                b[(size_t)i * rows + j] = -4.7750 * a[(size_t)i * rows + j] + 2.0315 * d;
            }
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                double d = 0.0;
                for (int k = 0; k < rows; k++)
                    d += b[(size_t)i * rows + k] * x[(size_t)k * cols + j];
                y[(size_t)i * cols + j] = 3.4445 * x[(size_t)i * cols + j] + d;
            }
        memcpy(x, y, n * sizeof(double));
    }
    free(a);
    free(b);
    free(y);
}

static void test_muon_steps_match_a_double_reference(void **state)
{
    (void)state;
    run_config c;
    config_defaults(&c);
    c.model.d_model = 16;
    c.model.n_layers = 2;
    c.model.n_heads = 2;
    c.model.moe.experts = 3;
    c.model.moe.top_k = 2;
    c.model.moe.shared = 1;
    c.model.moe.expert_hidden = 8;
    c.model.memory = MEMORY_ENGRAM;
    c.model.engram.slots = 500;
    c.model.engram.head_dim = 4;
    c.model.engram.heads = 2;
    model *m;
    assert_int_equal(model_new(&c.model, 40, NULL, 0, 2, 8, 5, &m), 0);
    const double beta = 0.9, wd = 0.1, lrs[3] = {0.02, 0.01, 0.005};
    muon *mu;
    assert_int_equal(muon_new(m, beta, wd, &mu), 0);
    /* Muon owns exactly the expected tensors */
    int owned = 0, matrices = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        int want = expected_blocks(m->tensors[t].name, c.model.moe.experts);
        if ((want > 0) != (mu->owns[t] != 0))
            fail_msg("tensor %s: Muon owns it = %d, expected %d", m->tensors[t].name, mu->owns[t], want > 0);
        owned += want > 0;
        matrices += want;
    }
    assert_int_equal(mu->n_matrices, matrices);
    assert_int_equal(owned, 2 * 6 + 2); /* per block: wqkv, wo, shared w13/w2, experts w13/w2; wk, wv in one layer */
    size_t n = m->n_params;
    double *ref = malloc(n * sizeof(double)), *mom = calloc(n, sizeof(double));
    float *before = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        ref[i] = m->params[i];
    for (int step = 0; step < 3; step++) {
        for (size_t i = 0; i < n; i++)
            m->grads[i] = (float)gsl_ran_gaussian(rng, 0.01);
        memcpy(before, m->params, n * sizeof(float));
        muon_step(mu, m, lrs[step]);
        for (int t = 0; t < m->n_tensors; t++) {
            const param_tensor *pt = &m->tensors[t];
            size_t off = (size_t)(pt->data - m->params);
            int blocks = expected_blocks(pt->name, c.model.moe.experts);
            if (blocks == 0) {
                /* not Muon's: untouched */
                assert_memory_equal(m->params + off, before + off, pt->size * sizeof(float));
                continue;
            }
            int rows = pt->rows / blocks, cols = pt->cols;
            size_t bn = (size_t)rows * cols;
            double *u = malloc(bn * sizeof(double));
            for (int b = 0; b < blocks; b++) {
                size_t o = off + (size_t)b * bn;
                for (size_t j = 0; j < bn; j++) {
                    double g = m->grads[o + j];
                    mom[o + j] = beta * mom[o + j] + (1 - beta) * g;
                    u[j] = beta * mom[o + j] + (1 - beta) * g;
                }
                ns5_double(u, rows, cols);
                double scale = 0.2 * sqrt((double)(rows > cols ? rows : cols));
                for (size_t j = 0; j < bn; j++)
                    ref[o + j] = ref[o + j] * (1 - lrs[step] * wd) - lrs[step] * scale * u[j];
            }
            free(u);
            double err = 0.0, moved = 0.0;
            for (size_t j = 0; j < pt->size; j++) {
                double d = fabs(m->params[off + j] - ref[off + j]);
                err = d > err ? d : err;
                double mv = fabs((double)m->params[off + j] - before[off + j]);
                moved = mv > moved ? mv : moved;
            }
            /* float against double: the update itself is ~lr*0.2*sqrt(n)/sqrt(min) */
            if (err > 2e-6 + 1e-4 * moved)
                fail_msg("step %d, %s: max |muon - reference| = %g (largest move %g)", step, pt->name, err, moved);
        }
    }
    /* AdamW skips Muon's tensors and updates the rest */
    adamw *opt;
    assert_int_equal(adamw_new(n, 0.9, 0.95, 1e-8, 0.1, &opt), 0);
    memcpy(before, m->params, n * sizeof(float));
    adamw_step(opt, m, 0.01, mu->owns);
    for (int t = 0; t < m->n_tensors; t++) {
        const param_tensor *pt = &m->tensors[t];
        size_t off = (size_t)(pt->data - m->params);
        int same = memcmp(m->params + off, before + off, pt->size * sizeof(float)) == 0;
        if (same != (mu->owns[t] != 0))
            fail_msg("adamw_step with skip: tensor %s changed = %d", pt->name, !same);
    }
    adamw_free(opt);
    free(ref);
    free(mom);
    free(before);
    muon_free(mu);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ns5_is_a_polynomial_of_the_singular_values),
        cmocka_unit_test(test_ns5_band),
        cmocka_unit_test(test_muon_steps_match_a_double_reference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
